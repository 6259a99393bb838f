-- Two database roles: an owner that migrates (and owns every table), and a runtime role that owns
-- nothing and gets only what serving needs. Only an owner can disable a trigger, and only a
-- superuser can set `session_replication_role`, so the runtime role cannot lift the audit trail's
-- refusal of UPDATE, DELETE and TRUNCATE; it has no such privileges on the trail either.
--
-- `mash-triage migrate` calls this after every run, as the owner, with the user of
-- `database.url`, so tables added by later migrations are granted without each migration naming
-- a role (the role's name differs between installations). It converges: whatever the role held
-- before, afterwards it holds exactly this.
--
-- Append-only tables (the database refuses changes to them) get SELECT and INSERT; every other
-- table SELECT, INSERT, UPDATE and DELETE. Never TRUNCATE, REFERENCES or TRIGGER (TRIGGER would let
-- the role add triggers). A new append-only table joins the list in its own migration, with
-- `create or replace`.
create function grant_runtime_privileges(runtime name) returns void
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
            continue;
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

-- Only the owner runs it (as any other caller it would fail on the first GRANT anyway).
revoke execute on function grant_runtime_privileges(name) from public;
