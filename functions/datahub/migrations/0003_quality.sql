-- Data quality (FP-98): rules per dataset and field, runs, the scores of
-- each run (kept, so a trend over time can be drawn) and the issues a run
-- finds, routed to the rule's owning department with a repair workflow.
CREATE TABLE datahub.quality_rules (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dataset     text        NOT NULL,
    field       text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('format', 'range', 'reference', 'uniqueness', 'completeness', 'timeliness')),
    params      jsonb       NOT NULL DEFAULT '{}',
    title       text        NOT NULL DEFAULT '',
    dept_id     text        NOT NULL,          -- the owning department: its issues go there
    dept_name   text        NOT NULL DEFAULT '',
    enabled     boolean     NOT NULL DEFAULT true,
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX quality_rules_dataset ON datahub.quality_rules (dataset, field);

CREATE TABLE datahub.quality_runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trigger      text        NOT NULL CHECK (trigger IN ('api', 'schedule')),
    started_by   text        NOT NULL DEFAULT '',
    status       text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    rules        int         NOT NULL DEFAULT 0,
    rows_checked bigint      NOT NULL DEFAULT 0,
    issues_found int         NOT NULL DEFAULT 0,
    message      text        NOT NULL DEFAULT '',
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz
);

-- One score per run, dataset and field ('' is the dataset as a whole) and
-- per rule (rule_id null for the aggregates): checked and passed counts,
-- the score is 100 × passed / checked.
CREATE TABLE datahub.quality_scores (
    run_id   bigint        NOT NULL REFERENCES datahub.quality_runs (id),
    dataset  text          NOT NULL,
    field    text          NOT NULL DEFAULT '',
    rule_id  bigint,
    checked  bigint        NOT NULL,
    passed   bigint        NOT NULL,
    score    numeric(6, 2) NOT NULL,
    at       timestamptz   NOT NULL
);
CREATE INDEX quality_scores_trend ON datahub.quality_scores (dataset, field, at);
CREATE INDEX quality_scores_run ON datahub.quality_scores (run_id);

-- A failing row of a rule. One issue per rule and row key, seen again by
-- later runs. States: open → fixed (the department corrected the source;
-- the next run verifies) or explained (a reason accepted as is); a run
-- that finds the row passing closes it, one that finds a fixed row still
-- failing opens it again.
CREATE TABLE datahub.quality_issues (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule_id       bigint      NOT NULL REFERENCES datahub.quality_rules (id),
    dataset       text        NOT NULL,
    field         text        NOT NULL,
    row_key       text        NOT NULL,
    value         text        NOT NULL DEFAULT '',   -- masked for personal fields
    message       text        NOT NULL,
    dept_id       text        NOT NULL,
    district_code text        NOT NULL DEFAULT '',
    status        text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'fixed', 'explained', 'closed')),
    note          text        NOT NULL DEFAULT '',
    handled_by    text        NOT NULL DEFAULT '',
    handled_name  text        NOT NULL DEFAULT '',
    handled_at    timestamptz,
    first_run     bigint      NOT NULL,
    last_run      bigint      NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    UNIQUE (rule_id, row_key)
);
CREATE INDEX quality_issues_dept ON datahub.quality_issues (dept_id, status, id DESC);
CREATE INDEX quality_issues_dataset ON datahub.quality_issues (dataset, status);

-- What happened to an issue, and who did it (people's actions are also in
-- the operation log).
CREATE TABLE datahub.quality_issue_events (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    issue_id  bigint      NOT NULL REFERENCES datahub.quality_issues (id),
    action    text        NOT NULL,   -- found, fix, explain, reopen, close
    from_status text      NOT NULL DEFAULT '',
    to_status text        NOT NULL,
    note      text        NOT NULL DEFAULT '',
    by_user   text        NOT NULL DEFAULT '',
    by_name   text        NOT NULL DEFAULT '',
    run_id    bigint,
    at        timestamptz NOT NULL
);
CREATE INDEX quality_issue_events_issue ON datahub.quality_issue_events (issue_id, id);

-- Push targets' addresses at rest (FP-96): the password-bearing address
-- is sealed (AES-GCM envelope, shared/seal) into target_secret and only
-- the masked form stays in target_dsn. Rows written before this migration
-- still hold the address in clear; the function seals them at start
-- (sealLegacyTargets), since the key is not the database's to know.
ALTER TABLE datahub.push_jobs ADD COLUMN target_secret bytea;
