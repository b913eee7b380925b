-- The due-date reminder (FP-150): a task's assignee and creator are told
-- once when it is about to fall due (or already has); reminded_at keeps
-- the sweep from telling them twice.
ALTER TABLE dispatch.tasks ADD COLUMN reminded_at timestamptz;
CREATE INDEX tasks_due ON dispatch.tasks (due_at) WHERE status = 'pending' AND reminded_at IS NULL AND due_at IS NOT NULL;
