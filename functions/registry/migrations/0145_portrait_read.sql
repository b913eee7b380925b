-- registry.entity_portrait is the registry's published read function for
-- entity-graph's enterprise portrait (企业数字画像, FP-125): one entity's
-- registered fields and its records of every kind, for a regulator, so
-- records not shown to the public (public = false) are included and say
-- so. Contract: its name, argument and the keys of its answer only ever
-- grow, never change. entity-graph calls it; it never reads registry
-- tables.
--
-- NULL for an unknown code. The caller confines the answer to its user's
-- data scope with district_code and township_code. Each kind carries its
-- total and its 50 newest records (a portrait is a summary; the console's
-- 一户一档 lists them all).
CREATE FUNCTION registry.entity_portrait(code text)
 RETURNS jsonb
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT jsonb_build_object(
    'credit_code', e.credit_code::text,
    'name', e.name,
    'entity_type', e.entity_type,
    'legal_rep', e.legal_rep,
    'established_on', to_char(e.established_on, 'YYYY-MM-DD'),
    'registered_capital', e.registered_capital::text,
    'business_scope', e.business_scope,
    'address', e.address,
    'district_code', e.district_code::text,
    'township_code', rtrim(e.township_code),
    'industry_code', e.industry_code::text,
    'status', e.status,
    'updated_at', e.updated_at,
    'sections', COALESCE((
        SELECT jsonb_agg(jsonb_build_object('kind', s.kind, 'total', s.total, 'records', s.records) ORDER BY s.kind)
        FROM (
            SELECT r.kind, count(*) AS total,
                jsonb_agg(jsonb_build_object('id', r.id, 'ref_no', r.ref_no, 'title', r.title, 'authority', r.authority,
                    'occurred_on', to_char(r.occurred_on, 'YYYY-MM-DD'), 'valid_until', to_char(r.valid_until, 'YYYY-MM-DD'),
                    'status', r.status, 'public', r.public, 'details', r.details)
                    ORDER BY r.occurred_on DESC, r.id DESC) FILTER (WHERE r.n <= 50) AS records
            FROM (SELECT x.*, row_number() OVER (PARTITION BY x.kind ORDER BY x.occurred_on DESC, x.id DESC) AS n
                  FROM registry.records x WHERE x.credit_code = e.credit_code) r
            GROUP BY r.kind
        ) s), '[]'::jsonb))
FROM registry.entities e
WHERE e.credit_code = (code COLLATE "default")::char(18)
$function$;

COMMENT ON FUNCTION registry.entity_portrait(text) IS
    'Published read contract (entity-graph): an entity''s fields and its records of every kind, non-public included, for the portrait (FP-125).';
