-- The identity-audit migration as it shipped before audit became its own
-- function (functions/identity/audit/migrations/0001_audit.sql), kept to
-- build an upgraded database in TestMoveFromIdentity.
-- Login and operation logs (FP-7, FP-8): append-only, partitioned by month
-- (Asia/Shanghai calendar months, so a partition is what an auditor calls
-- "November"), archived to object storage past retention.
CREATE SCHEMA IF NOT EXISTS identity;

CREATE TABLE identity.login_log (
    id       bigserial,
    at       timestamptz NOT NULL,
    user_id  text NOT NULL DEFAULT '',
    username text NOT NULL DEFAULT '',
    ip       text NOT NULL DEFAULT '',
    device   text NOT NULL DEFAULT '',
    result   text NOT NULL CHECK (result IN ('success', 'failure')),
    reason   text NOT NULL DEFAULT '',
    location text NOT NULL DEFAULT '',
    PRIMARY KEY (at, id)
) PARTITION BY RANGE (at);
CREATE INDEX login_log_username_at ON identity.login_log (username, at);
CREATE INDEX login_log_user_at ON identity.login_log (user_id, at);
CREATE INDEX login_log_ip_at ON identity.login_log (ip, at);

CREATE TABLE identity.op_log (
    id          bigserial,
    at          timestamptz NOT NULL,
    user_id     text NOT NULL DEFAULT '',
    username    text NOT NULL DEFAULT '',
    ip          text NOT NULL DEFAULT '',
    action      text NOT NULL CHECK (action <> ''),
    object_type text NOT NULL DEFAULT '',
    object_id   text NOT NULL DEFAULT '',
    before      jsonb,
    after       jsonb,
    result      text NOT NULL CHECK (result <> ''),
    PRIMARY KEY (at, id)
) PARTITION BY RANGE (at);
CREATE INDEX op_log_user_at ON identity.op_log (user_id, at);
CREATE INDEX op_log_action_at ON identity.op_log (action, at);
CREATE INDEX op_log_object ON identity.op_log (object_type, object_id, at);

-- Nobody alters or deletes a log row through the platform. The trigger
-- holds even for the table owner; only dropping a whole partition (which
-- the archiver does after the archive is verified) removes rows.
CREATE FUNCTION identity.audit_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '审计日志不可修改或删除 (%.% %)', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER login_log_immutable BEFORE UPDATE OR DELETE ON identity.login_log
    FOR EACH ROW EXECUTE FUNCTION identity.audit_immutable();
CREATE TRIGGER op_log_immutable BEFORE UPDATE OR DELETE ON identity.op_log
    FOR EACH ROW EXECUTE FUNCTION identity.audit_immutable();
CREATE TRIGGER login_log_no_truncate BEFORE TRUNCATE ON identity.login_log
    FOR EACH STATEMENT EXECUTE FUNCTION identity.audit_immutable();
CREATE TRIGGER op_log_no_truncate BEFORE TRUNCATE ON identity.op_log
    FOR EACH STATEMENT EXECUTE FUNCTION identity.audit_immutable();

-- audit_ensure_partition creates the month partition holding t, if missing.
-- SECURITY DEFINER so an application role with INSERT only can still cause
-- next month's partition to exist. Row triggers are cloned to partitions by
-- PostgreSQL; statement (TRUNCATE) triggers are not, so they are added here.
CREATE FUNCTION identity.audit_ensure_partition(parent text, t timestamptz) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, identity AS $$
DECLARE
    m    date := date_trunc('month', t AT TIME ZONE 'Asia/Shanghai')::date;
    part text := parent || '_p' || to_char(m, 'YYYYMM');
BEGIN
    IF parent NOT IN ('login_log', 'op_log') THEN
        RAISE EXCEPTION 'unknown audit table %', parent;
    END IF;
    IF to_regclass('identity.' || part) IS NOT NULL THEN
        RETURN part;
    END IF;
    PERFORM pg_advisory_xact_lock(7210000101);
    IF to_regclass('identity.' || part) IS NOT NULL THEN
        RETURN part;
    END IF;
    EXECUTE format('CREATE TABLE identity.%I PARTITION OF identity.%I FOR VALUES FROM (%L) TO (%L)',
        part, parent,
        (m::timestamp AT TIME ZONE 'Asia/Shanghai'),
        ((m + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai'));
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON identity.%I FOR EACH STATEMENT EXECUTE FUNCTION identity.audit_immutable()',
        part || '_no_truncate', part);
    RETURN part;
END $$;

-- audit_ensure_ahead creates the partitions for the month of t and the
-- `ahead` months after it, for both logs.
CREATE FUNCTION identity.audit_ensure_ahead(t timestamptz, ahead int) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, identity AS $$
BEGIN
    FOR i IN 0..ahead LOOP
        PERFORM identity.audit_ensure_partition('login_log', t + make_interval(months => i));
        PERFORM identity.audit_ensure_partition('op_log', t + make_interval(months => i));
    END LOOP;
END $$;

SELECT identity.audit_ensure_ahead(now(), 2);

-- Thresholds for security alerts, written by the audit service from its
-- configuration at start so RecordLogin (a plain function the accounts code
-- calls) applies the operator's settings without holding them itself.
CREATE TABLE identity.audit_settings (
    id                  boolean PRIMARY KEY DEFAULT true CHECK (id),
    user_fail_threshold int NOT NULL DEFAULT 5,
    ip_fail_threshold   int NOT NULL DEFAULT 20,
    fail_window_seconds int NOT NULL DEFAULT 900,
    new_place_alerts    boolean NOT NULL DEFAULT true
);
INSERT INTO identity.audit_settings DEFAULT VALUES;

-- Security alerts for the security administrator (FP-9).
CREATE TABLE identity.security_alerts (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('user_failures', 'ip_failures', 'new_place')),
    user_id    text NOT NULL DEFAULT '',
    username   text NOT NULL DEFAULT '',
    ip         text NOT NULL DEFAULT '',
    device     text NOT NULL DEFAULT '',
    detail     text NOT NULL DEFAULT '',
    count      int NOT NULL DEFAULT 0
);
CREATE INDEX security_alerts_at ON identity.security_alerts (at DESC);
CREATE INDEX security_alerts_kind_key ON identity.security_alerts (kind, username, ip, at);

-- Archived partitions: one row per partition moved to object storage.
CREATE TABLE identity.audit_archives (
    object_key  text PRIMARY KEY,
    partition   text NOT NULL,
    parent      text NOT NULL,
    month       date NOT NULL,
    manifest_key text NOT NULL,
    rows        bigint NOT NULL,
    sha256      text NOT NULL,
    archived_at timestamptz NOT NULL DEFAULT now()
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
        GRANT USAGE ON SCHEMA identity TO smartreg_app;
        REVOKE ALL ON identity.login_log, identity.op_log FROM PUBLIC;
        GRANT SELECT, INSERT ON identity.login_log, identity.op_log TO smartreg_app;
        GRANT USAGE ON SEQUENCE identity.login_log_id_seq, identity.op_log_id_seq TO smartreg_app;
        GRANT SELECT, INSERT ON identity.security_alerts TO smartreg_app;
        GRANT USAGE ON SEQUENCE identity.security_alerts_id_seq TO smartreg_app;
        GRANT SELECT ON identity.audit_settings, identity.audit_archives TO smartreg_app;
        GRANT EXECUTE ON FUNCTION identity.audit_ensure_partition(text, timestamptz),
            identity.audit_ensure_ahead(timestamptz, int) TO smartreg_app;
    END IF;
END $$;
