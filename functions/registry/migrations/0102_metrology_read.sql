-- registry.metrology_entity is the registry's published read function for
-- metrology (contract: columns only ever grow): the fields of one market
-- entity that an instrument user's record takes from the register, so
-- metrology prefills and checks an enterprise (its name, address and
-- district) without reading registry tables. No row for an unknown code.
CREATE FUNCTION registry.metrology_entity(code text)
 RETURNS TABLE (credit_code text, name text, address text, district_code text, township_code text, status text)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
    SELECT e.credit_code::text, e.name, e.address, e.district_code::text, rtrim(e.township_code::text), e.status
    FROM registry.entities e
    WHERE e.credit_code = code
$function$;

COMMENT ON FUNCTION registry.metrology_entity(text) IS
    'Published read contract: one entity''s name, address and division, for metrology''s instrument users.';
