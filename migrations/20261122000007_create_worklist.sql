-- The worklist: who holds a contact now (a lease), staff notes, and screening decisions.

-- At most one claim per contact. A claim is a lease: past `expires_at` the contact is back in
-- its queue (the worker deletes expired claims and audits it). History is in the audit trail.
create table claims (
    contact_id  uuid primary key references contacts (id),
    staff_id    uuid not null references staff (id),
    claimed_at  timestamptz not null,
    expires_at  timestamptz not null
);
create index claims_expires_idx on claims (expires_at);

-- Staff notes: never shown to agencies. `kind` tells a note from the written reason of an
-- assignment or a move.
create table notes (
    id          bigint generated always as identity primary key,
    contact_id  uuid not null references contacts (id),
    staff_id    uuid not null references staff (id),
    kind        text not null check (kind in ('note', 'assignment', 'move')),
    body        text not null check (length(body) between 1 and 10000),
    created_at  timestamptz not null
);
create index notes_contact_idx on notes (contact_id, id);

-- The screening decision, one per contact. `feedback` is the text written for the referrer.
create table decisions (
    contact_id       uuid primary key references contacts (id),
    outcome          text not null,
    rationale        text not null check (length(rationale) between 1 and 10000),
    signpost_agency  text,
    feedback         text not null check (length(feedback) between 1 and 4000),
    decided_by       uuid not null references staff (id),
    decided_at       timestamptz not null,
    policy_version   text not null
);

-- Queue order: escalated first, then the soonest decision deadline.
create index contacts_open_queue_idx on contacts (queue, escalated desc, decision_due_at, received_at)
    where status in ('awaiting_screening', 'in_screening');
