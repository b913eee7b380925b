-- The dashboard schema, owned by functions/dashboard: only it writes here,
-- and other functions read it only through published SQL functions.
CREATE SCHEMA IF NOT EXISTS dashboard;

-- KPI board (FP-110–114, 130): categories of two levels (a parent's parent
-- is refused in code, so the tree never grows a third level).
CREATE TABLE dashboard.categories (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id bigint REFERENCES dashboard.categories (id) ON DELETE RESTRICT,
    name      text NOT NULL CHECK (name <> ''),
    sort      int  NOT NULL DEFAULT 0,
    UNIQUE NULLS NOT DISTINCT (parent_id, name)
);

-- An indicator counts the entities its conditions select, in the caller's
-- data scope. conditions is a list of {field, op, value} from a fixed
-- allow-list (kpi.go); kind basic answers from the rollup, advanced also
-- gives a roster and per-county ranking.
CREATE TABLE dashboard.indicators (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    category_id bigint NOT NULL REFERENCES dashboard.categories (id) ON DELETE RESTRICT,
    name        text   NOT NULL UNIQUE CHECK (name <> ''),
    kind        text   NOT NULL CHECK (kind IN ('basic', 'advanced')),
    unit        text   NOT NULL DEFAULT '户',
    conditions  jsonb  NOT NULL DEFAULT '[]',
    visible     boolean NOT NULL DEFAULT true,
    wrap        boolean NOT NULL DEFAULT false,
    sort        int    NOT NULL DEFAULT 0,
    updated_by  text   NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX indicators_category ON dashboard.indicators (category_id);

-- Pre-aggregated entity counts, refreshed per district by registry.entity.*
-- events and wholly by the dashboard-rollup PingSource. Township is kept
-- so that a township-narrowed data scope is answered exactly.
CREATE TABLE dashboard.rollup (
    district_code text   NOT NULL,
    township_code text   NOT NULL,
    entity_type   text   NOT NULL,
    status        text   NOT NULL,
    entities      bigint NOT NULL,
    PRIMARY KEY (district_code, township_code, entity_type, status)
);
CREATE TABLE dashboard.rollup_meta (
    district_code text PRIMARY KEY,
    refreshed_at  timestamptz NOT NULL
);

-- A starting board the back office edits.
WITH top AS (
    INSERT INTO dashboard.categories (name, sort) VALUES ('市场主体', 1) RETURNING id
), sub AS (
    INSERT INTO dashboard.categories (parent_id, name, sort)
    SELECT top.id, v.name, v.sort FROM top, (VALUES ('主体类型', 1), ('经营状态', 2)) v(name, sort)
    RETURNING id, name
)
INSERT INTO dashboard.indicators (category_id, name, kind, conditions, sort)
SELECT sub.id, v.name, 'basic', v.conds::jsonb, v.sort FROM sub JOIN (VALUES
    ('主体类型', '在业企业', '[{"field":"entity_type","op":"eq","value":"enterprise"},{"field":"status","op":"eq","value":"active"}]', 1),
    ('主体类型', '在业个体工商户', '[{"field":"entity_type","op":"eq","value":"individual"},{"field":"status","op":"eq","value":"active"}]', 2),
    ('主体类型', '在业农民专业合作社', '[{"field":"entity_type","op":"eq","value":"cooperative"},{"field":"status","op":"eq","value":"active"}]', 3),
    ('经营状态', '吊销主体', '[{"field":"status","op":"eq","value":"revoked"}]', 1),
    ('经营状态', '注销主体', '[{"field":"status","op":"eq","value":"deregistered"}]', 2)
) v(cat, name, conds, sort) ON v.cat = sub.name;
