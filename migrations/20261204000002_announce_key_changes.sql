-- Announce every committed change that could end a key's access, so that each process can keep
-- key lookups in memory for a few seconds and still refuse a revoked key at once (the cache in
-- src/cache/revocable.rs). NOTIFY is transactional: the announcement leaves when the change
-- commits and never when it rolls back, whoever makes it (the API, the command line on another
-- machine, an operator's SQL). A statement-level trigger announces once per statement, and
-- PostgreSQL folds identical notifications within one transaction into one.
create function announce_key_change() returns trigger
language plpgsql as $$
begin
    perform pg_notify('mash_keys_changed', '');
    return null;
end
$$;

-- A key revoked, expired early or deleted.
create trigger api_keys_announce_change
    after update or delete or truncate on api_keys
    for each statement execute function announce_key_change();

-- A member of staff deactivated, or their role changed.
create trigger staff_announce_change
    after update or delete or truncate on staff
    for each statement execute function announce_key_change();

-- An agency's kind is part of its principal.
create trigger agencies_announce_change
    after update of kind or delete or truncate on agencies
    for each statement execute function announce_key_change();
