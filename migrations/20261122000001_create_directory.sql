-- Who may call the service: partner agencies, hub staff, and the API keys that identify them.
-- Keys are stored only as SHA-256 hashes of the random key (the key itself is shown once).
create table agencies (
    id          uuid primary key,
    name        text not null check (length(name) between 1 and 200),
    kind        text not null check (kind in ('police', 'school', 'health', 'local_authority',
                                              'probation', 'housing', 'voluntary', 'other')),
    created_at  timestamptz not null
);
-- `key create --agency NAME` looks agencies up by exact name, so names are unique.
create unique index agencies_name_key on agencies (name);

create table staff (
    id          uuid primary key,
    name        text not null check (length(name) between 1 and 200),
    role        text not null check (role in ('practitioner', 'manager', 'auditor', 'admin')),
    created_at  timestamptz not null
);

create table api_keys (
    id          uuid primary key,
    key_hash    bytea not null,
    agency_id   uuid references agencies (id),
    staff_id    uuid references staff (id),
    created_at  timestamptz not null,
    revoked_at  timestamptz,
    -- A key belongs to exactly one agency client or one staff member.
    constraint api_keys_one_owner check ((agency_id is null) <> (staff_id is null))
);
create unique index api_keys_key_hash_key on api_keys (key_hash);
