-- Test stand-in for the qr schema (contract B): the columns scan-resolve
-- reads. The real table belongs to qr-generate.
CREATE SCHEMA IF NOT EXISTS qr;
CREATE TABLE qr.codes (
    token       text PRIMARY KEY,
    credit_code text NOT NULL UNIQUE,
    status      text NOT NULL CHECK (status IN ('pending', 'active', 'rejected', 'invalid'))
);
