-- The hub's threshold level (its continuum of need, from the policy) that the screener judged the
-- child's needs to be at. Required by the service on every decision; null on decisions recorded
-- before this migration.
alter table decisions
    add column threshold_level text check (threshold_level is null or length(threshold_level) between 1 and 100);
