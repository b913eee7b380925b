-- The province schema, owned by functions/provincial-sync: what the
-- provincial metrology platform holds (pulled every 10 minutes, FP-165),
-- the watermarks of the pull and of the push of local changes (FP-166),
-- the runs and the interaction log of every record.
CREATE SCHEMA IF NOT EXISTS province;

-- The pulled records, in our column names (the field mapping is in
-- mapping.go). source_id is the province's id; content_hash is the hash of
-- the mapped values, so an unchanged record is never written again.
CREATE TABLE province.enterprises (
    source_id         text PRIMARY KEY,
    credit_code       text,
    name              text,
    district_code     text,
    address           text,
    contact           text,
    phone             text,
    content_hash      text NOT NULL,
    source_updated_at timestamptz NOT NULL,
    synced_at         timestamptz NOT NULL,
    run_id            bigint NOT NULL
);
CREATE INDEX province_enterprises_district ON province.enterprises (district_code);

CREATE TABLE province.instruments (
    source_id         text PRIMARY KEY,
    credit_code       text,
    district_code     text,
    name              text,
    model             text,
    serial_no         text,
    manufacturer      text,
    category_code     text,
    status            text,
    valid_until       date,
    content_hash      text NOT NULL,
    source_updated_at timestamptz NOT NULL,
    synced_at         timestamptz NOT NULL,
    run_id            bigint NOT NULL
);
CREATE INDEX province_instruments_district ON province.instruments (district_code);
CREATE INDEX province_instruments_owner ON province.instruments (credit_code);

CREATE TABLE province.verifications (
    source_id            text PRIMARY KEY,
    certificate_no       text,
    instrument_source_id text,
    institution          text,
    conclusion           text,
    verified_on          date,
    valid_until          date,
    district_code        text,
    content_hash         text NOT NULL,
    source_updated_at    timestamptz NOT NULL,
    synced_at            timestamptz NOT NULL,
    run_id               bigint NOT NULL
);
CREATE INDEX province_verifications_district ON province.verifications (district_code);

-- The pull's watermark per resource. high_water is the newest change
-- seen; a run asks for changes since high_water minus the overlap window.
-- While a run is under way, since and cursor are the request it is paging
-- through and the next page, committed with each page's rows: a run
-- killed mid-way resumes there.
CREATE TABLE province.watermarks (
    resource   text PRIMARY KEY,
    high_water timestamptz,
    since      timestamptz,
    cursor     text NOT NULL DEFAULT '',
    max_seen   timestamptz,
    run_id     bigint,
    updated_at timestamptz NOT NULL
);

-- The push's position in metrology's changes, per resource (keyset:
-- updated_at, then the key).
CREATE TABLE province.push_marks (
    resource   text PRIMARY KEY,
    since      timestamptz NOT NULL,
    after_key  text NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE province.runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trigger     text NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    status      text NOT NULL CHECK (status IN ('running', 'ok', 'partial', 'failed', 'skipped')),
    pages       int NOT NULL DEFAULT 0,
    fetched     bigint NOT NULL DEFAULT 0,
    inserted    bigint NOT NULL DEFAULT 0,
    updated     bigint NOT NULL DEFAULT 0,
    unchanged   bigint NOT NULL DEFAULT 0,
    pushed      bigint NOT NULL DEFAULT 0,
    rejected    bigint NOT NULL DEFAULT 0,
    retries     bigint NOT NULL DEFAULT 0,
    drift       text[] NOT NULL DEFAULT '{}',
    message     text NOT NULL DEFAULT ''
);

-- The interaction log: one row per record written, pushed, rejected or
-- uploaded, and per drifted field, with the run it belongs to (none for a
-- certificate upload, which an event drives).
CREATE TABLE province.log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id        bigint REFERENCES province.runs (id),
    resource      text NOT NULL,
    source_id     text NOT NULL DEFAULT '',
    district_code text NOT NULL DEFAULT '',
    action        text NOT NULL CHECK (action IN ('insert', 'update', 'push', 'reject', 'upload', 'drift', 'error')),
    field         text NOT NULL DEFAULT '',
    message       text NOT NULL DEFAULT '',
    at            timestamptz NOT NULL
);
CREATE INDEX province_log_run ON province.log (run_id, id);

-- Certificates uploaded to the province (one row per certificate version).
CREATE TABLE province.uploads (
    certificate_id bigint PRIMARY KEY,
    certificate_no text NOT NULL,
    version        int NOT NULL,
    remote_id      text NOT NULL,
    district_code  text NOT NULL DEFAULT '',
    uploaded_at    timestamptz NOT NULL
);
