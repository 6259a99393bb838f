-- Clocks, in working time or round the clock, with the escalation ladder and the events outbox.
-- PostgreSQL is the truth: Redis only indexes `ladder_steps` by due time, and is rebuilt from here.

-- One clock per contact and kind. The deadline is derived from the segments, the budget and the
-- calendar, and stored for queries; it is null while the clock is paused or stopped.
create table clocks (
    id              uuid primary key,
    contact_id      uuid not null references contacts (id),
    kind            text not null check (kind in ('decision', 'feedback')),
    -- decision clocks: the urgency whose budget applies (re-rating changes it)
    level           text,
    budget          text not null,
    started_at      timestamptz not null,
    deadline        timestamptz,
    stopped_at      timestamptz,
    stop_reason     text,
    policy_version  text not null,
    constraint clocks_contact_kind_key unique (contact_id, kind)
);

-- The clock's life as running and paused stretches; the open one has no end.
create table clock_segments (
    id          bigint generated always as identity primary key,
    clock_id    uuid not null references clocks (id),
    state       text not null check (state in ('running', 'paused')),
    started_at  timestamptz not null,
    ended_at    timestamptz,
    reason      text,
    actor_kind  text not null check (actor_kind in ('agency', 'staff', 'system')),
    actor_id    uuid
);
create index clock_segments_clock_idx on clock_segments (clock_id, id);

-- Each ladder step of each clock. A step fires at most once: the worker's update from
-- 'pending' to 'fired' is the exactly-once guard, whatever Redis or the other workers do.
create table ladder_steps (
    clock_id  uuid not null references clocks (id),
    step      text not null,
    -- null while the clock is paused
    due_at    timestamptz,
    status    text not null check (status in ('pending', 'fired', 'cancelled')),
    fired_at  timestamptz,
    primary key (clock_id, step)
);
create index ladder_steps_pending_idx on ladder_steps (due_at) where status = 'pending';

-- A breached clock. Never changed or removed.
create table breaches (
    clock_id     uuid primary key references clocks (id),
    contact_id   uuid not null references contacts (id),
    deadline     timestamptz not null,
    recorded_at  timestamptz not null
);
create trigger breaches_no_update_delete
    before update or delete on breaches
    for each row execute function audit_events_refuse_change();
create trigger breaches_no_truncate
    before truncate on breaches
    for each statement execute function audit_events_refuse_change();

-- The outbox of notification events (ladder steps now; deliveries by webhook later). Readers page
-- by (xid, id): `xid` is the inserting transaction, and only events of transactions older than
-- every running one are returned, so a cursor never skips an event that commits late.
create table events (
    id           bigint generated always as identity primary key,
    xid          xid8 not null default pg_current_xact_id(),
    occurred_at  timestamptz not null,
    kind         text not null,
    contact_id   uuid not null references contacts (id),
    clock_id     uuid references clocks (id),
    step         text,
    payload      jsonb not null default '{}'::jsonb,
    constraint events_clock_step_key unique (clock_id, step)
);
create index events_order_idx on events (xid, id);

-- Escalated contacts rise in their queue's order.
alter table contacts add column escalated boolean not null default false;
