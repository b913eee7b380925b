-- Stand-in for qr.code_status (qr-generate migration 0003): a code's
-- credit code and status by token, no row for an unknown token.
CREATE SCHEMA IF NOT EXISTS qr;

CREATE TABLE qr.stub_codes (
    token       text PRIMARY KEY,
    credit_code text NOT NULL UNIQUE,
    status      text NOT NULL CHECK (status IN ('pending', 'active', 'rejected', 'invalid'))
);

CREATE FUNCTION qr.code_status(token text)
 RETURNS TABLE (credit_code text, status text)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT c.credit_code, c.status FROM qr.stub_codes c WHERE c.token = code_status.token
$function$;
