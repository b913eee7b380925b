-- The evidence schema, owned by functions/evidence-capture: only it writes here,
-- and other functions read it only through published SQL functions.
CREATE SCHEMA IF NOT EXISTS evidence;

-- The transparency log. One row of state: how many entries are sequenced
-- (acknowledged: committed with their index) and how many are integrated
-- into the tree (tiles written, checkpoint signed), and the compact range
-- of the integrated tree so integration resumes without rereading it.
CREATE TABLE evidence.log_state (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    sequenced  bigint  NOT NULL CHECK (sequenced >= 0),
    integrated bigint  NOT NULL CHECK (integrated >= 0 AND integrated <= sequenced),
    compact    bytea[] NOT NULL
);
INSERT INTO evidence.log_state (sequenced, integrated, compact) VALUES (0, 0, '{}');

-- Entries, by index; an entry appended twice keeps its first index.
CREATE TABLE evidence.log_entries (
    idx        bigint PRIMARY KEY CHECK (idx >= 0),
    entry      bytea  NOT NULL,
    leaf_hash  bytea  NOT NULL UNIQUE CHECK (length(leaf_hash) = 32),
    created_at timestamptz NOT NULL
);

-- The tiles (C2SP tlog-tiles) as they stand; a partial tile grows in
-- place here and is written to object storage under its .p/W name.
CREATE TABLE evidence.log_tiles (
    level int    NOT NULL CHECK (level >= 0),
    idx   bigint NOT NULL CHECK (idx >= 0),
    data  bytea  NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Every signed checkpoint, so any two can be checked for consistency.
CREATE TABLE evidence.log_checkpoints (
    size       bigint PRIMARY KEY,
    signed     bytea  NOT NULL,
    created_at timestamptz NOT NULL
);

-- Evidence bundles: the files are in object storage under evidence/bundles/<id>/.
CREATE TABLE evidence.bundles (
    id          uuid PRIMARY KEY,
    title       text NOT NULL CHECK (title <> ''),
    kind        text NOT NULL,
    manifest    bytea NOT NULL,
    sha256      text NOT NULL UNIQUE,
    sm3         text NOT NULL,
    log_index   bigint NOT NULL REFERENCES evidence.log_entries (idx),
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL
);

-- Files of every bundle by hash, so the public page finds a single file.
CREATE TABLE evidence.bundle_files (
    bundle_id uuid NOT NULL REFERENCES evidence.bundles (id),
    path      text NOT NULL,
    size      bigint NOT NULL,
    sha256    text NOT NULL,
    sm3       text NOT NULL,
    PRIMARY KEY (bundle_id, path)
);
CREATE INDEX bundle_files_sha256 ON evidence.bundle_files (sha256);
