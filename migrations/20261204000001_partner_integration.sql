-- Partners integrate in a day: Standard Webhooks (secret rotation, an endpoint's health, 410
-- disables), test deliveries, the agencies' change feed, Idempotency-Key, and the sandbox.

-- An endpoint may hold the secret it is rotating away from until the overlap ends; deliveries
-- are signed with both meanwhile. Why it was disabled, and how its deliveries are going, are
-- shown to the hub and to the agency.
alter table webhook_endpoints
    add column previous_secret            text check (length(previous_secret) >= 16),
    add column previous_secret_expires_at timestamptz,
    add column disabled_reason            text check (disabled_reason in ('removed', 'replaced', 'gone')),
    add column last_success_at            timestamptz,
    add column last_failure_at            timestamptz,
    add column consecutive_failures       integer not null default 0,
    add column last_error                 text,
    add constraint webhook_endpoints_previous_secret
        check ((previous_secret is null) = (previous_secret_expires_at is null));
update webhook_endpoints set disabled_reason = 'removed' where disabled_at is not null;

-- A test delivery announces no contact.
alter table events alter column contact_id drop not null;
create index deliveries_endpoint_idx on deliveries (endpoint_id, created_at desc);

-- The change feed: every change an agency can see (status, outcome, its view of the rating)
-- takes a place in the feed, ordered by the changing transaction and a sequence. Readers return
-- only rows whose transaction is older than every running one (the events feed's technique), so
-- a cursor never skips a change that commits late. A new contact takes its place by the
-- columns' defaults; a change by the trigger.
create sequence contacts_feed_seq;
alter table contacts
    add column feed_xid xid8   not null default pg_current_xact_id(),
    add column feed_seq bigint not null default nextval('contacts_feed_seq');
create function contacts_feed_mark() returns trigger
    language plpgsql as $$
begin
    new.feed_xid := pg_current_xact_id();
    new.feed_seq := nextval('contacts_feed_seq');
    return new;
end;
$$;
create trigger contacts_feed_change
    before update on contacts
    for each row
    -- The agency sees awaiting_authorisation as in_screening: a move between them is no change.
    when ((case old.status when 'awaiting_authorisation' then 'in_screening' else old.status end)
          is distinct from (case new.status when 'awaiting_authorisation' then 'in_screening' else new.status end)
       or old.outcome is distinct from new.outcome
       or old.agency_urgency is distinct from new.agency_urgency
       or old.agency_queue is distinct from new.agency_queue
       or old.agency_decision_due_at is distinct from new.agency_decision_due_at
       or old.agency_classification is distinct from new.agency_classification)
    execute function contacts_feed_mark();
create index contacts_feed_idx on contacts (agency_id, feed_xid, feed_seq);

-- Idempotency-Key on POST /v1/contacts: the key, the fingerprint of the request it was first
-- used with, and the answer it got. Written in the submission's transaction, so a key is never
-- recorded for a contact that was not stored. Kept 24 hours.
create table idempotency_keys (
    agency_id     uuid        not null references agencies (id),
    key           text        not null check (length(key) between 1 and 255),
    request_hash  bytea       not null,
    contact_id    uuid        not null references contacts (id),
    status        smallint    not null check (status in (200, 201)),
    created_at    timestamptz not null,
    primary key (agency_id, key)
);
create index idempotency_keys_created_idx on idempotency_keys (created_at);

-- What this database is for. A sandbox deployment refuses a database marked live (or holding
-- contacts and unmarked), and a live one refuses a database marked sandbox: test clocks never
-- touch live data, and live data never mixes with moved time.
create table deployment (
    only_row  boolean     primary key default true check (only_row),
    mode      text        not null check (mode in ('live', 'sandbox')),
    marked_at timestamptz not null
);

-- Each sandbox agency's test clock: its time is the hub's plus this offset, which only grows.
create table sandbox_clocks (
    agency_id   uuid        primary key references agencies (id),
    offset_us   bigint      not null check (offset_us >= 0),
    advanced_to timestamptz not null,
    updated_at  timestamptz not null
);

-- Staff keys an agency made for itself in the sandbox: their work runs on its test clock.
create table sandbox_staff (
    staff_id  uuid primary key references staff (id),
    agency_id uuid not null references agencies (id)
);
