-- Replacing or removing a webhook endpoint is an explicit act: pending deliveries follow an
-- agency's replacement endpoint, and those of a removed endpoint are cancelled (a disabled
-- endpoint receives nothing more).
alter table deliveries drop constraint deliveries_status_check;
alter table deliveries add constraint deliveries_status_check
    check (status in ('pending', 'delivered', 'failed', 'cancelled'));
