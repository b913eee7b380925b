-- registry.entity_snapshot is the registry's published read function for
-- the fields other functions copy of every entity (contract: its name,
-- columns and their meaning only ever grow, never change). qr-generate's
-- one-time backfill (SyncFromRegistry) reads it to seed qr.entities with
-- entities that were loaded without events (the registry's seed or an
-- import), in one set-based statement. Other schemas call it; they never
-- read registry tables, so the registry may change its tables freely.
--
-- Codes come back as text without the char(n) padding (an empty township
-- is ''). They carry the default collation: a caller comparing them with
-- "C"-collated columns (qr.entities, qr.codes) in a join should say
-- COLLATE "C" on its side, or its unique index cannot be used. Inserting
-- them into such a column needs nothing.
--
-- LANGUAGE sql and STABLE so the planner inlines it: a caller's
-- "SELECT … FROM registry.entity_snapshot()" runs as the plain scan of
-- registry.entities it stands for, streaming 1.5 M rows without a
-- materialised result set.
CREATE FUNCTION registry.entity_snapshot()
 RETURNS TABLE (credit_code text, name text, entity_type text, district_code text, township_code text,
                industry_code text, status text, version int, updated_at timestamptz)
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
    SELECT e.credit_code::text, e.name, e.entity_type, e.district_code::text, e.township_code::text,
           e.industry_code::text, e.status, e.version, e.updated_at
    FROM registry.entities e
$function$;

COMMENT ON FUNCTION registry.entity_snapshot() IS
    'Published read contract: every entity''s copied fields, for other functions'' backfills (qr-generate SyncFromRegistry).';
