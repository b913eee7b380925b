-- What a function has recorded for the audit function, as tables a test
-- can query: the audit events in platform.outbox, one row each. The rows
-- are only recorded, not yet stored by audit: these views show exactly
-- what a function's transaction committed.
CREATE SCHEMA IF NOT EXISTS recorded;

CREATE VIEW recorded.login_log AS
SELECT o.seq AS id, o.event_id, o.source,
       (o.event->'data'->>'at')::timestamptz AS at,
       COALESCE(o.event->'data'->>'user_id', '') AS user_id,
       COALESCE(o.event->'data'->>'username', '') AS username,
       COALESCE(o.event->'data'->>'ip', '') AS ip,
       COALESCE(o.event->'data'->>'device', '') AS device,
       o.event->'data'->>'result' AS result,
       COALESCE(o.event->'data'->>'reason', '') AS reason
FROM platform.outbox o
WHERE o.event_type = 'cn.gov.sjz.amr.audit.login.recorded.v1';

CREATE VIEW recorded.op_log AS
SELECT o.seq AS id, o.event_id, o.source,
       (o.event->'data'->>'at')::timestamptz AS at,
       COALESCE(o.event->'data'->>'user_id', '') AS user_id,
       COALESCE(o.event->'data'->>'username', '') AS username,
       COALESCE(o.event->'data'->>'ip', '') AS ip,
       o.event->'data'->>'action' AS action,
       COALESCE(o.event->'data'->>'object_type', '') AS object_type,
       COALESCE(o.event->'data'->>'object_id', '') AS object_id,
       COALESCE(o.event->'data'->>'district_code', '') AS district_code,
       COALESCE(o.event->'data'->>'township_code', '') AS township_code,
       o.event->'data'->'before' AS before,
       o.event->'data'->'after' AS after,
       o.event->'data'->>'result' AS result
FROM platform.outbox o
WHERE o.event_type = 'cn.gov.sjz.amr.audit.operation.recorded.v1';
