CREATE SCHEMA IF NOT EXISTS scan;

-- Every scan of a code (FP-48–50 statistics), written in batches by COPY.
-- Partitioned by month (UTC) so old months can be detached and archived
-- whole; the flusher creates a month's partition before its first COPY.
-- The id is minted in the process; the primary key lets a batch replayed
-- from the Redis spill (after a COPY whose outcome was unknown) be
-- inserted with ON CONFLICT DO NOTHING, so no scan is counted twice.
CREATE TABLE scan.scans (
    id            uuid        NOT NULL,
    scanned_at    timestamptz NOT NULL,
    token         text        NOT NULL,
    credit_code   text        NOT NULL DEFAULT '',
    district_code text        NOT NULL DEFAULT '',
    township_code text        NOT NULL DEFAULT '',
    industry_code text        NOT NULL DEFAULT '',
    code_status   text        NOT NULL DEFAULT '', -- active | invalid | pending | rejected | missing
    channel       text        NOT NULL DEFAULT 'h5', -- h5 | json
    ua_class      text        NOT NULL DEFAULT '', -- wechat | alipay | baidu | browser | bot | other
    os            text        NOT NULL DEFAULT '',
    ip_hash       text        NOT NULL DEFAULT '', -- keyed hash of the /24 (IPv4) or /48 (IPv6) prefix
    role          text        NOT NULL DEFAULT '', -- '' for the anonymous public
    PRIMARY KEY (scanned_at, id)
) PARTITION BY RANGE (scanned_at);
-- Statistics group a time range by credit code (top entities).
CREATE INDEX scans_code ON scan.scans (credit_code, scanned_at);

-- Inspections recorded on the spot by inspectors who scanned a code
-- (FP-30 监督检查, FP-32 抽查检查). The registry receives them through
-- scan.inspection.recorded and shows them on the public page.
CREATE TABLE scan.inspections (
    id             uuid        PRIMARY KEY,
    token          text        NOT NULL,
    credit_code    text        NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('inspection', 'spot_check')),
    title          text        NOT NULL,
    authority      text        NOT NULL,
    inspected_on   date        NOT NULL,
    items          jsonb       NOT NULL,
    conclusion     text        NOT NULL,
    remarks        text        NOT NULL DEFAULT '',
    photos         jsonb       NOT NULL DEFAULT '[]', -- object-storage keys
    inspector_id   text        NOT NULL,
    inspector_name text        NOT NULL DEFAULT '',
    dept_id        text        NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL
);
CREATE INDEX inspections_entity ON scan.inspections (credit_code, created_at DESC);
