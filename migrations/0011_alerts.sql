-- Detections (server/src/detect/): the alerts rules raise, how far the engine has evaluated,
-- and the webhooks that tell on-call.

create table alerts (
    id                bigint generated always as identity primary key,
    revision          bigint      not null default 1,
    -- Position in the stream of alert changes (`alert_clock`), for the live stream's resume.
    change_seq        bigint      not null,
    rule_id           text        not null,
    title             text        not null,
    severity          text        not null check (severity in ('low', 'medium', 'high', 'critical')),
    status            text        not null default 'open'
                                  check (status in ('open', 'acknowledged', 'closed')),
    group_key         text        not null,
    first_seen        timestamptz not null,
    last_seen         timestamptz not null,
    event_count       bigint      not null,
    evidence_filter   text        not null,
    evidence_seqs     bigint[]    not null,
    opened_at         timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    status_changed_by text,
    status_changed_at timestamptz,
    note              text
);
-- At most one alert per rule and key that is not closed: further matches update it.
create unique index alerts_one_live on alerts (rule_id, group_key) where status <> 'closed';
create index alerts_change_seq on alerts (change_seq);
create index alerts_listing on alerts ((status = 'closed'), severity, last_seen desc, id desc);

create table alert_history (
    alert_id    bigint      not null references alerts (id),
    at          timestamptz not null default now(),
    action      text        not null,
    by_whom     text        not null,
    note        text,
    event_count bigint      not null
);
create index alert_history_alert on alert_history (alert_id, at);

-- Every change to alerts takes this row first: change seqs then commit in order, so a stream
-- resuming after seq N misses no change.
create table alert_clock (
    singleton boolean primary key default true check (singleton),
    seq       bigint  not null
);
insert into alert_clock (seq) values (0);

-- How far the evaluating instance has judged the event stream: the seq of the last event whose
-- alerts are committed. Advanced in the same transaction as those alerts.
create table detection_cursor (
    singleton boolean primary key default true check (singleton),
    seq       bigint  not null
);
-- A database with history starts detecting from now; `vigil detect --since` judges the past.
insert into detection_cursor (seq) values ((select seq from chain_head));

create table webhooks (
    id                bigint generated always as identity primary key,
    url               text        not null,
    min_severity      text        not null default 'low'
                                  check (min_severity in ('low', 'medium', 'high', 'critical')),
    format            text        not null default 'json' check (format in ('json', 'slack')),
    on_status_change  boolean     not null default false,
    -- The HMAC-SHA256 key receivers verify signatures with.
    secret            text        not null,
    created_at        timestamptz not null default now()
);

create table webhook_deliveries (
    id              bigint generated always as identity primary key,
    webhook_id      bigint      not null references webhooks (id) on delete cascade,
    alert_id        bigint      not null references alerts (id),
    alert_revision  bigint      not null,
    -- What is POSTed, fixed when the delivery is made so every retry sends the same bytes.
    body            text        not null,
    attempts        integer     not null default 0,
    next_attempt_at timestamptz not null default now(),
    -- `pending`, `delivered`, or `failed` (gave up after the retry period).
    state           text        not null default 'pending'
                                check (state in ('pending', 'delivered', 'failed')),
    last_status     integer,
    last_error      text,
    created_at      timestamptz not null default now(),
    delivered_at    timestamptz,
    unique (webhook_id, alert_id, alert_revision)
);
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where state = 'pending';
create index webhook_deliveries_alert on webhook_deliveries (alert_id);

do $$
begin
    if exists (select from pg_roles where rolname = 'vigil_app') then
        grant select, insert, update on alerts, alert_clock, detection_cursor to vigil_app;
        grant select, insert on alert_history to vigil_app;
        grant select on webhooks to vigil_app;
        grant select, insert, update on webhook_deliveries to vigil_app;
    end if;
end
$$;
