-- scan.pages reads the qr schema only through its published read function
-- qr.code_status (qr-generate migration 0003), as it reads the registry
-- through registry.public_page: no statement of scan-resolve names another
-- schema's table, so qr-generate may change qr.codes freely.
--
-- Both functions are one-statement LANGUAGE sql functions the planner
-- inlines, so the statement is still one primary-key probe per token and
-- per entity, planned once per session (see 0002 for why it is PL/pgSQL
-- with a generic plan). A token no code has yields no row, as before.
CREATE OR REPLACE FUNCTION scan.pages(tokens text[])
 RETURNS TABLE (token text, code_status text, code_credit_code text, credit_code text, name text,
    entity_type text, legal_rep text, established_on text, registered_capital text, business_scope text,
    address text, district_code text, township_code text, industry_code text, status text, version int,
    updated_at timestamptz, records json)
 LANGUAGE plpgsql
 STABLE
 SET plan_cache_mode = force_generic_plan
AS $function$
#variable_conflict use_column
BEGIN
RETURN QUERY
SELECT t.token, c.status, c.credit_code, p.credit_code, p.name, p.entity_type, p.legal_rep,
    p.established_on, p.registered_capital, p.business_scope, p.address, p.district_code, p.township_code,
    p.industry_code, p.status, p.version, p.updated_at, p.records
FROM unnest(tokens) AS t(token)
CROSS JOIN LATERAL qr.code_status(t.token) c
LEFT JOIN LATERAL registry.public_page(c.credit_code) p ON c.status = 'active';
END
$function$;
