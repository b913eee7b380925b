-- Published read functions for the dashboard's anomaly views (异常数据,
-- FP-102–109, 133), added by dashboard in the registry's stream.
-- Contract: the names, arguments, result columns and their meaning only
-- ever grow. The dashboard's anomaly rules read these, never the tables.
--
-- LANGUAGE sql and STABLE so the planner inlines them: a recomputation for
-- one entity (after its event) becomes a primary-key probe. credit_code
-- stays char(18), as in 0140, so that the licence rules' joins and NOT
-- EXISTS probe records_entity by key; as text they would scan every
-- record once per entity event.

-- Every entity with the fields its quality rules look at (mandatory
-- fields, address against district). Codes as text, as the data scope
-- filters them.
CREATE FUNCTION registry.dashboard_anomaly_entities()
 RETURNS TABLE (credit_code character(18), name text, entity_type text, legal_rep text, address text, district_code text,
    township_code text, industry_code text, status text, established_on date, updated_at timestamptz)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT e.credit_code, e.name, e.entity_type, e.legal_rep, e.address, e.district_code::text, e.township_code,
    e.industry_code::text, e.status, e.established_on, e.updated_at
FROM registry.entities e
$function$;

COMMENT ON FUNCTION registry.dashboard_anomaly_entities() IS
    'Published read contract (dashboard anomalies): entities'' fields the quality rules check.';

-- Public licence records with their validity: expired licences of an
-- operating entity, valid ones of a deregistered entity, and the licence
-- an industry needs.
CREATE FUNCTION registry.dashboard_licences()
 RETURNS TABLE (id bigint, credit_code character(18), ref_no text, title text, authority text, occurred_on date,
    valid_until date, status text, created_at timestamptz)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT r.id, r.credit_code, r.ref_no, r.title, r.authority, r.occurred_on, r.valid_until, r.status, r.created_at
FROM registry.records r
WHERE r.kind = 'licence' AND r.public
$function$;

COMMENT ON FUNCTION registry.dashboard_licences() IS
    'Published read contract (dashboard anomalies): public licence records with their validity.';
