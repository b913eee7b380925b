-- FP-86: monitor searches the online objects by keyword (name or text,
-- ILIKE '%…%') and by update time through crawlershard.online_objects,
-- which the planner inlines, so these indexes serve it over 500 000
-- objects. pg_trgm is created by the platform migration.
CREATE INDEX objects_name_trgm ON crawlershard.objects USING gin (name gin_trgm_ops);
CREATE INDEX objects_text_trgm ON crawlershard.objects USING gin (text gin_trgm_ops);
CREATE INDEX objects_updated ON crawlershard.objects (updated_at, id);
