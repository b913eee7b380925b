-- The datahub schema, owned by functions/datahub: only it writes here,
-- and other functions read it only through published SQL functions.
CREATE SCHEMA IF NOT EXISTS datahub;

-- The example resource of the scaffold; replace it with the function's own.
CREATE TABLE datahub.items (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title      text        NOT NULL CHECK (title <> ''),
    created_at timestamptz NOT NULL
);
