-- Stand-ins for registry.datahub_entities() and registry.datahub_records()
-- (registry migration 0104), answering from tables shaped as their results.
CREATE SCHEMA IF NOT EXISTS registry;

CREATE TABLE registry.stub_datahub_entities (
    credit_code        text PRIMARY KEY,
    name               text NOT NULL,
    entity_type        text NOT NULL DEFAULT 'enterprise',
    legal_rep          text NOT NULL DEFAULT '',
    established_on     date NOT NULL DEFAULT '2020-01-01',
    registered_capital numeric NOT NULL DEFAULT 100,
    business_scope     text NOT NULL DEFAULT '',
    address            text NOT NULL DEFAULT '',
    district_code      text NOT NULL,
    township_code      text NOT NULL DEFAULT '',
    industry_code      text NOT NULL DEFAULT '5211',
    status             text NOT NULL DEFAULT 'active',
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE registry.stub_datahub_records (
    id            bigint PRIMARY KEY,
    credit_code   text NOT NULL,
    entity_name   text NOT NULL,
    kind          text NOT NULL,
    ref_no        text NOT NULL DEFAULT '',
    title         text NOT NULL,
    authority     text NOT NULL DEFAULT '',
    occurred_on   date NOT NULL,
    valid_until   date,
    status        text NOT NULL DEFAULT '',
    district_code text NOT NULL,
    township_code text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION registry.datahub_entities()
 RETURNS TABLE (credit_code text, name text, entity_type text, legal_rep text, established_on date,
    registered_capital numeric, business_scope text, address text, district_code text, township_code text,
    industry_code text, status text, updated_at timestamptz)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT s.credit_code, s.name, s.entity_type, s.legal_rep, s.established_on, s.registered_capital,
    s.business_scope, s.address, s.district_code, s.township_code, s.industry_code, s.status, s.updated_at
FROM registry.stub_datahub_entities s
$function$;

CREATE FUNCTION registry.datahub_records()
 RETURNS TABLE (id bigint, credit_code text, entity_name text, kind text, ref_no text, title text,
    authority text, occurred_on date, valid_until date, status text, district_code text, township_code text,
    created_at timestamptz)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT s.id, s.credit_code, s.entity_name, s.kind, s.ref_no, s.title, s.authority, s.occurred_on, s.valid_until,
    s.status, s.district_code, s.township_code, s.created_at
FROM registry.stub_datahub_records s
$function$;
