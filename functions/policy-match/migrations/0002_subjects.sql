-- policy.subjects: every entity's fields a policy condition tests, in one
-- narrow row: what registry.policy_subjects() answers (its credit state
-- included) and the size from policy.entity_facts. policy → entities
-- (FP-63) and the fan-out scan it instead of the registry's function.
--
-- Why a copy: the function is a scan of registry.entities (wide rows:
-- names, scopes, addresses) joined to the credit state aggregated from
-- the records and to the facts, 1.4–4 s over 1.3 M entities; this table
-- is a fifth of the size and one scan, about 0.2 s (docs/benchmarks.md).
--
-- Kept current the way entity_facts is, in the same statements: the
-- entity events (entity.registered, entity.updated, which the registry
-- emits for every change of an entity or its records) rewrite the
-- entity's row, and BackfillFacts rebuilds every row from the registry
-- (after a bulk load; run it again to reconcile). The blacklist is kept
-- as its end date, not as a flag, so it runs out on its day without an
-- event; the other fields change only with an event.
CREATE TABLE policy.subjects (
    credit_code        text        PRIMARY KEY,
    entity_type        text        NOT NULL,
    district_code      text        NOT NULL,
    township_code      text        NOT NULL,
    industry_code      text        NOT NULL,
    established_on     date,
    registered_capital numeric,
    status             text        NOT NULL,
    abnormal           boolean     NOT NULL,
    serious_illegal    boolean     NOT NULL,
    blacklisted_until  date,       -- latest end of a blacklist entry, 'infinity' without one; NULL: never blacklisted
    last_penalty_on    date,
    size               text        NOT NULL,
    refreshed_at       timestamptz NOT NULL
);
-- Pages of matches walk this (every condition requires status active),
-- in the order registry index entities_code_reversed gave them before.
CREATE INDEX subjects_active_reversed ON policy.subjects (reverse(credit_code)) WHERE status = 'active';
-- District conditions and district users' data scopes.
CREATE INDEX subjects_active_district ON policy.subjects (district_code, entity_type) WHERE status = 'active';
