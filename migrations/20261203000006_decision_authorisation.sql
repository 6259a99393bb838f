-- Manager oversight of decisions. The policy names the decisions a manager must authorise (by
-- default closing a red or amber contact with no further action or advice, and any decision on a
-- contact that breached). Such a decision is recorded as awaiting authorisation: the contact waits
-- in `awaiting_authorisation` (the agency still sees `in_screening` and no outcome), an
-- `authorisation` clock runs on the ladder, and the referrer is told only once a manager
-- authorises it. A decision sent back moves to `decisions_sent_back` with the manager's reason,
-- and the contact returns to screening with its decision clock running again.
alter table contacts drop constraint contacts_status_check;
alter table contacts add constraint contacts_status_check
    check (status in ('awaiting_screening', 'in_screening', 'awaiting_authorisation', 'decided', 'closed'));

alter table clocks drop constraint clocks_kind_check;
alter table clocks add constraint clocks_kind_check check (kind in ('decision', 'authorisation', 'feedback'));

alter table decisions
    -- null: the decision needed no authorisation
    add column authorisation          text check (authorisation in ('awaiting', 'authorised')),
    -- the policy's reasons the decision needed it (e.g. {closing_red_or_amber, breached})
    add column authorisation_reasons  text[],
    add column authorised_by          uuid references staff (id),
    add column authorised_at          timestamptz,
    add constraint decisions_authorised_says_who_and_when
        check (coalesce(authorisation = 'authorised', false) = (authorised_at is not null)
               and (authorised_by is null) = (authorised_at is null));

-- Decisions a manager sent back, with why. The contact's next decision replaces nothing here.
create table decisions_sent_back (
    id                     bigint generated always as identity primary key,
    contact_id             uuid not null references contacts (id),
    outcome                text not null,
    threshold_level        text,
    late_reason            text,
    authorisation_reasons  text[] not null,
    decided_by             uuid not null references staff (id),
    decided_at             timestamptz not null,
    policy_version         text not null,
    sent_back_by           uuid not null references staff (id),
    sent_back_at           timestamptz not null,
    reason                 text not null check (length(reason) between 1 and 2000)
);
create index decisions_sent_back_contact_idx on decisions_sent_back (contact_id, id);
create index decisions_sent_back_at_idx on decisions_sent_back (sent_back_at);

-- Managers' list of decisions awaiting authorisation, oldest first.
create index decisions_awaiting_idx on decisions (decided_at) where authorisation = 'awaiting';
