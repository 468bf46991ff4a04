-- The session pivot's index holds a 64-bit hash of the fingerprint instead of its 32 hex
-- digits: 8 bytes a key where the text took 40 (88 bytes per event at 10 M events, about half
-- of that now; docs/BENCHMARKS.md). Readers ask for the hash and confirm the text
-- (server/src/storage/conditions.rs, `push_session`), so a collision never shows a stranger's
-- event. `hashtextextended` is the hash PostgreSQL keeps stable for hash partitioning.
drop index events_session_idx;
create index events_session_idx on events
    (hashtextextended(session_fingerprint, 0), occurred_at desc, seq desc)
    where session_fingerprint is not null;
