-- Old (migration 0008) against new (0015) failure-window upserts: the same 200,000 failures
-- rolled up 1,000 at a time, four rounds alternated. Run on an empty scratch database:
--   psql -d scratch -f bench/failure_windows_upsert.sql  (docs/BENCHMARKS.md has the figures)
\timing off
set client_min_messages = warning;
create table ev as
select g as seq, now() - (random() * interval '40 days') as occurred_at,
       (array['auth.login.failure','auth.mfa.failure','api_key.used'])[1 + (g % 3)] as event_type,
       'auth' as category, 'failure' as action_result,
       '10.' || (random()*255)::int || '.' || (random()*255)::int || '.' || (random()*255)::int as address,
       'user' || (random()*20000)::int as username
from generate_series(1, 200000) g;
create index on ev (seq);
create table starts (span int primary key, start timestamptz);
insert into starts select s, now() - make_interval(secs => s) from (values (86400),(604800),(2592000)) v(s);
create table old_fw (span int, dimension text, event_type text, category text, value text, n bigint,
  primary key (span, dimension, event_type, value, category));
create index on old_fw (span, dimension, event_type, n desc, value);
create table new_fw (dimension text, event_type text, category text, value text,
  n_day bigint, n_week bigint, n_month bigint, primary key (dimension, event_type, value, category));
create index on new_fw (dimension, event_type, n_day desc, value) where n_day > 0;
create index on new_fw (dimension, event_type, n_week desc, value) where n_week > 0;
create index on new_fw (dimension, event_type, n_month desc, value) where n_month > 0;
create function up_old(a bigint, b bigint) returns void language sql as $$
  insert into old_fw as f select s.span, d.dimension, e.event_type, e.category, d.value, count(*)
  from ev e cross join lateral (values ('ip_address', e.address), ('username', e.username)) d(dimension, value)
  join starts s on e.occurred_at >= s.start where e.seq > a and e.seq <= b group by 1,2,3,4,5
  on conflict (span, dimension, event_type, value, category) do update set n = f.n + excluded.n $$;
create function up_new(a bigint, b bigint) returns void language sql as $$
  insert into new_fw as f select d.dimension, e.event_type, e.category, d.value,
    count(*) filter (where e.occurred_at >= w.day), count(*) filter (where e.occurred_at >= w.week), count(*)
  from ev e cross join lateral (values ('ip_address', e.address), ('username', e.username)) d(dimension, value)
  cross join (select max(start) filter (where span=86400) as day, max(start) filter (where span=604800) as week,
                     max(start) filter (where span=2592000) as month from starts) w
  where e.seq > a and e.seq <= b and e.occurred_at >= w.month group by 1,2,3,4
  on conflict (dimension, event_type, value, category) do update
    set n_day = f.n_day + excluded.n_day, n_week = f.n_week + excluded.n_week, n_month = f.n_month + excluded.n_month $$;
create table timings (design text, round int, ms float8);
do $$
declare t timestamptz; r int; i int;
begin
  for r in 1..4 loop
    truncate old_fw; truncate new_fw;
    t := clock_timestamp();
    for i in 0..199 loop perform up_old(i*1000, (i+1)*1000); end loop;
    insert into timings values ('old', r, extract(epoch from clock_timestamp() - t) * 1000);
    t := clock_timestamp();
    for i in 0..199 loop perform up_new(i*1000, (i+1)*1000); end loop;
    insert into timings values ('new', r, extract(epoch from clock_timestamp() - t) * 1000);
  end loop;
end $$;
select design, round(avg(ms)) as mean_ms, round(min(ms)) as min_ms, round(max(ms)) as max_ms from timings group by 1 order by 1;
select 'old_fw' as t, pg_size_pretty(pg_total_relation_size('old_fw')), count(*) from old_fw
union all select 'new_fw', pg_size_pretty(pg_total_relation_size('new_fw')), count(*) from new_fw;
