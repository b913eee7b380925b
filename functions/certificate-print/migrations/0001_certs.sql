-- The certs schema, owned by functions/certificate-print: the certificates
-- (检定证书) and notices of failure (检定结果通知书) it issued, every version
-- of each, and the institutions' data as the events last told it.
CREATE SCHEMA IF NOT EXISTS certs;

-- The newest data of each institution that metrology.institution.updated
-- carried: a certificate issued after it prints it, whatever the
-- verification event said.
CREATE TABLE certs.institutions (
    id         text PRIMARY KEY,
    data       jsonb NOT NULL,
    version    int   NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE certs.certificates (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    verification_id     bigint NOT NULL,
    version             int    NOT NULL CHECK (version >= 1),
    kind                text   NOT NULL CHECK (kind IN ('certificate', 'notice')),
    certificate_no      text   NOT NULL,
    -- token names the public authenticity page the PDF's QR points to;
    -- random, so pages cannot be enumerated.
    token               text   NOT NULL UNIQUE,
    institution_id      text   NOT NULL,
    institution_version int    NOT NULL,
    credit_code         text   NOT NULL,
    district_code       text   NOT NULL,
    township_code       text   NOT NULL DEFAULT '',
    client_name         text   NOT NULL,
    instrument_name     text   NOT NULL,
    serial_no           text   NOT NULL DEFAULT '',
    result              text   NOT NULL CHECK (result IN ('pass', 'fail')),
    verified_on         date   NOT NULL,
    valid_until         date,
    -- payload is the verification.completed data as this version prints
    -- it (the institution's data overlaid).
    payload             jsonb  NOT NULL,
    pages               int    NOT NULL,
    blob_key            text   NOT NULL,
    sha256              text   NOT NULL,
    size                int    NOT NULL,
    status              text   NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'superseded')),
    superseded_by       bigint REFERENCES certs.certificates (id),
    superseded_at       timestamptz,
    issued_at           timestamptz NOT NULL,
    UNIQUE (verification_id, version)
);
-- One current version per verification.
CREATE UNIQUE INDEX certificates_current ON certs.certificates (verification_id) WHERE status = 'valid';
CREATE INDEX certificates_institution ON certs.certificates (institution_id, institution_version) WHERE status = 'valid';
CREATE INDEX certificates_district ON certs.certificates (district_code, issued_at DESC);
CREATE INDEX certificates_number ON certs.certificates (certificate_no);
CREATE INDEX certificates_client ON certs.certificates (credit_code, issued_at DESC);
