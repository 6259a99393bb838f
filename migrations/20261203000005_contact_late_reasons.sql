-- Why a breached contact that is still open is late, recorded by a manager before the decision
-- (a manager may revise it; the audit trail keeps each version's code). The decision takes it
-- when it gives no reason of its own.
create table contact_late_reasons (
    contact_id        uuid primary key references contacts (id),
    late_reason       text not null check (length(late_reason) between 1 and 100),
    late_reason_text  text check (late_reason_text is null or length(late_reason_text) between 1 and 2000),
    recorded_by       uuid not null references staff (id),
    recorded_at       timestamptz not null
);
