-- Published read functions for policy-match (政策匹配, FP-54–56, 62, 63),
-- added by policy-match in the registry's stream. Contract: the names,
-- arguments, result columns and their meaning only ever grow. Callers never
-- read registry tables; the registry may change its tables freely as long
-- as these keep answering the same.
--
-- registry.policy_subjects() is every entity's fields a policy condition
-- tests, with its credit state:
--   abnormal         on the abnormal-operation list (经营异常名录) and not
--                    removed from it (a record abnormal_list whose status
--                    is not 已移出);
--   serious_illegal  on the serious-illegal list (严重违法失信名单), not removed;
--   blacklisted      on a blacklist still in force (valid_until empty or
--                    not before today);
--   last_penalty_on  the date of its latest administrative penalty, NULL
--                    without any.
--
-- Index-friendly by construction, LANGUAGE sql and STABLE so the planner
-- inlines it into the caller's statement:
--   * a caller's WHERE on the entity columns applies to registry.entities
--     directly (credit_code = $1 is a primary-key probe; the district and
--     industry indexes serve their predicates);
--   * the credit state is one LEFT JOIN to the entities' credit records
--     grouped by credit code. A caller that reads none of the four columns
--     pays nothing for it (the planner removes a left join to a subquery
--     unique on the join key); one that does reads the small partial index
--     below, once, into a hash table, instead of probing the records per
--     entity (which costs seconds over 1.3 M entities).
CREATE INDEX records_credit_state ON registry.records (credit_code)
    INCLUDE (kind, status, occurred_on, valid_until)
    WHERE kind IN ('abnormal_list', 'serious_illegal', 'blacklist', 'penalty');

-- The function returns codes as text, so a caller's district predicate is
-- on district_code::text, which the char(6) index cannot serve. District
-- conditions and every district user's data scope filter on it: this index
-- on the expression the inlined function produces turns a county's
-- matches into an index scan instead of a scan of every entity.
CREATE INDEX entities_district_text ON registry.entities ((district_code::text), entity_type);
-- A page of matches walks this index and stops after the page, instead of
-- sorting every match (1.1 M rows for a policy open to every entity in
-- business). Its order is the credit code read backwards: a code begins
-- with the entity's kind and district, so in code order the individual
-- businesses of one county sit behind every enterprise of the city and a
-- walk in that order reads hundreds of thousands of rows before the first
-- match; its last characters (check character, organisation code) are
-- unrelated to any condition, so a walk in this order meets the matches
-- evenly, as the planner assumes.
CREATE INDEX entities_code_reversed ON registry.entities (reverse(credit_code::text));

CREATE FUNCTION registry.policy_subjects()
 RETURNS TABLE (credit_code text, name text, entity_type text, district_code text, township_code text,
    industry_code text, established_on date, registered_capital numeric, business_scope text, status text,
    abnormal boolean, serious_illegal boolean, blacklisted boolean, last_penalty_on date)
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
SELECT e.credit_code::text, e.name, e.entity_type, e.district_code::text, e.township_code,
    e.industry_code::text, e.established_on, e.registered_capital, e.business_scope, e.status,
    COALESCE(c.abnormal, false), COALESCE(c.serious_illegal, false), COALESCE(c.blacklisted, false), c.last_penalty_on
FROM registry.entities e
LEFT JOIN (
    SELECT r.credit_code,
        bool_or(r.kind = 'abnormal_list' AND r.status <> '已移出') AS abnormal,
        bool_or(r.kind = 'serious_illegal' AND r.status <> '已移出') AS serious_illegal,
        bool_or(r.kind = 'blacklist' AND (r.valid_until IS NULL OR r.valid_until >= current_date)) AS blacklisted,
        max(r.occurred_on) FILTER (WHERE r.kind = 'penalty') AS last_penalty_on
    FROM registry.records r
    WHERE r.kind IN ('abnormal_list', 'serious_illegal', 'blacklist', 'penalty')
    GROUP BY r.credit_code
) c ON c.credit_code = e.credit_code
$function$;


-- registry.policy_subject(code) is the same row for one entity (none for an
-- unknown code). The codes policy_subjects() returns are text, so a
-- caller's "credit_code = $1" on it cannot use the primary key (char(18));
-- here the comparison is on the column itself, and the credit-state join
-- narrows to the one entity's records through the same index.
CREATE FUNCTION registry.policy_subject(code text)
 RETURNS TABLE (credit_code text, name text, entity_type text, district_code text, township_code text,
    industry_code text, established_on date, registered_capital numeric, business_scope text, status text,
    abnormal boolean, serious_illegal boolean, blacklisted boolean, last_penalty_on date)
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
SELECT e.credit_code::text, e.name, e.entity_type, e.district_code::text, e.township_code,
    e.industry_code::text, e.established_on, e.registered_capital, e.business_scope, e.status,
    COALESCE(c.abnormal, false), COALESCE(c.serious_illegal, false), COALESCE(c.blacklisted, false), c.last_penalty_on
FROM registry.entities e
LEFT JOIN (
    SELECT r.credit_code,
        bool_or(r.kind = 'abnormal_list' AND r.status <> '已移出') AS abnormal,
        bool_or(r.kind = 'serious_illegal' AND r.status <> '已移出') AS serious_illegal,
        bool_or(r.kind = 'blacklist' AND (r.valid_until IS NULL OR r.valid_until >= current_date)) AS blacklisted,
        max(r.occurred_on) FILTER (WHERE r.kind = 'penalty') AS last_penalty_on
    FROM registry.records r
    WHERE r.kind IN ('abnormal_list', 'serious_illegal', 'blacklist', 'penalty')
    GROUP BY r.credit_code
) c ON c.credit_code = e.credit_code
WHERE e.credit_code = (code COLLATE "default")::char(18)
$function$;

COMMENT ON FUNCTION registry.policy_subjects() IS
    'Published read contract (policy-match): entity fields policy conditions test, with credit-state flags.';

-- registry.policy_figures() is each entity's latest annual report's
-- figures, what the 2011 SME size classification (工信部联企业〔2011〕300号)
-- needs: the report year, 从业人数 (employees), 营业总收入 (or, for an
-- individual business, 营业额或营业收入) and 资产总额, in 万元. A figure the
-- report lacks or does not state as a number is NULL; an entity without a
-- report has no row. Inlined too: a caller's credit_code = $1 becomes a
-- probe of the records index (credit_code, kind, occurred_on DESC), and a
-- full read is one ordered pass over that index.
CREATE FUNCTION registry.policy_figures()
 RETURNS TABLE (credit_code text, report_year int, employees int, revenue numeric, assets numeric)
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
SELECT DISTINCT ON (r.credit_code) r.credit_code::text,
    (r.details ->> 'year')::int,
    (SELECT CASE WHEN i ->> 'value' ~ '^[0-9]{1,9}$' THEN (i ->> 'value')::int END
       FROM jsonb_array_elements(r.details -> 'items') i WHERE i ->> 'name' = '从业人数' LIMIT 1),
    (SELECT CASE WHEN i ->> 'value' ~ '^[0-9]{1,14}(\.[0-9]+)?万元$' THEN rtrim(i ->> 'value', '万元')::numeric END
       FROM jsonb_array_elements(r.details -> 'items') i WHERE i ->> 'name' IN ('营业总收入', '营业额或营业收入') LIMIT 1),
    (SELECT CASE WHEN i ->> 'value' ~ '^[0-9]{1,14}(\.[0-9]+)?万元$' THEN rtrim(i ->> 'value', '万元')::numeric END
       FROM jsonb_array_elements(r.details -> 'items') i WHERE i ->> 'name' = '资产总额' LIMIT 1)
FROM registry.records r
WHERE r.kind = 'annual_report' AND jsonb_typeof(r.details -> 'items') = 'array'
ORDER BY r.credit_code, r.occurred_on DESC, r.id DESC
$function$;


-- registry.policy_figure(code) is the same for one entity (no row without
-- a report).
CREATE FUNCTION registry.policy_figure(code text)
 RETURNS TABLE (credit_code text, report_year int, employees int, revenue numeric, assets numeric)
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
SELECT DISTINCT ON (r.credit_code) r.credit_code::text,
    (r.details ->> 'year')::int,
    (SELECT CASE WHEN i ->> 'value' ~ '^[0-9]{1,9}$' THEN (i ->> 'value')::int END
       FROM jsonb_array_elements(r.details -> 'items') i WHERE i ->> 'name' = '从业人数' LIMIT 1),
    (SELECT CASE WHEN i ->> 'value' ~ '^[0-9]{1,14}(\.[0-9]+)?万元$' THEN rtrim(i ->> 'value', '万元')::numeric END
       FROM jsonb_array_elements(r.details -> 'items') i WHERE i ->> 'name' IN ('营业总收入', '营业额或营业收入') LIMIT 1),
    (SELECT CASE WHEN i ->> 'value' ~ '^[0-9]{1,14}(\.[0-9]+)?万元$' THEN rtrim(i ->> 'value', '万元')::numeric END
       FROM jsonb_array_elements(r.details -> 'items') i WHERE i ->> 'name' = '资产总额' LIMIT 1)
FROM registry.records r
WHERE r.credit_code = (code COLLATE "default")::char(18) AND r.kind = 'annual_report' AND jsonb_typeof(r.details -> 'items') = 'array'
ORDER BY r.credit_code, r.occurred_on DESC, r.id DESC
$function$;

COMMENT ON FUNCTION registry.policy_figures() IS
    'Published read contract (policy-match): the latest annual report''s employees, revenue and assets per entity.';
