-- Keys that producers (ingest) and scripts (read) present as `Authorization: Bearer <key>`.
-- Only a SHA-256 of each key is stored: keys are long random strings, so a fast hash is enough
-- and lets every request be checked without a slow KDF.
create table api_keys (
    id          uuid        primary key,
    name        text        not null unique,
    kind        text        not null check (kind in ('ingest', 'read')),
    key_hash    text        not null unique,
    created_at  timestamptz not null default now(),
    revoked_at  timestamptz
);
