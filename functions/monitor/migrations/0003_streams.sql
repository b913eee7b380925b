-- Short-video and livestream monitoring (FP-89): the hosts' streams and
-- videos to watch, and clues found in their titles and captions.
CREATE TABLE monitor.streams (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform      text        NOT NULL CHECK (platform <> ''),
    account       text        NOT NULL CHECK (account <> ''),
    title         text        NOT NULL,
    url           text        NOT NULL CHECK (url <> ''), -- HLS, FLV or a recorded file
    entity_name   text        NOT NULL,
    credit_code   text        NOT NULL,
    district      text        NOT NULL,
    district_code text        NOT NULL,
    every_minutes int         NOT NULL CHECK (every_minutes BETWEEN 5 AND 10080),
    last_checked  timestamptz,
    last_result   text        NOT NULL DEFAULT '',
    created_by    text        NOT NULL,
    created_at    timestamptz NOT NULL,
    UNIQUE (platform, url)
);
CREATE INDEX streams_district ON monitor.streams (district_code);

-- A stream's clues have no model; the moment in the recording is in the
-- object URL (#t=seconds), so one term said twice is two clues.
ALTER TABLE monitor.clues ALTER COLUMN model_id DROP NOT NULL;
ALTER TABLE monitor.clues ADD COLUMN stream_id bigint REFERENCES monitor.streams ON DELETE CASCADE;
ALTER TABLE monitor.clues ADD CONSTRAINT clues_model_or_stream CHECK ((model_id IS NULL) <> (stream_id IS NULL));
CREATE UNIQUE INDEX clues_stream_once ON monitor.clues (stream_id, rule_id, object_url, term) WHERE stream_id IS NOT NULL;
