-- The instants at which a running clock has used half and three quarters of its budget, kept
-- beside its deadline and re-derived with it (start, re-rating, pause, resume), so monitoring
-- counts open contacts by budget band in one aggregate, without working-time arithmetic per
-- contact per scrape. Null while the clock is paused before the point (it is not known until
-- the clock resumes) and on clocks written before this migration: monitoring computes those
-- from their segments.
alter table clocks
    add column half_at timestamptz,
    add column three_quarters_at timestamptz;
