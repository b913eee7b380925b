-- FP-86 经营行为数据: searches a user saves over the online objects
-- (crawlershard.online_objects), and each run of them. A scheduled run
-- uses the scope its owner had when saving (kept in scope), so a search
-- never shows more than its owner could see at that moment.
CREATE TABLE monitor.saved_searches (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id       text        NOT NULL,
    owner_name     text        NOT NULL,
    name           text        NOT NULL,
    conditions     jsonb       NOT NULL,
    scope          jsonb       NOT NULL,
    interval_hours integer     NOT NULL DEFAULT 0 CHECK (interval_hours BETWEEN 0 AND 720), -- 0: by hand only
    next_run_at    timestamptz,
    last_run_at    timestamptz,
    last_hits      integer,
    last_new       integer,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    UNIQUE (owner_id, name)
);
CREATE INDEX saved_searches_due ON monitor.saved_searches (next_run_at) WHERE next_run_at IS NOT NULL;

CREATE TABLE monitor.saved_search_runs (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    search_id bigint      NOT NULL REFERENCES monitor.saved_searches ON DELETE CASCADE,
    ran_at    timestamptz NOT NULL,
    trigger   text        NOT NULL CHECK (trigger IN ('manual', 'schedule')),
    hits      integer     NOT NULL,
    new_hits  integer     NOT NULL
);
CREATE INDEX saved_search_runs_search ON monitor.saved_search_runs (search_id, ran_at DESC);
