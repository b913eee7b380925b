-- The policy-match contract (0103) grows by one column, added by
-- policy-match in the registry's stream: blacklisted_until, the latest day
-- a blacklist entry of the entity is in force ('infinity' for an entry
-- without an end, NULL for an entity never blacklisted). blacklisted is
-- unchanged and equals blacklisted_until >= current_date.
--
-- Why: policy-match keeps the fields its conditions test in a table of its
-- own (policy.subjects), refreshed by the entity events, so that a policy
-- is matched against 1.3 M entities in one narrow scan. The boolean turns
-- false on the day an entry runs out, with no event to say so; the date
-- lets the copy answer for any day.
--
-- The result type of a function cannot be altered in place: both are
-- dropped and created again, every earlier column unchanged and in its
-- place, the new one last.
DROP FUNCTION registry.policy_subjects();
DROP FUNCTION registry.policy_subject(text);

CREATE FUNCTION registry.policy_subjects()
 RETURNS TABLE (credit_code text, name text, entity_type text, district_code text, township_code text,
    industry_code text, established_on date, registered_capital numeric, business_scope text, status text,
    abnormal boolean, serious_illegal boolean, blacklisted boolean, last_penalty_on date, blacklisted_until date)
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
SELECT e.credit_code::text, e.name, e.entity_type, e.district_code::text, e.township_code,
    e.industry_code::text, e.established_on, e.registered_capital, e.business_scope, e.status,
    COALESCE(c.abnormal, false), COALESCE(c.serious_illegal, false), COALESCE(c.blacklisted_until >= current_date, false), c.last_penalty_on,
    c.blacklisted_until
FROM registry.entities e
LEFT JOIN (
    SELECT r.credit_code,
        bool_or(r.kind = 'abnormal_list' AND r.status <> '已移出') AS abnormal,
        bool_or(r.kind = 'serious_illegal' AND r.status <> '已移出') AS serious_illegal,
        max(COALESCE(r.valid_until, 'infinity'::date)) FILTER (WHERE r.kind = 'blacklist') AS blacklisted_until,
        max(r.occurred_on) FILTER (WHERE r.kind = 'penalty') AS last_penalty_on
    FROM registry.records r
    WHERE r.kind IN ('abnormal_list', 'serious_illegal', 'blacklist', 'penalty')
    GROUP BY r.credit_code
) c ON c.credit_code = e.credit_code
$function$;

CREATE FUNCTION registry.policy_subject(code text)
 RETURNS TABLE (credit_code text, name text, entity_type text, district_code text, township_code text,
    industry_code text, established_on date, registered_capital numeric, business_scope text, status text,
    abnormal boolean, serious_illegal boolean, blacklisted boolean, last_penalty_on date, blacklisted_until date)
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
SELECT e.credit_code::text, e.name, e.entity_type, e.district_code::text, e.township_code,
    e.industry_code::text, e.established_on, e.registered_capital, e.business_scope, e.status,
    COALESCE(c.abnormal, false), COALESCE(c.serious_illegal, false), COALESCE(c.blacklisted_until >= current_date, false), c.last_penalty_on,
    c.blacklisted_until
FROM registry.entities e
LEFT JOIN (
    SELECT r.credit_code,
        bool_or(r.kind = 'abnormal_list' AND r.status <> '已移出') AS abnormal,
        bool_or(r.kind = 'serious_illegal' AND r.status <> '已移出') AS serious_illegal,
        max(COALESCE(r.valid_until, 'infinity'::date)) FILTER (WHERE r.kind = 'blacklist') AS blacklisted_until,
        max(r.occurred_on) FILTER (WHERE r.kind = 'penalty') AS last_penalty_on
    FROM registry.records r
    WHERE r.kind IN ('abnormal_list', 'serious_illegal', 'blacklist', 'penalty')
    GROUP BY r.credit_code
) c ON c.credit_code = e.credit_code
WHERE e.credit_code = (code COLLATE "default")::char(18)
$function$;

COMMENT ON FUNCTION registry.policy_subjects() IS
    'Published read contract (policy-match): entity fields policy conditions test, with credit-state flags and the blacklist''s end.';
