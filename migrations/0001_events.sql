-- The event log. One row per accepted event; rows are never updated.
create table events (
    -- Stream order: assigned at insert, so live clients resume with `after=<seq>`.
    seq                 bigint generated always as identity primary key,
    -- UUIDv7 from the server (time-ordered, cheap to index) or the producer's event_id.
    id                  uuid        not null,
    event_type          text        not null,
    category            text        not null,
    action              text        not null,
    action_result       text        not null check (action_result in ('success', 'failure', 'partial')),
    severity            text        not null check (severity in ('info', 'warning', 'error', 'critical')),
    user_id             text,
    username            text,
    ip_address          inet,
    user_agent          text,
    -- SHA-256 prefix of the producer's session id; the raw id is a bearer secret.
    session_fingerprint text,
    mfa_used            boolean,
    reason              text,
    error_message       text,
    token_type          text,
    expires_at          timestamptz,
    client_id           text,
    scope               text,
    forced              boolean,
    api_key_id          text,
    api_key_name        text,
    event_data          jsonb       not null default '{}'::jsonb,
    occurred_at         timestamptz not null,
    received_at         timestamptz not null default now(),
    source              text        not null
);

create unique index events_id_key on events (id);
