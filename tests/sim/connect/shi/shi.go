// Package shi simulates the city's two service apps' exchange interface,
// 石i企 (enterprises: filings and commitments made in the app) and 石i民
// (citizens: complaints and reports), which the city specifies as one
// simple exchange: POST /exchange/v1/pull with
// {"app_id","timestamp","nonce","sign","dataset","offset","limit"} where
// sign = lowercase hex MD5 of app_id+timestamp+nonce+secret, answering
// {"errcode":0,"errmsg":"ok","data":{"items":[…],"next_offset":N,"end":bool}}.
// Errors keep HTTP 200 with a non-zero errcode, as the city's gateway does,
// except the gateway's own 5xx and 429.
package shi

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/sjzamr/smartreg/tests/sim/connect/simkit"
)

// Datasets the exchange serves.
const (
	Enterprise = "shiqi"  // 石i企
	Citizen    = "shimin" // 石i民
)

// Sim is the simulator.
type Sim struct {
	AppID, Secret string
	Data          map[string]*simkit.Dataset
	Faults        simkit.Faults
}

// New is an empty exchange.
func New(appID, secret string) *Sim {
	return &Sim{AppID: appID, Secret: secret, Data: map[string]*simkit.Dataset{Enterprise: simkit.NewDataset(), Citizen: simkit.NewDataset()}}
}

// Sign is the request signature.
func Sign(appID, ts, nonce, secret string) string {
	s := md5.Sum([]byte(appID + ts + nonce + secret))
	return hex.EncodeToString(s[:])
}

// Request is the pull body.
type Request struct {
	AppID     string `json:"app_id"`
	Timestamp string `json:"timestamp"`
	Nonce     string `json:"nonce"`
	Sign      string `json:"sign"`
	Dataset   string `json:"dataset"`
	Offset    int64  `json:"offset"`
	Limit     int    `json:"limit"`
}

func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/exchange/v1/pull" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	var in Request
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		simkit.WriteJSON(w, simkit.Fault{}, map[string]any{"errcode": 40001, "errmsg": "请求体格式错误"}, false)
		return
	}
	if in.AppID != s.AppID || in.Sign != Sign(in.AppID, in.Timestamp, in.Nonce, s.Secret) {
		simkit.WriteJSON(w, simkit.Fault{}, map[string]any{"errcode": 40003, "errmsg": "签名错误"}, false)
		return
	}
	ds := s.Data[in.Dataset]
	if ds == nil {
		simkit.WriteJSON(w, simkit.Fault{}, map[string]any{"errcode": 40004, "errmsg": "数据集不存在"}, false)
		return
	}
	ft := s.Faults.Take()
	if simkit.WriteFault(w, ft, `<html><body><h1>502 Bad Gateway</h1></body></html>`) {
		return
	}
	if in.Limit < 1 || in.Limit > 200 {
		in.Limit = 50
	}
	if ft.Repeat {
		in.Offset = 0
	}
	rows, more := ds.After(in.Offset, in.Limit)
	items := make([]map[string]string, 0, len(rows))
	next := in.Offset
	for _, row := range rows {
		m := map[string]string{"seq": strconv.FormatInt(row.Seq, 10)}
		for k, v := range row.Fields {
			m[k] = v
		}
		items = append(items, m)
		next = row.Seq
	}
	simkit.WriteJSON(w, ft, map[string]any{"errcode": 0, "errmsg": "ok",
		"data": map[string]any{"items": items, "next_offset": next, "end": !more}}, false)
}
