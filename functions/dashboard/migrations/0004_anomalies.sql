-- Anomalous data (异常数据, FP-102–109, 133). An anomaly is one finding of
-- one rule about one subject (an entity, a licence, a suspect point). The
-- detection recomputes every rule from the published read functions and
-- merges: a finding already open is left as it is (last_seen_at moves), a
-- new one is inserted, and an open one no rule finds any more is resolved.
-- So a redelivered event or a second tick changes nothing.
CREATE TABLE dashboard.anomalies (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule          text   NOT NULL,
    class         text   NOT NULL CHECK (class IN ('entity', 'food', 'drug', 'licence')),
    subject       text   NOT NULL, -- what the rule found: credit code, licence:ID, geocode:ID
    credit_code   text   NOT NULL DEFAULT '',
    entity_name   text   NOT NULL DEFAULT '',
    district_code text   NOT NULL,
    township_code text   NOT NULL DEFAULT '',
    source        text   NOT NULL,           -- the system holding the data: registry, qr, geocode
    source_ref    text   NOT NULL DEFAULT '', -- the record there: licence number, code, address
    cause         text   NOT NULL,
    impact        text   NOT NULL CHECK (impact IN ('high', 'medium', 'low')),
    tags          text[] NOT NULL DEFAULT '{}',
    detected_by   text   NOT NULL,           -- the tick or event that first found it
    status        text   NOT NULL DEFAULT 'open'
                  CHECK (status IN ('open', 'processing', 'corrected', 'dismissed', 'resolved')),
    category      text   NOT NULL DEFAULT '', -- the handler's classification
    opinion       text   NOT NULL DEFAULT '',
    correction    jsonb,
    handled_by    text   NOT NULL DEFAULT '',
    handled_at    timestamptz,
    detected_at   timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    resolved_at   timestamptz  -- the rule no longer finds it
);
-- One live finding per rule and subject: a dismissed one stays live, so a
-- false positive once dismissed is not raised again every tick.
CREATE UNIQUE INDEX anomalies_live ON dashboard.anomalies (rule, subject) WHERE resolved_at IS NULL;
CREATE INDEX anomalies_area ON dashboard.anomalies (district_code, township_code, status);
CREATE INDEX anomalies_entity ON dashboard.anomalies (credit_code) WHERE resolved_at IS NULL;
CREATE INDEX anomalies_detected ON dashboard.anomalies (detected_at);

-- The path an anomaly took (FP-108): detection (source system, the tick
-- or event, the rule), every handling step, its resolution.
CREATE TABLE dashboard.anomaly_trace (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    anomaly_id bigint NOT NULL REFERENCES dashboard.anomalies (id) ON DELETE CASCADE,
    step       text   NOT NULL,
    actor      text   NOT NULL,
    detail     jsonb  NOT NULL DEFAULT '{}',
    at         timestamptz NOT NULL
);
CREATE INDEX anomaly_trace_anomaly ON dashboard.anomaly_trace (anomaly_id, id);

-- Thresholds (FP-107): when the live anomalies of a class or rule in a
-- district (or the whole city) reach the threshold, the roles and
-- departments named are alerted once; crossed re-arms when the count falls
-- below again, so a tick above the line sends nothing more.
CREATE TABLE dashboard.anomaly_thresholds (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text   NOT NULL CHECK (name <> ''),
    class         text   NOT NULL DEFAULT '',
    rule          text   NOT NULL DEFAULT '',
    district_code text   NOT NULL DEFAULT '', -- '' is the whole city
    threshold     int    NOT NULL CHECK (threshold > 0),
    level         text   NOT NULL DEFAULT 'warning' CHECK (level IN ('warning', 'alert')),
    roles         text[] NOT NULL DEFAULT '{}',
    dept_ids      text[] NOT NULL DEFAULT '{}',
    enabled       boolean NOT NULL DEFAULT true,
    crossed       boolean NOT NULL DEFAULT false,
    created_by    text   NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE dashboard.anomaly_alerts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    threshold_id bigint NOT NULL REFERENCES dashboard.anomaly_thresholds (id) ON DELETE CASCADE,
    count        int    NOT NULL,
    at           timestamptz NOT NULL
);
CREATE INDEX anomaly_alerts_threshold ON dashboard.anomaly_alerts (threshold_id, id);
