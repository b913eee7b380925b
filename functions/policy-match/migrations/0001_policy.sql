-- The policy schema, owned by functions/policy-match: only it writes here,
-- and other functions read it only through published SQL functions.
CREATE SCHEMA IF NOT EXISTS policy;

-- The policy library (政策库, FP-57–61). labels holds what the rules found,
-- each dimension with its value and the reason (matched terms or rule);
-- overrides what a person set instead, with who, when and why. Neither
-- replaces the other: the effective label is the override when there is
-- one, and the rules' reason stays visible beside it.
CREATE TABLE policy.policies (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title          text        NOT NULL CHECK (title <> ''),
    doc_no         text        NOT NULL DEFAULT '',   -- 文号
    issuer         text        NOT NULL DEFAULT '',   -- 发文机关, as written
    published_on   date,
    effective_on   date,
    expires_on     date,
    body           text        NOT NULL DEFAULT '',   -- full text
    conditions_text text       NOT NULL DEFAULT '',   -- 申报条件, as written
    apply_url      text        NOT NULL DEFAULT '',   -- 申报链接
    apply_platform text        NOT NULL DEFAULT '',   -- 申报平台 / 受理方式
    source_kind    text        NOT NULL CHECK (source_kind IN ('manual', 'html', 'pdf', 'markdown', 'url', 'demo')),
    source_ref     text        NOT NULL DEFAULT '',   -- file name or address it came from
    sample         boolean     NOT NULL DEFAULT false, -- 示例: the text is not a real document's
    condition      jsonb       NOT NULL DEFAULT '{}',  -- the structured applicability condition
    condition_from text        NOT NULL DEFAULT 'none' CHECK (condition_from IN ('none', 'draft', 'edited')),
    labels         jsonb       NOT NULL DEFAULT '{}',
    overrides      jsonb       NOT NULL DEFAULT '{}',
    status         text        NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'withdrawn')),
    revision       int         NOT NULL DEFAULT 1,
    published_at   timestamptz,
    created_by     text        NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    -- The effective labels, for filters and facets.
    policy_type    text GENERATED ALWAYS AS (COALESCE(overrides -> 'type' ->> 'value', labels -> 'type' ->> 'value')) STORED,
    level          text GENERATED ALWAYS AS (COALESCE(overrides -> 'level' ->> 'value', labels -> 'level' ->> 'value')) STORED,
    timeliness     text GENERATED ALWAYS AS (COALESCE(overrides -> 'timeliness' ->> 'value', labels -> 'timeliness' ->> 'value')) STORED,
    category       text GENERATED ALWAYS AS (COALESCE(overrides -> 'category' ->> 'value', labels -> 'category' ->> 'value')) STORED,
    department     text GENERATED ALWAYS AS (COALESCE(overrides -> 'department' ->> 'value', labels -> 'department' ->> 'value')) STORED
);
-- One document is imported once: the same title and number again is an update.
CREATE UNIQUE INDEX policies_doc ON policy.policies (title, doc_no);
CREATE INDEX policies_status ON policy.policies (status, id);

-- Which market entity an enterprise user acts for (the enterprise-facing
-- page and the notices of FP-62/64). Bound by a regulator whose data scope
-- holds the entity; the district is kept so the binding list is scoped.
CREATE TABLE policy.accounts (
    user_id       text        PRIMARY KEY,
    username      text        NOT NULL DEFAULT '',
    credit_code   text        NOT NULL,
    district_code text        NOT NULL,
    township_code text        NOT NULL DEFAULT '',
    bound_by      text        NOT NULL DEFAULT '',
    bound_at      timestamptz NOT NULL
);
CREATE INDEX accounts_entity ON policy.accounts (credit_code);

-- What policy-match derives of an entity (FP-54–56): the size by the 2011
-- SME thresholds from its latest annual report, and the ownership, each
-- with its reason. Rebuilt by entity events and by the backfill; the size
-- condition of a policy joins it.
CREATE TABLE policy.entity_facts (
    credit_code      text        PRIMARY KEY,
    size             text        NOT NULL CHECK (size IN ('large', 'medium', 'small', 'micro', 'unknown')),
    size_reason      text        NOT NULL DEFAULT '',
    ownership        text        NOT NULL DEFAULT '',
    ownership_reason text        NOT NULL DEFAULT '',
    computed_at      timestamptz NOT NULL
);
CREATE INDEX entity_facts_size ON policy.entity_facts (size, credit_code);

-- Matches found by a published policy's fan-out or by rematching an entity
-- (policy.matched). notified_at is set when the notice went out.
CREATE TABLE policy.matches (
    policy_id   bigint      NOT NULL REFERENCES policy.policies (id) ON DELETE CASCADE,
    credit_code text        NOT NULL,
    revision    int         NOT NULL,
    matched_at  timestamptz NOT NULL,
    announced   boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (policy_id, credit_code)
);
CREATE INDEX matches_entity ON policy.matches (credit_code);
CREATE INDEX matches_pending ON policy.matches (policy_id, credit_code) WHERE NOT announced;
