-- The laws schema (法律法规库, FP-65–75), owned by functions/laws: only it
-- writes here; other functions read it only through published SQL
-- functions (none yet).
CREATE SCHEMA IF NOT EXISTS laws;

-- One document: one version of a law, regulation, rule, interpretation or
-- case. The versions of one law share a family; current_id points every
-- version at the family's current one (FP-67).
CREATE TABLE laws.documents (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_key    text UNIQUE,             -- the corpus's id; NULL for a document entered by hand
    origin        text NOT NULL CHECK (origin IN ('corpus', 'manual')),
    path          text NOT NULL DEFAULT '',
    title         text NOT NULL CHECK (title <> ''),
    short_title   text NOT NULL CHECK (short_title <> ''),
    family        text NOT NULL CHECK (family <> ''),
    number        text NOT NULL DEFAULT '',
    nature        text NOT NULL,
    area          text NOT NULL DEFAULT '',
    body          text NOT NULL DEFAULT '',
    body_source   text NOT NULL DEFAULT '',
    region        text NOT NULL DEFAULT '',  -- '' national; 河北省, 石家庄市 for local ones
    published_on  date,
    effective_on  date,
    repealed      boolean NOT NULL DEFAULT false,
    status        text NOT NULL CHECK (status IN ('现行有效', '已修改', '已废止', '尚未生效')),
    status_reason text NOT NULL DEFAULT '',
    current_id    bigint REFERENCES laws.documents (id) ON DELETE SET NULL,
    history       jsonb NOT NULL DEFAULT '[]',
    notes         jsonb NOT NULL DEFAULT '[]',
    articles      integer NOT NULL DEFAULT 0,
    content_hash  text NOT NULL,
    edited        boolean NOT NULL DEFAULT false, -- changed in the console: a re-import leaves it alone
    version       integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX documents_family ON laws.documents (family);
CREATE INDEX documents_facets ON laws.documents (nature, status);
CREATE INDEX documents_published ON laws.documents (published_on);

-- The text, one row per article (条) or headed section, under its 编/章/节;
-- paragraphs are its 款.
CREATE TABLE laws.articles (
    document_id bigint  NOT NULL REFERENCES laws.documents (id) ON DELETE CASCADE,
    seq         integer NOT NULL,
    number      integer NOT NULL DEFAULT 0,
    label       text    NOT NULL,
    part        text    NOT NULL DEFAULT '',
    chapter     text    NOT NULL DEFAULT '',
    section     text    NOT NULL DEFAULT '',
    paragraphs  text[]  NOT NULL,
    PRIMARY KEY (document_id, seq)
);
CREATE INDEX articles_number ON laws.articles (document_id, number) WHERE number > 0;

-- Every change to a document's indexed content, in order: each replica's
-- search index applies the entries after the last one it holds, so an
-- edit on one replica reaches the others' indexes.
CREATE TABLE laws.changes (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id bigint NOT NULL,
    at          timestamptz NOT NULL
);

-- Abbreviations a reader types for a law (消法 → 消费者权益保护法).
CREATE TABLE laws.aliases (
    alias  text PRIMARY KEY CHECK (alias <> ''),
    family text NOT NULL CHECK (family <> '')
);

-- Each corpus import and what it did.
CREATE TABLE laws.imports (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    user_id     text NOT NULL DEFAULT '',
    source      text NOT NULL,
    created     integer NOT NULL,
    updated     integer NOT NULL,
    unchanged   integer NOT NULL,
    kept        integer NOT NULL,  -- edited in the console, left alone
    skipped     jsonb NOT NULL DEFAULT '[]'
);

-- Snapshots of the search index in object storage, so a new replica
-- starts from one instead of indexing every article.
CREATE TABLE laws.index_snapshots (
    seq        bigint PRIMARY KEY,
    blob_key   text NOT NULL,
    format     integer NOT NULL,
    created_at timestamptz NOT NULL
);
