// Package connect serves every connector simulator under one address, as
// the local platform mounts them under /sim/: /legalperson, /publicity,
// /spotcheck, /shi and /hub (see each subpackage for its system's style).
package connect

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/sjzamr/smartreg/tests/sim/connect/hub"
	"github.com/sjzamr/smartreg/tests/sim/connect/legalperson"
	"github.com/sjzamr/smartreg/tests/sim/connect/publicity"
	"github.com/sjzamr/smartreg/tests/sim/connect/shi"
	"github.com/sjzamr/smartreg/tests/sim/connect/spotcheck"
)

// Credentials are what each simulator accepts (the connectors' settings).
type Credentials struct {
	LegalPersonID, LegalPersonSecret string
	PublicityAppID, PublicitySecret  string
	SpotCheckKey                     string
	ShiAppID, ShiSecret              string
	HubKey                           string
}

// Demo serves the simulators with a few records for each of the entities
// codes returns, filled at the first request (the demo entities exist by
// then), so the console's 立即同步 shows data arriving in 一户一档.
func Demo(c Credentials, codes func() []string) http.Handler {
	lp, pub, sc := legalperson.New(c.LegalPersonID, c.LegalPersonSecret), publicity.New(c.PublicityAppID, c.PublicitySecret), spotcheck.New(c.SpotCheckKey)
	sh, hb := shi.New(c.ShiAppID, c.ShiSecret), hub.New(c.HubKey)
	var once sync.Once
	fill := func() {
		for i, cc := range codes() {
			n := i + 1
			lp.Data.Put(fmt.Sprintf("P%05d", n), legalperson.Fields(fmt.Sprintf("P%05d", n), "王建"+[]string{"国", "华", "军", "平"}[n%4],
				fmt.Sprintf("1301021980010%05d", n), "法定代表人", cc, "", "2026-01-02 10:00:00"))
			if n%2 == 1 {
				no := fmt.Sprintf("CF%05d", n)
				pub.Data["penalty"].Put(no, map[string]string{"recordNo": no, "uniscid": cc, "decisionNo": fmt.Sprintf("石市监罚〔2026〕%d号", n),
					"penaltyType": "罚款", "amount": "5000", "basis": "《中华人民共和国食品安全法》第一百二十四条", "executionStatus": "已履行",
					"illegalFact": "经营超过保质期的食品", "authority": "石家庄市市场监督管理局", "decisionDate": "2026-01-05"})
			}
			if n%3 == 0 {
				ab := fmt.Sprintf("YC%05d", n)
				pub.Data["abnormal"].Put(ab, map[string]string{"recordNo": ab, "uniscid": cc, "reason": "未按规定报送年度报告",
					"authority": "石家庄市市场监督管理局", "listedDate": "2026-01-06", "status": "列入", "removedDate": "", "removalReason": ""})
			}
			hg := fmt.Sprintf("HG%05d", n)
			pub.Data["compliance"].Put(hg, map[string]string{"recordNo": hg, "uniscid": cc, "title": "守合同重信用企业公示",
				"authority": "石家庄市市场监督管理局", "date": "2026-01-07", "result": "通过"})
			task := fmt.Sprintf("CC2026%04d", n)
			sc.Data.Put(task+"/"+cc, spotcheck.Fields(task, "2026年食品经营者双随机抽查", cc, "石家庄市市场监督管理局", "2026-02-03", "未发现问题"))
			sh.Data[shi.Enterprise].Put(fmt.Sprintf("Q%05d", n), map[string]string{"itemNo": fmt.Sprintf("Q%05d", n), "uniscid": cc,
				"type": "信用承诺", "title": "食品经营信用承诺书", "submitDate": "2026-02-10", "status": "已受理"})
			sh.Data[shi.Citizen].Put(fmt.Sprintf("M%05d", n), map[string]string{"itemNo": fmt.Sprintf("M%05d", n), "uniscid": cc,
				"category": "投诉", "summary": "购买的食品已过保质期", "phone": "13800138000", "submitDate": "2026-02-11", "status": "已办结"})
		}
	}
	mux := http.NewServeMux()
	for prefix, h := range map[string]http.Handler{"/legalperson": lp, "/publicity": pub, "/spotcheck": sc, "/shi": sh, "/hub": hb} {
		mux.Handle(prefix+"/", http.StripPrefix(prefix, h))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(fill)
		mux.ServeHTTP(w, r)
	})
}
