-- Linking an audit row no longer looks its chain's head up for every row (issue 14).
--
-- Before: each row's BEFORE INSERT trigger took its lane's lock and read the lane's last row
-- (`order by chain_seq desc limit 1`), so a transaction writing 250 rows (the ladder firing 250
-- steps) ran that lookup 250 times, about an eighth of PostgreSQL's time when firing. And the
-- lookup's plan, cached per connection, was made with whatever statistics the table had then: a
-- table analysed while nearly empty got a sequential scan and a sort, which every later row
-- repeated over the whole growing table until the next analyse (in the ladder benchmark, 250
-- rows took up to a second, and firing fell to about 1,000 steps/s).
--
-- Now: the first row of a transaction takes the lock and reads the head, with sequential and
-- bitmap scans turned off for that one statement, so it is always the unique index's backward
-- scan, whatever the statistics. Every later row of the same transaction links to the row just
-- written, whose position and hash the trigger keeps in a transaction-local setting,
-- `mash.audit_chain_head`. That is sound because:
-- - the transaction holds the lane's lock from its first row until it ends, so nobody else can
--   append to the lane in between, and its own rows all go to the same day and lane (the day
--   and lane are fixed per transaction: `now()` and the transaction id);
-- - the setting names the day, the lane and the transaction id, so a value left from another
--   transaction, or set for the session, never matches;
-- - a setting made with `set_config(..., true)` is undone with the (sub)transaction that made it:
--   after `rollback to savepoint`, the rows written since are gone and so is the head they set,
--   and the next row links to the last row that stays;
-- - only the trigger writes the setting (a trigger function cannot be called directly), and
--   the service only ever inserts audit rows plainly: no `on conflict`, and no later BEFORE
--   INSERT trigger that could drop a row after this one has linked it.
--
-- What it cannot stop, from SQL run as the runtime role outside the service: setting the value
-- itself inside its own transaction, or inserting with `on conflict do nothing` a row that is
-- then skipped. Either makes that transaction's next row link to a row that is not there, and
-- `audit verify` reports the break, as it does any row written out of turn. (Before, a skipped
-- row left no trace.)
--
-- The canonical text, the hash and the lock key are unchanged, so existing chains verify as before.

-- PL/pgSQL, so that its plan is made once per connection (an SQL function's would be made on
-- every call), with the two settings in force while it is made.
create function audit_chain_head(on_day date, in_lane smallint, out chain_seq bigint, out hash bytea)
    language plpgsql
    set enable_seqscan = off
    set enable_bitmapscan = off
as $$
begin
    select a.chain_seq, a.hash into chain_seq, hash
      from audit_events a
     where a.chain_day = on_day and a.chain_lane = in_lane and a.chain_seq is not null
     order by a.chain_seq desc
     limit 1;
end;
$$;

-- A row linked after the row at `seq` whose hash is `prev`: its position, its link and its hash.
-- Pure; the one place a row's hash is computed.
create function audit_event_linked_after(e audit_events, seq bigint, prev bytea) returns audit_events
    language plpgsql stable as $$
begin
    e.chain_seq := seq + 1;
    e.prev_hash := prev;
    e.hash := sha256(e.prev_hash || convert_to(audit_event_canonical(e), 'UTF8'));
    return e;
end;
$$;

-- Links a row after its lane's head, read under the lane's lock (as before; it keeps no state).
create or replace function audit_event_link(e audit_events) returns audit_events
    language plpgsql as $$
declare
    head record;
begin
    perform pg_advisory_xact_lock(1635083380, (e.chain_day - date '2000-01-01') * 8 + e.chain_lane);
    select h.chain_seq, h.hash into head from audit_chain_head(e.chain_day, e.chain_lane) h;
    return audit_event_linked_after(e, coalesce(head.chain_seq, 0),
        coalesce(head.hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea));
end;
$$;

-- The trigger keeps the head for the rest of the transaction. Only a trigger can run this
-- (PostgreSQL refuses to call a trigger function directly), so the setting is only ever written
-- for a row that is being inserted.
create or replace function audit_events_chain() returns trigger
    language plpgsql as $$
declare
    known text := current_setting('mash.audit_chain_head', true);
    lane_key text;
begin
    new.recorded_at := now();
    new.chain_day := (now() at time zone 'UTC')::date;
    new.chain_lane := (pg_current_xact_id()::text::bigint % 8)::smallint;
    lane_key := to_char(new.chain_day, 'YYYY-MM-DD') || '/' || new.chain_lane || '/' || pg_current_xact_id();
    if known is not null and split_part(known, ' ', 1) = lane_key then
        -- A later row of this transaction: its lock is held, and the head is the row just written.
        new := audit_event_linked_after(new, split_part(known, ' ', 2)::bigint, decode(split_part(known, ' ', 3), 'hex'));
    else
        new := audit_event_link(new);
    end if;
    -- An assignment rather than PERFORM: a simple expression, not a query per row.
    known := set_config('mash.audit_chain_head', lane_key || ' ' || new.chain_seq || ' ' || encode(new.hash, 'hex'), true);
    return new;
end;
$$;
