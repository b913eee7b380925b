-- Entities having at least one public record of a kind, per rollup cell
-- (FP-114, FP-130): answers an advanced indicator's "has / lacks a record
-- of kind K" condition without an EXISTS over every record. kind '' is
-- every entity of the cell at the same moment, so "lacks K" is '' less K
-- from one snapshot. Rebuilt wholly by the dashboard-rollup PingSource:
-- records carry no events of their own, so it is as fresh as that tick.
CREATE TABLE dashboard.record_rollup (
    district_code text   NOT NULL,
    township_code text   NOT NULL,
    entity_type   text   NOT NULL,
    status        text   NOT NULL,
    kind          text   NOT NULL,
    entities      bigint NOT NULL,
    PRIMARY KEY (kind, district_code, township_code, entity_type, status)
);

-- Custom topic reports (FP-121): the dimensions to break down by, an
-- optional narrowing of the data scope to some districts (always
-- intersected with the reader's own scope) and the period of a
-- subscription's delivery.
CREATE TABLE dashboard.reports (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title       text   NOT NULL UNIQUE CHECK (title <> ''),
    dimensions  text[] NOT NULL,
    districts   text[] NOT NULL DEFAULT '{}',
    period      text   NOT NULL CHECK (period IN ('day', 'week', 'month')),
    created_by  text   NOT NULL,
    created_at  timestamptz NOT NULL
);

-- Subscriptions (FP-138): each recipient subscribes in person, and the
-- data scope identity resolved into their token is kept with it (and
-- renewed on every later visit of theirs), so each period's report is
-- rendered with the recipient's own scope, never the creator's.
CREATE TABLE dashboard.subscriptions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id     bigint NOT NULL REFERENCES dashboard.reports (id) ON DELETE CASCADE,
    user_id       text   NOT NULL,
    username      text   NOT NULL,
    scope         jsonb  NOT NULL,
    scope_at      timestamptz NOT NULL,
    created_at    timestamptz NOT NULL,
    UNIQUE (report_id, user_id)
);
CREATE INDEX subscriptions_user ON dashboard.subscriptions (user_id);

-- One row per delivered period; the PDF is in object storage under key.
-- UNIQUE makes a redelivered PingSource tick deliver nothing twice.
CREATE TABLE dashboard.deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id bigint NOT NULL REFERENCES dashboard.subscriptions (id) ON DELETE CASCADE,
    user_id         text   NOT NULL,
    report_title    text   NOT NULL,
    period_from     date   NOT NULL,
    period_to       date   NOT NULL,
    object_key      text   NOT NULL,
    bytes           bigint NOT NULL,
    rows            bigint NOT NULL,
    delivered_at    timestamptz NOT NULL,
    UNIQUE (subscription_id, period_from)
);
CREATE INDEX deliveries_user ON dashboard.deliveries (user_id, delivered_at DESC);
