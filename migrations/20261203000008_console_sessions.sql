-- Staff sessions of the console (issue 12). The browser holds a random token in an HttpOnly,
-- SameSite=Strict cookie; only its SHA-256 is stored. A session remembers how its member of staff
-- signed in: today with their staff key (so revoking the key, or the key expiring, or the staff
-- member leaving, ends it); single sign-on (OpenID Connect) is another `method` with its own
-- subject, added later beside this one.
create table console_sessions (
    token_hash    bytea primary key,
    staff_id      uuid not null references staff (id),
    method        text not null check (method in ('staff_key')),
    -- the key signed in with (method 'staff_key')
    api_key_id    uuid references api_keys (id),
    -- every form of the session carries it; a post without it changes nothing
    csrf_token    text not null check (length(csrf_token) >= 32),
    created_at    timestamptz not null,
    last_seen_at  timestamptz not null,
    -- the absolute lifetime; the idle timeout is measured from last_seen_at
    expires_at    timestamptz not null,
    ended_at      timestamptz,
    end_reason    text check (end_reason in ('signed_out', 'idle', 'expired', 'key_revoked')),
    constraint console_sessions_key_for_key_method check ((method = 'staff_key') = (api_key_id is not null))
);
create index console_sessions_staff_idx on console_sessions (staff_id) where ended_at is null;
