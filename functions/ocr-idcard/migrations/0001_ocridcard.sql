-- The ocridcard schema, owned by functions/ocr-idcard: only it writes here,
-- and other functions read it only through published SQL functions.
CREATE SCHEMA IF NOT EXISTS ocridcard;

-- One upload of an ID card (front and/or back) and what was read from it.
-- The full ID number is kept only encrypted (number_enc, AES-GCM envelope
-- like the photos); fields holds the reading with the number masked.
CREATE TABLE ocridcard.recognitions (
    id                uuid        PRIMARY KEY,
    status            text        NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    created_by        text        NOT NULL,
    created_at        timestamptz NOT NULL,
    front_key         text,
    back_key          text,
    fields            jsonb,
    number_masked     text        NOT NULL DEFAULT '',
    number_enc        bytea,
    error             text        NOT NULL DEFAULT '',
    confirmed         jsonb,
    confirmed_by      text,
    confirmed_at      timestamptz,
    photos_deleted_at timestamptz,
    CHECK (front_key IS NOT NULL OR back_key IS NOT NULL)
);
CREATE INDEX recognitions_created ON ocridcard.recognitions (created_at DESC);
-- The retention sweep reads photos past their time.
CREATE INDEX recognitions_photos ON ocridcard.recognitions (created_at) WHERE photos_deleted_at IS NULL;
