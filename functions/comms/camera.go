package comms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Camera is one monitoring device of the catalogue (FP-158).
//
// Kinds: rtsp (an IP camera's RTSP URL, pulled over TCP), gb28181 (a
// GB/T 28181 device reached through the platform gateway, which offers
// each device's stream as RTSP or HTTP-FLV at source; device_id is its
// 20-digit national code), http (an HLS, FLV or MP4 URL), and test (the
// simulated camera: ffmpeg's test pattern with a clock, for demos and
// tests where no device is reachable).
type Camera struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Source    string    `json:"source"`
	DeviceID  string    `json:"device_id"`
	Address   string    `json:"address"`
	Lat       *float64  `json:"lat"`
	Lng       *float64  `json:"lng"`
	District  string    `json:"district"`
	Township  string    `json:"township"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	Live      bool      `json:"live"`
}

// CameraMedia is a snapshot (JPEG) or a clip (MP4) taken from a camera.
type CameraMedia struct {
	ID          string    `json:"id"`
	CameraID    string    `json:"camera_id"`
	Kind        string    `json:"kind"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	DurationMS  int64     `json:"duration_ms"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	key         string
}

const cameraCols = `id::text, name, kind, source, device_id, address, lat, lng, district, township, created_by, created_at`

func scanCamera(r pgx.Row) (Camera, error) {
	var c Camera
	err := r.Scan(&c.ID, &c.Name, &c.Kind, &c.Source, &c.DeviceID, &c.Address, &c.Lat, &c.Lng, &c.District, &c.Township, &c.CreatedBy, &c.CreatedAt)
	return c, err
}

// AddCamera puts a device into the catalogue, audited.
func (f *Function) AddCamera(ctx context.Context, p *auth.Principal, ip string, c Camera) (Camera, error) {
	c.ID, c.CreatedBy, c.CreatedAt = uuid.NewString(), p.UserID, f.now()
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO comms.cameras (id, name, kind, source, device_id, address, lat, lng, district, township, created_by, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`, c.ID, c.Name, c.Kind, c.Source, c.DeviceID, c.Address, c.Lat, c.Lng,
			c.District, c.Township, c.CreatedBy, c.CreatedAt); err != nil {
			return err
		}
		return auditlog.Record(ctx, tx, Name, auditlog.Operation{UserID: p.UserID, Username: p.Username, IP: ip, Action: "comms.camera.add",
			ObjectType: "comms.camera", ObjectID: c.ID, DistrictCode: c.District, TownshipCode: c.Township,
			After: map[string]string{"name": c.Name, "kind": c.Kind}})
	})
	return c, store.Classify(err)
}

// Cameras lists the catalogue in the caller's scope.
func (f *Function) Cameras(ctx context.Context, s auth.Scope) ([]Camera, error) {
	args := []any{}
	rows, err := f.pool.Query(ctx, `SELECT `+cameraCols+` FROM comms.cameras WHERE `+s.Filter("district", "township", &args)+
		` ORDER BY district, name LIMIT 2000`, args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Camera, error) { return scanCamera(r) })
	for i := range out {
		out[i].Live = f.hls.running(out[i].ID)
	}
	return out, store.Classify(err)
}

// CameraByID loads one device in the caller's scope.
func (f *Function) CameraByID(ctx context.Context, s auth.Scope, id string) (Camera, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Camera{}, errs.New(errs.NotFound, "设备不存在或不在本辖区")
	}
	args := []any{id}
	c, err := scanCamera(f.pool.QueryRow(ctx, `SELECT `+cameraCols+` FROM comms.cameras WHERE id = $1::uuid AND `+
		s.Filter("district", "township", &args), args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, errs.New(errs.NotFound, "设备不存在或不在本辖区")
	}
	c.Live = f.hls.running(c.ID)
	return c, store.Classify(err)
}

// input is ffmpeg's input arguments for the device; test sources are
// encoded, real ones copied (cameras send H.264 already: no transcoding).
func (c Camera) input(realtime bool) (in []string, encode bool) {
	switch c.Kind {
	case "test":
		return []string{"-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=15"}, true
	case "http":
		in = []string{"-i", c.Source}
		if realtime {
			in = append([]string{"-re"}, in...)
		}
		return in, false
	}
	// rtsp, and gb28181 through the gateway's RTSP (or HTTP-FLV) output.
	if strings.HasPrefix(c.Source, "rtsp://") {
		return []string{"-rtsp_transport", "tcp", "-i", c.Source}, false
	}
	return []string{"-i", c.Source}, false
}

func videoCodec(encode bool) []string {
	if encode {
		return []string{"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p"}
	}
	return []string{"-c:v", "copy"}
}

// hlsSessions runs one ffmpeg per watched camera, repackaging its stream
// as HLS into a directory that the playlist and segment routes serve. A
// session starts on the first playlist request and ends after IdleAfter
// without one, so an unwatched camera costs nothing.
type hlsSessions struct {
	dir       string
	idleAfter time.Duration
	mu        sync.Mutex
	live      map[string]*hlsSession
}

type hlsSession struct {
	dir    string
	cmd    *exec.Cmd
	done   chan struct{}
	last   time.Time
	stderr bytes.Buffer
}

func (h *hlsSessions) running(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.live[id]
	return s != nil && !s.exited()
}

func (s *hlsSession) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// playlist starts (or keeps) the camera's session and returns its
// directory once the first playlist is written.
func (h *hlsSessions) playlist(ctx context.Context, c Camera) (string, error) {
	h.mu.Lock()
	s := h.live[c.ID]
	if s != nil && s.exited() {
		os.RemoveAll(s.dir)
		s = nil
	}
	if s == nil {
		var err error
		if s, err = h.start(c); err != nil {
			h.mu.Unlock()
			return "", err
		}
		h.live[c.ID] = s
	}
	s.last = time.Now()
	h.mu.Unlock()
	index := filepath.Join(s.dir, "index.m3u8")
	for {
		if _, err := os.Stat(index); err == nil {
			return s.dir, nil
		}
		select {
		case <-s.done:
			return "", errs.Wrap(errs.Unavailable, "无法连接视频设备，请检查设备地址或网关", fmt.Errorf("ffmpeg: %s", tail(s.stderr.String())))
		case <-ctx.Done():
			return "", errs.Wrap(errs.Unavailable, "视频流启动超时，请稍后重试", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (h *hlsSessions) start(c Camera) (*hlsSession, error) {
	dir, err := os.MkdirTemp(h.dir, "hls-*")
	if err != nil {
		return nil, err
	}
	in, encode := c.input(true)
	args := append([]string{"-hide_banner", "-loglevel", "error", "-nostdin"}, in...)
	args = append(args, "-an")
	args = append(args, videoCodec(encode)...)
	args = append(args, "-f", "hls", "-hls_time", "2", "-hls_list_size", "6", "-hls_flags", "delete_segments+omit_endlist",
		"-hls_segment_filename", filepath.Join(dir, "seg-%05d.ts"), filepath.Join(dir, "index.m3u8"))
	s := &hlsSession{dir: dir, cmd: exec.Command("ffmpeg", args...), done: make(chan struct{})}
	s.cmd.Stderr = &s.stderr
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, errs.Wrap(errs.Unavailable, "视频转码服务（ffmpeg）不可用", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	return s, nil
}

// touch keeps a session alive (a segment was fetched); it reports whether
// one runs.
func (h *hlsSessions) dirOf(id string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.live[id]
	if s == nil {
		return "", false
	}
	s.last = time.Now()
	return s.dir, true
}

// reap ends the sessions nobody has asked for within idleAfter (all of
// them when all is set).
func (h *hlsSessions) reap(all bool) {
	h.mu.Lock()
	var stop []*hlsSession
	for id, s := range h.live {
		if all || s.exited() || time.Since(s.last) > h.idleAfter {
			stop = append(stop, s)
			delete(h.live, id)
		}
	}
	h.mu.Unlock()
	for _, s := range stop {
		if s.cmd.Process != nil {
			_ = s.cmd.Process.Kill()
		}
		<-s.done
		os.RemoveAll(s.dir)
	}
}

func tail(s string) string {
	if len(s) > 300 {
		return s[len(s)-300:]
	}
	return s
}

// Capture takes a snapshot (one JPEG frame) or a clip of seconds (MP4)
// from the device with ffmpeg, stores it in the blob store and audits it.
func (f *Function) Capture(ctx context.Context, p *auth.Principal, ip string, c Camera, kind string, seconds int) (CameraMedia, error) {
	dir, err := os.MkdirTemp(f.cfg.RecordingDir, "capture-*")
	if err != nil {
		return CameraMedia{}, err
	}
	defer os.RemoveAll(dir)
	in, encode := c.input(false)
	m := CameraMedia{ID: uuid.NewString(), CameraID: c.ID, Kind: kind, CreatedBy: p.UserID, CreatedAt: f.now()}
	args := append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}, in...)
	var out string
	switch kind {
	case "snapshot":
		out, m.ContentType = filepath.Join(dir, "snapshot.jpg"), "image/jpeg"
		args = append(args, "-frames:v", "1", "-q:v", "3", out)
	default:
		out, m.ContentType, m.DurationMS = filepath.Join(dir, "clip.mp4"), "video/mp4", int64(seconds)*1000
		args = append(args, "-t", fmt.Sprint(seconds), "-an")
		args = append(args, videoCodec(encode)...)
		args = append(args, "-movflags", "+faststart", out)
	}
	cctx, cancel := context.WithTimeout(ctx, time.Duration(seconds+20)*time.Second)
	defer cancel()
	if b, err := exec.CommandContext(cctx, "ffmpeg", args...).CombinedOutput(); err != nil {
		return m, errs.Wrap(errs.Unavailable, "无法从视频设备截取画面，请检查设备地址或网关", fmt.Errorf("ffmpeg: %v %s", err, tail(string(b))))
	}
	file, err := os.Open(out)
	if err != nil {
		return m, err
	}
	defer file.Close()
	d := c.District
	if d == "" {
		d = "none"
	}
	m.key = "comms/cameras/" + d + "/" + c.ID + "/" + m.ID + filepath.Ext(out)
	info, err := f.blob.Put(ctx, m.key, file, m.ContentType)
	if err != nil {
		return m, err
	}
	m.Size = info.Size
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO comms.camera_media (id, camera_id, kind, blob_key, content_type, size, duration_ms, district, township,
			created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`, m.ID, c.ID, m.Kind, m.key, m.ContentType, m.Size, m.DurationMS,
			c.District, c.Township, m.CreatedBy, m.CreatedAt); err != nil {
			return err
		}
		return auditlog.Record(ctx, tx, Name, auditlog.Operation{UserID: p.UserID, Username: p.Username, IP: ip, Action: "comms.camera." + kind,
			ObjectType: "comms.camera", ObjectID: c.ID, DistrictCode: c.District, TownshipCode: c.Township, After: map[string]any{"media_id": m.ID, "size": m.Size}})
	})
	if err != nil {
		_ = f.blob.Delete(ctx, m.key)
	}
	return m, store.Classify(err)
}

// CameraMediaOf lists a device's snapshots and clips, newest first.
func (f *Function) CameraMediaOf(ctx context.Context, c Camera) ([]CameraMedia, error) {
	return f.cameraMedia(ctx, "camera_id = $1::uuid", c.ID)
}

func (f *Function) cameraMedia(ctx context.Context, where string, arg string) ([]CameraMedia, error) {
	rows, err := f.pool.Query(ctx, `SELECT id::text, camera_id::text, kind, content_type, size, duration_ms, created_by, created_at, blob_key
		FROM comms.camera_media WHERE `+where+` ORDER BY created_at DESC LIMIT 500`, arg)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CameraMedia, error) {
		var m CameraMedia
		return m, r.Scan(&m.ID, &m.CameraID, &m.Kind, &m.ContentType, &m.Size, &m.DurationMS, &m.CreatedBy, &m.CreatedAt, &m.key)
	})
	return out, store.Classify(err)
}

// checkSource refuses device addresses ffmpeg should not be pointed at
// (local files, other protocols).
func checkSource(kind, src string) error {
	if kind == "test" {
		return nil
	}
	u, err := url.Parse(src)
	if err != nil || u.Host == "" {
		return fieldErr("source", "请填写设备的视频流地址")
	}
	ok := map[string][]string{"rtsp": {"rtsp", "rtsps"}, "gb28181": {"rtsp", "http", "https"}, "http": {"http", "https"}}[kind]
	for _, s := range ok {
		if u.Scheme == s {
			return nil
		}
	}
	return fieldErr("source", "该类设备的地址须以 "+strings.Join(ok, "://、")+":// 开头")
}
