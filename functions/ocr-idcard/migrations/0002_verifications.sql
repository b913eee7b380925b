-- FP-12: third-party identity verification of a recognition's holder.
-- Each row is one verification as answered (or not) by the provider, with
-- the guidance shown when it failed; the number only masked.
CREATE TABLE ocridcard.verifications (
    id             uuid        PRIMARY KEY,
    seq            bigint      GENERATED ALWAYS AS IDENTITY, -- order within one instant
    recognition_id uuid        NOT NULL REFERENCES ocridcard.recognitions (id),
    result         text        NOT NULL CHECK (result IN ('match', 'no_match', 'not_found', 'photo_mismatch', 'unavailable')),
    score          integer,
    with_photo     boolean     NOT NULL,
    passed         boolean     NOT NULL,
    message        text        NOT NULL,
    guidance       text        NOT NULL DEFAULT '',
    attempts       integer     NOT NULL,
    provider_ref   text        NOT NULL DEFAULT '',
    number_masked  text        NOT NULL,
    created_by     text        NOT NULL,
    created_at     timestamptz NOT NULL
);
CREATE INDEX verifications_recognition ON ocridcard.verifications (recognition_id, created_at DESC);

-- The daily quota of provider calls (the provider bills each call): one
-- row per day (Asia/Shanghai), incremented only while under the quota.
CREATE TABLE ocridcard.verify_quota (
    day  date    PRIMARY KEY,
    used integer NOT NULL
);
