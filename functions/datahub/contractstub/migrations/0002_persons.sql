-- Stand-in for registry.datahub_persons() (registry migration 0144).
CREATE TABLE registry.stub_datahub_persons (
    id            bigint PRIMARY KEY,
    credit_code   text NOT NULL,
    entity_name   text NOT NULL,
    role          text NOT NULL DEFAULT 'legal_rep',
    name          text NOT NULL,
    id_number     text NOT NULL,
    district_code text NOT NULL,
    township_code text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION registry.datahub_persons()
 RETURNS TABLE (id bigint, credit_code text, entity_name text, role text, name text, id_number text,
    district_code text, township_code text, created_at timestamptz)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT s.id, s.credit_code, s.entity_name, s.role, s.name, s.id_number, s.district_code, s.township_code, s.created_at
FROM registry.stub_datahub_persons s
$function$;
