-- The docs schema, owned by functions/documents: only it writes here,
-- and other functions read it only through published SQL functions.
CREATE SCHEMA IF NOT EXISTS docs;

-- Templates (文书模板, FP-36/37): the current state of each; every saved
-- state is a row of template_versions. Versions are major.minor.patch by
-- the rules in docs/functions/documents.md.
CREATE TABLE docs.templates (
    id          bigserial   PRIMARY KEY,
    code        text        NOT NULL UNIQUE CHECK (code ~ '^[a-z][a-z0-9_]{1,39}$'),
    kind        text        NOT NULL CHECK (kind IN ('pledge', 'credit_repair', 'other')),
    title       text        NOT NULL,
    body        text        NOT NULL,
    fields      jsonb       NOT NULL,
    major       int         NOT NULL,
    minor       int         NOT NULL,
    patch       int         NOT NULL,
    builtin     boolean     NOT NULL DEFAULT false,
    active      boolean     NOT NULL DEFAULT true,
    created_by  text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_by  text        NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL
);

CREATE TABLE docs.template_versions (
    template_id   bigint      NOT NULL REFERENCES docs.templates (id),
    major         int         NOT NULL,
    minor         int         NOT NULL,
    patch         int         NOT NULL,
    title         text        NOT NULL,
    body          text        NOT NULL,
    fields        jsonb       NOT NULL,
    change        text        NOT NULL CHECK (change IN ('initial', 'major', 'minor', 'patch')),
    summary       text        NOT NULL DEFAULT '',
    restored_from text        NOT NULL DEFAULT '',
    saved_by      text        NOT NULL,
    saved_by_name text        NOT NULL DEFAULT '',
    saved_at      timestamptz NOT NULL,
    PRIMARY KEY (template_id, major, minor, patch)
);

-- Documents (文书): one per filled template, about one market entity,
-- placed in the entity's district and township so data scopes apply.
CREATE TABLE docs.documents (
    id              bigserial   PRIMARY KEY,
    template_id     bigint      NOT NULL REFERENCES docs.templates (id),
    credit_code     text        NOT NULL,
    entity_name     text        NOT NULL,
    district_code   text        NOT NULL CHECK (district_code ~ '^[0-9]{6}$'),
    township_code   text        NOT NULL DEFAULT '' CHECK (township_code ~ '^([0-9]{9})?$'),
    title           text        NOT NULL,
    state           text        NOT NULL CHECK (state IN ('draft', 'submitted', 'approved', 'rejected', 'published')),
    major           int         NOT NULL,
    minor           int         NOT NULL,
    patch           int         NOT NULL,
    owner_id        text        NOT NULL,
    owner_name      text        NOT NULL DEFAULT '',
    owner_dept      text        NOT NULL DEFAULT '',
    reject_reason   text        NOT NULL DEFAULT '',
    reviewed_by     text        NOT NULL DEFAULT '',
    reviewed_at     timestamptz,
    published_at    timestamptz,
    -- The current version's rendered text with the entity's name and
    -- credit code, for full-text search (pg_trgm: Chinese has no word
    -- boundaries for a tsvector parser to find).
    search_text     text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX documents_entity ON docs.documents (credit_code, id DESC);
CREATE INDEX documents_scope ON docs.documents (district_code, township_code);
CREATE INDEX documents_state ON docs.documents (state, updated_at DESC);
CREATE INDEX documents_owner ON docs.documents (owner_id);
CREATE INDEX documents_search ON docs.documents USING gin (search_text gin_trgm_ops);

-- Every save of a document. A published version keeps its PDF and DOCX
-- (object keys and SHA-256) and the code of its public verification page;
-- a correction marks the version it replaces 'corrected' (已更正).
CREATE TABLE docs.document_versions (
    document_id      bigint      NOT NULL REFERENCES docs.documents (id),
    major            int         NOT NULL,
    minor            int         NOT NULL,
    patch            int         NOT NULL,
    template_major   int         NOT NULL,
    template_minor   int         NOT NULL,
    template_patch   int         NOT NULL,
    "values"         jsonb       NOT NULL,
    text             text        NOT NULL,
    change           text        NOT NULL CHECK (change IN ('initial', 'major', 'minor', 'patch')),
    kind             text        NOT NULL CHECK (kind IN ('edit', 'restore', 'correction')),
    summary          text        NOT NULL DEFAULT '',
    note             text        NOT NULL DEFAULT '',
    saved_by         text        NOT NULL,
    saved_by_name    text        NOT NULL DEFAULT '',
    saved_at         timestamptz NOT NULL,
    publication      text        NOT NULL DEFAULT '' CHECK (publication IN ('', 'published', 'corrected')),
    verify_code      text        UNIQUE,
    published_at     timestamptz,
    pdf_key          text        NOT NULL DEFAULT '',
    pdf_sha256       text        NOT NULL DEFAULT '',
    docx_key         text        NOT NULL DEFAULT '',
    docx_sha256      text        NOT NULL DEFAULT '',
    PRIMARY KEY (document_id, major, minor, patch)
);

-- The workflow's steps (submitted, approved, rejected with a reason,
-- published, corrected), shown in the history beside the versions.
CREATE TABLE docs.document_events (
    id           bigserial   PRIMARY KEY,
    document_id  bigint      NOT NULL REFERENCES docs.documents (id),
    action       text        NOT NULL,
    version      text        NOT NULL,
    actor_id     text        NOT NULL,
    actor_name   text        NOT NULL DEFAULT '',
    reason       text        NOT NULL DEFAULT '',
    at           timestamptz NOT NULL
);
CREATE INDEX document_events_doc ON docs.document_events (document_id, id);

-- Access beyond the owner (FP-42): a user, a role (code) or a department
-- holds some of read, edit, print and share on one document.
CREATE TABLE docs.grants (
    document_id  bigint      NOT NULL REFERENCES docs.documents (id),
    grantee_kind text        NOT NULL CHECK (grantee_kind IN ('user', 'role', 'dept')),
    grantee_id   text        NOT NULL,
    grantee_name text        NOT NULL DEFAULT '',
    perms        text[]      NOT NULL CHECK (perms <@ ARRAY['read', 'edit', 'print', 'share'] AND cardinality(perms) > 0),
    granted_by   text        NOT NULL,
    granted_at   timestamptz NOT NULL,
    PRIMARY KEY (document_id, grantee_kind, grantee_id)
);

-- Forward links (转发): a download of one version's PDF or DOCX by a
-- secret link that expires. Only the SHA-256 of the token is kept.
CREATE TABLE docs.links (
    id           bigserial   PRIMARY KEY,
    token_sha256 text        NOT NULL UNIQUE,
    document_id  bigint      NOT NULL REFERENCES docs.documents (id),
    major        int         NOT NULL,
    minor        int         NOT NULL,
    patch        int         NOT NULL,
    format       text        NOT NULL CHECK (format IN ('pdf', 'docx')),
    expires_at   timestamptz NOT NULL,
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL,
    downloads    int         NOT NULL DEFAULT 0
);

-- Backups (FP-41): one row per run, with where its manifest is and the
-- manifest's own hash. The backup's files are in object storage.
CREATE TABLE docs.backups (
    id              bigserial   PRIMARY KEY,
    schedule        text        NOT NULL CHECK (schedule IN ('daily', 'weekly', 'monthly', 'manual')),
    event_id        text        UNIQUE,
    prefix          text        NOT NULL,
    manifest_sha256 text        NOT NULL DEFAULT '',
    rows            int         NOT NULL DEFAULT 0,
    objects         int         NOT NULL DEFAULT 0,
    bytes           bigint      NOT NULL DEFAULT 0,
    -- pruned: older than its schedule keeps (DOCS_BACKUP_KEEP_*); its
    -- files are deleted, the row stays as the record that it existed.
    status          text        NOT NULL CHECK (status IN ('running', 'done', 'failed', 'pruned')),
    error           text        NOT NULL DEFAULT '',
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz
);
