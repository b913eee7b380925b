-- Attachments are seen at the centre (a task's result photos, a hazard
-- report's video): an upload now keeps the jurisdiction of the phone that
-- made it, so the same scope that filters alarms decides who may view it,
-- and phones may send short videos too (FP-161).
ALTER TABLE alarmintake.uploads
    ADD COLUMN district text NOT NULL DEFAULT '',
    ADD COLUMN township text NOT NULL DEFAULT '',
    DROP CONSTRAINT uploads_kind_check,
    ADD CONSTRAINT uploads_kind_check CHECK (kind IN ('photo', 'voice', 'video'));
