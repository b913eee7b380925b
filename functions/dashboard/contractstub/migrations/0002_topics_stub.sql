-- Stand-ins for the topic boards' read functions: registry
-- .dashboard_record_details() (registry migration 0141) and
-- monitor.dashboard_online_entities() (monitor migration 0004), answering
-- from tables shaped as their results and named like no real table.
CREATE TABLE registry.stub_dashboard_record_details (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    credit_code character(18) NOT NULL,
    kind        text NOT NULL,
    ref_no      text NOT NULL DEFAULT '',
    title       text NOT NULL,
    authority   text NOT NULL DEFAULT '',
    occurred_on date NOT NULL,
    valid_until date,
    status      text NOT NULL DEFAULT '',
    amount      numeric,
    basis       text NOT NULL DEFAULT ''
);

CREATE FUNCTION registry.dashboard_record_details()
 RETURNS TABLE (id bigint, credit_code character(18), kind text, ref_no text, title text, authority text,
    occurred_on date, valid_until date, status text, amount numeric, basis text)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT s.id, s.credit_code, s.kind, s.ref_no, s.title, s.authority, s.occurred_on, s.valid_until, s.status, s.amount, s.basis
FROM registry.stub_dashboard_record_details s
$function$;

CREATE SCHEMA IF NOT EXISTS monitor;

CREATE TABLE monitor.stub_dashboard_online (
    presence      text PRIMARY KEY,
    form          text NOT NULL,
    platform      text NOT NULL DEFAULT '',
    entity_name   text NOT NULL DEFAULT '',
    credit_code   text NOT NULL DEFAULT '',
    district_code text NOT NULL DEFAULT '',
    clues         bigint NOT NULL DEFAULT 0,
    open_clues    bigint NOT NULL DEFAULT 0
);

CREATE FUNCTION monitor.dashboard_online_entities()
 RETURNS TABLE (presence text, form text, platform text, entity_name text, credit_code text, district_code text,
    clues bigint, open_clues bigint)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT s.presence, s.form, s.platform, s.entity_name, s.credit_code, s.district_code, s.clues, s.open_clues
FROM monitor.stub_dashboard_online s
$function$;
