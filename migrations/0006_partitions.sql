-- Events are partitioned by month of `received_at`, so retention removes whole months
-- (DETACH … CONCURRENTLY, then DROP: neither blocks ingest or queries) and never deletes rows.
-- Partitions are named events_YYYY_MM; vigil creates them ahead of time (see
-- server/src/storage/partitions.rs), and this migration creates the ones existing rows need.

-- Month boundaries are UTC whatever the server's time zone.
set local timezone to 'UTC';

alter table events rename to events_unpartitioned;
alter table events_unpartitioned drop constraint events_pkey;
drop index events_id_key, events_occurred_idx, events_user_id_idx, events_username_idx,
    events_ip_idx, events_type_idx, events_category_idx, events_session_idx;
drop trigger events_append_only on events_unpartitioned;
drop trigger events_no_truncate on events_unpartitioned;

create table events (like events_unpartitioned including defaults including constraints)
    partition by range (received_at);

-- A partitioned table's keys must contain the partition key. Seqs and ids are unique anyway:
-- the writer assigns seqs and checks ids while it holds the chain head lock.
alter table events add primary key (seq, received_at);
create index events_id_idx on events (id);
create index events_occurred_idx on events (occurred_at desc, seq desc);
create index events_user_id_idx on events (user_id, occurred_at desc, seq desc) where user_id is not null;
create index events_username_idx on events (username, occurred_at desc, seq desc) where username is not null;
create index events_ip_idx on events (ip_address, occurred_at desc, seq desc) where ip_address is not null;
create index events_type_idx on events (event_type, occurred_at desc, seq desc);
create index events_category_idx on events (category, occurred_at desc, seq desc);
create index events_session_idx on events (session_fingerprint, occurred_at desc, seq desc)
    where session_fingerprint is not null;

do $$
declare
    month timestamptz := date_trunc('month',
        coalesce((select min(received_at) from events_unpartitioned), now()) at time zone 'UTC')
        at time zone 'UTC';
    last  timestamptz := (date_trunc('month', now() at time zone 'UTC') + interval '2 months')
        at time zone 'UTC';
begin
    while month <= last loop
        execute format('create table %I partition of events for values from (%L) to (%L)',
            'events_' || to_char(month at time zone 'UTC', 'YYYY_MM'),
            month, month + interval '1 month');
        month := month + interval '1 month';
    end loop;
end
$$;

insert into events select * from events_unpartitioned;
drop table events_unpartitioned;

create trigger events_append_only
    before update or delete on events
    for each row execute function events_append_only();

create trigger events_no_truncate
    before truncate on events
    for each statement execute function events_append_only();
