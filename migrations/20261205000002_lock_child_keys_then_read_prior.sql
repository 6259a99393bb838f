-- The children's earlier contacts, and intake's first round trip in a transaction.
--
-- `read_prior_children` is the one statement of which earlier contacts a child matches: for
-- each (nhs_number, name_key) pair, in order, the children of other contacts with the same NHS
-- number, or the same name key where the NHS numbers do not conflict, received from `p_since`
-- up to `p_before` (no upper bound when null), newest first (the child's id breaks a tie in
-- time, so the limit always keeps the same rows), at most `p_per_key` a pair. Each row carries
-- the pair's index, from 0. `triage::repo::prior_children` (src/triage/repo.rs) calls it, and
-- so does the function below.
create function read_prior_children(
    p_nhs_numbers text[], p_name_keys text[], p_since timestamptz, p_before timestamptz, p_per_key bigint
) returns table (key_index bigint, child_id uuid, contact_id uuid, agency_id uuid,
                 received_at timestamptz, matched_on text)
language sql stable as $$
    select k.n - 1, p.child_id, p.contact_id, p.agency_id, p.received_at, p.matched_on
      from unnest(p_nhs_numbers, p_name_keys) with ordinality as k(nhs_number, name_key, n)
     cross join lateral (
           select cc.id as child_id, cc.contact_id, c.agency_id, cc.received_at,
                  case when cc.nhs_number = k.nhs_number then 'nhs_number' else 'name_and_date_of_birth' end
                    as matched_on
             from contact_children cc join contacts c on c.id = cc.contact_id
            where (cc.nhs_number = k.nhs_number
                   or (cc.name_key = k.name_key and (cc.nhs_number is null or k.nhs_number is null)))
              and cc.received_at >= p_since and cc.received_at <= coalesce(p_before, 'infinity')
            order by cc.received_at desc, cc.id desc
            limit p_per_key) p
     order by k.n, p.received_at desc, p.child_id desc
$$;

-- Intake's first round trip: take the children's match-key locks, then read their earlier
-- contacts, in one call (the locks were one round trip and the read another). The read is a
-- statement of its own after the locks, so in READ COMMITTED it sees everything committed by
-- whoever held them. That needs this function to be VOLATILE (each statement then takes a new
-- snapshot): a STABLE one would read with the snapshot taken before the lock wait and miss the
-- contacts it waited for. The read has no upper bound in time: the service reads its clock for
-- the receipt time only once this returns, so nothing it returns was received later, save
-- where clocks differ (a sandbox agency's own clock), which the service detects and reads
-- again within its window.
create function lock_child_keys_then_read_prior(
    p_keys text[], p_nhs_numbers text[], p_name_keys text[], p_since timestamptz, p_per_key bigint
) returns table (key_index bigint, child_id uuid, contact_id uuid, agency_id uuid,
                 received_at timestamptz, matched_on text)
language plpgsql volatile as $$
begin
    perform lock_child_keys(p_keys);
    return query select * from read_prior_children(p_nhs_numbers, p_name_keys, p_since, null, p_per_key);
end
$$;
