-- A ladder step that fails to fire (the database refuses its transaction) must not hold up the
-- others, nor be lost. The worker isolates it, records the failure here and retries it later with
-- backoff; monitoring counts the steps that are failing. `last_failure` holds a code (a SQLSTATE
-- or an error class), never a message: messages can quote values.
alter table ladder_steps
    add column fire_attempts integer not null default 0,
    add column last_failure text,
    -- not before this time; null when the step never failed
    add column retry_at timestamptz;

-- Counting failing steps (for alerting) reads only these rows; normally none.
create index ladder_steps_failing_idx on ladder_steps (retry_at) where status = 'pending' and fire_attempts > 0;
