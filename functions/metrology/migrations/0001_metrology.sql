-- The metrology schema, owned by functions/metrology: only it writes here,
-- and other functions read it only through published SQL functions
-- (0002_published.sql).
CREATE SCHEMA IF NOT EXISTS metrology;

-- The SAMR 2020 No. 42 catalogue (项别 / 种别), loaded from
-- catalogue/samr-2020-42.csv at start (the file is the source; these rows
-- let SQL join and constrain on it).
CREATE TABLE metrology.catalogue_items (
    code text PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE metrology.catalogue_categories (
    code         text PRIMARY KEY,
    item_code    text NOT NULL REFERENCES metrology.catalogue_items (code),
    name         text NOT NULL,
    supervision  text NOT NULL,
    cycle_months int  NOT NULL CHECK (cycle_months >= 0),
    nozzles      bool NOT NULL,
    unsure       bool NOT NULL,
    note         text NOT NULL DEFAULT ''
);

-- Instrument users (计量器具使用单位), keyed by credit code (GB 32100).
CREATE TABLE metrology.enterprises (
    credit_code   text PRIMARY KEY,
    name          text NOT NULL CHECK (name <> ''),
    district_code text NOT NULL,
    township_code text NOT NULL DEFAULT '',
    address       text NOT NULL DEFAULT '',
    contact       text NOT NULL DEFAULT '',
    phone         text NOT NULL DEFAULT '',
    email         text NOT NULL DEFAULT '',
    in_registry   bool NOT NULL DEFAULT false,
    version       int  NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX enterprises_district ON metrology.enterprises (district_code, township_code);
CREATE INDEX enterprises_updated ON metrology.enterprises (updated_at, credit_code);

-- Who an account acts for: an enterprise user for its enterprise, an
-- institution's staff for the institution. Regulators have no row.
CREATE TABLE metrology.parties (
    username   text PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('enterprise', 'institution')),
    ref        text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE metrology.usage_locations (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    credit_code   text NOT NULL REFERENCES metrology.enterprises (credit_code),
    name          text NOT NULL CHECK (name <> ''),
    address       text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    UNIQUE (credit_code, name)
);

-- Verification institutions (检定机构), keyed by their credit code.
CREATE TABLE metrology.institutions (
    id               text PRIMARY KEY,
    name             text NOT NULL CHECK (name <> ''),
    authorisation_no text NOT NULL CHECK (authorisation_no <> ''),
    authorised_until date,
    address          text NOT NULL DEFAULT '',
    phone            text NOT NULL DEFAULT '',
    postcode         text NOT NULL DEFAULT '',
    cert_prefix      text NOT NULL CHECK (cert_prefix ~ '^[A-Z]{1,6}$'),
    next_cert_seq    int  NOT NULL DEFAULT 1,
    version          int  NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);

-- Measurement standards (计量标准装置) of an institution and the categories
-- they verify: a verification draws the standards of its instrument's
-- category automatically (FP-174).
CREATE TABLE metrology.standards (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    institution_id text NOT NULL REFERENCES metrology.institutions (id),
    name           text NOT NULL CHECK (name <> ''),
    range_text     text NOT NULL DEFAULT '',
    accuracy       text NOT NULL DEFAULT '',
    categories     text[] NOT NULL CHECK (cardinality(categories) > 0),
    active         bool NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX standards_categories ON metrology.standards USING gin (categories);

CREATE TABLE metrology.standard_certificates (
    standard_id bigint NOT NULL REFERENCES metrology.standards (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('authorisation', 'social_public', 'assessment')),
    number      text NOT NULL CHECK (number <> ''),
    valid_until date NOT NULL,
    PRIMARY KEY (standard_id, kind)
);

CREATE TABLE metrology.standard_instruments (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    standard_id    bigint NOT NULL REFERENCES metrology.standards (id) ON DELETE CASCADE,
    name           text NOT NULL CHECK (name <> ''),
    model          text NOT NULL DEFAULT '',
    serial_no      text NOT NULL DEFAULT '',
    accuracy       text NOT NULL DEFAULT '',
    certificate_no text NOT NULL CHECK (certificate_no <> ''),
    valid_until    date NOT NULL
);

-- Instruments under mandatory verification.
CREATE TABLE metrology.instruments (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    credit_code      text NOT NULL REFERENCES metrology.enterprises (credit_code),
    category_code    text NOT NULL REFERENCES metrology.catalogue_categories (code),
    name             text NOT NULL CHECK (name <> ''),
    model            text NOT NULL DEFAULT '',
    serial_no        text NOT NULL CHECK (serial_no <> ''),
    manufacturer     text NOT NULL DEFAULT '',
    range_text       text NOT NULL DEFAULT '',
    accuracy         text NOT NULL DEFAULT '',
    location_id      bigint REFERENCES metrology.usage_locations (id),
    status           text NOT NULL DEFAULT 'idle' CHECK (status IN ('idle', 'in_use', 'stopped', 'scrapped')),
    nozzle_serials   text[] NOT NULL DEFAULT '{}',
    last_verified_on date,
    valid_until      date,
    last_result      text NOT NULL DEFAULT '' CHECK (last_result IN ('', 'pass', 'fail')),
    version          int NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CHECK (status <> 'in_use' OR location_id IS NOT NULL),
    UNIQUE (credit_code, category_code, serial_no)
);
CREATE INDEX instruments_enterprise ON metrology.instruments (credit_code);
CREATE INDEX instruments_due ON metrology.instruments (valid_until) WHERE status = 'in_use';
CREATE INDEX instruments_updated ON metrology.instruments (updated_at, id);

-- Every change of an instrument: its registration, status changes and
-- edits, for the entries-and-changes statistics (FP-179) and history.
CREATE TABLE metrology.instrument_changes (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instrument_id bigint NOT NULL REFERENCES metrology.instruments (id),
    kind          text NOT NULL CHECK (kind IN ('created', 'status', 'edited', 'verified')),
    from_status   text NOT NULL DEFAULT '',
    to_status     text NOT NULL DEFAULT '',
    username      text NOT NULL DEFAULT '',
    at            timestamptz NOT NULL
);
CREATE INDEX instrument_changes_at ON metrology.instrument_changes (at);
CREATE INDEX instrument_changes_instrument ON metrology.instrument_changes (instrument_id, at);

-- Applications for verification (检定申请, FP-169).
CREATE TABLE metrology.applications (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    credit_code    text NOT NULL REFERENCES metrology.enterprises (credit_code),
    institution_id text NOT NULL REFERENCES metrology.institutions (id),
    status         text NOT NULL CHECK (status IN ('pending_approval', 'rejected', 'submitted', 'accepted',
                                                   'partially_returned', 'returned', 'completed')),
    note           text NOT NULL DEFAULT '',
    overdue        bool NOT NULL DEFAULT false,
    approval_note  text NOT NULL DEFAULT '',
    approved_by    text NOT NULL DEFAULT '',
    approved_at    timestamptz,
    decided_by     text NOT NULL DEFAULT '',
    decided_at     timestamptz,
    return_reason  text NOT NULL DEFAULT '',
    applicant      text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX applications_enterprise ON metrology.applications (credit_code, created_at DESC);
CREATE INDEX applications_institution ON metrology.applications (institution_id, status, created_at DESC);

CREATE TABLE metrology.application_items (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id bigint NOT NULL REFERENCES metrology.applications (id),
    instrument_id  bigint NOT NULL REFERENCES metrology.instruments (id),
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'returned', 'verified')),
    return_reason  text NOT NULL DEFAULT '',
    returned_at    timestamptz,
    review         text NOT NULL DEFAULT '' CHECK (review IN ('', 'pending', 'upheld', 'overturned')),
    review_note    text NOT NULL DEFAULT '',
    reviewed_by    text NOT NULL DEFAULT '',
    reviewed_at    timestamptz,
    UNIQUE (application_id, instrument_id),
    CHECK (status <> 'returned' OR return_reason <> '')
);
-- An instrument is in at most one open application at a time.
CREATE UNIQUE INDEX application_items_open ON metrology.application_items (instrument_id) WHERE status IN ('pending', 'accepted');
CREATE INDEX application_items_review ON metrology.application_items (review) WHERE review = 'pending';

-- Verification results; one per accepted application item.
CREATE TABLE metrology.verifications (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_item_id bigint NOT NULL UNIQUE REFERENCES metrology.application_items (id),
    instrument_id       bigint NOT NULL REFERENCES metrology.instruments (id),
    institution_id      text NOT NULL REFERENCES metrology.institutions (id),
    credit_code         text NOT NULL REFERENCES metrology.enterprises (credit_code),
    certificate_no      text NOT NULL UNIQUE,
    result              text NOT NULL CHECK (result IN ('pass', 'fail')),
    class               text NOT NULL DEFAULT '',
    failure_reason      text NOT NULL DEFAULT '',
    verifier            text NOT NULL,
    checker             text NOT NULL,
    approver            text NOT NULL,
    verified_on         date NOT NULL,
    valid_until         date,
    basis               text NOT NULL DEFAULT '',
    environment         jsonb NOT NULL,
    data                jsonb NOT NULL,
    nozzles             jsonb NOT NULL DEFAULT '[]',
    standards           jsonb NOT NULL,
    -- payload is the verification.completed event's data: everything the
    -- certificate prints, as it was when the result was recorded.
    payload             jsonb NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX verifications_instrument ON metrology.verifications (instrument_id, verified_on DESC);
CREATE INDEX verifications_updated ON metrology.verifications (updated_at, id);

-- Inspection plans (FP-168) and their targets.
CREATE TABLE metrology.inspection_plans (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL CHECK (name <> ''),
    district_code text NOT NULL,
    starts_on     date NOT NULL,
    ends_on       date NOT NULL CHECK (ends_on >= starts_on),
    note          text NOT NULL DEFAULT '',
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE metrology.plan_targets (
    plan_id     bigint NOT NULL REFERENCES metrology.inspection_plans (id) ON DELETE CASCADE,
    credit_code text NOT NULL REFERENCES metrology.enterprises (credit_code),
    PRIMARY KEY (plan_id, credit_code)
);
CREATE INDEX plan_targets_enterprise ON metrology.plan_targets (credit_code);

-- Field records from the phone: text and photos (object keys).
CREATE TABLE metrology.field_records (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id     bigint REFERENCES metrology.inspection_plans (id),
    credit_code text NOT NULL REFERENCES metrology.enterprises (credit_code),
    instrument_id bigint REFERENCES metrology.instruments (id),
    inspector   text NOT NULL,
    text        text NOT NULL CHECK (text <> ''),
    photos      text[] NOT NULL DEFAULT '{}',
    longitude   double precision,
    latitude    double precision,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX field_records_enterprise ON metrology.field_records (credit_code, recorded_at DESC);

-- Overdue alarms, one per instrument and lapsed validity (the daily
-- PingSource inserts them; a re-run inserts nothing).
CREATE TABLE metrology.alarms (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instrument_id bigint NOT NULL REFERENCES metrology.instruments (id),
    credit_code   text NOT NULL REFERENCES metrology.enterprises (credit_code),
    valid_until   date NOT NULL,
    raised_on     date NOT NULL,
    year          int  NOT NULL,
    overdue_days  int  NOT NULL,
    read_at       timestamptz,
    read_by       text NOT NULL DEFAULT '',
    UNIQUE (instrument_id, valid_until)
);
CREATE INDEX alarms_year ON metrology.alarms (year, credit_code);

-- Penalty records for overdue instruments (FP-171).
CREATE TABLE metrology.penalties (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    credit_code   text NOT NULL REFERENCES metrology.enterprises (credit_code),
    instrument_id bigint NOT NULL REFERENCES metrology.instruments (id),
    overdue_days  int NOT NULL CHECK (overdue_days >= 0),
    evidence      bigint[] NOT NULL DEFAULT '{}',
    result        text NOT NULL CHECK (result <> ''),
    decided_on    date NOT NULL,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX penalties_enterprise ON metrology.penalties (credit_code, decided_on DESC);

-- Visits per day and page (FP-179: weekly visits).
CREATE TABLE metrology.visits (
    day   date NOT NULL,
    page  text NOT NULL,
    count bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, page)
);
