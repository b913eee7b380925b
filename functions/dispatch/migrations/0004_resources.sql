-- Resources on the map (FP-143): the fixed and moving things the centre
-- dispatches besides inspectors — stations (监管所), cameras, devices
-- (rapid-test kits, law-enforcement recorders) and vehicles. Each has a
-- position and a jurisdiction, so layers, selection and scope work as for
-- the inspectors' live positions.
CREATE TABLE dispatch.resources (
    id         uuid PRIMARY KEY,
    kind       text        NOT NULL CHECK (kind IN ('station', 'camera', 'device', 'vehicle')),
    name       text        NOT NULL CHECK (name <> ''),
    code       text        NOT NULL DEFAULT '',
    status     text        NOT NULL DEFAULT 'online' CHECK (status IN ('online', 'offline', 'busy')),
    phone      text        NOT NULL DEFAULT '',
    note       text        NOT NULL DEFAULT '',
    lat        double precision NOT NULL,
    lng        double precision NOT NULL,
    geom       geography(Point, 4326) NOT NULL,
    district   text        NOT NULL DEFAULT '',
    township   text        NOT NULL DEFAULT '',
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX resources_geom ON dispatch.resources USING gist (geom);
CREATE INDEX resources_kind ON dispatch.resources (kind, district);
-- A device's own number is unique within its kind (re-import is harmless).
CREATE UNIQUE INDEX resources_code ON dispatch.resources (kind, code) WHERE code <> '';
