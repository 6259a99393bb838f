-- Breaches are immutable like the audit trail, but refused with their own message: a refused
-- change to `breaches` said "audit_events is append-only", which sent whoever read the log to the
-- wrong table. The function names the table it guards (TG_TABLE_NAME), and the breaches triggers
-- use it; the audit trail keeps its own function unchanged.
create function refuse_change() returns trigger
    language plpgsql as $$
begin
    raise exception '% is append-only: % refused', tg_table_name, tg_op
        using errcode = 'insufficient_privilege';
end;
$$;

drop trigger breaches_no_update_delete on breaches;
drop trigger breaches_no_truncate on breaches;
create trigger breaches_no_update_delete
    before update or delete on breaches
    for each row execute function refuse_change();
create trigger breaches_no_truncate
    before truncate on breaches
    for each statement execute function refuse_change();
