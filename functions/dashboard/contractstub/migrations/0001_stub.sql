-- Stand-ins for registry.dashboard_entities() and registry.dashboard_records()
-- (registry migration 0140), answering from tables shaped as their results.
-- No stub table has a real registry table's name, so a dashboard statement
-- that read registry.entities directly would fail in its own tests.
CREATE SCHEMA IF NOT EXISTS registry;

CREATE TABLE registry.stub_dashboard_entities (
    credit_code        character(18) PRIMARY KEY,
    name               text NOT NULL,
    entity_type        text NOT NULL DEFAULT 'enterprise',
    district_code      text NOT NULL,
    township_code      text NOT NULL DEFAULT '',
    industry_code      text NOT NULL DEFAULT '5211',
    status             text NOT NULL DEFAULT 'active',
    established_on     date NOT NULL DEFAULT '2020-01-01',
    registered_capital numeric NOT NULL DEFAULT 100
);

CREATE TABLE registry.stub_dashboard_records (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    credit_code character(18) NOT NULL,
    kind        text NOT NULL,
    status      text NOT NULL DEFAULT '',
    occurred_on date NOT NULL DEFAULT '2024-01-01'
);

CREATE FUNCTION registry.dashboard_entities()
 RETURNS TABLE (credit_code character(18), name text, entity_type text, district_code text, township_code text,
    industry_code text, status text, established_on date, registered_capital numeric)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT s.credit_code, s.name, s.entity_type, s.district_code, s.township_code, s.industry_code,
    s.status, s.established_on, s.registered_capital
FROM registry.stub_dashboard_entities s
$function$;

CREATE FUNCTION registry.dashboard_records()
 RETURNS TABLE (credit_code character(18), kind text, status text, occurred_on date)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT s.credit_code, s.kind, s.status, s.occurred_on FROM registry.stub_dashboard_records s
$function$;
