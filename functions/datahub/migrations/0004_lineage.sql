-- Lineage (FP-97): most of the graph is derived from what the platform
-- holds (the catalogue, push jobs and runs, interfaces and their access
-- log, table sizes). What it cannot see — a paper channel, a provincial
-- return, a third-party feed not built yet — is registered here.
CREATE TABLE datahub.lineage_nodes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text        NOT NULL UNIQUE,     -- referred to by flows: "ext:<code>"
    name        text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('source', 'storage', 'cleaning', 'consumer')),
    origin      text        NOT NULL DEFAULT '' CHECK (origin IN ('', 'upstream', 'shared', 'third_party', 'returned')),
    channel     text        NOT NULL DEFAULT '' CHECK (channel IN ('', 'manual', 'crawled', 'api')),
    storage     text        NOT NULL DEFAULT '' CHECK (storage IN ('', 'database', 'object_store')),
    size_bytes  bigint,
    description text        NOT NULL DEFAULT '',
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE datahub.lineage_flows (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source      text        NOT NULL,   -- a node id of the derived graph or "ext:<code>"
    target      text        NOT NULL,
    volume      bigint      NOT NULL DEFAULT 0 CHECK (volume >= 0),  -- rows per period, as declared
    description text        NOT NULL DEFAULT '',
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL,
    CHECK (source <> target)
);
