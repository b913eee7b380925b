-- FP-86: monitor searches the online objects by keyword through
-- crawlershard.online_objects (inlined by the planner). Chinese keywords
-- are mostly two characters (绿茶, 口罩), which trigrams cannot narrow, so
-- every pair of adjacent characters of the lower-cased name and text is
-- indexed; a search asks for the keyword's pairs, then checks the keyword
-- itself. text_bigrams is part of the published contract (for that
-- predicate), like online_objects.
CREATE FUNCTION crawlershard.text_bigrams(s text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT coalesce(array_agg(DISTINCT substr(s, i, 2)), '{}') FROM generate_series(1, char_length(s) - 1) AS i $$;

CREATE INDEX objects_bigrams ON crawlershard.objects USING gin (crawlershard.text_bigrams(lower(name || ' ' || text)));
CREATE INDEX objects_updated ON crawlershard.objects (updated_at, id);
