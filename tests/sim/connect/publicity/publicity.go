// Package publicity simulates the national enterprise credit publicity
// system's (公示系统) data-exchange interface for a city regulator: every
// request is signed (X-Gsxt-AppId, X-Gsxt-Timestamp within 5 minutes,
// X-Gsxt-Sign = hex HMAC-SHA256 of "appid\ntimestamp\npath?query" (the path
// under the interface root) with the
// secret), and three incremental streams, penalty (行政处罚), abnormal
// (经营异常名录) and compliance (守法合规记录), are read with
// GET /openapi/v1/{stream}/incremental?fromId=N&size=M answering
// {"success":true,"errorCode":"","errorMsg":"","result":{"items","nextFromId","more"}}.
package publicity

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sjzamr/smartreg/tests/sim/connect/simkit"
)

// Streams are the three incremental streams.
var Streams = []string{"penalty", "abnormal", "compliance"}

// Sim is the simulator.
type Sim struct {
	AppID, Secret string
	Data          map[string]*simkit.Dataset
	Faults        simkit.Faults
	Now           func() time.Time
}

// New is an empty publicity system.
func New(appID, secret string) *Sim {
	s := &Sim{AppID: appID, Secret: secret, Data: map[string]*simkit.Dataset{}, Now: time.Now}
	for _, st := range Streams {
		s.Data[st] = simkit.NewDataset()
	}
	return s
}

// Sign is the signature a request must carry.
func Sign(secret, appID, ts, pathQuery string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(appID + "\n" + ts + "\n" + pathQuery))
	return hex.EncodeToString(m.Sum(nil))
}

// Checksum covers every stream, ids prefixed with the stream.
func (s *Sim) Checksum() (string, int) {
	var lines []string
	n := 0
	for _, st := range Streams {
		rows, _ := s.Data[st].After(0, 1<<30)
		for _, r := range rows {
			lines = append(lines, st+"/"+r.ID+":"+simkit.ContentHash(r.Fields))
		}
		n += len(rows)
	}
	return simkit.SumLines(lines), n
}

func (s *Sim) fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	w.Write([]byte(`{"success":false,"errorCode":"` + code + `","errorMsg":"` + msg + `","result":null}`))
}

func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/openapi/v1/")
	stream, tail, _ := strings.Cut(rest, "/")
	ds := s.Data[stream]
	if !ok || tail != "incremental" || ds == nil {
		s.fail(w, http.StatusNotFound, "E404", "接口不存在")
		return
	}
	ts := r.Header.Get("X-Gsxt-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if r.Header.Get("X-Gsxt-AppId") != s.AppID || err != nil || s.Now().Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute ||
		!hmac.Equal([]byte(r.Header.Get("X-Gsxt-Sign")), []byte(Sign(s.Secret, s.AppID, ts, r.URL.RequestURI()))) {
		s.fail(w, http.StatusForbidden, "E1001", "签名校验失败")
		return
	}
	ft := s.Faults.Take()
	if simkit.WriteFault(w, ft, `{"success":false,"errorCode":"E5000","errorMsg":"服务暂不可用","result":null}`) {
		return
	}
	from := simkit.Int(r, "fromId", 0)
	size := simkit.Int(r, "size", 50)
	if size < 1 || size > 200 {
		s.fail(w, http.StatusBadRequest, "E1002", "size 取值 1-200")
		return
	}
	if ft.Repeat {
		from = 0
	}
	rows, more := ds.After(from, int(size))
	items := make([]map[string]string, 0, len(rows))
	next := from
	for _, row := range rows {
		m := map[string]string{"id": strconv.FormatInt(row.Seq, 10)}
		for k, v := range row.Fields {
			m[k] = v
		}
		items = append(items, m)
		next = row.Seq
	}
	simkit.WriteJSON(w, ft, map[string]any{"success": true, "errorCode": "", "errorMsg": "",
		"result": map[string]any{"items": items, "nextFromId": next, "more": more}}, false)
}
