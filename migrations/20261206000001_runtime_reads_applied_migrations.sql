-- The runtime role may read which migrations are applied (SELECT on `_sqlx_migrations`, nothing
-- more), so a process can tell that the database holds every migration its build embeds before
-- it reports ready or starts its background work (`db::schema_is_current`). Without this, a binary
-- started before `mash-triage migrate` took contacts and answered 500 for statements the schema
-- did not have yet. The table holds versions, descriptions, checksums and times: no personal data.
--
-- Only that line changes from migration 20261130000011; the rest of the policy is as it was.
create or replace function grant_runtime_privileges(runtime name) returns void
    language plpgsql as $$
declare
    runtime_oid oid;
    t record;
begin
    select oid into runtime_oid from pg_roles where rolname = runtime;
    if runtime_oid is null then
        raise exception 'role % does not exist: create it (LOGIN, no other attributes) before migrating', runtime;
    end if;
    if runtime = current_user then
        raise exception 'the runtime role % is the migrating role: give database.migrate_url a different user', runtime;
    end if;
    if exists (select from pg_roles where oid = runtime_oid and (rolsuper or rolbypassrls or rolcreaterole)) then
        raise exception 'the runtime role % must not be a superuser, bypass RLS or create roles', runtime;
    end if;
    if pg_has_role(runtime, current_user, 'MEMBER') then
        raise exception 'the runtime role % is a member of the owner %: it could act as the owner', runtime, current_user;
    end if;
    if exists (select from pg_class where relowner = runtime_oid and relnamespace = 'public'::regnamespace) then
        raise exception 'the runtime role % owns objects in schema public: it must own none', runtime;
    end if;

    execute format('grant usage on schema public to %I', runtime);
    for t in
        select c.relname from pg_class c
         where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
         order by c.relname
    loop
        execute format('revoke all on table %I from %I', t.relname, runtime);
        if t.relname = '_sqlx_migrations' then
            execute format('grant select on table %I to %I', t.relname, runtime);
        elsif t.relname in ('audit_events', 'breaches') then
            execute format('grant select, insert on table %I to %I', t.relname, runtime);
        else
            execute format('grant select, insert, update, delete on table %I to %I', t.relname, runtime);
        end if;
    end loop;
    -- Serial columns need nextval (identity columns do not check it); setval needs UPDATE, not granted.
    execute format('grant usage on all sequences in schema public to %I', runtime);
end;
$$;

revoke execute on function grant_runtime_privileges(name) from public;
