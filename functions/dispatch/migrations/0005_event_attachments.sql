-- A hazard report from the phone (FP-161) carries its photos and videos:
-- object keys of alarm-intake's signed uploads, as tasks' attachments are.
ALTER TABLE dispatch.events ADD COLUMN attachments text[] NOT NULL DEFAULT '{}';
