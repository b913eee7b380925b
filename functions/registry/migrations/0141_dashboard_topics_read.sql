-- Published read function for the dashboard's topic boards (FP-118
-- 许可备案专版, FP-119 行政处罚专版), added by dashboard in the registry's
-- stream beside 0140. Contract: the name, arguments, result columns and
-- their meaning only ever grow.
--
-- The public licence and penalty records with the details the boards
-- chart and list: number, title, authority, dates, status, and for a
-- penalty its amount (details.amount, yuan; NULL when absent or not a
-- number, so a malformed detail never fails a board) and legal basis.
-- LANGUAGE sql and STABLE so the planner inlines it: the kind, the
-- caller's scope (joined through dashboard_entities) and the order of a
-- detail list become predicates on registry.records.
CREATE INDEX records_dashboard_topics ON registry.records (kind, occurred_on DESC, id DESC)
    WHERE public AND kind IN ('licence', 'penalty');

CREATE FUNCTION registry.dashboard_record_details()
 RETURNS TABLE (id bigint, credit_code character(18), kind text, ref_no text, title text, authority text,
    occurred_on date, valid_until date, status text, amount numeric, basis text)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT r.id, r.credit_code, r.kind, r.ref_no, r.title, r.authority, r.occurred_on, r.valid_until, r.status,
    CASE WHEN r.details->>'amount' ~ '^[0-9]{1,12}(\.[0-9]{1,2})?$' THEN (r.details->>'amount')::numeric END,
    COALESCE(r.details->>'basis', '')
FROM registry.records r
WHERE r.public AND r.kind IN ('licence', 'penalty')
$function$;

COMMENT ON FUNCTION registry.dashboard_record_details() IS
    'Published read contract (dashboard topic boards): public licence and penalty records with their details.';
