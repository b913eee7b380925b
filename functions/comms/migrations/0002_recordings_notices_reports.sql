-- Recordings (FP-153): one row per recorded track of a consult (the
-- recorder bot writes each participant's Opus track to its own OGG file, as
-- LiveKit's track egress does), and one per dispatch call (the TTS prompt
-- the callee heard, as WAV). The object is in the blob store under
-- blob_key; a deleted recording keeps its row (who deleted it, when) and
-- loses its object.
CREATE TABLE comms.recordings (
    id           uuid PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('consult', 'call')),
    consult_id   uuid REFERENCES comms.consults (id),
    notice_id    uuid,
    event_id     uuid        NOT NULL,
    district     text        NOT NULL DEFAULT '',
    township     text        NOT NULL DEFAULT '',
    participant  text        NOT NULL DEFAULT '',
    track_sid    text        NOT NULL DEFAULT '',
    status       text        NOT NULL CHECK (status IN ('recording', 'stored', 'failed', 'deleted')),
    blob_key     text        NOT NULL DEFAULT '',
    content_type text        NOT NULL DEFAULT '',
    size         bigint      NOT NULL DEFAULT 0,
    sha256       text        NOT NULL DEFAULT '',
    duration_ms  bigint      NOT NULL DEFAULT 0,
    started_by   text        NOT NULL,
    started_at   timestamptz NOT NULL,
    ended_at     timestamptz,
    error        text        NOT NULL DEFAULT '',
    deleted_by   text        NOT NULL DEFAULT '',
    deleted_at   timestamptz
);
CREATE INDEX recordings_consult ON comms.recordings (consult_id, started_at);
CREATE INDEX recordings_event ON comms.recordings (event_id, started_at);

-- A one-key notice (FP-152): one text sent by call, SMS or fax to the
-- chosen nodes of an event.
CREATE TABLE comms.notices (
    id         uuid PRIMARY KEY,
    event_id   uuid        NOT NULL,
    district   text        NOT NULL DEFAULT '',
    township   text        NOT NULL DEFAULT '',
    channel    text        NOT NULL CHECK (channel IN ('call', 'sms', 'fax')),
    title      text        NOT NULL DEFAULT '',
    body       text        NOT NULL CHECK (body <> ''),
    note       text        NOT NULL DEFAULT '',
    sent_by    text        NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX notices_event ON comms.notices (event_id, created_at);

-- Every attempt to reach one node on one channel, with its delivery state.
-- A fallback (fax → SMS with a link, call → SMS) is its own row pointing at
-- the attempt it replaces, whose state is then 'fallback'. Numbers are kept
-- masked only: they are sent once and never needed again.
CREATE TABLE comms.deliveries (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notice_id    uuid        NOT NULL REFERENCES comms.notices (id),
    node_kind    text        NOT NULL CHECK (node_kind IN ('member', 'contact')),
    node_id      text        NOT NULL DEFAULT '',
    node_name    text        NOT NULL DEFAULT '',
    address      text        NOT NULL DEFAULT '',
    channel      text        NOT NULL CHECK (channel IN ('call', 'sms', 'fax')),
    state        text        NOT NULL CHECK (state IN ('sent', 'delivered', 'failed', 'fallback')),
    fallback_of  bigint REFERENCES comms.deliveries (id),
    provider_id  text        NOT NULL DEFAULT '',
    error        text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX deliveries_notice ON comms.deliveries (notice_id, id);

-- The phone side (FP-160): inspectors' text, voice, images and location
-- join the event's chat, which is the event's comms timeline. A report sent
-- outside a consult has no consult.
ALTER TABLE comms.messages ALTER COLUMN consult_id DROP NOT NULL;
ALTER TABLE comms.messages DROP CONSTRAINT messages_body_check;
ALTER TABLE comms.messages
    ADD COLUMN kind text NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'voice', 'image', 'location')),
    ADD COLUMN attachment_key text NOT NULL DEFAULT '',
    ADD COLUMN content_type text NOT NULL DEFAULT '',
    ADD COLUMN size bigint NOT NULL DEFAULT 0,
    ADD COLUMN lat double precision,
    ADD COLUMN lng double precision,
    ADD CONSTRAINT messages_content CHECK (body <> '' OR attachment_key <> '' OR lat IS NOT NULL);
