-- Indexes for claiming by batch (crawl.go, commit.go).
--
-- A host's frontier rows: the claim of a host's next due URLs and the
-- per-host page cap of new links read them by job and host, which
-- frontier_todo (job, shard, host, …) serves only after the shard.
CREATE INDEX frontier_host ON crawlershard.frontier (job_id, host, depth, url);

-- A worker picks the first due row of its shard whose host nobody holds,
-- walking this index in due order (and skipping rows another claim is
-- taking), instead of grouping every open row of the shard by host.
CREATE INDEX frontier_due ON crawlershard.frontier (job_id, shard, next_at) WHERE state IN ('queued', 'fetching');
DROP INDEX crawlershard.frontier_todo;
