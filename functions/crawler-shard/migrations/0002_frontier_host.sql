-- Claiming by batch (crawl.go, commit.go).
--
-- A host's frontier rows: the claim of a host's next due URLs and the
-- per-host page cap of new links read them by job and host.
CREATE INDEX frontier_host ON crawlershard.frontier (job_id, host, depth, url);
-- Dropped: the planner took it for a host's rows too (job and host, the
-- shard skipped), reading every open row of the job and its dead versions;
-- the hosts table below answers what it served.
DROP INDEX crawlershard.frontier_todo;

-- One row per host of a job: when its next URL is due and who holds it.
-- A worker picks the first due host of its shard nobody holds from here,
-- instead of grouping (or walking) every open frontier row of the shard,
-- dead versions of claimed rows included, on every claim.
--
--   due          the earliest next_at of its queued URLs, set when the
--                host is released (NULL: nothing left) and lowered when a
--                link adds a URL; while the host is held it may be stale.
--   owner, lease_until  the worker holding it (the former host_leases):
--                one worker per host at a time, taken over once the lease
--                runs out.
--
-- Whoever sets due from the frontier holds the row's lock, taken in an
-- earlier statement of its transaction, so a link committed meanwhile is
-- either seen or lowers due after it.
CREATE TABLE crawlershard.hosts (
    job_id      bigint      NOT NULL REFERENCES crawlershard.jobs ON DELETE CASCADE,
    host        text        NOT NULL,
    shard       int         NOT NULL,
    due         timestamptz,
    owner       text        NOT NULL DEFAULT '',
    lease_until timestamptz,
    PRIMARY KEY (job_id, host)
);
CREATE INDEX hosts_due ON crawlershard.hosts (job_id, shard, due) WHERE due IS NOT NULL;

INSERT INTO crawlershard.hosts (job_id, host, shard, due)
SELECT job_id, host, min(shard), min(next_at) FILTER (WHERE state IN ('queued', 'fetching'))
FROM crawlershard.frontier GROUP BY job_id, host;
UPDATE crawlershard.hosts h SET owner = l.owner, lease_until = l.lease_until
FROM crawlershard.host_leases l WHERE l.job_id = h.job_id AND l.host = h.host;
DROP TABLE crawlershard.host_leases;

-- A page's duplicate_of is the least address with its content hash: with
-- the address in the index that is its first entry, not a scan of every
-- page with the same text (a licence page shared by thousands of shops).
DROP INDEX crawlershard.pages_hash;
CREATE INDEX pages_hash ON crawlershard.pages (job_id, content_hash, url);
