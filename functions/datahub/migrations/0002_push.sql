-- Push to a database (FP-96): a job sends what one generated interface
-- serves (its dataset, fields, filter, the creator's scope and masking)
-- into a table of a database the user configures, on a schedule.
-- The watermark is the newest updated_at a finished run pushed; the next
-- run reads from the watermark minus an overlap window, so rows committed
-- late with an older time are not missed, and upserts on the key make the
-- overlap harmless.
CREATE TABLE datahub.push_jobs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    interface_id  bigint      NOT NULL REFERENCES datahub.interfaces (id),
    name          text        NOT NULL CHECK (name <> ''),
    target_kind   text        NOT NULL CHECK (target_kind IN ('mysql', 'postgres')),
    target_dsn    text        NOT NULL,
    target_table  text        NOT NULL,
    every_minutes int         NOT NULL CHECK (every_minutes > 0),
    watermark     timestamptz,
    next_run_at   timestamptz NOT NULL,
    owner_id      text        NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX push_jobs_due ON datahub.push_jobs (next_run_at);

-- One run of a job. A run that stopped (a crash, a kill) keeps its cursor:
-- the next run of the job resumes it from the last key its target
-- committed, with the same starting watermark.
CREATE TABLE datahub.push_runs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id        bigint      NOT NULL REFERENCES datahub.push_jobs (id),
    since         timestamptz,            -- rows with updated_at >= since (null: all)
    cursor        text,                   -- the last key pushed
    max_updated   timestamptz,            -- the newest updated_at pushed so far
    rows_read     bigint      NOT NULL DEFAULT 0,
    rows_written  bigint      NOT NULL DEFAULT 0,
    resumes       int         NOT NULL DEFAULT 0,
    status        text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed', 'drift')),
    message       text        NOT NULL DEFAULT '',
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz
);
CREATE INDEX push_runs_job ON datahub.push_runs (job_id, id DESC);
