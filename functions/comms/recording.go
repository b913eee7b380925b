package comms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"

	"github.com/go-logr/logr"
	lklogger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/livekit/server-sdk-go/v2/pkg/samplebuilder"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Recording is one recorded track of a consult, or one dispatch call's
// prompt (FP-153).
type Recording struct {
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`
	ConsultID   *string    `json:"consult_id"`
	NoticeID    *string    `json:"notice_id"`
	EventID     string     `json:"event_id"`
	District    string     `json:"district"`
	Township    string     `json:"township"`
	Participant string     `json:"participant"`
	TrackSID    string     `json:"track_sid"`
	Status      string     `json:"status"`
	ContentType string     `json:"content_type"`
	Size        int64      `json:"size"`
	SHA256      string     `json:"sha256"`
	DurationMS  int64      `json:"duration_ms"`
	StartedBy   string     `json:"started_by"`
	StartedAt   time.Time  `json:"started_at"`
	EndedAt     *time.Time `json:"ended_at"`
	Error       string     `json:"error,omitempty"`
	key         string
}

const recordingCols = `id::text, kind, consult_id::text, notice_id::text, event_id::text, district, township, participant, track_sid,
	status, content_type, size, sha256, duration_ms, started_by, started_at, ended_at, error, blob_key`

func scanRecording(r pgx.Row) (Recording, error) {
	var x Recording
	err := r.Scan(&x.ID, &x.Kind, &x.ConsultID, &x.NoticeID, &x.EventID, &x.District, &x.Township, &x.Participant, &x.TrackSID,
		&x.Status, &x.ContentType, &x.Size, &x.SHA256, &x.DurationMS, &x.StartedBy, &x.StartedAt, &x.EndedAt, &x.Error, &x.key)
	return x, err
}

// recordingKey is where a recording's object lives: by district and event,
// so a retention job or an export can take one event's media by prefix.
func recordingKey(r Recording, ext string) string {
	d := r.District
	if d == "" {
		d = "none"
	}
	return "comms/recordings/" + d + "/" + r.EventID + "/" + r.ID + ext
}

// recorder is the bot that records one consult: a hidden participant that
// subscribes to every audio track and writes each, through the server SDK's
// sample builder and pion's OGG writer (the SDK's filesaver track writer),
// to a temporary file. When the track ends the file goes to the blob store.
// There is no egress service here (see docs/functions/comms.md): this runs
// in the comms process itself.
type recorder struct {
	f    *Function
	c    Consult
	by   string
	room *lksdk.Room
	wg   sync.WaitGroup
}

// StartRecording puts the recorder bot into the consult's room.
func (f *Function) StartRecording(ctx context.Context, p *auth.Principal, ip string, c Consult) error {
	f.recMu.Lock()
	defer f.recMu.Unlock()
	if f.recorders[c.ID] != nil {
		return errs.New(errs.Conflict, "该会商正在录音")
	}
	tok, err := f.lk.recorderToken(c.Room, "recorder-"+c.ID)
	if err != nil {
		return errs.Wrap(errs.Internal, "录音令牌签发失败", err)
	}
	r := &recorder{f: f, c: c, by: p.UserID}
	room, err := lksdk.ConnectToRoomWithToken(f.cfg.LiveKitURL, tok, &lksdk.RoomCallback{
		ParticipantCallback: lksdk.ParticipantCallback{OnTrackSubscribed: r.onTrack}}, lksdk.WithAutoSubscribe(true),
		lksdk.WithLogger(lklogger.LogRLogger(logr.FromSlogHandler(warnOnly{f.log.With("component", "recorder", "consult", c.ID).Handler()}))))
	if err != nil {
		return unavailable(err)
	}
	r.room = room
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		return audit(ctx, tx, p, ip, "comms.recording.start", c, nil)
	})
	if err != nil {
		room.Disconnect()
		return store.Classify(err)
	}
	f.recorders[c.ID] = r
	return nil
}

// StopRecording takes the bot out of the room and waits until every track
// it recorded is stored.
func (f *Function) StopRecording(ctx context.Context, p *auth.Principal, ip string, c Consult) (int, error) {
	f.recMu.Lock()
	r := f.recorders[c.ID]
	delete(f.recorders, c.ID)
	f.recMu.Unlock()
	if r == nil {
		return 0, errs.New(errs.Conflict, "该会商当前没有在录音")
	}
	n := r.stop(ctx)
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		return audit(ctx, tx, p, ip, "comms.recording.stop", c, map[string]int{"tracks": n})
	})
	return n, store.Classify(err)
}

// Recording reports whether the consult is being recorded by this process.
func (f *Function) Recording(consultID string) bool {
	f.recMu.Lock()
	defer f.recMu.Unlock()
	return f.recorders[consultID] != nil
}

// stop disconnects, which ends every track's RTP stream, and waits for the
// writers to store their files; it returns how many tracks were recorded.
var errStopTimeout = errors.New("recorder: tracks not stored before the deadline")

func (r *recorder) stop(ctx context.Context) int {
	r.room.Disconnect()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		r.f.log.Error("comms: recorder stop", "consult", r.c.ID, "err", errStopTimeout)
	}
	var n int
	_ = r.f.pool.QueryRow(ctx, `SELECT count(*) FROM comms.recordings WHERE consult_id = $1 AND kind = 'consult'`, r.c.ID).Scan(&n)
	return n
}

func (r *recorder) onTrack(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	if !strings.EqualFold(track.Codec().MimeType, webrtc.MimeTypeOpus) {
		return // video is not recorded here: no egress to composite it
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := r.record(track, pub.SID(), rp.Identity()); err != nil {
			r.f.log.Error("comms: recording a track", "consult", r.c.ID, "participant", rp.Identity(), "err", err)
		}
	}()
}

// maxAudioLate is how many packets the sample builder waits for a late one
// (about 4 s of 20 ms Opus frames), as the SDK's track writer does.
const maxAudioLate = 200

func (r *recorder) record(track *webrtc.TrackRemote, sid, identity string) error {
	f := r.f
	ctx := context.Background()
	rec := Recording{ID: uuid.NewString(), Kind: "consult", ConsultID: &r.c.ID, EventID: r.c.EventID, District: r.c.District,
		Township: r.c.Township, Participant: identity, TrackSID: sid, Status: "recording", ContentType: "audio/ogg",
		StartedBy: r.by, StartedAt: f.now()}
	rec.key = recordingKey(rec, ".ogg")
	if _, err := f.pool.Exec(ctx, `INSERT INTO comms.recordings (id, kind, consult_id, event_id, district, township, participant,
		track_sid, status, blob_key, content_type, started_by, started_at) VALUES ($1,'consult',$2,$3,$4,$5,$6,$7,'recording',$8,$9,$10,$11)`,
		rec.ID, r.c.ID, rec.EventID, rec.District, rec.Township, identity, sid, rec.key, rec.ContentType, rec.StartedBy, rec.StartedAt); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(f.cfg.RecordingDir, "consult-*.ogg")
	if err != nil {
		return f.failRecording(ctx, rec.ID, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	ch := track.Codec().Channels
	if ch == 0 {
		ch = 2
	}
	w, err := oggwriter.NewWith(tmp, 48000, ch)
	if err != nil {
		return f.failRecording(ctx, rec.ID, err)
	}
	sb := samplebuilder.New(maxAudioLate, &codecs.OpusPacket{}, track.Codec().ClockRate)
	var first, last uint32
	var seen bool
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			break // the track ended, or the bot left the room
		}
		sb.Push(pkt)
		for _, p := range sb.PopPackets() {
			if !seen {
				first, seen = p.Timestamp, true
			}
			last = p.Timestamp
			if err := w.WriteRTP(p); err != nil {
				return f.failRecording(ctx, rec.ID, err)
			}
		}
	}
	if err := w.Close(); err != nil {
		return f.failRecording(ctx, rec.ID, err)
	}
	if !seen {
		return f.failRecording(ctx, rec.ID, errors.New("no audio received"))
	}
	rec.DurationMS = int64(last-first) * 1000 / 48000
	// The OGG writer closed the file with itself.
	in, err := os.Open(tmp.Name())
	if err != nil {
		return f.failRecording(ctx, rec.ID, err)
	}
	defer in.Close()
	return f.StoreRecording(ctx, rec, in)
}

func (f *Function) failRecording(ctx context.Context, id string, cause error) error {
	_, err := f.pool.Exec(ctx, `UPDATE comms.recordings SET status = 'failed', error = $2, ended_at = $3 WHERE id = $1`,
		id, cause.Error(), f.now())
	return errors.Join(cause, err)
}

// StoreRecording ingests a finished recording: into the blob store, then
// its row marked stored with size, digest and duration. It is the step
// tests/bench/commsbench measures against file size.
func (f *Function) StoreRecording(ctx context.Context, rec Recording, file io.Reader) error {
	if rec.key == "" {
		rec.key = recordingKey(rec, ".ogg")
	}
	info, err := f.blob.Put(ctx, rec.key, file, rec.ContentType)
	if err != nil {
		return f.failRecording(ctx, rec.ID, fmt.Errorf("store recording: %w", err))
	}
	tag, err := f.pool.Exec(ctx, `UPDATE comms.recordings SET status = 'stored', blob_key = $2, size = $3, sha256 = $4,
		duration_ms = $5, ended_at = $6 WHERE id = $1`, rec.ID, rec.key, info.Size, info.SHA256, rec.DurationMS, f.now())
	if err == nil && tag.RowsAffected() != 1 {
		err = fmt.Errorf("store recording: no row for %s", rec.ID)
	}
	return err
}

// NewRecording registers a recording's row (status recording) for
// StoreRecording to complete; the dispatch call's prompt and the
// benchmark's files take this path.
func (f *Function) NewRecording(ctx context.Context, rec *Recording) error {
	if rec.ID == "" {
		rec.ID = uuid.NewString()
	}
	if rec.Status == "" {
		rec.Status = "recording"
	}
	if rec.StartedAt.IsZero() {
		rec.StartedAt = f.now()
	}
	if rec.key == "" {
		ext := ".ogg"
		if rec.ContentType == "audio/wav" {
			ext = ".wav"
		}
		rec.key = recordingKey(*rec, ext)
	}
	return f.newRecording(ctx, f.pool, rec)
}

func (f *Function) newRecording(ctx context.Context, q store.Querier, rec *Recording) error {
	_, err := q.Exec(ctx, `INSERT INTO comms.recordings (id, kind, consult_id, notice_id, event_id, district, township, participant,
		track_sid, status, blob_key, content_type, started_by, started_at) VALUES ($1,$2,$3::uuid,$4::uuid,$5,$6,$7,$8,$9,'recording',$10,$11,$12,$13)`,
		rec.ID, rec.Kind, rec.ConsultID, rec.NoticeID, rec.EventID, rec.District, rec.Township, rec.Participant, rec.TrackSID,
		rec.key, rec.ContentType, rec.StartedBy, rec.StartedAt)
	return err
}

// Recordings lists the stored recordings of a consult or an event in the
// caller's scope, oldest first.
func (f *Function) Recordings(ctx context.Context, s auth.Scope, col, id string) ([]Recording, error) {
	args := []any{id}
	rows, err := f.pool.Query(ctx, `SELECT `+recordingCols+` FROM comms.recordings WHERE `+col+` = $1::uuid AND status <> 'deleted' AND `+
		s.Filter("district", "township", &args)+` ORDER BY started_at, id LIMIT 1000`, args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Recording, error) { return scanRecording(r) })
	return out, store.Classify(err)
}

// RecordingByID loads one recording in the caller's scope.
func (f *Function) RecordingByID(ctx context.Context, s auth.Scope, id string) (Recording, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Recording{}, errs.New(errs.NotFound, "录音不存在或不在本辖区")
	}
	args := []any{id}
	r, err := scanRecording(f.pool.QueryRow(ctx, `SELECT `+recordingCols+` FROM comms.recordings WHERE id = $1::uuid AND status <> 'deleted' AND `+
		s.Filter("district", "township", &args), args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, errs.New(errs.NotFound, "录音不存在或不在本辖区")
	}
	return r, store.Classify(err)
}

func auditRecording(ctx context.Context, tx pgx.Tx, p *auth.Principal, ip, action string, r Recording) error {
	return auditlog.Record(ctx, tx, Name, auditlog.Operation{UserID: p.UserID, Username: p.Username, IP: ip, Action: action,
		ObjectType: "comms.recording", ObjectID: r.ID, DistrictCode: r.District, TownshipCode: r.Township,
		After: map[string]any{"event_id": r.EventID, "participant": r.Participant, "size": r.Size}})
}

// OpenRecording opens a stored recording for playback or download, and
// audits the read (recordings carry voices: a personal record).
func (f *Function) OpenRecording(ctx context.Context, p *auth.Principal, ip string, r Recording, action string) (*blobSeeker, error) {
	if r.Status != "stored" {
		return nil, errs.New(errs.Conflict, "录音尚未保存完成")
	}
	info, err := f.blob.Stat(ctx, r.key)
	if err != nil {
		return nil, err
	}
	if err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error { return auditRecording(ctx, tx, p, ip, action, r) }); err != nil {
		return nil, store.Classify(err)
	}
	return &blobSeeker{ctx: ctx, b: f.blob, key: r.key, size: info.Size}, nil
}

// DeleteRecording removes the object and marks the row deleted, keeping who
// and when.
func (f *Function) DeleteRecording(ctx context.Context, p *auth.Principal, ip string, r Recording) error {
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE comms.recordings SET status = 'deleted', deleted_by = $2, deleted_at = $3 WHERE id = $1`,
			r.ID, p.UserID, f.now()); err != nil {
			return err
		}
		return auditRecording(ctx, tx, p, ip, "comms.recording.delete", r)
	})
	if err != nil {
		return store.Classify(err)
	}
	// After the commit: a failed delete leaves an orphan object, never a
	// row pointing at nothing.
	if r.key != "" {
		if err := f.blob.Delete(ctx, r.key); err != nil {
			f.log.Error("comms: recording object not deleted", "recording", r.ID, "key", r.key, "err", err)
		}
	}
	return nil
}

// blobSeeker lets http.ServeContent answer Range requests from any blob
// store: it seeks natively when the store's reader can (the local *Dir),
// and otherwise reopens the object and skips to the offset (S3 through
// this interface has no ranged Get).
type blobSeeker struct {
	ctx  context.Context
	b    Blob
	key  string
	size int64
	off  int64 // where the next Read starts
	rc   io.ReadCloser
	pos  int64 // where rc is
}

func (s *blobSeeker) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += s.off
	case io.SeekEnd:
		offset += s.size
	}
	if offset < 0 {
		return 0, errors.New("blobSeeker: negative position")
	}
	s.off = offset
	return offset, nil
}

func (s *blobSeeker) Read(p []byte) (int, error) {
	if s.off >= s.size {
		return 0, io.EOF
	}
	if s.rc == nil || s.pos != s.off {
		if err := s.reposition(); err != nil {
			return 0, err
		}
	}
	n, err := s.rc.Read(p)
	s.off += int64(n)
	s.pos = s.off
	return n, err
}

func (s *blobSeeker) reposition() error {
	if sk, ok := s.rc.(io.Seeker); ok {
		if _, err := sk.Seek(s.off, io.SeekStart); err == nil {
			s.pos = s.off
			return nil
		}
	}
	if s.rc != nil {
		_ = s.rc.Close()
	}
	rc, _, err := s.b.Get(s.ctx, s.key)
	if err != nil {
		return err
	}
	s.rc, s.pos = rc, 0
	if sk, ok := rc.(io.Seeker); ok {
		_, err = sk.Seek(s.off, io.SeekStart)
	} else {
		_, err = io.CopyN(io.Discard, rc, s.off)
	}
	s.pos = s.off
	return err
}

// serveObject answers a GET of a stored object with Range support.
func (f *Function) serveObject(w http.ResponseWriter, r *http.Request, key string, size int64, contentType string, mod time.Time) {
	body := &blobSeeker{ctx: r.Context(), b: f.blob, key: key, size: size}
	defer body.Close()
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", mod, body)
}

// Close releases the object's reader.
func (s *blobSeeker) Close() error {
	if s.rc != nil {
		return s.rc.Close()
	}
	return nil
}

// warnOnly passes the SDK's warnings and errors to our log; its info-level
// connection chatter (ICE states, join plans) would bury the platform's.
type warnOnly struct{ slog.Handler }

func (w warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && w.Handler.Enabled(ctx, l)
}
func (w warnOnly) WithAttrs(a []slog.Attr) slog.Handler { return warnOnly{w.Handler.WithAttrs(a)} }
func (w warnOnly) WithGroup(n string) slog.Handler      { return warnOnly{w.Handler.WithGroup(n)} }
