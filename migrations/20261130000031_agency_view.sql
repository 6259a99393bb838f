-- What the submitting agency is shown of its contact's rating. The hub works to its own rating,
-- which may be raised by other agencies' contacts about the same child; showing that rating
-- (or its queue or deadline) to the submitting agency would reveal that someone else has
-- reported the child. So the agency sees the rating its own information warrants (its contact
-- and its own earlier contacts), or the hub's if a manager has since rated it lower: never
-- higher than the hub's, so the hub's deadline is never later than the one the agency is shown.
alter table contacts
    -- {urgency, queue, classification, decision_due_at} from the agency's own information,
    -- fixed at intake; the agency view returns to it when a manager re-rates upwards.
    add column own_view               jsonb,
    add column agency_urgency         text,
    add column agency_queue           text,
    add column agency_decision_due_at timestamptz,
    add column agency_classification  jsonb;

-- Contacts stored before this change keep showing what they showed.
update contacts set own_view = case when urgency is null then null else jsonb_build_object(
                        'urgency', urgency, 'queue', queue, 'classification', classification,
                        'decision_due_at', decision_due_at) end,
                    agency_urgency = urgency, agency_queue = queue,
                    agency_decision_due_at = decision_due_at, agency_classification = classification;
