-- qr's published read functions: what other schemas may read of the qr
-- schema, named and documented as contracts (docs/architecture.md,
-- "Published read functions"). Callers never read qr tables, so qr-generate
-- may change its tables freely as long as these keep their names, columns
-- and meaning (they may only grow).
--
-- All are LANGUAGE sql, STABLE, one SELECT and no SET clause, so the
-- planner inlines them into the caller's statement: scan.pages' lateral
-- call of qr.code_status is the primary-key probe it stands for, planned
-- once with the caller's generic plan.
--
-- Tokens and credit codes come back as text in the columns' "C"
-- collation; registry.public_page states its own collation on the
-- argument, so passing a credit code from here keeps its index usable.

-- qr.code_status is one code's state by token: no row for a token no code
-- has. status is pending | active | rejected | invalid. scan-resolve reads
-- it for every cache miss of the public page (through scan.pages), when an
-- inspector records an inspection and when a public photo link is opened.
CREATE FUNCTION qr.code_status(token text)
 RETURNS TABLE (credit_code text, status text)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT c.credit_code::text, c.status FROM qr.codes c WHERE c.token = code_status.token
$function$;

COMMENT ON FUNCTION qr.code_status(text) IS
    'Published read contract: a code''s credit code and status by token (scan-resolve).';

-- qr.active_codes is up to lim active codes in token order, with the
-- entity's name as qr-generate holds it: the smartreg CLI prints a few of
-- them as demo links after `smartreg seed -demo`. Token order is the
-- primary key's, so the call reads lim index entries, whatever the table's
-- size.
CREATE FUNCTION qr.active_codes(lim int)
 RETURNS TABLE (token text, credit_code text, entity_name text)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT c.token::text, c.credit_code::text, c.entity_name FROM qr.codes c
WHERE c.status = 'active' ORDER BY c.token LIMIT lim
$function$;

COMMENT ON FUNCTION qr.active_codes(int) IS
    'Published read contract: a few active codes with the entity name (smartreg seed demo links).';

-- qr.has_codes tells whether any code exists, whatever its status: the
-- smartreg CLI's `seed -demo` issues codes only into a database without
-- any, so running it again changes nothing.
CREATE FUNCTION qr.has_codes()
 RETURNS boolean
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT EXISTS (SELECT 1 FROM qr.codes)
$function$;

COMMENT ON FUNCTION qr.has_codes() IS
    'Published read contract: whether any code exists (smartreg seed -demo).';
