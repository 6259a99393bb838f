-- Set at intake when one of the contact's children had a contact decided as a referral (the
-- policy's referral_outcomes) within the previous 12 months: the DfE's re-referral. Staff only.
alter table contacts add column re_referral boolean not null default false;
