-- Keys can expire and staff can leave. `api_keys.expires_at` is the last instant a key works
-- (null: until revoked); a rotated key keeps working until it, so a partner can switch without
-- downtime. `staff.deactivated_at` marks someone who has left: authentication refuses their keys
-- (all of which are revoked in the same transaction) and they cannot be assigned work.
-- Both columns are nullable without a default, so adding them rewrites nothing.
alter table api_keys add column expires_at timestamptz;
alter table staff add column deactivated_at timestamptz;
