-- Tamper evidence for the audit trail. The append-only triggers stop the service, but not the
-- table's owner or a superuser (`ALTER TABLE ... DISABLE TRIGGER`, `session_replication_role =
-- replica`). Each row now carries a link in a hash chain:
--   hash = sha256(prev_hash || canonical text of the row, chain position included)
-- so a row changed, removed or slipped in afterwards breaks the chain at that row, and
-- `mash-triage audit verify` reports the first broken link.
--
-- Chains. One per (UTC day of the inserting transaction's start, lane). A transaction's rows all
-- go to one lane, `its xid mod 8`: each inserting transaction holds its chain's advisory lock
-- until it commits (the next link needs the previous row committed), and eight lanes let eight
-- transactions append at once instead of one. Every row of a transaction uses one lock, so chain
-- locks cannot deadlock with each other. `chain_seq` numbers a chain's rows 1, 2, 3... under the
-- lock: verification walks seq order, never ids or timestamps, which interleave across
-- transactions.
--
-- `recorded_at` is the database's time (the transaction start), set here whatever the caller
-- sends, so a back-dated `occurred_at` stands next to the true time of writing.
--
-- The canonical text is a jsonb array (jsonb prints deterministically) with times as epoch
-- microseconds and the day as YYYY-MM-DD, so no session setting (TimeZone, DateStyle) changes it.
-- `audit verify` recomputes it with its own copy of this expression (src/audit/repo.rs), not by
-- calling the function below, which whoever can alter the table could also replace.
alter table audit_events
    add column recorded_at timestamptz,
    add column chain_day   date,
    add column chain_lane  smallint,
    add column chain_seq   bigint,
    add column prev_hash   bytea,
    add column hash        bytea;

-- Finds a chain's head and forks fail loudly: two rows with one position are refused.
create unique index audit_events_chain_idx on audit_events (chain_day, chain_lane, chain_seq);

create function audit_event_canonical(e audit_events) returns text
    language sql stable as $$
    select jsonb_build_array(
        e.id, to_char(e.chain_day, 'YYYY-MM-DD'), e.chain_lane, e.chain_seq,
        (extract(epoch from e.occurred_at) * 1000000)::bigint,
        (extract(epoch from e.recorded_at) * 1000000)::bigint,
        e.actor_kind, e.actor_id, e.api_key_id, e.action, e.contact_id, e.detail)::text
$$;

-- Appends `e` (its chain_day and chain_lane set) to its chain: position, previous hash, hash.
-- Takes the chain's transaction-scoped advisory lock first, so the head read here is the last
-- committed one (each statement of a volatile function takes a fresh READ COMMITTED snapshot, and
-- rows inserted earlier by the same statement are seen too). Under REPEATABLE READ the head could
-- be stale; the unique index then refuses the fork rather than storing it.
create function audit_event_link(e audit_events) returns audit_events
    language plpgsql as $$
declare
    head record;
begin
    -- 1635083380 is 'audt': the chain locks' own key space (other advisory locks use one bigint).
    perform pg_advisory_xact_lock(1635083380, (e.chain_day - date '2000-01-01') * 8 + e.chain_lane);
    select a.chain_seq, a.hash into head
      from audit_events a
     where a.chain_day = e.chain_day and a.chain_lane = e.chain_lane and a.chain_seq is not null
     order by a.chain_seq desc
     limit 1;
    e.chain_seq := coalesce(head.chain_seq, 0) + 1;
    e.prev_hash := coalesce(head.hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
    e.hash := sha256(e.prev_hash || convert_to(audit_event_canonical(e), 'UTF8'));
    return e;
end;
$$;

create function audit_events_chain() returns trigger
    language plpgsql as $$
begin
    new.recorded_at := now();
    new.chain_day := (now() at time zone 'UTC')::date;
    new.chain_lane := (pg_current_xact_id()::text::bigint % 8)::smallint;
    return audit_event_link(new);
end;
$$;

-- Rows written before this migration join chains by the UTC day they say they occurred, in id
-- order, lane 0, with `recorded_at` = `occurred_at` (the true time of writing was not kept). The
-- owner lifts the refusal of updates for this one backfill, inside this migration's transaction.
alter table audit_events disable trigger audit_events_no_update_delete;
do $$
declare
    r audit_events;
begin
    for r in select * from audit_events order by id loop
        r.recorded_at := r.occurred_at;
        r.chain_day := (r.occurred_at at time zone 'UTC')::date;
        r.chain_lane := 0;
        r := audit_event_link(r);
        update audit_events
           set recorded_at = r.recorded_at, chain_day = r.chain_day, chain_lane = r.chain_lane,
               chain_seq = r.chain_seq, prev_hash = r.prev_hash, hash = r.hash
         where id = r.id;
    end loop;
end;
$$;
alter table audit_events enable trigger audit_events_no_update_delete;

alter table audit_events
    alter column recorded_at set not null,
    alter column chain_day set not null,
    alter column chain_lane set not null,
    alter column chain_seq set not null,
    alter column prev_hash set not null,
    alter column hash set not null;

create trigger audit_events_chain
    before insert on audit_events
    for each row execute function audit_events_chain();
