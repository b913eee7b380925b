package comms

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/testwait"
)

// toneOgg makes an Opus/OGG file of a 440 Hz tone with ffmpeg, what the
// bot publishes as its microphone.
func toneOgg(t *testing.T, seconds int) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "tone.ogg")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
		"sine=frequency=440:duration="+strconv.Itoa(seconds), "-ac", "2", "-c:a", "libopus", "-b:a", "32k", "-frame_duration", "20", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg (infra/local/scripts/ensure-services.sh --tools installs it): %v %s", err, b)
	}
	return out
}

// probe decodes audio with ffmpeg and returns its duration and mean volume.
func probe(t *testing.T, audio []byte) (seconds, meanDB float64) {
	t.Helper()
	in := filepath.Join(t.TempDir(), "rec.ogg")
	if err := os.WriteFile(in, audio, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffmpeg", "-hide_banner", "-i", in, "-af", "volumedetect", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("the recording does not decode: %v %s", err, out)
	}
	if m := regexp.MustCompile(`time=(\d+):(\d+):(\d+\.\d+)`).FindAllStringSubmatch(string(out), -1); len(m) > 0 {
		last := m[len(m)-1]
		h, _ := strconv.ParseFloat(last[1], 64)
		mi, _ := strconv.ParseFloat(last[2], 64)
		s, _ := strconv.ParseFloat(last[3], 64)
		seconds = h*3600 + mi*60 + s
	}
	m := regexp.MustCompile(`mean_volume: (-?[\d.]+) dB`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no volume in %s", out)
	}
	meanDB, _ = strconv.ParseFloat(m[1], 64)
	return seconds, meanDB
}

// FP-153: a bot participant publishes an audio track; the recorder bot
// records it through the server SDK's track writer to Opus/OGG in the S3
// store; it is listed, played back with Range, downloaded and deleted,
// with permissions and audit.
func TestBotAudioIsRecordedStoredAndPlayedBack(t *testing.T) {
	r := openRig(t)
	base := "/comms/v1/consults/" + r.consult.ID
	if rec := r.h.do(t, r.insp, "POST", base+"/recording", map[string]string{"action": "start"}); rec.Code != http.StatusForbidden {
		t.Errorf("a member without the host permission started recording: %d", rec.Code)
	}
	if rec := r.h.do(t, r.host, "POST", base+"/recording", map[string]string{"action": "rewind"}); rec.Code != http.StatusBadRequest {
		t.Errorf("an unknown action: %d %s", rec.Code, rec.Body)
	}
	if rec := r.h.do(t, r.host, "POST", base+"/recording", map[string]string{"action": "start"}); rec.Code != http.StatusOK {
		t.Fatalf("start recording: %d %s", rec.Code, rec.Body)
	}
	if rec := r.h.do(t, r.host, "POST", base+"/recording", map[string]string{"action": "start"}); rec.Code != http.StatusConflict {
		t.Errorf("recording started twice: %d", rec.Code)
	}
	if v := decode[ConsultView](t, r.h.do(t, r.host, "GET", base, nil).Body.Bytes()); !v.Recording {
		t.Error("the consult does not show it is being recorded")
	}
	// The recorder is hidden: members do not see it in the room.
	if _, ok := r.live(t)["recorder-"+r.consult.ID]; ok {
		t.Error("the recorder bot is listed among the participants")
	}

	room, _ := r.join(t, r.insp)
	written := make(chan struct{})
	track, err := lksdk.NewLocalFileTrack(toneOgg(t, 3), lksdk.ReaderTrackWithOnWriteComplete(func() { close(written) }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := room.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{Name: "mic"}); err != nil {
		t.Fatalf("the bot could not publish: %v", err)
	}
	testwait.For(t, "the bot's file played out", func() bool {
		select {
		case <-written:
			return true
		default:
			return false
		}
	})
	rec := r.h.do(t, r.host, "POST", base+"/recording", map[string]string{"action": "stop"})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"tracks":1`) {
		t.Fatalf("stop recording: %d %s", rec.Code, rec.Body)
	}

	list := decode[struct{ Items []Recording }](t, r.h.do(t, r.obs, "GET", base+"/recordings", nil).Body.Bytes())
	if len(list.Items) != 1 {
		t.Fatalf("recordings %+v", list.Items)
	}
	got := list.Items[0]
	if got.Status != "stored" || got.Participant != "insp-1" || got.ContentType != "audio/ogg" || got.Size < 1000 ||
		len(got.SHA256) != 64 || got.DurationMS < 1500 || got.DurationMS > 4000 {
		t.Fatalf("the recording %+v", got)
	}
	if ev := decode[struct{ Items []Recording }](t, r.h.do(t, r.host, "GET", "/comms/v1/events/"+r.consult.EventID+"/recordings", nil).Body.Bytes()); len(ev.Items) != 1 {
		t.Errorf("the event's recordings %+v", ev.Items)
	}

	audio := "/comms/v1/recordings/" + got.ID + "/audio"
	full := r.h.do(t, r.obs, "GET", audio, nil)
	if full.Code != http.StatusOK || full.Header().Get("Content-Type") != "audio/ogg" || int64(full.Body.Len()) != got.Size ||
		!bytes.HasPrefix(full.Body.Bytes(), []byte("OggS")) {
		t.Fatalf("play back: %d %v, %d bytes", full.Code, full.Header(), full.Body.Len())
	}
	secs, vol := probe(t, full.Body.Bytes())
	if secs < 1.5 || secs > 4 || vol < -40 {
		t.Fatalf("the recording decodes to %.2f s at %.1f dB mean: not the bot's 3 s tone", secs, vol)
	}
	// The audio element seeks with Range; S3 has no ranged Get here, so the
	// middle of the object must still come out right.
	for _, rg := range [][2]int{{0, 99}, {1000, 1999}, {int(got.Size) - 50, int(got.Size) - 1}} {
		req, _ := http.NewRequest("GET", audio, nil)
		req.Header.Set("Range", "bytes="+strconv.Itoa(rg[0])+"-"+strconv.Itoa(rg[1]))
		part := r.h.doReq(t, r.obs, req)
		if part.Code != http.StatusPartialContent || !bytes.Equal(part.Body.Bytes(), full.Body.Bytes()[rg[0]:rg[1]+1]) {
			t.Errorf("range %v: %d, %d bytes", rg, part.Code, part.Body.Len())
		}
	}
	dl := r.h.do(t, r.obs, "GET", audio+"?download=1", nil)
	if dl.Code != http.StatusOK || !strings.HasPrefix(dl.Header().Get("Content-Disposition"), "attachment;") ||
		!bytes.Equal(dl.Body.Bytes(), full.Body.Bytes()) {
		t.Errorf("download: %d %v", dl.Code, dl.Header())
	}

	out := person("centre-9", "外区调度", consultPerms...)
	out.Scope.Districts = []string{"130104"}
	outside := r.h.iss.Bearer(out)
	if rec := r.h.do(t, outside, "GET", audio, nil); rec.Code != http.StatusNotFound {
		t.Errorf("a recording outside the caller's district: %d", rec.Code)
	}
	noPerm := r.h.iss.Bearer(person("clerk-1", "无权限"))
	if rec := r.h.do(t, noPerm, "GET", audio, nil); rec.Code != http.StatusForbidden {
		t.Errorf("playback without the view permission: %d", rec.Code)
	}
	if rec := r.h.do(t, r.insp, "DELETE", "/comms/v1/recordings/"+got.ID, nil); rec.Code != http.StatusForbidden {
		t.Errorf("a member without the host permission deleted: %d", rec.Code)
	}
	if rec := r.h.do(t, r.host, "DELETE", "/comms/v1/recordings/"+got.ID, nil); rec.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if rec := r.h.do(t, r.obs, "GET", audio, nil); rec.Code != http.StatusNotFound {
		t.Errorf("a deleted recording played: %d", rec.Code)
	}
	if list := decode[struct{ Items []Recording }](t, r.h.do(t, r.host, "GET", base+"/recordings", nil).Body.Bytes()); len(list.Items) != 0 {
		t.Errorf("a deleted recording is listed: %+v", list.Items)
	}
	var key string
	if err := r.h.pool.QueryRow(t.Context(), `SELECT blob_key FROM comms.recordings WHERE id = $1`, got.ID).Scan(&key); err != nil || key == "" {
		t.Fatalf("the deleted recording's row: %q %v", key, err)
	}
	if _, err := r.h.blob.Stat(t.Context(), key); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("the deleted recording's object is still stored: %v", err)
	}
	var actions []string
	for _, o := range auditlogtest.Ops(t, r.h.pool, r.consult.ID) {
		actions = append(actions, o.Action)
	}
	for _, o := range auditlogtest.Ops(t, r.h.pool, got.ID) {
		actions = append(actions, o.Action)
	}
	for _, want := range []string{"comms.recording.start", "comms.recording.stop", "comms.recording.play",
		"comms.recording.download", "comms.recording.delete"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit has %v, not %s", actions, want)
		}
	}
}

// Stopping a recording that is not running, and recording a room nobody
// speaks in, are refused or stored as failed rather than as empty files.
func TestRecordingWithoutAudio(t *testing.T) {
	r := openRig(t)
	base := "/comms/v1/consults/" + r.consult.ID
	if rec := r.h.do(t, r.host, "POST", base+"/recording", map[string]string{"action": "stop"}); rec.Code != http.StatusConflict {
		t.Errorf("stopping a recording that never started: %d", rec.Code)
	}
	if rec := r.h.do(t, r.host, "POST", base+"/recording", map[string]string{"action": "start"}); rec.Code != http.StatusOK {
		t.Fatalf("start: %d %s", rec.Code, rec.Body)
	}
	if rec := r.h.do(t, r.host, "POST", base+"/recording", map[string]string{"action": "stop"}); rec.Code != http.StatusOK ||
		!strings.Contains(rec.Body.String(), `"tracks":0`) {
		t.Fatalf("stop: %d %s", rec.Code, rec.Body)
	}
}
