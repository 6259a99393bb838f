-- Contacts: the unit partners submit. `submission` holds the validated, normalised contact as
-- received; the triage, routing and clock columns are filled in by later stages.
create table contacts (
    id                uuid primary key,
    agency_id         uuid not null references agencies (id),
    agency_reference  text not null check (length(agency_reference) between 1 and 100),
    -- SHA-256 of the normalised submission: a retry with the same body is a replay, a
    -- different body under the same reference is a conflict.
    request_hash      bytea not null,
    status            text not null default 'awaiting_screening'
                      check (status in ('awaiting_screening', 'in_screening', 'decided', 'closed')),
    received_at       timestamptz not null,
    submission        jsonb not null,
    urgency           text,
    queue             text,
    decision_due_at   timestamptz,
    classification    jsonb,
    outcome           text,
    -- Optimistic-concurrency version for staff updates (ETag / If-Match).
    version           bigint not null default 1,
    -- Idempotency: one contact per (agency, agency_reference), whatever the number of racing requests.
    constraint contacts_agency_reference_key unique (agency_id, agency_reference)
);
create index contacts_agency_received_idx on contacts (agency_id, received_at desc);
