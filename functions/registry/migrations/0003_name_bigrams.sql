-- Two-character name searches (恒达, 面馆) are common and trigrams cannot
-- narrow them: index every pair of adjacent characters as well.
CREATE FUNCTION registry.bigrams(s text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT coalesce(array_agg(DISTINCT substr(s, i, 2)), '{}') FROM generate_series(1, char_length(s) - 1) AS i $$;

CREATE INDEX entities_name_bigrams ON registry.entities USING gin (registry.bigrams(name));
