-- The connectors schema, owned by functions/connectors: only it writes here,
-- and other functions read it only through published SQL functions.
CREATE SCHEMA IF NOT EXISTS connectors;

-- The example resource of the scaffold; replace it with the function's own.
CREATE TABLE connectors.items (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title      text        NOT NULL CHECK (title <> ''),
    created_at timestamptz NOT NULL
);
