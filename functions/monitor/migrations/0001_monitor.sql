-- The monitor schema, owned by functions/monitor: only it writes here,
-- and other functions read it only through published SQL functions.
CREATE SCHEMA IF NOT EXISTS monitor;

-- The example resource of the scaffold; replace it with the function's own.
CREATE TABLE monitor.items (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title      text        NOT NULL CHECK (title <> ''),
    created_at timestamptz NOT NULL
);
