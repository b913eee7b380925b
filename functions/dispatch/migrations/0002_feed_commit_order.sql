-- The feed in commit order without a global lock (issue 17): each row
-- records its writer's transaction, and a stream's cursor is the snapshot
-- of its last read, so it reads exactly the rows that became visible
-- since, whatever their seq. The advisory lock that made seq order commit
-- order serialised every writer's commit (its fsync included) and is gone.
ALTER TABLE dispatch.feed ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX feed_xid ON dispatch.feed (xid);
-- A fresh map starts at the last hour's rows.
CREATE INDEX feed_at ON dispatch.feed (at);
