-- Stand-in for registry.public_page (registry migration 0005): one row per
-- entity, as the real function returns it. records is the entity's public
-- records, newest first, as one JSON array (NULL without any); the real
-- function leaves out non-public records and annual-report items, which
-- the registry's own tests check (TestPublicPageExcludesNonPublic).
CREATE SCHEMA IF NOT EXISTS registry;

CREATE TABLE registry.stub_pages (
    credit_code        text        PRIMARY KEY,
    name               text        NOT NULL,
    entity_type        text        NOT NULL DEFAULT 'enterprise',
    legal_rep          text        NOT NULL DEFAULT '',
    established_on     text        NOT NULL DEFAULT '',
    registered_capital text        NOT NULL DEFAULT '0',
    business_scope     text        NOT NULL DEFAULT '',
    address            text        NOT NULL DEFAULT '',
    district_code      text        NOT NULL,
    township_code      text        NOT NULL DEFAULT '',
    industry_code      text        NOT NULL,
    status             text        NOT NULL DEFAULT 'active',
    version            int         NOT NULL DEFAULT 1,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    records            jsonb
);

CREATE FUNCTION registry.public_page(code text)
 RETURNS TABLE (credit_code text, name text, entity_type text, legal_rep text, established_on text,
    registered_capital text, business_scope text, address text, district_code text, township_code text,
    industry_code text, status text, version int, updated_at timestamptz, records json)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT p.credit_code, p.name, p.entity_type, p.legal_rep, p.established_on, p.registered_capital, p.business_scope,
    p.address, p.district_code, p.township_code, p.industry_code, p.status, p.version, p.updated_at, p.records::json
FROM registry.stub_pages p
WHERE p.credit_code = (code COLLATE "default")
$function$;
