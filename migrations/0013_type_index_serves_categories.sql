-- A known event type's category never changes, so a category filter is now a list of types,
-- read type by type from `events_type_idx` (server/src/storage/conditions.rs, `kinds_of`).
-- The category index (79 bytes per event at 10 M events, docs/BENCHMARKS.md) goes; only
-- custom types are still found by category, through a partial index holding just them.
drop index events_category_idx;
create index events_custom_idx on events (occurred_at desc, seq desc) where category = 'custom';

-- The owner's functions from 0008 and 0010 resolve names in `public` and then `pg_temp`, as
-- 0012's do: a temporary table of the caller's can never stand in for one of ours.
alter function count_events(bigint, bigint) set search_path = public, pg_temp;
alter function roll_up(bigint) set search_path = public, pg_temp;
alter function rebuild_failure_windows() set search_path = public, pg_temp;
alter function advance_failure_windows() set search_path = public, pg_temp;
alter function create_month_partitions(date) set search_path = public, pg_temp;
