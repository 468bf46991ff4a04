-- An `occurred_at` further ahead of its receipt than the server's clock skew allows is stored
-- as received, with the producer's claim kept here: such an event is flagged and sorts where it
-- arrived, instead of pinning itself to the top of every newest-first list.
alter table events add column occurred_at_claimed timestamptz;
