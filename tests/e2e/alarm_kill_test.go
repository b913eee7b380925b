package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// raiseAlarm posts an alarm and returns its id and the status.
func raiseAlarm(t *testing.T, base, token, key string) (string, int) {
	t.Helper()
	raw, _ := json.Marshal(map[string]any{"idempotency_key": key, "level": "紧急", "text": "e2e " + key,
		"lat": 38.04, "lng": 114.51, "accuracy": 10, "at": time.Now().UTC()})
	req, _ := http.NewRequest("POST", base+"/alarm/v1/alarms", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		ID string `json:"id"`
	}
	json.NewDecoder(resp.Body).Decode(&a)
	return a.ID, resp.StatusCode
}

// TestSIGKILLAfterAlarmAckLosesNoAlarm (FP-146): alarms acknowledged to
// the phone, then the platform killed with SIGKILL before any screen
// showed them. After the restart the centre's feed shows every one, once;
// the phone's queued resend of one of them (same idempotency key) is
// answered with the first alarm and adds nothing to the feed.
func TestSIGKILLAfterAlarmAckLosesNoAlarm(t *testing.T) {
	bin, db, port := binary(t), storetest.NewDatabase(t), freePort(t)
	base, idDir := fmt.Sprintf("http://127.0.0.1:%d", port), dataDirFor(db)
	p := serveProcess(t, bin, db, t.TempDir(), port)
	tok := adminToken(t, base, idDir)
	want := map[string]bool{}
	for i := range 5 {
		id, code := raiseAlarm(t, base, tok, fmt.Sprintf("kill9-alarm-%02d", i))
		if code != http.StatusCreated {
			t.Fatalf("alarm %d: %d", i, code)
		}
		want[id] = true
	}
	kill9(t, p)

	serveProcess(t, bin, db, t.TempDir(), port)
	tok = adminToken(t, base, idDir)
	if id, code := raiseAlarm(t, base, tok, "kill9-alarm-00"); code != http.StatusOK || !want[id] {
		t.Fatalf("resend after restart: %d %s", code, id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/dispatch/v1/feed?since=0", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("feed: %v %v", err, resp)
	}
	defer resp.Body.Close()
	seen := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for len(seen) < len(want) && sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "data: ") || !strings.Contains(line, `"kind":"alarm"`) {
			continue
		}
		var it struct {
			Payload struct {
				ID string `json:"id"`
			} `json:"payload"`
		}
		json.Unmarshal([]byte(line[6:]), &it)
		seen[it.Payload.ID]++
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("alarm %s shown %d times on the centre's feed; want once (seen %v)", id, seen[id], seen)
		}
	}
}
