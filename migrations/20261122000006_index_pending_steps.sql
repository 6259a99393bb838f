-- The re-seed walks pending steps by key, and the overdue sweep by due time; both only look at
-- pending rows, so both indexes are partial. And a clock has at most one open segment.
create index ladder_steps_pending_key_idx on ladder_steps (clock_id, step) where status = 'pending';
create unique index clock_segments_one_open_idx on clock_segments (clock_id) where ended_at is null;
