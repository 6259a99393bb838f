-- Triage: the children named in each contact with the keys that match the same child across
-- contacts, the matches found at intake, and the original classification plus every re-rating.

-- One row per child per contact. A child is "the same child" as another when the NHS numbers
-- are equal, or the normalised given name, family name and date of birth are (name_key).
create table contact_children (
    id           uuid primary key,
    contact_id   uuid not null references contacts (id),
    ordinal      integer not null,
    nhs_number   text,
    -- normalised "given|family|YYYY-MM-DD"; null unless all three are known
    name_key     text,
    -- the contact's received_at, copied so the repeat-contact window needs no join
    received_at  timestamptz not null,
    constraint contact_children_contact_ordinal_key unique (contact_id, ordinal)
);
create index contact_children_nhs_idx on contact_children (nhs_number, received_at) where nhs_number is not null;
create index contact_children_name_idx on contact_children (name_key, received_at) where name_key is not null;

-- What triage saw: each child's matches among earlier contacts' children, and on what.
create table child_matches (
    child_id          uuid not null references contact_children (id),
    matched_child_id  uuid not null references contact_children (id),
    matched_on        text not null check (matched_on in ('nhs_number', 'name_and_date_of_birth')),
    primary key (child_id, matched_child_id)
);

-- The rating history: the policy's classification at intake, then each manager re-rating.
-- Rows are never updated; the contact's current urgency is the latest row's.
create table contact_ratings (
    id                bigint generated always as identity primary key,
    contact_id        uuid not null references contacts (id),
    kind              text not null check (kind in ('classification', 'rerate')),
    urgency           text not null,
    queue             text not null,
    previous_urgency  text,
    -- the manager's written reason for a re-rating (staff-only; never logged)
    reason            text,
    actor_kind        text not null check (actor_kind in ('agency', 'staff', 'system')),
    actor_id          uuid,
    policy_version    text not null,
    at                timestamptz not null,
    constraint contact_ratings_reason_check check (kind = 'classification' or length(reason) between 1 and 2000)
);
create index contact_ratings_contact_idx on contact_ratings (contact_id, id);
