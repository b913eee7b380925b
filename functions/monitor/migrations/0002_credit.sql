-- Data scope on clues (the clue carries the district's division code, so a
-- district inspector sees only the clues of their district) and the credit
-- grades of online entities (FP-87).
ALTER TABLE monitor.clues ADD COLUMN district_code text NOT NULL DEFAULT '';
CREATE INDEX clues_district ON monitor.clues (district_code);
CREATE INDEX clues_credit ON monitor.clues (credit_code) WHERE credit_code <> '';

-- The grading model's weights, one row per version: a change never
-- overwrites, so every grade names the version it was computed with.
CREATE TABLE monitor.credit_weights (
    version    int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    weights    jsonb       NOT NULL,
    note       text        NOT NULL DEFAULT '',
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL
);

-- Public credit records of an entity from outside the monitor: penalties,
-- the abnormal-operation list, judgments, dishonest-debtor lists and
-- complaints. ref is the record's number at its source, so an import
-- repeated adds nothing.
CREATE TABLE monitor.credit_records (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    credit_code   text        NOT NULL CHECK (credit_code <> ''),
    entity_name   text        NOT NULL,
    district      text        NOT NULL,
    district_code text        NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('penalty', 'abnormal', 'judgment', 'dishonest', 'complaint')),
    ref           text        NOT NULL CHECK (ref <> ''),
    detail        text        NOT NULL,
    occurred_at   timestamptz NOT NULL,
    created_by    text        NOT NULL,
    created_at    timestamptz NOT NULL,
    UNIQUE (kind, ref)
);
CREATE INDEX credit_records_code ON monitor.credit_records (credit_code);

-- The current grade of each entity with its explanation per factor.
CREATE TABLE monitor.credit_grades (
    credit_code     text PRIMARY KEY,
    entity_name     text        NOT NULL,
    district        text        NOT NULL,
    district_code   text        NOT NULL,
    score           int         NOT NULL,
    grade           text        NOT NULL CHECK (grade IN ('A', 'B', 'C', 'D')),
    interval_days   int         NOT NULL,
    factors         jsonb       NOT NULL,
    weights_version int         NOT NULL REFERENCES monitor.credit_weights,
    cause           text        NOT NULL,
    computed_at     timestamptz NOT NULL
);
CREATE INDEX credit_grades_grade ON monitor.credit_grades (grade, district_code);

-- Every change of an entity's grade or score, and what caused it.
CREATE TABLE monitor.credit_history (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    credit_code     text        NOT NULL,
    score           int         NOT NULL,
    grade           text        NOT NULL,
    factors         jsonb       NOT NULL,
    weights_version int         NOT NULL,
    cause           text        NOT NULL,
    computed_at     timestamptz NOT NULL
);
CREATE INDEX credit_history_code ON monitor.credit_history (credit_code, id);
