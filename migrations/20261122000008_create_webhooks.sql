-- Webhook delivery from the events outbox: where notifications go, and each delivery's state.

-- An agency's endpoint receives the decisions on its contacts (feedback to the referrer); hub
-- endpoints receive staff notifications (ladder events), e.g. a gateway to email or chat.
create table webhook_endpoints (
    id           uuid primary key,
    purpose      text not null check (purpose in ('agency_feedback', 'staff_notifications')),
    agency_id    uuid references agencies (id),
    url          text not null check (url ~ '^https?://'),
    -- the shared secret that signs every delivery (HMAC-SHA256); never returned by the API
    secret       text not null check (length(secret) >= 16),
    created_at   timestamptz not null,
    disabled_at  timestamptz,
    constraint webhook_endpoints_owner check ((purpose = 'agency_feedback') = (agency_id is not null))
);
create unique index webhook_endpoints_one_per_agency on webhook_endpoints (agency_id)
    where purpose = 'agency_feedback' and disabled_at is null;

-- One delivery per event and endpoint; its id is what receivers de-duplicate on (a retry of the
-- same delivery carries the same id).
create table deliveries (
    id               uuid primary key,
    event_id         bigint not null references events (id),
    endpoint_id      uuid not null references webhook_endpoints (id),
    status           text not null check (status in ('pending', 'delivered', 'failed')),
    attempts         integer not null default 0,
    next_attempt_at  timestamptz not null,
    last_status      integer,
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz not null,
    constraint deliveries_event_endpoint_key unique (event_id, endpoint_id)
);
create index deliveries_due_idx on deliveries (next_attempt_at) where status = 'pending';
