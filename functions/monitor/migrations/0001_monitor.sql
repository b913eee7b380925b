-- The monitor schema, owned by functions/monitor: only it writes here,
-- and other functions read it only through published SQL functions.
CREATE SCHEMA IF NOT EXISTS monitor;

-- A monitoring model (FP-88): area, violation types, scope and window.
CREATE TABLE monitor.models (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL CHECK (name <> ''),
    districts   text[]      NOT NULL, -- empty: the whole city
    types       text[]      NOT NULL, -- rule types (advertising, prohibited, claims, disclosure)
    platforms   text[]      NOT NULL, -- empty: every platform type
    window_days int         NOT NULL CHECK (window_days BETWEEN 1 AND 3650),
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL
);

-- A clue: the evidence snippet, the rule (and its version) and article,
-- the object and the entity it concerns; reviewed, dismissed with a
-- reason, or sent on as a case.
CREATE TABLE monitor.clues (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_id     bigint      NOT NULL REFERENCES monitor.models ON DELETE CASCADE,
    rule_id      text        NOT NULL,
    rule_version text        NOT NULL,
    article      text        NOT NULL,
    term         text        NOT NULL,
    snippet      text        NOT NULL,
    object_url   text        NOT NULL,
    object_name  text        NOT NULL,
    entity_name  text        NOT NULL,
    credit_code  text        NOT NULL,
    district     text        NOT NULL,
    platform     text        NOT NULL,
    status       text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'dismissed', 'case')),
    reason       text        NOT NULL DEFAULT '',
    reviewed_by  text        NOT NULL DEFAULT '',
    reviewed_at  timestamptz,
    created_at   timestamptz NOT NULL,
    UNIQUE (model_id, rule_id, object_url, term)
);
CREATE INDEX clues_model ON monitor.clues (model_id, status);
