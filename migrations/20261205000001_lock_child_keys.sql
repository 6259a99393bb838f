-- Intake takes a transaction-scoped advisory lock on every match key of a contact's children
-- before it reads the time of receipt, so that contacts about one child are received, and
-- counted, one after another (src/triage/service.rs, `lock_children`). The keys are sorted by the
-- caller and must be locked in that order: two transactions that take overlapping keys in one
-- order can never deadlock. One statement per key fixed the order but cost a round trip each,
-- and a batch of contacts stored in one transaction has a key per child. A plpgsql loop takes
-- them in one round trip, and in the array's order (a set-returning select gives no such
-- guarantee).
create function lock_child_keys(keys text[]) returns void
language plpgsql as $$
declare
    k text;
begin
    foreach k in array coalesce(keys, '{}') loop
        perform pg_advisory_xact_lock(hashtextextended(k, 0));
    end loop;
end
$$;
