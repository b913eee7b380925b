package comms

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var cameraPerms = []string{PermCamera + ":view", PermCamera + ":manage", PermCamera + ":capture"}

func (h harness) camera(t *testing.T, bearer string, in CameraInput) Camera {
	t.Helper()
	rec := h.do(t, bearer, "POST", "/comms/v1/cameras", in)
	if rec.Code != http.StatusCreated {
		t.Fatalf("add camera: %d %s", rec.Code, rec.Body)
	}
	return decode[Camera](t, rec.Body.Bytes())
}

// FP-158: the simulated camera (ffmpeg's test pattern, since no device is
// reachable here) is watched live through HLS repackaged by ffmpeg; a
// snapshot and a clip are stored and served.
func TestCameraLiveViewSnapshotAndClip(t *testing.T) {
	h := newHarness(t)
	centre := h.iss.Bearer(person("centre-1", "调度员甲", cameraPerms...))
	cam := h.camera(t, centre, CameraInput{Name: "长安区某农贸市场东门", Kind: "test", District: "130102"})
	base := "/comms/v1/cameras/" + cam.ID

	rec := h.do(t, centre, "GET", base+"/hls/index.m3u8", nil)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), "#EXTM3U") {
		t.Fatalf("playlist: %d %s", rec.Code, rec.Body)
	}
	seg := regexp.MustCompile(`seg-[0-9]{5}\.ts`).FindString(rec.Body.String())
	if seg == "" {
		t.Fatalf("no segment in %s", rec.Body)
	}
	ts := h.do(t, centre, "GET", base+"/hls/"+seg, nil)
	if ts.Code != http.StatusOK || ts.Body.Len() < 188 || ts.Body.Bytes()[0] != 0x47 {
		t.Fatalf("segment: %d, %d bytes", ts.Code, ts.Body.Len())
	}
	if v := decode[Camera](t, h.do(t, centre, "GET", base, nil).Body.Bytes()); !v.Live {
		t.Error("the camera is not shown live while watched")
	}
	if rec := h.do(t, centre, "GET", base+"/hls/..%2Fetc%2Fpasswd", nil); rec.Code != http.StatusNotFound {
		t.Errorf("a path outside the session: %d", rec.Code)
	}

	snap := h.do(t, centre, "POST", base+"/snapshot", nil)
	if snap.Code != http.StatusCreated {
		t.Fatalf("snapshot: %d %s", snap.Code, snap.Body)
	}
	sm := decode[CameraMedia](t, snap.Body.Bytes())
	img := h.do(t, centre, "GET", "/comms/v1/camera-media/"+sm.ID, nil)
	if img.Code != http.StatusOK || img.Header().Get("Content-Type") != "image/jpeg" || !bytes.HasPrefix(img.Body.Bytes(), []byte{0xff, 0xd8}) {
		t.Fatalf("snapshot file: %d %s", img.Code, img.Header().Get("Content-Type"))
	}
	clip := h.do(t, centre, "POST", base+"/clips", map[string]int{"seconds": 2})
	if clip.Code != http.StatusCreated {
		t.Fatalf("clip: %d %s", clip.Code, clip.Body)
	}
	cm := decode[CameraMedia](t, clip.Body.Bytes())
	mp4 := h.do(t, centre, "GET", "/comms/v1/camera-media/"+cm.ID, nil)
	if secs, _ := probeVideo(t, mp4.Body.Bytes()); mp4.Code != http.StatusOK || secs < 1.5 || secs > 2.5 {
		t.Fatalf("clip file: %d, %.2f s", mp4.Code, secs)
	}
	if list := decode[struct{ Items []CameraMedia }](t, h.do(t, centre, "GET", base+"/media", nil).Body.Bytes()); len(list.Items) != 2 {
		t.Errorf("media %+v", list.Items)
	}

	out := person("centre-9", "外区", cameraPerms...)
	out.Scope.Districts = []string{"130104"}
	if rec := h.do(t, h.iss.Bearer(out), "GET", base+"/hls/index.m3u8", nil); rec.Code != http.StatusNotFound {
		t.Errorf("a camera outside the district: %d", rec.Code)
	}
	if rec := h.do(t, h.iss.Bearer(out), "GET", "/comms/v1/camera-media/"+sm.ID, nil); rec.Code != http.StatusNotFound {
		t.Errorf("a snapshot outside the district: %d", rec.Code)
	}
	if err := h.f.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h.f.hls.running(cam.ID) {
		t.Error("the ffmpeg session outlived Stop")
	}
}

// probeVideo returns a video's duration as ffprobe reads it.
func probeVideo(t *testing.T, b []byte) (float64, string) {
	t.Helper()
	in := filepath.Join(t.TempDir(), "v.mp4")
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name", "-of", "default=nw=1", in).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v %s", err, out)
	}
	var secs float64
	if m := regexp.MustCompile(`duration=([\d.]+)`).FindStringSubmatch(string(out)); m != nil {
		secs, _ = strconv.ParseFloat(m[1], 64)
	}
	return secs, string(out)
}

// A device behind a URL (here an MP4 served over HTTP, as a GB/T 28181
// gateway's HTTP output would be) is pulled without transcoding; an RTSP
// device that does not answer is a clear 503.
func TestCameraSourcesAndValidation(t *testing.T) {
	h := newHarness(t)
	centre := h.iss.Bearer(person("centre-1", "调度员甲", cameraPerms...))
	src := filepath.Join(t.TempDir(), "gate.mp4")
	if b, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=4",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", src).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, b)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, src) }))
	defer srv.Close()
	gw := h.camera(t, centre, CameraInput{Name: "国标网关 1 号", Kind: "gb28181", DeviceID: "13010200001320000001", Source: srv.URL + "/gate.mp4", District: "130102"})
	clip := h.do(t, centre, "POST", "/comms/v1/cameras/"+gw.ID+"/clips", map[string]int{"seconds": 1})
	if clip.Code != http.StatusCreated {
		t.Fatalf("clip from the gateway: %d %s", clip.Code, clip.Body)
	}
	m := decode[CameraMedia](t, clip.Body.Bytes())
	if _, info := probeVideo(t, h.do(t, centre, "GET", "/comms/v1/camera-media/"+m.ID, nil).Body.Bytes()); !strings.Contains(info, "codec_name=h264") {
		t.Errorf("the clip is not the device's H.264: %s", info)
	}

	dead := h.camera(t, centre, CameraInput{Name: "离线摄像头", Kind: "rtsp", Source: "rtsp://127.0.0.1:1/stream", District: "130102"})
	if rec := h.do(t, centre, "GET", "/comms/v1/cameras/"+dead.ID+"/hls/index.m3u8", nil); rec.Code != http.StatusServiceUnavailable ||
		!strings.Contains(rec.Body.String(), "无法连接视频设备") {
		t.Errorf("an unreachable device: %d %s", rec.Code, rec.Body)
	}

	for name, c := range map[string]struct {
		in   CameraInput
		code int
		msg  string
	}{
		"kind-400":     {CameraInput{Name: "x", Kind: "onvif", District: "130102"}, 400, "设备类型只能是"},
		"file-400":     {CameraInput{Name: "x", Kind: "http", Source: "file:///etc/passwd", District: "130102"}, 400, "请填写设备的视频流地址"},
		"scheme-400":   {CameraInput{Name: "x", Kind: "rtsp", Source: "http://cam.local/live", District: "130102"}, 400, "rtsp://"},
		"gbcode-400":   {CameraInput{Name: "x", Kind: "gb28181", DeviceID: "123", Source: "rtsp://gw/1", District: "130102"}, 400, "20 位数字"},
		"district-400": {CameraInput{Name: "x", Kind: "test", District: "130199"}, 400, "区县代码不正确"},
		"scope-403":    {CameraInput{Name: "x", Kind: "test", District: "130104"}, 403, "只能登记本辖区的设备"},
	} {
		rec := h.do(t, centre, "POST", "/comms/v1/cameras", c.in)
		if rec.Code != c.code || !strings.Contains(rec.Body.String(), c.msg) {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
}
