-- The audit function's schema (FP-7, FP-8, FP-9): the login and operation
-- logs of every function, append-only, partitioned by Beijing calendar
-- month (a partition is what an auditor calls "November"), archived to
-- object storage past retention; the security alerts raised from the
-- login log; the archive register.
CREATE SCHEMA IF NOT EXISTS audit;

CREATE TABLE audit.login_log (
    id       bigserial,
    at       timestamptz NOT NULL,
    user_id  text NOT NULL DEFAULT '',
    username text NOT NULL DEFAULT '',
    ip       text NOT NULL DEFAULT '',
    device   text NOT NULL DEFAULT '',
    result   text NOT NULL CHECK (result IN ('success', 'failure')),
    reason   text NOT NULL DEFAULT '',
    location text NOT NULL DEFAULT '',
    -- The producing function and the CloudEvent id, for tracing a row back
    -- to the change that recorded it. Dedupe is platform.inbox's.
    source   text NOT NULL DEFAULT '',
    event_id text NOT NULL DEFAULT '',
    PRIMARY KEY (at, id)
) PARTITION BY RANGE (at);
CREATE INDEX login_log_username_at ON audit.login_log (username, at);
CREATE INDEX login_log_user_at ON audit.login_log (user_id, at);
CREATE INDEX login_log_ip_at ON audit.login_log (ip, at);

CREATE TABLE audit.op_log (
    id            bigserial,
    at            timestamptz NOT NULL,
    user_id       text NOT NULL DEFAULT '',
    username      text NOT NULL DEFAULT '',
    ip            text NOT NULL DEFAULT '',
    action        text NOT NULL CHECK (action <> ''),
    object_type   text NOT NULL DEFAULT '',
    object_id     text NOT NULL DEFAULT '',
    before        jsonb,
    after         jsonb,
    result        text NOT NULL CHECK (result <> ''),
    -- Where the operation concerns a market entity: its divisions, so the
    -- auditor's data scope applies ('' for operations on no entity).
    district_code text NOT NULL DEFAULT '',
    township_code text NOT NULL DEFAULT '',
    source        text NOT NULL DEFAULT '',
    event_id      text NOT NULL DEFAULT '',
    PRIMARY KEY (at, id)
) PARTITION BY RANGE (at);
CREATE INDEX op_log_user_at ON audit.op_log (user_id, at);
CREATE INDEX op_log_action_at ON audit.op_log (action, at);
CREATE INDEX op_log_object ON audit.op_log (object_type, object_id, at);

-- Nobody alters or deletes a log row. The trigger holds even for the table
-- owner; only dropping a whole partition (which the archiver does after the
-- archive is verified) removes rows.
CREATE FUNCTION audit.immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '审计日志不可修改或删除 (%.% %)', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER login_log_immutable BEFORE UPDATE OR DELETE ON audit.login_log
    FOR EACH ROW EXECUTE FUNCTION audit.immutable();
CREATE TRIGGER op_log_immutable BEFORE UPDATE OR DELETE ON audit.op_log
    FOR EACH ROW EXECUTE FUNCTION audit.immutable();
CREATE TRIGGER login_log_no_truncate BEFORE TRUNCATE ON audit.login_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit.immutable();
CREATE TRIGGER op_log_no_truncate BEFORE TRUNCATE ON audit.op_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit.immutable();

-- ensure_partition creates the month partition holding t, if missing, and
-- is safe when writers of a new month race (issue 10: concurrent first
-- writes collided with "relation … already exists"). Two things made the
-- old version fail: an advisory lock does not make PostgreSQL read the
-- catalogue again, so the second writer's to_regclass still missed the
-- table the first had just created; and two CREATEs racing collide in
-- pg_class or pg_type. The advisory lock now only keeps the waiting
-- orderly; the exception block is what makes a lost race harmless. Call it
-- in a transaction of its own (the audit function does): CREATE … PARTITION
-- OF locks the parent, and that lock must not live as long as a caller's
-- transaction. SECURITY DEFINER so an application role with INSERT only can
-- still cause a month to exist. Row triggers are cloned to partitions by
-- PostgreSQL; statement (TRUNCATE) triggers are not, so they are added.
CREATE FUNCTION audit.ensure_partition(parent text, t timestamptz) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
DECLARE
    m    date := date_trunc('month', t AT TIME ZONE 'Asia/Shanghai')::date;
    part text := parent || '_p' || to_char(m, 'YYYYMM');
BEGIN
    IF parent NOT IN ('login_log', 'op_log') THEN
        RAISE EXCEPTION 'unknown audit table %', parent;
    END IF;
    IF to_regclass('audit.' || part) IS NOT NULL THEN
        RETURN part;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('audit.partition:' || part, 7210000201));
    BEGIN
        EXECUTE format('CREATE TABLE audit.%I PARTITION OF audit.%I FOR VALUES FROM (%L) TO (%L)',
            part, parent,
            (m::timestamp AT TIME ZONE 'Asia/Shanghai'),
            ((m + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai'));
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON audit.%I FOR EACH STATEMENT EXECUTE FUNCTION audit.immutable()',
            part || '_no_truncate', part);
    EXCEPTION WHEN duplicate_table OR duplicate_object OR unique_violation THEN
        -- Another writer created it first: exactly what was wanted.
        NULL;
    END;
    RETURN part;
END $$;

-- ensure_ahead creates the partitions for the month of t and the `ahead`
-- months after it, for both logs (the daily schedule calls it).
CREATE FUNCTION audit.ensure_ahead(t timestamptz, ahead int) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
BEGIN
    FOR i IN 0..ahead LOOP
        PERFORM audit.ensure_partition('login_log', t + make_interval(months => i));
        PERFORM audit.ensure_partition('op_log', t + make_interval(months => i));
    END LOOP;
END $$;

SELECT audit.ensure_ahead(now(), 2);

-- Security alerts for the security administrator (FP-9), raised from the
-- login log as it is written.
CREATE TABLE audit.alerts (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL,
    kind     text NOT NULL CHECK (kind IN ('user_failures', 'ip_failures', 'new_place')),
    user_id  text NOT NULL DEFAULT '',
    username text NOT NULL DEFAULT '',
    ip       text NOT NULL DEFAULT '',
    device   text NOT NULL DEFAULT '',
    detail   text NOT NULL DEFAULT '',
    count    int NOT NULL DEFAULT 0
);
CREATE INDEX alerts_at ON audit.alerts (at DESC);
CREATE INDEX alerts_kind_key ON audit.alerts (kind, username, ip, at);

-- Archived partitions: one row per partition moved to object storage.
CREATE TABLE audit.archives (
    object_key   text PRIMARY KEY,
    partition    text NOT NULL,
    parent       text NOT NULL,
    month        date NOT NULL,
    manifest_key text NOT NULL,
    rows         bigint NOT NULL,
    sha256       text NOT NULL,
    archived_at  timestamptz NOT NULL DEFAULT now()
);

-- The application role, where the migrator may create roles: it reads and
-- appends logs, never updates, deletes or truncates them. Deployments that
-- connect as this role (or a member of it) get that guarantee from
-- privileges as well as from the triggers above.
DO $$
BEGIN
    BEGIN
        CREATE ROLE smartreg_app NOLOGIN;
    EXCEPTION
        WHEN duplicate_object OR unique_violation THEN NULL;
        WHEN insufficient_privilege THEN RAISE NOTICE 'cannot create role smartreg_app; skipping grants';
    END;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'smartreg_app') THEN
        GRANT USAGE ON SCHEMA audit TO smartreg_app;
        REVOKE ALL ON audit.login_log, audit.op_log FROM PUBLIC;
        GRANT SELECT, INSERT ON audit.login_log, audit.op_log TO smartreg_app;
        GRANT USAGE ON SEQUENCE audit.login_log_id_seq, audit.op_log_id_seq TO smartreg_app;
        GRANT SELECT, INSERT ON audit.alerts TO smartreg_app;
        GRANT USAGE ON SEQUENCE audit.alerts_id_seq TO smartreg_app;
        GRANT SELECT ON audit.archives TO smartreg_app;
        GRANT EXECUTE ON FUNCTION audit.ensure_partition(text, timestamptz),
            audit.ensure_ahead(timestamptz, int) TO smartreg_app;
    END IF;
END $$;
