CREATE SCHEMA IF NOT EXISTS registry;

-- One row per market entity (市场主体), keyed by its unified social credit code.
CREATE TABLE registry.entities (
    credit_code        char(18)    PRIMARY KEY,
    name               text        NOT NULL,
    entity_type        text        NOT NULL CHECK (entity_type IN
                         ('enterprise','individual','cooperative','institution','non_enterprise')),
    legal_rep          text        NOT NULL,
    established_on     date        NOT NULL,
    registered_capital numeric(20,4) NOT NULL DEFAULT 0 CHECK (registered_capital >= 0), -- 万元
    business_scope     text        NOT NULL DEFAULT '',
    address            text        NOT NULL,
    district_code      char(6)     NOT NULL,
    township_code      char(9)     NOT NULL DEFAULT '',
    industry_code      char(4)     NOT NULL,
    status             text        NOT NULL DEFAULT 'active' CHECK (status IN ('active','revoked','deregistered')),
    location           geography(Point, 4326),
    version            int         NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
-- Substring search on names over 1.3 M rows.
CREATE INDEX entities_name_trgm ON registry.entities USING gin (name gin_trgm_ops);
CREATE INDEX entities_district ON registry.entities (district_code, credit_code);
CREATE INDEX entities_industry ON registry.entities (industry_code, credit_code);
CREATE INDEX entities_type_status ON registry.entities (entity_type, status, credit_code);
CREATE INDEX entities_location ON registry.entities USING gist (location);

-- Everything later shown on the public page and the one-household-one-file
-- profile (一户一档): licences, annual reports, penalties, inspections...
-- One table with a kind discriminator keeps the profile a single query.
CREATE TABLE registry.records (
    id           bigserial   PRIMARY KEY,
    credit_code  char(18)    NOT NULL REFERENCES registry.entities (credit_code) ON DELETE CASCADE,
    kind         text        NOT NULL CHECK (kind IN
                   ('licence','annual_report','penalty','inspection','random_check','spot_check',
                    'complaint','abnormal_list','serious_illegal','honour','blacklist')),
    ref_no       text        NOT NULL DEFAULT '', -- 文书号 / 许可证号 / 报告年度
    title        text        NOT NULL,
    authority    text        NOT NULL DEFAULT '', -- 决定机关 / 检查机关
    occurred_on  date        NOT NULL,
    valid_until  date,
    status       text        NOT NULL DEFAULT '',
    public       boolean     NOT NULL DEFAULT true,
    details      jsonb       NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX records_entity ON registry.records (credit_code, kind, occurred_on DESC);
