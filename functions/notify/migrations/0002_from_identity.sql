-- One-time move of the notices written while the message centre lived
-- inside identity (migration component "identity-notify", tables in schema
-- identity) into this schema. A fresh database has none and this does
-- nothing. The old tables are locked first, the rows copied with their ids
-- (read marks keep pointing at the same notices), counts and an md5 of
-- every row compared, and only then are the old tables and their stream's
-- history dropped, all in one transaction: a mismatch rolls back whole.
DO $$
DECLARE
    n_old bigint;
    n_new bigint;
    h_old text;
    h_new text;
BEGIN
    IF to_regclass('identity.notices') IS NULL THEN
        RETURN;
    END IF;
    LOCK TABLE identity.notices, identity.notice_reads IN ACCESS EXCLUSIVE MODE;
    INSERT INTO notify.notices (id, event_id, created_at, title, body, level, kind, link, popup, producer,
            target_all, target_users, target_depts, target_roles)
        SELECT id, event_id, created_at, title, body, level, kind, link, popup, producer,
            target_all, target_users, target_depts, target_roles
        FROM identity.notices ORDER BY id;
    INSERT INTO notify.notice_reads (user_id, notice_id, read_at)
        SELECT user_id, notice_id, read_at FROM identity.notice_reads;
    PERFORM setval('notify.notices_id_seq', GREATEST((SELECT max(id) FROM notify.notices), 1));

    SELECT count(*), md5(string_agg(concat_ws('|', id, event_id, created_at, title, body, level, kind, link, popup, producer,
            target_all, target_users, target_depts, target_roles), E'\n' ORDER BY id))
        INTO n_old, h_old FROM identity.notices;
    SELECT count(*), md5(string_agg(concat_ws('|', id, event_id, created_at, title, body, level, kind, link, popup, producer,
            target_all, target_users, target_depts, target_roles), E'\n' ORDER BY id))
        INTO n_new, h_new FROM notify.notices;
    IF n_old <> n_new OR h_old IS DISTINCT FROM h_new THEN
        RAISE EXCEPTION 'notice move not verified: % rows (md5 %) became % (md5 %)', n_old, h_old, n_new, h_new;
    END IF;
    SELECT count(*), md5(string_agg(concat_ws('|', user_id, notice_id, read_at), E'\n' ORDER BY user_id, notice_id))
        INTO n_old, h_old FROM identity.notice_reads;
    SELECT count(*), md5(string_agg(concat_ws('|', user_id, notice_id, read_at), E'\n' ORDER BY user_id, notice_id))
        INTO n_new, h_new FROM notify.notice_reads;
    IF n_old <> n_new OR h_old IS DISTINCT FROM h_new THEN
        RAISE EXCEPTION 'read marks move not verified: % rows became %', n_old, n_new;
    END IF;

    DROP TABLE identity.notice_reads, identity.notices;
    DELETE FROM public.schema_migrations WHERE component = 'identity-notify';
END $$;
