-- Stand-ins for registry.dashboard_anomaly_entities() and
-- registry.dashboard_licences() (registry migration 0142) and for qr's
-- published qr.active_codes(int) (qr-generate migration 0003). The entity
-- stand-in answers from stub_dashboard_entities, so one seeded row serves
-- the rollups and the anomaly rules alike; legal_rep and address live in
-- a side table (absent: '张三' and a full address).
CREATE TABLE registry.stub_dashboard_entity_fields (
    credit_code character(18) PRIMARY KEY,
    legal_rep   text NOT NULL,
    address     text NOT NULL
);

CREATE TABLE registry.stub_dashboard_licences (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    credit_code text NOT NULL,
    ref_no      text NOT NULL DEFAULT '',
    title       text NOT NULL,
    authority   text NOT NULL DEFAULT '',
    occurred_on date NOT NULL DEFAULT '2022-01-01',
    valid_until date,
    status      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- As registry.records_entity serves the real one: a probe by entity.
CREATE INDEX ON registry.stub_dashboard_licences ((credit_code::character(18)));

CREATE FUNCTION registry.dashboard_anomaly_entities()
 RETURNS TABLE (credit_code character(18), name text, entity_type text, legal_rep text, address text, district_code text,
    township_code text, industry_code text, status text, established_on date, updated_at timestamptz)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT s.credit_code, s.name, s.entity_type, coalesce(f.legal_rep, '张三'),
    coalesce(f.address, '石家庄市长安区中山东路1号'), s.district_code, s.township_code, s.industry_code, s.status,
    s.established_on, '2024-01-01'::timestamptz
FROM registry.stub_dashboard_entities s LEFT JOIN registry.stub_dashboard_entity_fields f ON f.credit_code = s.credit_code
$function$;

CREATE FUNCTION registry.dashboard_licences()
 RETURNS TABLE (id bigint, credit_code character(18), ref_no text, title text, authority text, occurred_on date,
    valid_until date, status text, created_at timestamptz)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT s.id, s.credit_code::character(18), s.ref_no, s.title, s.authority, s.occurred_on, s.valid_until, s.status, s.created_at
FROM registry.stub_dashboard_licences s
$function$;

CREATE SCHEMA IF NOT EXISTS qr;

CREATE TABLE qr.stub_codes (
    token       text PRIMARY KEY,
    credit_code text NOT NULL,
    entity_name text NOT NULL DEFAULT '',
    status      text NOT NULL DEFAULT 'active'
);

CREATE FUNCTION qr.active_codes(lim int)
 RETURNS TABLE (token text, credit_code text, entity_name text)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT c.token, c.credit_code, c.entity_name FROM qr.stub_codes c WHERE c.status = 'active' ORDER BY c.token LIMIT lim
$function$;
