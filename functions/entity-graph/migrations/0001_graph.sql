-- The graph schema, owned by functions/entity-graph (企业图谱, FP-134,
-- FP-135): only it writes here, and other functions read it only through
-- published SQL functions.
CREATE SCHEMA IF NOT EXISTS graph;

-- A party is a node of the ownership graph: a market entity (id = its
-- unified social credit code) or a natural person (id 'P' + a number; the
-- ID-card number stays in the legal-person base). district_code and
-- township_code place it for the caller's data scope; a person takes the
-- place of the registration that named them.
CREATE TABLE graph.parties (
    id            text PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('entity', 'person')),
    name          text NOT NULL CHECK (name <> ''),
    district_code text NOT NULL DEFAULT '',
    township_code text NOT NULL DEFAULT ''
);

-- A holding: holder owns pct % of held, with the paid-in capital (万元).
-- No foreign keys: the network is loaded in bulk (COPY) from the
-- legal-person base, whose extracts are consistent by construction, and a
-- holder unknown to parties shows as a bare node.
CREATE TABLE graph.holdings (
    held_id   text          NOT NULL,
    holder_id text          NOT NULL,
    pct       numeric(9, 6) NOT NULL CHECK (pct > 0 AND pct <= 100),
    paid_in   numeric(18, 4),
    PRIMARY KEY (held_id, holder_id),
    CHECK (held_id <> holder_id)
);
-- The downward walk (what a party holds).
CREATE INDEX holdings_by_holder ON graph.holdings (holder_id) INCLUDE (held_id, pct);

-- Relations other than holdings: investment (对外投资), parent-subsidiary
-- (母子公司) and cooperation (合作).
CREATE TABLE graph.relations (
    from_id text NOT NULL,
    to_id   text NOT NULL,
    kind    text NOT NULL CHECK (kind IN ('investment', 'parent_subsidiary', 'cooperation')),
    since   date,
    PRIMARY KEY (from_id, to_id, kind)
);
CREATE INDEX relations_to ON graph.relations (to_id);

-- Change records of holdings: transfers, increases, decreases, pledges.
CREATE TABLE graph.changes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    held_id         text          NOT NULL,
    holder_id       text          NOT NULL,
    kind            text          NOT NULL CHECK (kind IN ('transfer', 'increase', 'decrease', 'pledge')),
    pct_before      numeric(9, 6),
    pct_after       numeric(9, 6),
    counterparty_id text,
    amount          numeric(18, 4),
    occurred_on     date          NOT NULL
);
CREATE INDEX changes_held ON graph.changes (held_id, occurred_on DESC);
