-- The alarm history (FP-149): every alarm with what was done about it —
-- accepted into an event (处置), dismissed with a reason (消除, a false or
-- duplicate alarm), or closed with its event — by whom, when and why.
ALTER TABLE dispatch.alarms
    ADD COLUMN handled_by   text NOT NULL DEFAULT '',
    ADD COLUMN handled_at   timestamptz,
    ADD COLUMN close_reason text NOT NULL DEFAULT '',
    DROP CONSTRAINT alarms_status_check,
    ADD CONSTRAINT alarms_status_check CHECK (status IN ('new', 'accepted', 'dismissed', 'closed'));
CREATE INDEX alarms_received ON dispatch.alarms (received_at DESC);
