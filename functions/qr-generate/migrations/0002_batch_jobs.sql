-- Batch issuance jobs (批量赋码任务). A city-wide selection takes far longer
-- than any proxy lets a request live, so POST /qr/v1/batches records the
-- job and answers at once; a runner in each replica claims queued jobs
-- (FOR UPDATE SKIP LOCKED) and records progress in the same transaction
-- as each chunk of codes, so the counts stay exact across a crash.
CREATE TABLE qr.batch_jobs (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id       text        NOT NULL UNIQUE, -- batch_id of its qr.batch-issued events and oplog rows
    selection      jsonb       NOT NULL,        -- the Selection as submitted (codes normalised, deduplicated)
    code_count     int         NOT NULL DEFAULT 0, -- credit codes in the selection (lists leave them out)
    -- Selection and scope, hashed: one open job per identical request, so a
    -- double click or a retried POST does not queue the same work twice.
    fingerprint    text        NOT NULL,
    district_code  text        NOT NULL DEFAULT '', -- the selection's district, for data-scope filtering
    township_code  text        NOT NULL DEFAULT '',
    operator_id    text        NOT NULL DEFAULT '',
    operator       text        NOT NULL,
    scope          jsonb       NOT NULL,        -- the operator's data scope, which narrows the selection
    status         text        NOT NULL CHECK (status IN ('queued','running','done','failed')),
    total          bigint      NOT NULL DEFAULT 0, -- credit codes requested, or active entities the filter selects
    target         bigint      NOT NULL DEFAULT 0, -- of those, active ones in scope without a code: the work
    issued         bigint      NOT NULL DEFAULT 0, -- active at once
    pending_review bigint      NOT NULL DEFAULT 0, -- issued pending review (事业单位, 民非)
    skipped        bigint      NOT NULL DEFAULT 0, -- already coded, inactive or outside the scope
    unknown        text[]      NOT NULL DEFAULT '{}', -- requested codes qr-generate holds no entity for
    events         bigint      NOT NULL DEFAULT 0,
    error          text        NOT NULL DEFAULT '',
    -- Each claim increments attempts; every write of a running job is
    -- conditioned on it, so a runner whose lease was taken over cannot
    -- write over the new owner.
    attempts       int         NOT NULL DEFAULT 0,
    -- Database time (every replica shares it): a running job whose lease
    -- passed belongs to a runner that died and is claimed again.
    lease_until    timestamptz,
    created_at     timestamptz NOT NULL,
    started_at     timestamptz,
    finished_at    timestamptz
);
CREATE INDEX batch_jobs_open ON qr.batch_jobs (id) WHERE status IN ('queued','running');
CREATE UNIQUE INDEX batch_jobs_open_once ON qr.batch_jobs (fingerprint) WHERE status IN ('queued','running');
CREATE INDEX batch_jobs_created ON qr.batch_jobs (created_at DESC, id DESC);
