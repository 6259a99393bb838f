-- Management information (issue 11): what the reports and Ofsted's Annex A export read.

-- Each agency's contact source, as the census code (CIN census "source of referral", Annex A
-- "contact source"), set when the agency is created (from its kind unless given) or changed.
alter table agencies add column contact_source text;
update agencies set contact_source = case kind
    when 'police' then '6' when 'school' then '2A' when 'health' then '3F' when 'local_authority' then '5B'
    when 'probation' then '7' when 'housing' then '4' else '8' end;
alter table agencies alter column contact_source set not null;
alter table agencies add constraint agencies_contact_source_check check (contact_source in (
    '1A', '1B', '1C', '1D', '2A', '2B', '3A', '3B', '3C', '3D', '3E', '3F', '4', '5A', '5B', '5C', '5D',
    '6', '7', '8', '9', '10'));

-- Reports take the contacts received in a period.
create index contacts_received_idx on contacts (received_at);
