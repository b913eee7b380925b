-- The dispatch schema, owned by functions/dispatch: only it writes here,
-- and other functions read it only through published SQL functions.
CREATE SCHEMA IF NOT EXISTS dispatch;

-- Alarms as the centre sees them (fed by alarm.raised, FP-146), with their
-- handling state; accepting one turns it into an event.
CREATE TABLE dispatch.alarms (
    id          uuid PRIMARY KEY,
    level       text        NOT NULL,
    text        text        NOT NULL DEFAULT '',
    lat         double precision NOT NULL,
    lng         double precision NOT NULL,
    accuracy    double precision NOT NULL,
    attachments text[]      NOT NULL DEFAULT '{}',
    raised_by   text        NOT NULL,
    raised_name text        NOT NULL DEFAULT '',
    district    text        NOT NULL DEFAULT '',
    township    text        NOT NULL DEFAULT '',
    raised_at   timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    status      text        NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'accepted', 'closed')),
    event_id    uuid
);

-- The centre's live feed: every item shown on the map, in commit order.
-- The SSE stream replays from a client's Last-Event-ID, so a restart or
-- a reconnect loses nothing; NOTIFY only wakes the streams.
CREATE TABLE dispatch.feed (
    seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind     text        NOT NULL,
    district text        NOT NULL DEFAULT '',
    township text        NOT NULL DEFAULT '',
    payload  jsonb       NOT NULL,
    at       timestamptz NOT NULL
);

-- Events (FP-144, FP-149): from alarms, calls entered at the centre and
-- reports; colour-coded by type; grouped; closed with a reason.
CREATE TABLE dispatch.events (
    id           uuid PRIMARY KEY,
    type         text        NOT NULL,
    title        text        NOT NULL CHECK (title <> ''),
    description  text        NOT NULL DEFAULT '',
    source       text        NOT NULL CHECK (source IN ('alarm', 'call', 'report')),
    address      text        NOT NULL DEFAULT '',
    lat          double precision NOT NULL,
    lng          double precision NOT NULL,
    district     text        NOT NULL DEFAULT '',
    township     text        NOT NULL DEFAULT '',
    status       text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    close_reason text        NOT NULL DEFAULT '',
    group_id     uuid,
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL,
    closed_at    timestamptz
);
CREATE INDEX events_search ON dispatch.events USING gin ((title || ' ' || description || ' ' || address) gin_trgm_ops);

-- Every step of an event, for its state history and its retrospection
-- (FP-154): created, alarm linked, task dispatched, task done, closed.
CREATE TABLE dispatch.event_steps (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id uuid        NOT NULL REFERENCES dispatch.events (id),
    at       timestamptz NOT NULL,
    actor    text        NOT NULL,
    action   text        NOT NULL,
    detail   jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX event_steps_event ON dispatch.event_steps (event_id, id);

-- GPS tracks (FP-148): partitioned by day (Beijing days are not needed:
-- partitions are a storage unit, dropped past DISPATCH_TRACK_RETENTION).
-- Partitions are made ahead by the function (ensurePartitions).
CREATE TABLE dispatch.positions (
    user_id  text        NOT NULL,
    at       timestamptz NOT NULL,
    lat      double precision NOT NULL,
    lng      double precision NOT NULL,
    accuracy real        NOT NULL,
    district text        NOT NULL DEFAULT '',
    township text        NOT NULL DEFAULT ''
) PARTITION BY RANGE (at);
CREATE INDEX positions_user_at ON dispatch.positions (user_id, at);

-- The newest position of each phone, for the live map and for selection
-- (circle, polygon, nearest N by KNN on the GiST index).
CREATE TABLE dispatch.live (
    user_id  text PRIMARY KEY,
    name     text        NOT NULL DEFAULT '',
    lat      double precision NOT NULL,
    lng      double precision NOT NULL,
    geom     geography(Point, 4326) NOT NULL,
    accuracy real        NOT NULL,
    at       timestamptz NOT NULL,
    district text        NOT NULL DEFAULT '',
    township text        NOT NULL DEFAULT ''
);
CREATE INDEX live_geom ON dispatch.live USING gist (geom);

-- Tasks (FP-150, FP-162): created and assigned with attachments, handled
-- by the assignee, optionally approved by a leader.
CREATE TABLE dispatch.tasks (
    id           uuid PRIMARY KEY,
    event_id     uuid REFERENCES dispatch.events (id),
    title        text        NOT NULL CHECK (title <> ''),
    body         text        NOT NULL DEFAULT '',
    attachments  text[]      NOT NULL DEFAULT '{}',
    created_by   text        NOT NULL,
    assignee     text        NOT NULL,
    status       text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'handled', 'done')),
    needs_approval boolean   NOT NULL DEFAULT false,
    result       text        NOT NULL DEFAULT '',
    result_attachments text[] NOT NULL DEFAULT '{}',
    district     text        NOT NULL DEFAULT '',
    township     text        NOT NULL DEFAULT '',
    due_at       timestamptz,
    created_at   timestamptz NOT NULL,
    handled_at   timestamptz,
    done_at      timestamptz
);
CREATE INDEX tasks_assignee ON dispatch.tasks (assignee, status);
CREATE INDEX tasks_creator ON dispatch.tasks (created_by, status);
