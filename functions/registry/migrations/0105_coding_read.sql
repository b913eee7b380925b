-- Published read function for ocr-idcard's photo coding (FP-51–53): the
-- entities whose name resembles a name read from a licence or shop-sign
-- photo, optionally within one district. A stable contract
-- (docs/architecture.md "Published read functions"): the name, arguments,
-- result columns and meaning may only grow.
--
-- OCR misreads a character or two, so a substring search misses: the
-- candidates share at least one adjacent-character pair (the bigram index
-- of 0008 narrows them), ranked by the share of the longer name's pairs
-- they share (1 = same pairs). Both sides are normalised (norm_name).
CREATE FUNCTION registry.name_candidates(q text, district text, lim int)
 RETURNS TABLE (credit_code text, name text, entity_type text, legal_rep text, address text,
    district_code text, township_code text, status text, similarity real)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT e.credit_code::text, e.name, e.entity_type, e.legal_rep, e.address, e.district_code::text, e.township_code,
    e.status,
    ((SELECT count(DISTINCT b) FROM unnest(registry.bigrams(e.name_norm)) AS b
      WHERE b = ANY (registry.bigrams(registry.norm_name(q))))::real
     / greatest(cardinality(registry.bigrams(e.name_norm)), cardinality(registry.bigrams(registry.norm_name(q))), 1))::real
FROM registry.entities e
WHERE registry.bigrams(e.name_norm) && registry.bigrams(registry.norm_name(q))
  AND (coalesce(district, '') = '' OR e.district_code::text = district)
ORDER BY 9 DESC, e.credit_code
LIMIT lim
$function$;
