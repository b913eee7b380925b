package monitor

import "testing"

// FP-120: the dashboard's published read function (migration 0004) on the real
// tables: one row per shop or site the clues were found on (keyed by host,
// whatever the path), one per checked stream account, with the clue
// counts; the result columns exactly as functions/dashboard/contractstub
// declares them (its TestTopicStubsMatchPublishedSignatures checks the
// same string).
func TestDashboardOnlineRead(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	pool := h.f.pool
	if _, err := pool.Exec(ctx, `INSERT INTO monitor.models (name, districts, types, platforms, window_days, created_by, created_at)
		VALUES ('m', '{}', '{advertising}', '{}', 30, 'u', now());
		INSERT INTO monitor.streams (platform, account, title, url, entity_name, credit_code, district, district_code, every_minutes, created_by, created_at)
		VALUES ('抖音', 'live01', '直播', 'https://live.test/1.m3u8', '己公司', '91130104MA0000000X', '桥西区', '130104', 30, 'u', now());
		INSERT INTO monitor.clues (model_id, rule_id, rule_version, article, term, snippet, object_url, object_name, entity_name, credit_code,
			district, platform, status, created_at, district_code) VALUES
		(1, 'absolute-terms', '2026.1', 'a', '最佳', 's', 'http://s1.farm.test/p/1', 'o', '一号公司', '91130102100000011X', '长安区', '网店', 'open', now(), '130102'),
		(1, 'absolute-terms', '2026.1', 'a', '第一', 's', 'http://s1.farm.test/p/2', 'o', '一号公司', '91130102100000011X', '长安区', '网店', 'confirmed', now(), '130102'),
		(1, 'wildlife', '2026.1', 'a', '象牙', 's', 'http://s2.farm.test/p/1', 'o', '二号公司', '', '桥西区', '小程序', 'open', now(), '130104');
		INSERT INTO monitor.clues (stream_id, rule_id, rule_version, article, term, snippet, object_url, object_name, entity_name, credit_code,
			district, platform, status, created_at, district_code) VALUES
		(1, 'absolute-terms', '2026.1', 'a', '最', 's', 'https://live.test/1.m3u8#t=5', 'o', '己公司', '91130104MA0000000X', '桥西区', '抖音', 'open', now(), '130104')`); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT presence, form, district_code, clues, open_clues FROM monitor.dashboard_online_entities() ORDER BY presence`)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		presence, form, district string
		clues, open              int64
	}
	var got []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.presence, &r.form, &r.district, &r.clues, &r.open); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	want := []row{{"stream:1", "直播/短视频账号", "130104", 1, 1}, {"web:s1.farm.test", "网店", "130102", 2, 1}, {"web:s2.farm.test", "小程序", "130104", 1, 1}}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	wantSig := "TABLE(presence text, form text, platform text, entity_name text, credit_code text, district_code text, clues bigint, open_clues bigint)"
	var sig string
	if err := pool.QueryRow(ctx, `SELECT pg_get_function_result('monitor.dashboard_online_entities()'::regprocedure)`).Scan(&sig); err != nil || sig != wantSig {
		t.Errorf("monitor.dashboard_online_entities() returns %s (%v), the contract says %s", sig, err, wantSig)
	}
}
