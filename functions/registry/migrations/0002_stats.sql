-- Nightly snapshot of entity counts (PingSource registry-nightly), so the
-- dashboard does not group 1.3 M rows on every page view.
CREATE TABLE registry.stats (
    district_code char(6) NOT NULL,
    entity_type   text    NOT NULL,
    status        text    NOT NULL,
    entities      bigint  NOT NULL,
    PRIMARY KEY (district_code, entity_type, status)
);
CREATE TABLE registry.stats_meta (
    id           int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    refreshed_at timestamptz NOT NULL
);
