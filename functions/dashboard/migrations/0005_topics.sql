-- Topic boards (FP-118 许可备案专版, FP-119 行政处罚专版): pre-aggregated
-- from registry.dashboard_record_details() (registry migration 0141) by
-- the dashboard-rollup PingSource, as records carry no events. Township is
-- kept so a township-narrowed scope is answered exactly, like
-- dashboard.rollup. category and case_type are the dashboard's own
-- classification (topic.go), fixed at refresh time.

-- Licences per cell, category, status (有效 / 已过期 / other as stored)
-- and year of issue.
CREATE TABLE dashboard.licence_rollup (
    district_code text   NOT NULL,
    township_code text   NOT NULL,
    category      text   NOT NULL,
    status        text   NOT NULL,
    year          int    NOT NULL,
    licences      bigint NOT NULL,
    PRIMARY KEY (category, district_code, township_code, status, year)
);

-- Entities holding at least one licence of the category, per cell: kept
-- apart because distinct entities do not add up over statuses or years.
CREATE TABLE dashboard.licence_entities (
    district_code text   NOT NULL,
    township_code text   NOT NULL,
    category      text   NOT NULL,
    entities      bigint NOT NULL,
    PRIMARY KEY (category, district_code, township_code)
);

-- Penalty cases per cell, case type, month of the decision and whether
-- the case is closed (status 已结案), with the fines' sum (yuan).
CREATE TABLE dashboard.penalty_rollup (
    district_code text    NOT NULL,
    township_code text    NOT NULL,
    case_type     text    NOT NULL,
    month         date    NOT NULL,
    closed        boolean NOT NULL,
    cases         bigint  NOT NULL,
    amount        numeric NOT NULL,
    PRIMARY KEY (case_type, month, district_code, township_code, closed)
);
CREATE INDEX penalty_rollup_month ON dashboard.penalty_rollup (month);

CREATE TABLE dashboard.topic_meta (
    board        text PRIMARY KEY,
    refreshed_at timestamptz NOT NULL
);
