-- township_code was char(9), so an entity without a township read back as
-- nine spaces. A form saved exactly as read then differed from the stored
-- row (the spaces are trimmed on input), and every such save bumped the
-- version and emitted entity.updated with changed: ["township_code"]
-- (issue 10). As text, "no township" is '' on the way in and out. The check
-- keeps what char(9) guaranteed, and a little more: nine digits or nothing.
ALTER TABLE registry.entities
    ALTER COLUMN township_code TYPE text USING rtrim(township_code),
    ALTER COLUMN township_code SET DEFAULT '',
    ADD CONSTRAINT entities_township_code_check CHECK (township_code ~ '^([0-9]{9})?$');

-- The published read functions trimmed the padding themselves; with a text
-- column there is none. Same names, arguments and result columns, so
-- callers (scan-resolve, qr-generate's backfill) are untouched.
CREATE OR REPLACE FUNCTION registry.public_page(code text)
 RETURNS TABLE (credit_code text, name text, entity_type text, legal_rep text, established_on text,
    registered_capital text, business_scope text, address text, district_code text, township_code text,
    industry_code text, status text, version int, updated_at timestamptz, records json)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT e.credit_code::text, e.name, e.entity_type, e.legal_rep, to_char(e.established_on, 'YYYY-MM-DD'),
    e.registered_capital::text, e.business_scope, e.address, e.district_code::text, e.township_code,
    e.industry_code::text, e.status, e.version, e.updated_at,
    (SELECT json_agg(json_build_object('kind', r.kind, 'ref_no', r.ref_no, 'title', r.title,
            'authority', r.authority, 'occurred_on', r.occurred_on, 'valid_until', r.valid_until,
            'status', r.status, 'details', COALESCE(r.public_details, r.details))
            ORDER BY r.occurred_on DESC, r.id DESC)
     FROM registry.records r WHERE r.credit_code = e.credit_code AND r.public)
FROM registry.entities e
-- The argument may carry another collation (qr.codes uses "C"); an
-- explicit one keeps the primary-key index usable.
WHERE e.credit_code = (code COLLATE "default")::char(18)
$function$;

CREATE OR REPLACE FUNCTION registry.entity_snapshot()
 RETURNS TABLE (credit_code text, name text, entity_type text, district_code text, township_code text,
                industry_code text, status text, version int, updated_at timestamptz)
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
    SELECT e.credit_code::text, e.name, e.entity_type, e.district_code::text, e.township_code,
           e.industry_code::text, e.status, e.version, e.updated_at
    FROM registry.entities e
$function$;
