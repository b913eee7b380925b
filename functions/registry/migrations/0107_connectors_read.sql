-- Published read function for connectors (数据对接): the supervision
-- records the entity base itself produced, which the data hub's return
-- channel (数据枢纽回传, FP-16) sends back. Contract: the name, arguments
-- and result columns only ever grow. Records that arrived from outside
-- (source_key set) are not sent back to where they came from.
--
-- registry.supervision_records_after(after_id, lim) is up to lim records
-- with id > after_id in id order: the connector's cursor is the last id.
CREATE FUNCTION registry.supervision_records_after(after_id bigint, lim int)
 RETURNS TABLE (id bigint, credit_code text, kind text, title text, authority text, occurred_on text, status text)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT r.id, r.credit_code::text, r.kind, r.title, r.authority, to_char(r.occurred_on, 'YYYY-MM-DD'), r.status
FROM registry.records r
WHERE r.id > after_id AND r.source_key IS NULL
  AND r.kind IN ('inspection', 'random_check', 'spot_check', 'penalty')
ORDER BY r.id
LIMIT lim
$function$;

COMMENT ON FUNCTION registry.supervision_records_after(bigint, int) IS
    'Published read contract (connectors): supervision records after an id, for the data hub''s return channel.';
