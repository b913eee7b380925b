-- Published read function for the data hub (数据枢纽, FP-93, FP-136):
-- entities' legal representatives and persons in charge with their
-- resident ID numbers, added by datahub in the registry's stream.
-- Contract: the names, arguments, result columns and their meaning only
-- ever grow.
--
-- registry.entity_persons holds them. The ID number is checked by its
-- GB 11643 check digit as it enters (registry.id_number_valid), as every
-- code with a check digit is. The data hub's catalogue marks it personal:
-- masked (130102********1234) in every answer unless the caller holds
-- datahub.personal:view.
CREATE FUNCTION registry.id_number_valid(n text)
 RETURNS boolean
 LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $function$
SELECT n ~ '^[0-9]{17}[0-9X]$' AND substr('10X98765432',
    (SELECT sum(substr(n, i, 1)::int * ((2 ^ (18 - i))::int % 11)) FROM generate_series(1, 17) AS i)::int % 11 + 1, 1)
    = substr(n, 18, 1)
$function$;

CREATE TABLE registry.entity_persons (
    id          bigserial   PRIMARY KEY,
    credit_code char(18)    NOT NULL REFERENCES registry.entities (credit_code) ON DELETE CASCADE,
    role        text        NOT NULL CHECK (role IN ('legal_rep', 'person_in_charge')),
    name        text        NOT NULL CHECK (name <> ''),
    id_number   text        NOT NULL CHECK (registry.id_number_valid(id_number)),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (credit_code, role, id_number)
);

CREATE FUNCTION registry.datahub_persons()
 RETURNS TABLE (id bigint, credit_code text, entity_name text, role text, name text, id_number text,
    district_code text, township_code text, created_at timestamptz)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT p.id, p.credit_code::text, e.name, p.role, p.name, p.id_number, e.district_code::text, e.township_code, p.created_at
FROM registry.entity_persons p
JOIN registry.entities e ON e.credit_code = p.credit_code
$function$;

COMMENT ON FUNCTION registry.datahub_persons() IS
    'Published read contract (datahub): legal representatives and persons in charge with their ID numbers (personal).';
