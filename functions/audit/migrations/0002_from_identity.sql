-- One-time move of the logs written while audit lived inside identity
-- (migration component "identity-audit", tables in schema identity) into
-- this schema. A fresh database has none of them and this does nothing.
--
-- No log row is lost or rewritten on the way:
--   * the old tables are locked ACCESS EXCLUSIVE first, so nothing writes
--     (or reads) them while the rows move; a straggling old identity that
--     tries to write a login row waits, then fails on the dropped table and
--     its whole transaction (the login or the change) rolls back: no change
--     is ever left without its log row;
--   * rows are copied with their ids and times, never updated: the old
--     tables keep their immutability triggers to the end, the new ones
--     have theirs since 0001;
--   * counts and an md5 of every row's content, in (at, id) order, must be
--     equal on both sides, else the migration raises and rolls back whole,
--     leaving the old tables as they were;
--   * only then are the old tables dropped, in the same transaction.
-- The objects dropped in schema identity are the ones the identity-audit
-- stream created; that stream's history goes with them.
DO $$
DECLARE
    n_old bigint;
    n_new bigint;
    h_old text;
    h_new text;
BEGIN
    IF to_regclass('identity.login_log') IS NULL AND to_regclass('identity.op_log') IS NULL THEN
        RETURN;
    END IF;
    LOCK TABLE identity.login_log, identity.op_log, identity.security_alerts, identity.audit_archives IN ACCESS EXCLUSIVE MODE;

    -- The months present in the old logs get their partitions here.
    -- (Beijing months, as ensure_partition counts them.)
    PERFORM audit.ensure_partition('login_log', m) FROM (SELECT DISTINCT
        date_trunc('month', at AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai' AS m FROM identity.login_log) s;
    PERFORM audit.ensure_partition('op_log', m) FROM (SELECT DISTINCT
        date_trunc('month', at AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai' AS m FROM identity.op_log) s;

    INSERT INTO audit.login_log (id, at, user_id, username, ip, device, result, reason, location, source)
        SELECT id, at, user_id, username, ip, device, result, reason, location, 'identity'
        FROM identity.login_log ORDER BY at, id;
    INSERT INTO audit.op_log (id, at, user_id, username, ip, action, object_type, object_id, before, after, result, source)
        SELECT id, at, user_id, username, ip, action, object_type, object_id, before, after, result, 'identity'
        FROM identity.op_log ORDER BY at, id;
    INSERT INTO audit.alerts (id, at, kind, user_id, username, ip, device, detail, count)
        SELECT id, at, kind, user_id, username, ip, device, detail, count FROM identity.security_alerts ORDER BY id;
    INSERT INTO audit.archives (object_key, partition, parent, month, manifest_key, rows, sha256, archived_at)
        SELECT object_key, partition, parent, month, manifest_key, rows, sha256, archived_at FROM identity.audit_archives;

    -- New rows continue after the moved ones.
    PERFORM setval('audit.login_log_id_seq', GREATEST((SELECT max(id) FROM audit.login_log), 1));
    PERFORM setval('audit.op_log_id_seq', GREATEST((SELECT max(id) FROM audit.op_log), 1));
    PERFORM setval('audit.alerts_id_seq', GREATEST((SELECT max(id) FROM audit.alerts), 1));

    SELECT count(*), md5(string_agg(concat_ws('|', id, at, user_id, username, ip, device, result, reason, location), E'\n' ORDER BY at, id))
        INTO n_old, h_old FROM identity.login_log;
    SELECT count(*), md5(string_agg(concat_ws('|', id, at, user_id, username, ip, device, result, reason, location), E'\n' ORDER BY at, id))
        INTO n_new, h_new FROM audit.login_log;
    IF n_old <> n_new OR h_old IS DISTINCT FROM h_new THEN
        RAISE EXCEPTION 'login log move not verified: % rows (md5 %) became % (md5 %)', n_old, h_old, n_new, h_new;
    END IF;
    SELECT count(*), md5(string_agg(concat_ws('|', id, at, user_id, username, ip, action, object_type, object_id, before::text, after::text, result), E'\n' ORDER BY at, id))
        INTO n_old, h_old FROM identity.op_log;
    SELECT count(*), md5(string_agg(concat_ws('|', id, at, user_id, username, ip, action, object_type, object_id, before::text, after::text, result), E'\n' ORDER BY at, id))
        INTO n_new, h_new FROM audit.op_log;
    IF n_old <> n_new OR h_old IS DISTINCT FROM h_new THEN
        RAISE EXCEPTION 'operation log move not verified: % rows (md5 %) became % (md5 %)', n_old, h_old, n_new, h_new;
    END IF;
    SELECT count(*), md5(string_agg(concat_ws('|', id, at, kind, user_id, username, ip, device, detail, count), E'\n' ORDER BY id))
        INTO n_old, h_old FROM identity.security_alerts;
    SELECT count(*), md5(string_agg(concat_ws('|', id, at, kind, user_id, username, ip, device, detail, count), E'\n' ORDER BY id))
        INTO n_new, h_new FROM audit.alerts;
    IF n_old <> n_new OR h_old IS DISTINCT FROM h_new THEN
        RAISE EXCEPTION 'security alert move not verified: % rows became %', n_old, n_new;
    END IF;
    SELECT count(*) INTO n_old FROM identity.audit_archives;
    SELECT count(*) INTO n_new FROM audit.archives;
    IF n_old <> n_new THEN
        RAISE EXCEPTION 'archive register move not verified: % rows became %', n_old, n_new;
    END IF;

    DROP TABLE identity.login_log, identity.op_log, identity.security_alerts, identity.audit_archives;
    DROP TABLE IF EXISTS identity.audit_settings;
    DROP FUNCTION IF EXISTS identity.audit_ensure_ahead(timestamptz, int);
    DROP FUNCTION IF EXISTS identity.audit_ensure_partition(text, timestamptz);
    DROP FUNCTION IF EXISTS identity.audit_immutable();
    DELETE FROM public.schema_migrations WHERE component = 'identity-audit';
END $$;
