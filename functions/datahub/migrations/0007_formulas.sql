-- Smart search (FP-136, 137): saved formulas, and the access log's rows
-- for search runs beside the generated interfaces' calls.

-- A saved formula: the dataset, the conditions (a CEL expression that may
-- hold $variables, or the visual builder's tree), grouping and
-- aggregates, as one spec. A formula holds no data scope: whoever runs it
-- runs it with their own permissions and scope, so sharing one never
-- widens what anyone sees.
CREATE TABLE datahub.formulas (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL CHECK (name <> ''),
    description text        NOT NULL DEFAULT '',
    dataset     text        NOT NULL,
    spec        jsonb       NOT NULL,
    shared      boolean     NOT NULL DEFAULT false,
    owner_id    text        NOT NULL,
    owner_name  text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX formulas_owner ON datahub.formulas (owner_id, id DESC);
CREATE INDEX formulas_shared ON datahub.formulas (id DESC) WHERE shared;

-- kind: interface (a generated interface's call), search, search_export
-- (a smart-search run by user_id, of formula_id when saved).
ALTER TABLE datahub.access_log
    ADD COLUMN kind       text   NOT NULL DEFAULT 'interface',
    ADD COLUMN user_id    text   NOT NULL DEFAULT '',
    ADD COLUMN formula_id bigint;
CREATE INDEX access_log_user ON datahub.access_log (user_id, at DESC) WHERE user_id <> '';
