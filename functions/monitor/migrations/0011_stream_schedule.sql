-- FP-89: streams are checked on their own interval (the schedule asks for
-- each due check with an event), and whoever added a stream is alerted of
-- the clues its checks find. Existing streams are due at once.
ALTER TABLE monitor.streams ADD COLUMN created_by_id text NOT NULL DEFAULT '';
ALTER TABLE monitor.streams ADD COLUMN next_check_at timestamptz;
UPDATE monitor.streams SET next_check_at = coalesce(last_checked + every_minutes * interval '1 minute', created_at);
CREATE INDEX streams_due ON monitor.streams (next_check_at) WHERE next_check_at IS NOT NULL;
