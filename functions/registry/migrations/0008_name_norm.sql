-- Name search compares normalised names (issue 10): （） and (), the
-- middle-dot variants, full-width letters and digits, stray spaces and
-- ASCII case no longer decide whether a name is found.
--
-- registry.norm_name is the SQL twin of NormalizeName in entity.go, which
-- normalises the query: NFKC, then ASCII letters lower-cased, every
-- bracket variant written ( ), every middle-dot variant (and the period
-- typed for it) written ·, whitespace (Unicode White_Space) and zero-width
-- characters deleted. Nothing here depends on the database's locale, so
-- the column is the same everywhere. TestNormalizeNameMatchesSQL compares
-- the two on every BMP character. Changing the function means
-- re-generating name_norm in the same migration.

-- One expression, so the planner inlines it into the column's
-- expression. Four regexp_replace passes cost ~3 µs a name; one translate()
-- over the same 77 characters costs ~12 µs (it compares every character of
-- the name with every character of its first argument). lower() under the
-- "C" collation changes only ASCII letters, whatever the database's locale.
-- The last class is what is deleted: Unicode White_Space and the zero-width
-- space, joiners, word joiner and BOM.
CREATE FUNCTION registry.norm_name(s text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $function$
SELECT regexp_replace(regexp_replace(regexp_replace(regexp_replace(
    lower(normalize(s, NFKC) COLLATE "C"),
    '[\[【〔〖〘⦅]', '(', 'g'),
    '[\]】〕〗〙⦆]', ')', 'g'),
    '[•・‧∙⋅ꞏ⸱.]', '·', 'g'),
    E'[ \t\n\x0B\f\r\u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A'
        || E'\u2028\u2029\u202F\u205F\u3000\u200B\u200C\u200D\u2060\uFEFF]', '', 'g')
$function$;

-- Stored beside the name it is made of, so it can never disagree with it.
ALTER TABLE registry.entities
    ADD COLUMN name_norm text GENERATED ALWAYS AS (registry.norm_name(name)) STORED;

-- Search now filters on name_norm: the same two indexes as before
-- (trigrams for substrings of three or more characters, bigrams for the
-- common two-character searches, 0001 and 0003), moved to the normalised
-- column. The indexes on name itself served only that search.
CREATE INDEX entities_name_norm_trgm ON registry.entities USING gin (name_norm gin_trgm_ops);
CREATE INDEX entities_name_norm_bigrams ON registry.entities USING gin (registry.bigrams(name_norm));
DROP INDEX registry.entities_name_trgm;
DROP INDEX registry.entities_name_bigrams;
