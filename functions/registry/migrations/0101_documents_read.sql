-- registry.document_prefill is the registry's published read function for
-- the documents function (文书管理, FP-36/37): what a template's fields are
-- prefilled with from the entity's credit code, and the records a 信用修复
-- 申请书 may ask to repair (经营异常名录, 严重违法失信名单, 行政处罚公示),
-- newest first. Contract: its name, argument and result columns only ever
-- grow, never change. documents calls it; it never reads registry tables.
--
-- No row for an unknown code. The caller confines the answer to its
-- user's data scope with district_code and township_code.
CREATE FUNCTION registry.document_prefill(code text)
 RETURNS TABLE (credit_code text, name text, entity_type text, legal_rep text, established_on text,
    registered_capital text, address text, district_code text, township_code text, industry_code text,
    status text, repairable json)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT e.credit_code::text, e.name, e.entity_type, e.legal_rep, to_char(e.established_on, 'YYYY-MM-DD'),
    e.registered_capital::text, e.address, e.district_code::text, e.township_code, e.industry_code::text, e.status,
    (SELECT json_agg(json_build_object('id', r.id, 'kind', r.kind, 'ref_no', r.ref_no, 'title', r.title,
            'authority', r.authority, 'occurred_on', r.occurred_on, 'status', r.status)
            ORDER BY r.occurred_on DESC, r.id DESC)
     FROM registry.records r
     WHERE r.credit_code = e.credit_code AND r.kind IN ('abnormal_list', 'serious_illegal', 'penalty'))
FROM registry.entities e
WHERE e.credit_code = (code COLLATE "default")::char(18)
$function$;

COMMENT ON FUNCTION registry.document_prefill(text) IS
    'Published read contract: an entity''s fields for prefilling documents, and its repairable records (documents).';
