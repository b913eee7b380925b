-- The comms schema, owned by functions/comms: only it writes here,
-- and other functions read it only through published SQL functions.
CREATE SCHEMA IF NOT EXISTS comms;

-- A consult (协同会商, FP-151/156): one LiveKit room opened for a dispatch
-- event. The event's jurisdiction is copied in when the consult is opened
-- (read through dispatch.event_brief), so the data scope applies here
-- without reading dispatch's tables.
CREATE TABLE comms.consults (
    id         uuid PRIMARY KEY,
    event_id   uuid        NOT NULL,
    title      text        NOT NULL CHECK (title <> ''),
    room       text        NOT NULL UNIQUE,
    district   text        NOT NULL DEFAULT '',
    township   text        NOT NULL DEFAULT '',
    status     text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    host_id    text        NOT NULL,
    created_at timestamptz NOT NULL,
    closed_at  timestamptz
);
CREATE INDEX consults_event ON comms.consults (event_id, created_at);

-- Who is invited, and with which role: the role decides the grants of the
-- LiveKit token (host: room admin; member: publish; observer: listen only).
-- A kicked member keeps the row (removed_at set) and gets no new token.
CREATE TABLE comms.members (
    consult_id uuid        NOT NULL REFERENCES comms.consults (id),
    user_id    text        NOT NULL CHECK (user_id <> ''),
    name       text        NOT NULL DEFAULT '',
    role       text        NOT NULL CHECK (role IN ('host', 'member', 'observer')),
    invited_by text        NOT NULL,
    invited_at timestamptz NOT NULL,
    removed_at timestamptz,
    PRIMARY KEY (consult_id, user_id)
);

-- Text chat of a consult, kept with its event for the retrospection.
CREATE TABLE comms.messages (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consult_id  uuid        NOT NULL REFERENCES comms.consults (id),
    event_id    uuid        NOT NULL,
    sender_id   text        NOT NULL,
    sender_name text        NOT NULL DEFAULT '',
    body        text        NOT NULL CHECK (body <> ''),
    created_at  timestamptz NOT NULL
);
CREATE INDEX messages_event ON comms.messages (event_id, id);
CREATE INDEX messages_consult ON comms.messages (consult_id, id);
