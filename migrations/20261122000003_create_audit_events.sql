-- The append-only audit trail: every write, and every read of a contact, by anyone.
-- Rows are written in the same transaction as the change they record. `detail` holds ids and
-- codes only, never personal data.
create table audit_events (
    id           bigint generated always as identity primary key,
    occurred_at  timestamptz not null,
    actor_kind   text not null check (actor_kind in ('agency', 'staff', 'system')),
    -- The agency or staff member who acted (null for the system itself).
    actor_id     uuid,
    api_key_id   uuid references api_keys (id),
    action       text not null,
    contact_id   uuid references contacts (id),
    detail       jsonb not null default '{}'::jsonb
);
create index audit_events_contact_idx on audit_events (contact_id, id) where contact_id is not null;

-- The database itself refuses to change or remove audit rows, whoever asks.
create function audit_events_refuse_change() returns trigger
language plpgsql as $$
begin
    raise exception 'audit_events is append-only: % refused', tg_op
        using errcode = 'insufficient_privilege';
end;
$$;

create trigger audit_events_no_update_delete
    before update or delete on audit_events
    for each row execute function audit_events_refuse_change();

create trigger audit_events_no_truncate
    before truncate on audit_events
    for each statement execute function audit_events_refuse_change();
