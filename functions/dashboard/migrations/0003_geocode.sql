-- Geocoding quality (FP-124, 139, 140). The cache keeps AMap's answer per
-- normalised address, so the same shop written ten ways costs one paid
-- call, and a miss is kept too (found = false) so it is not asked again
-- until the entry ages out.
CREATE TABLE dashboard.geocode_cache (
    normalized text PRIMARY KEY,
    found      boolean NOT NULL,
    point      jsonb   NOT NULL,
    cached_at  timestamptz NOT NULL
);

-- Suspect points (outside their district, too vague, not found), each the
-- work of the station whose district it is: it confirms the point or
-- moves it. One open anomaly per normalised address.
CREATE TABLE dashboard.geocode_anomalies (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    address       text   NOT NULL,
    normalized    text   NOT NULL,
    district_code text   NOT NULL,
    township_code text   NOT NULL DEFAULT '',
    grade         text   NOT NULL,
    issues        text[] NOT NULL,
    lng           double precision,
    lat           double precision,
    status        text   NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'fixed')),
    fixed_lng     double precision,
    fixed_lat     double precision,
    note          text   NOT NULL DEFAULT '',
    handled_by    text   NOT NULL DEFAULT '',
    handled_at    timestamptz,
    created_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX geocode_anomalies_open ON dashboard.geocode_anomalies (normalized) WHERE status = 'open';
CREATE INDEX geocode_anomalies_district ON dashboard.geocode_anomalies (district_code, status, id);
