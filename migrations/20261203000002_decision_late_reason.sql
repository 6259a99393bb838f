-- Why a decision came after the contact's deadline: one of the policy's late reasons (the
-- policy version on the row says which list it came from), and the sentence some reasons need.
-- Required by the service on every late decision; null on decisions in time and on decisions
-- recorded before this migration.
alter table decisions
    add column late_reason text check (late_reason is null or length(late_reason) between 1 and 100),
    add column late_reason_text text check (late_reason_text is null or length(late_reason_text) between 1 and 2000),
    add constraint decisions_late_reason_text_needs_reason check (late_reason_text is null or late_reason is not null);
