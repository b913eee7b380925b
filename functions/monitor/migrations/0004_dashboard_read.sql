-- Published read function for the dashboard's online-market board (FP-120
-- 网络监管专题), added by dashboard in monitor's stream. Contract: the
-- name, arguments, result columns and their meaning only ever grow.
--
-- One row per online presence the monitor watches: each shop, site, mini
-- program or account its clues were found on (keyed by the host of the
-- clue's object URL, its form the platform type the crawler read off the
-- page: 网站, 网店, 微店, 小程序, 外卖平台店铺, 公众号, 短视频账号, APP …),
-- and each livestream or short-video account it checks (form
-- 直播/短视频账号). district_code is the division the scope filters by;
-- clues and open_clues count the presence's clues (all, not yet reviewed).
CREATE FUNCTION monitor.dashboard_online_entities()
 RETURNS TABLE (presence text, form text, platform text, entity_name text, credit_code text, district_code text,
    clues bigint, open_clues bigint)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
SELECT 'web:' || COALESCE(substring(c.object_url FROM '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]+)'), c.object_url),
    max(c.platform), max(c.platform), max(c.entity_name), max(c.credit_code), max(c.district_code),
    count(*), count(*) FILTER (WHERE c.status = 'open')
FROM monitor.clues c
WHERE c.stream_id IS NULL
GROUP BY 1
UNION ALL
SELECT 'stream:' || s.id, '直播/短视频账号', s.platform, s.entity_name, s.credit_code, s.district_code,
    (SELECT count(*) FROM monitor.clues c WHERE c.stream_id = s.id),
    (SELECT count(*) FROM monitor.clues c WHERE c.stream_id = s.id AND c.status = 'open')
FROM monitor.streams s
$function$;

COMMENT ON FUNCTION monitor.dashboard_online_entities() IS
    'Published read contract (dashboard online-market board): online presences the monitor watches, with their form and district.';
