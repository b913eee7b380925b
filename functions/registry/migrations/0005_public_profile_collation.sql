-- registry.public_profile with an explicit collation on its argument.
-- Callers pass credit codes from columns of another collation (qr.codes
-- uses "C" for byte-order comparisons); SQL-function arguments inherit
-- the caller's collation, and a "C" comparison cannot use the primary-key
-- index: every cold public page became a sequential scan of 1.5 M rows.
CREATE OR REPLACE FUNCTION registry.public_profile(code text)
 RETURNS jsonb
 LANGUAGE sql
 STABLE PARALLEL SAFE
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
    'version', e.version,
    'updated_at', e.updated_at,
    'sections', (
        SELECT jsonb_agg(jsonb_build_object('kind', k.kind, 'records', COALESCE(s.records, '[]'::jsonb)) ORDER BY k.ord)
        FROM unnest(ARRAY['licence', 'annual_report', 'honour', 'blacklist', 'inspection', 'random_check',
                          'spot_check', 'penalty', 'complaint', 'abnormal_list', 'serious_illegal'])
             WITH ORDINALITY AS k(kind, ord)
        LEFT JOIN (
            -- One pass over the entity's records (index records_entity),
            -- grouped by kind, instead of one probe per section.
            SELECT r.kind, jsonb_agg(jsonb_build_object(
                    'id', r.id, 'ref_no', r.ref_no, 'title', r.title, 'authority', r.authority,
                    'occurred_on', to_char(r.occurred_on, 'YYYY-MM-DD'),
                    'valid_until', to_char(r.valid_until, 'YYYY-MM-DD'),
                    'status', r.status,
                    'details', CASE WHEN r.kind = 'annual_report' AND jsonb_typeof(r.details -> 'items') = 'array'
                        THEN jsonb_set(r.details, '{items}', COALESCE((
                            SELECT jsonb_agg(i ORDER BY n) FROM jsonb_array_elements(r.details -> 'items') WITH ORDINALITY AS a(i, n)
                            WHERE jsonb_typeof(i) = 'object' AND i -> 'public' = 'true'::jsonb), '[]'::jsonb))
                        ELSE r.details END)
                    ORDER BY r.occurred_on DESC, r.id DESC) AS records
            FROM registry.records r
            WHERE r.credit_code = e.credit_code AND r.public
            GROUP BY r.kind
        ) s ON s.kind = k.kind)
)
FROM registry.entities e
-- The argument may carry another collation (qr.codes uses "C"); an
-- explicit one keeps the primary-key index usable.
WHERE e.credit_code = (code COLLATE "default")::char(18)
$function$
;
