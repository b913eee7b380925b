-- Camera streams (FP-158): the catalogue of monitoring devices, and the
-- snapshots and clips taken from them (objects in the blob store).
CREATE TABLE comms.cameras (
    id         uuid PRIMARY KEY,
    name       text        NOT NULL CHECK (name <> ''),
    kind       text        NOT NULL CHECK (kind IN ('rtsp', 'gb28181', 'http', 'test')),
    source     text        NOT NULL DEFAULT '',
    device_id  text        NOT NULL DEFAULT '',
    address    text        NOT NULL DEFAULT '',
    lat        double precision,
    lng        double precision,
    district   text        NOT NULL DEFAULT '',
    township   text        NOT NULL DEFAULT '',
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX cameras_district ON comms.cameras (district, township);

CREATE TABLE comms.camera_media (
    id           uuid PRIMARY KEY,
    camera_id    uuid        NOT NULL REFERENCES comms.cameras (id),
    kind         text        NOT NULL CHECK (kind IN ('snapshot', 'clip')),
    blob_key     text        NOT NULL,
    content_type text        NOT NULL,
    size         bigint      NOT NULL,
    duration_ms  bigint      NOT NULL DEFAULT 0,
    district     text        NOT NULL DEFAULT '',
    township     text        NOT NULL DEFAULT '',
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX camera_media_camera ON comms.camera_media (camera_id, created_at);
