package monitor

// FP-89: a recorded livestream made by ffmpeg (a test pattern with a
// caption track), checked through the API: the captions go through the
// rules and each hit becomes a clue at its moment in the recording.

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/conformance"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// liveRecording writes an 8-second MP4 whose caption track says captions
// at the given seconds (SRT muxed as mov_text).
func liveRecording(t *testing.T, captions map[int]string) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg is required (infra/local/scripts/ensure-services.sh installs it)")
	}
	dir := t.TempDir()
	var srt strings.Builder
	n := 0
	for sec := 0; sec < 8; sec++ {
		if text, ok := captions[sec]; ok {
			n++
			srt.WriteString(strings.Join([]string{itoa(int64(n)), "00:00:0" + itoa(int64(sec)) + ",000 --> 00:00:0" + itoa(int64(sec+1)) + ",500", text, "", ""}, "\n"))
		}
	}
	sub := filepath.Join(dir, "live.srt")
	if err := os.WriteFile(sub, []byte(srt.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "live.mp4")
	cmd := exec.CommandContext(t.Context(), "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=5:duration=8",
		"-i", sub, "-map", "0:v", "-map", "1:s", "-c:v", "mpeg4", "-c:s", "mov_text", "-y", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, b)
	}
	return out
}

func TestParseWebVTT(t *testing.T) {
	cues := parseWebVTT("WEBVTT\n\n00:00:03.000 --> 00:00:04.500\n全网最低价\n第二行\n\n01:02:03.250 --> 01:02:05.000\n再见\n")
	if len(cues) != 2 || cues[0].Start != 3*time.Second || cues[0].Text != "全网最低价 第二行" ||
		cues[1].Start != time.Hour+2*time.Minute+3*time.Second+250*time.Millisecond {
		t.Fatalf("cues %+v", cues)
	}
}

func TestStreamCaptionsBecomeCluesAtTheirMoment(t *testing.T) {
	w := newCreditWorld(t)
	file := liveRecording(t, map[int]string{1: "欢迎来到直播间", 3: "这款茶叶是全网最好的", 6: "喝了可以降血压"})
	rec := w.h.do(t, w.city, "POST", "/monitor/v1/streams", StreamInput{Platform: "抖音", Account: "长安茶行官方", Title: "秋茶上新",
		URL: "file://" + file, EntityName: "长安茶行", CreditCode: w.inside, District: "长安区", EveryMinutes: 30})
	var s Stream
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil || rec.Code != http.StatusCreated {
		t.Fatalf("add stream: %d %s", rec.Code, rec.Body)
	}
	if rec := w.h.do(t, w.city, "POST", "/monitor/v1/streams", StreamInput{Platform: "抖音", Account: "x", URL: "rtmp//bad", District: "长安区"}); rec.Code != http.StatusBadRequest ||
		!strings.Contains(rec.Body.String(), "url") {
		t.Errorf("bad url: %d %s", rec.Code, rec.Body)
	}
	before := w.grade(t, w.inside).Score
	rec = w.h.do(t, w.city, "POST", "/monitor/v1/streams/"+itoa(s.ID)+"/check", nil)
	var res CheckResult
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || rec.Code != 200 {
		t.Fatalf("check: %d %s", rec.Code, rec.Body)
	}
	if res.Cues != 3 || res.Found != 2 || res.Added != 2 {
		t.Fatalf("check found %+v, want 3 captions and 2 hits (最好 at 3 s, 降血压 at 6 s)", res)
	}
	var page httpx.PageOf[Clue]
	rec = w.h.do(t, w.city, "GET", "/monitor/v1/clues?rule=medical-claims", nil)
	json.Unmarshal(rec.Body.Bytes(), &page)
	found := false
	for _, c := range page.Items {
		if strings.HasSuffix(c.ObjectURL, "#t=6") && c.Term == "降血压" && strings.HasPrefix(c.Snippet, "[00:00:06]") && c.ModelID == 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("no clue at 00:00:06: %s", rec.Body)
	}
	// A second check of the same recording adds nothing; the grade took
	// the new open clues in (2 × 2).
	rec = w.h.do(t, w.city, "POST", "/monitor/v1/streams/"+itoa(s.ID)+"/check", nil)
	json.Unmarshal(rec.Body.Bytes(), &res)
	if res.Added != 0 {
		t.Errorf("a second check added %d", res.Added)
	}
	if after := w.grade(t, w.inside).Score; after != before-4 {
		t.Errorf("grade %d → %d, want −4", before, after)
	}
	// A recording with no caption track is refused with its reason.
	silent := filepath.Join(t.TempDir(), "silent.mp4")
	if b, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=2:duration=1", "-c:v", "mpeg4", silent).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %s", b)
	}
	rec = w.h.do(t, w.city, "POST", "/monitor/v1/streams", StreamInput{Platform: "快手", Account: "无字幕", URL: "file://" + silent, District: "长安区"})
	json.Unmarshal(rec.Body.Bytes(), &s)
	rec = w.h.do(t, w.city, "POST", "/monitor/v1/streams/"+itoa(s.ID)+"/check", nil)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "没有字幕轨") {
		t.Errorf("no captions: %d %s", rec.Code, rec.Body)
	}
	// Another district's inspector neither sees nor checks the stream.
	other := w.h.iss.Bearer(authtest.InDistricts(conformance.Permissions(w.h.f.Handler()), "130104"))
	if rec := w.h.do(t, other, "POST", "/monitor/v1/streams/"+itoa(s.ID)+"/check", nil); rec.Code != http.StatusNotFound {
		t.Errorf("foreign check: %d", rec.Code)
	}
	var sp httpx.PageOf[Stream]
	rec = w.h.do(t, other, "GET", "/monitor/v1/streams", nil)
	if json.Unmarshal(rec.Body.Bytes(), &sp); sp.Total != 0 {
		t.Errorf("foreign streams listed: %s", rec.Body)
	}
}

// FP-89: the schedule asks for a check of each due stream once per
// interval; the check (its own delivery) alerts whoever added the stream,
// once for the clues it added and never again for the same clues.
func TestStreamChecksRunOnScheduleAndAlert(t *testing.T) {
	w := newCreditWorld(t)
	now := time.Now()
	w.h.f.now = func() time.Time { return now }
	file := liveRecording(t, map[int]string{2: "这款茶叶是全网最好的"})
	rec := w.h.do(t, w.city, "POST", "/monitor/v1/streams", StreamInput{Platform: "抖音", Account: "定时检查", Title: "上新",
		URL: "file://" + file, EntityName: "长安茶行", CreditCode: w.inside, District: "长安区", EveryMinutes: 30})
	var s Stream
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil || rec.Code != http.StatusCreated {
		t.Fatalf("add stream: %d %s", rec.Code, rec.Body)
	}
	requests := func() []events.MonitorStreamCheckRequestedData {
		rows, err := w.h.f.pool.Query(t.Context(), `SELECT event->'data' FROM platform.outbox WHERE event_type = $1 ORDER BY seq`, events.MonitorStreamCheckRequested)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []events.MonitorStreamCheckRequestedData
		for rows.Next() {
			var raw []byte
			var d events.MonitorStreamCheckRequestedData
			if err := rows.Scan(&raw); err != nil || json.Unmarshal(raw, &d) != nil {
				t.Fatal(err)
			}
			out = append(out, d)
		}
		return out
	}
	tick := func(id string) {
		t.Helper()
		e := event.New()
		e.SetID(id)
		e.SetSource("/apis/v1/namespaces/smartreg/pingsources/" + ScheduleTask)
		e.SetType(events.Ping)
		_ = e.SetData(event.ApplicationJSON, map[string]string{"task": ScheduleTask})
		if _, err := w.h.f.Receive(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	tick("a")
	tick("b") // within the interval: not asked again
	now = now.Add(10 * time.Minute)
	tick("c")
	reqs := requests()
	if len(reqs) != 1 || reqs[0].StreamID != s.ID {
		t.Fatalf("requests after three ticks in one interval: %+v", reqs)
	}
	check := func(id string) {
		t.Helper()
		e := event.New()
		e.SetID(id)
		e.SetSource(Source)
		e.SetType(events.MonitorStreamCheckRequested)
		_ = e.SetData(event.ApplicationJSON, reqs[0])
		if _, err := w.h.f.Receive(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	alerts := func() int {
		var n int
		w.h.f.pool.QueryRow(t.Context(), `SELECT count(*) FROM platform.outbox WHERE event_type = $1 AND event->'data'->>'kind' = 'monitor_stream_clue'`,
			events.NotifyNoticeRequested).Scan(&n)
		return n
	}
	check("r1")
	check("r1") // redelivered: the clues are there already, no second alert
	if n := alerts(); n != 1 {
		t.Fatalf("alerts after a check with a hit, delivered twice: %d", n)
	}
	var to []string
	var raw []byte
	w.h.f.pool.QueryRow(t.Context(), `SELECT event->'data'->'target'->'user_ids' FROM platform.outbox WHERE event->'data'->>'kind' = 'monitor_stream_clue'`).Scan(&raw)
	if json.Unmarshal(raw, &to); len(to) != 1 || to[0] != "city-user" {
		t.Errorf("alert went to %s, want the user who added the stream", raw)
	}
	now = now.Add(25 * time.Minute) // the interval has passed
	tick("d")
	if reqs := requests(); len(reqs) != 2 {
		t.Fatalf("requests after the interval: %+v", reqs)
	}
	// A request for a stream deleted since is acknowledged.
	reqs[0].StreamID = 999999
	check("r2")
}
