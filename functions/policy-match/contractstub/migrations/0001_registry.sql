-- Stand-ins for registry.policy_subjects(), policy_subject(code),
-- policy_figures() and policy_figure(code) (registry migrations 0103, 0106): one
-- row per entity as the real functions return it, with its latest annual
-- figures (report_year NULL: no report). The registry's own tests check
-- how the real ones derive the credit state and the figures from its
-- records (TestPolicyReadFunctions).
CREATE SCHEMA IF NOT EXISTS registry;

CREATE TABLE registry.stub_policy_subjects (
    credit_code        text    PRIMARY KEY,
    name               text    NOT NULL,
    entity_type        text    NOT NULL DEFAULT 'enterprise',
    district_code      text    NOT NULL,
    township_code      text    NOT NULL DEFAULT '',
    industry_code      text    NOT NULL,
    established_on     date    NOT NULL DEFAULT '2020-01-01',
    registered_capital numeric NOT NULL DEFAULT 100,
    business_scope     text    NOT NULL DEFAULT '',
    status             text    NOT NULL DEFAULT 'active',
    abnormal           boolean NOT NULL DEFAULT false,
    serious_illegal    boolean NOT NULL DEFAULT false,
    blacklisted        boolean NOT NULL DEFAULT false,
    blacklisted_until  date,    -- NULL with blacklisted: an entry without an end
    last_penalty_on    date,
    report_year        int,
    employees          int,
    revenue            numeric,
    assets             numeric
);

CREATE FUNCTION registry.policy_subjects()
 RETURNS TABLE (credit_code text, name text, entity_type text, district_code text, township_code text,
    industry_code text, established_on date, registered_capital numeric, business_scope text, status text,
    abnormal boolean, serious_illegal boolean, blacklisted boolean, last_penalty_on date, blacklisted_until date)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT s.credit_code, s.name, s.entity_type, s.district_code, s.township_code, s.industry_code, s.established_on,
    s.registered_capital, s.business_scope, s.status, s.abnormal, s.serious_illegal,
    s.blacklisted OR COALESCE(s.blacklisted_until >= current_date, false), s.last_penalty_on,
    COALESCE(s.blacklisted_until, CASE WHEN s.blacklisted THEN 'infinity'::date END)
FROM registry.stub_policy_subjects s
$function$;

CREATE FUNCTION registry.policy_subject(code text)
 RETURNS TABLE (credit_code text, name text, entity_type text, district_code text, township_code text,
    industry_code text, established_on date, registered_capital numeric, business_scope text, status text,
    abnormal boolean, serious_illegal boolean, blacklisted boolean, last_penalty_on date, blacklisted_until date)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT s.credit_code, s.name, s.entity_type, s.district_code, s.township_code, s.industry_code, s.established_on,
    s.registered_capital, s.business_scope, s.status, s.abnormal, s.serious_illegal,
    s.blacklisted OR COALESCE(s.blacklisted_until >= current_date, false), s.last_penalty_on,
    COALESCE(s.blacklisted_until, CASE WHEN s.blacklisted THEN 'infinity'::date END)
FROM registry.stub_policy_subjects s
WHERE s.credit_code = (code COLLATE "default")
$function$;

CREATE FUNCTION registry.policy_figures()
 RETURNS TABLE (credit_code text, report_year int, employees int, revenue numeric, assets numeric)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT s.credit_code, s.report_year, s.employees, s.revenue, s.assets
FROM registry.stub_policy_subjects s WHERE s.report_year IS NOT NULL
$function$;

CREATE FUNCTION registry.policy_figure(code text)
 RETURNS TABLE (credit_code text, report_year int, employees int, revenue numeric, assets numeric)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT s.credit_code, s.report_year, s.employees, s.revenue, s.assets
FROM registry.stub_policy_subjects s WHERE s.report_year IS NOT NULL AND s.credit_code = (code COLLATE "default")
$function$;
