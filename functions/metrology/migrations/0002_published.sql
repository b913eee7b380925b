-- Published read functions of the metrology schema (contracts: names,
-- columns and their meaning only ever grow). provincial-sync pushes local
-- changes to the provincial platform with them (FP-166): each returns the
-- rows changed after a keyset position (updated_at, key), in that order,
-- so a caller pages through changes with a watermark and never reads
-- metrology tables. LANGUAGE sql and STABLE, so they inline into the
-- caller's plan and use the (updated_at, key) indexes.

CREATE FUNCTION metrology.changed_enterprises(since timestamptz, after_code text, lim int)
 RETURNS TABLE (credit_code text, name text, district_code text, township_code text, address text,
                contact text, phone text, email text, updated_at timestamptz)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
    SELECT e.credit_code, e.name, e.district_code, e.township_code, e.address, e.contact, e.phone, e.email, e.updated_at
    FROM metrology.enterprises e
    WHERE (e.updated_at, e.credit_code) > (since, after_code)
    ORDER BY e.updated_at, e.credit_code
    LIMIT lim
$function$;

CREATE FUNCTION metrology.changed_instruments(since timestamptz, after_id bigint, lim int)
 RETURNS TABLE (id bigint, credit_code text, district_code text, item_code text, category_code text, category_name text,
                name text, model text, serial_no text, manufacturer text, status text,
                last_verified_on date, valid_until date, updated_at timestamptz)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
    SELECT i.id, i.credit_code, e.district_code, c.item_code, i.category_code, c.name, i.name, i.model, i.serial_no,
           i.manufacturer, i.status, i.last_verified_on, i.valid_until, i.updated_at
    FROM metrology.instruments i
    JOIN metrology.enterprises e ON e.credit_code = i.credit_code
    JOIN metrology.catalogue_categories c ON c.code = i.category_code
    WHERE (i.updated_at, i.id) > (since, after_id)
    ORDER BY i.updated_at, i.id
    LIMIT lim
$function$;

CREATE FUNCTION metrology.changed_verifications(since timestamptz, after_id bigint, lim int)
 RETURNS TABLE (id bigint, instrument_id bigint, credit_code text, district_code text, institution_id text,
                certificate_no text, result text, class text, verified_on date, valid_until date,
                verifier text, updated_at timestamptz)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
    SELECT v.id, v.instrument_id, v.credit_code, e.district_code, v.institution_id, v.certificate_no, v.result, v.class,
           v.verified_on, v.valid_until, v.verifier, v.updated_at
    FROM metrology.verifications v
    JOIN metrology.enterprises e ON e.credit_code = v.credit_code
    WHERE (v.updated_at, v.id) > (since, after_id)
    ORDER BY v.updated_at, v.id
    LIMIT lim
$function$;

-- metrology.party_of is whom an account acts for (contract): an enterprise
-- user for its enterprise's credit code, an institution's staff for the
-- institution's; no row for a regulator. certificate-print confines the
-- certificates an enterprise or institution account sees with it.
CREATE FUNCTION metrology.party_of(who text)
 RETURNS TABLE (kind text, ref text)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
    SELECT p.kind, p.ref FROM metrology.parties p WHERE p.username = who
$function$;
