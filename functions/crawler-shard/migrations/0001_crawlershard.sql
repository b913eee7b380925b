-- The crawlershard schema, owned by functions/crawler-shard: only it writes here,
-- and other functions read it only through published SQL functions.
CREATE SCHEMA IF NOT EXISTS crawlershard;

-- A crawl job: seeds, scope (host suffixes), depth and politeness.
CREATE TABLE crawlershard.jobs (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           text        NOT NULL CHECK (name <> ''),
    seeds          text[]      NOT NULL,
    scope          text[]      NOT NULL,
    max_depth      int         NOT NULL CHECK (max_depth BETWEEN 0 AND 20),
    max_pages_host int         NOT NULL CHECK (max_pages_host > 0),
    delay_ms       int         NOT NULL CHECK (delay_ms >= 0),
    shards         int         NOT NULL CHECK (shards BETWEEN 1 AND 1024),
    created_at     timestamptz NOT NULL
);

-- The frontier: every URL of a job once (the primary key is the dedupe of
-- addresses), its state and its lease. PostgreSQL holds it so a killed
-- instance resumes: a done URL is never fetched again, an expired lease
-- is taken over.
CREATE TABLE crawlershard.frontier (
    job_id       bigint      NOT NULL REFERENCES crawlershard.jobs ON DELETE CASCADE,
    url          text        NOT NULL,
    host         text        NOT NULL,
    shard        int         NOT NULL,
    depth        int         NOT NULL,
    hops         int         NOT NULL DEFAULT 0, -- redirects followed to reach it
    state        text        NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'fetching', 'done', 'failed', 'skipped')),
    attempts     int         NOT NULL DEFAULT 0,
    next_at      timestamptz NOT NULL,
    lease_until  timestamptz,
    status_code  int,
    reason       text        NOT NULL DEFAULT '',
    fetched_at   timestamptz,
    PRIMARY KEY (job_id, url)
);
CREATE INDEX frontier_todo ON crawlershard.frontier (job_id, shard, host, next_at) WHERE state IN ('queued', 'fetching');

-- One worker per host at a time (its lease renewed with every URL it
-- claims), so a host's politeness never depends on two workers agreeing.
CREATE TABLE crawlershard.host_leases (
    job_id      bigint      NOT NULL REFERENCES crawlershard.jobs ON DELETE CASCADE,
    host        text        NOT NULL,
    owner       text        NOT NULL,
    lease_until timestamptz NOT NULL,
    PRIMARY KEY (job_id, host)
);

-- robots.txt per host, fetched once per job.
CREATE TABLE crawlershard.robots (
    job_id   bigint NOT NULL REFERENCES crawlershard.jobs ON DELETE CASCADE,
    host     text   NOT NULL,
    status   int    NOT NULL,
    body     text   NOT NULL,
    PRIMARY KEY (job_id, host)
);

-- Fetched pages; content deduplicated by the hash of the decoded text.
CREATE TABLE crawlershard.pages (
    job_id       bigint      NOT NULL REFERENCES crawlershard.jobs ON DELETE CASCADE,
    url          text        NOT NULL,
    host         text        NOT NULL,
    title        text        NOT NULL,
    body_text    text        NOT NULL,
    charset      text        NOT NULL,
    content_hash text        NOT NULL,
    duplicate_of text,
    fetched_at   timestamptz NOT NULL,
    PRIMARY KEY (job_id, url)
);
CREATE INDEX pages_hash ON crawlershard.pages (job_id, content_hash);

-- Online entities (网站、网店、外卖平台店铺、小程序 …) found by the extractors,
-- linked to a registry entity by the credit code they show.
CREATE TABLE crawlershard.online_entities (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host        text        NOT NULL UNIQUE,
    kind        text        NOT NULL,
    platform    text        NOT NULL,
    name        text        NOT NULL,
    credit_code text        NOT NULL DEFAULT '',
    district    text        NOT NULL DEFAULT '',
    has_licence boolean     NOT NULL,
    url         text        NOT NULL,
    job_id      bigint      NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- Objects: products (price, claims) and pages of an online entity.
CREATE TABLE crawlershard.objects (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url        text        NOT NULL UNIQUE,
    host       text        NOT NULL,
    kind       text        NOT NULL,
    name       text        NOT NULL,
    price      numeric(12,2),
    text       text        NOT NULL,
    job_id     bigint      NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX objects_host ON crawlershard.objects (host);

-- Published read function (contract, for monitor): the online objects with
-- their entity, updated after a time; monitor runs its rules over them.
CREATE FUNCTION crawlershard.online_objects(since timestamptz)
RETURNS TABLE (object_id bigint, url text, kind text, name text, price numeric, text text,
               entity_name text, credit_code text, district text, platform text, has_licence boolean, updated_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT o.id, o.url, o.kind, o.name, o.price, o.text, COALESCE(e.name, ''), COALESCE(e.credit_code, ''),
           COALESCE(e.district, ''), COALESCE(e.platform, ''), COALESCE(e.has_licence, true), o.updated_at
    FROM crawlershard.objects o LEFT JOIN crawlershard.online_entities e ON e.host = o.host
    WHERE o.updated_at >= since
$$;
