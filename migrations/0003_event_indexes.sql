-- Indexes for the investigator views: every filter people start from is an index that also
-- yields rows newest first, so the first page of any preset or pivot reads a few index pages.
create index events_occurred_idx on events (occurred_at desc, seq desc);
create index events_user_id_idx on events (user_id, occurred_at desc, seq desc) where user_id is not null;
create index events_username_idx on events (username, occurred_at desc, seq desc) where username is not null;
-- btree on inet also serves CIDR containment (`<<=` becomes a range scan); GiST would cost inserts.
create index events_ip_idx on events (ip_address, occurred_at desc, seq desc) where ip_address is not null;
create index events_type_idx on events (event_type, occurred_at desc, seq desc);
create index events_category_idx on events (category, occurred_at desc, seq desc);
create index events_session_idx on events (session_fingerprint, occurred_at desc, seq desc)
    where session_fingerprint is not null;
