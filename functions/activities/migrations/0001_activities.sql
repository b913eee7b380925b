-- The activities schema (活动库, FP-76, 77), owned by functions/activities.
CREATE SCHEMA IF NOT EXISTS activities;

CREATE TABLE activities.activities (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    theme         text        NOT NULL CHECK (theme <> ''),
    description   text        NOT NULL DEFAULT '',
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL CHECK (ends_at >= starts_at),
    place         text        NOT NULL CHECK (place <> ''),
    organiser     text        NOT NULL CHECK (organiser <> ''),
    how_to_join   text        NOT NULL DEFAULT '',
    capacity      integer     NOT NULL DEFAULT 0 CHECK (capacity >= 0), -- 0: no sign-up
    waitlist      integer     NOT NULL DEFAULT 0 CHECK (waitlist >= 0), -- most on the waiting list; 0: none
    signup_until  timestamptz,
    materials     jsonb       NOT NULL DEFAULT '[]', -- [{name, url}] or [{name, key}]
    photos        jsonb       NOT NULL DEFAULT '[]', -- [{key, caption}]
    summary       text        NOT NULL DEFAULT '',   -- written afterwards
    status        text        NOT NULL CHECK (status IN ('draft', 'published', 'cancelled')),
    source_url    text        NOT NULL DEFAULT '',   -- the page it was imported from
    created_by    text        NOT NULL DEFAULT '',
    reviewed_by   text        NOT NULL DEFAULT '',   -- who published it
    version       integer     NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX activities_public ON activities.activities (starts_at) WHERE status = 'published';

-- Sign-ups: confirmed up to the capacity, then waitlisted in order. The
-- phone is sealed (AES-GCM) with a keyed hash for uniqueness.
CREATE TABLE activities.signups (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    activity_id  bigint      NOT NULL REFERENCES activities.activities (id),
    name         text        NOT NULL CHECK (name <> ''),
    org          text        NOT NULL DEFAULT '',
    phone_sealed bytea       NOT NULL,
    phone_hash   bytea       NOT NULL,
    phone_masked text        NOT NULL,
    user_id      text        NOT NULL DEFAULT '',  -- a signed-in user (mini-program), for notices
    token        text        NOT NULL UNIQUE,      -- the participant's handle to look up or cancel
    status       text        NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'cancelled')),
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX signups_once ON activities.signups (activity_id, phone_hash) WHERE status <> 'cancelled';
CREATE INDEX signups_activity ON activities.signups (activity_id, status, id);

-- Each reminder once per sign-up and kind; failed sends are retried.
CREATE TABLE activities.reminders (
    signup_id bigint      NOT NULL REFERENCES activities.signups (id),
    kind      text        NOT NULL CHECK (kind IN ('day', 'hour', 'promoted')),
    state     text        NOT NULL CHECK (state IN ('sent', 'failed')),
    attempts  integer     NOT NULL DEFAULT 1,
    error     text        NOT NULL DEFAULT '',
    at        timestamptz NOT NULL,
    PRIMARY KEY (signup_id, kind)
);

-- The organiser's notice before each activity, once per kind.
CREATE TABLE activities.organiser_notices (
    activity_id bigint      NOT NULL REFERENCES activities.activities (id),
    kind        text        NOT NULL,
    at          timestamptz NOT NULL,
    PRIMARY KEY (activity_id, kind)
);
