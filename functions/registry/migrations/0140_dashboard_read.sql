-- Published read functions for the dashboard (看板, FP-110–114, 130),
-- added by dashboard in the registry's stream. Contract: the names,
-- arguments, result columns and their meaning only ever grow. The
-- dashboard never reads registry tables; its indicators count rows of
-- these functions, and its rollups are refreshed from them.
--
-- LANGUAGE sql and STABLE so the planner inlines them: the caller's data
-- scope and an indicator's conditions become predicates on the tables.
-- credit_code stays char(18) so that a "has a record of kind K" condition
-- (EXISTS over dashboard_records) probes records_entity by key; district
-- and township are text, as the data scope filters them, and the index
-- below serves that text comparison (a rollup refresh groups one district).
CREATE INDEX entities_dashboard_area ON registry.entities ((district_code::text), township_code, entity_type, status);

CREATE FUNCTION registry.dashboard_entities()
 RETURNS TABLE (credit_code character(18), name text, entity_type text, district_code text, township_code text,
    industry_code text, status text, established_on date, registered_capital numeric)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT e.credit_code, e.name, e.entity_type, e.district_code::text, e.township_code, e.industry_code::text,
    e.status, e.established_on, e.registered_capital
FROM registry.entities e
$function$;

COMMENT ON FUNCTION registry.dashboard_entities() IS
    'Published read contract (dashboard): market entities'' fields the indicators count by.';

-- Public records only, as on every other published surface.
CREATE FUNCTION registry.dashboard_records()
 RETURNS TABLE (credit_code character(18), kind text, status text, occurred_on date)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT r.credit_code, r.kind, r.status, r.occurred_on
FROM registry.records r
WHERE r.public
$function$;

COMMENT ON FUNCTION registry.dashboard_records() IS
    'Published read contract (dashboard): public records by entity and kind.';
