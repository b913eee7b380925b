package comms

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	lklogger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/testwait"
)

// These tests run against a real livekit-server (dev mode), the one
// infra/local/scripts/ensure-services.sh --livekit (or --tools) installs
// and starts. Without it they fail: the grants and the host's actions are
// only meaningful when the LiveKit server enforces them.
func requireLiveKit(t *testing.T, c Config) {
	t.Helper()
	u, _ := url.Parse(strings.Replace(strings.Replace(c.LiveKitURL, "ws", "http", 1), "wss", "https", 1))
	cl := http.Client{Timeout: 3 * time.Second}
	res, err := cl.Get(u.String())
	if err != nil {
		t.Fatalf("LiveKit 服务未运行 / livekit-server does not answer at %s (%v): run "+
			"`bash infra/local/scripts/ensure-services.sh --livekit` (installs and starts it)", c.LiveKitURL, err)
	}
	res.Body.Close()
}

// The SDK's and pion's connection chatter would bury the test output.
func init() { lksdk.SetLogger(lklogger.GetDiscardLogger()) }

var consultPerms = []string{PermConsult + ":view", PermConsult + ":create", PermConsult + ":join", PermConsult + ":host"}

func person(id, name string, perms ...string) auth.Principal {
	return auth.Principal{UserID: id, Username: id, Name: name, Perms: perms,
		Scope: auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130102"}}}
}

// event puts a dispatch event in the test database (dispatch's own table:
// the test stands in for dispatch; comms reads it through event_brief).
func (h harness) event(t *testing.T, district string) string {
	t.Helper()
	id := uuid.NewString()
	if _, err := h.pool.Exec(context.Background(), `INSERT INTO dispatch.events (id, type, title, source, lat, lng, district, created_by, created_at)
		VALUES ($1, '食品安全', '某超市销售过期食品', 'alarm', 38.04, 114.51, $2, 'centre-1', now())`, id, district); err != nil {
		t.Fatal(err)
	}
	return id
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

type consultRig struct {
	h                  harness
	consult            Consult
	host, insp, obs    string
	hostP, inspP, obsP auth.Principal
}

// openRig opens a consult for a new event: the centre's dispatcher hosts,
// inspector insp-1 is a member, leader obs-1 an observer.
func openRig(t *testing.T) consultRig {
	h := newHarness(t)
	requireLiveKit(t, h.f.cfg)
	r := consultRig{h: h,
		hostP: person("centre-1", "调度员甲", consultPerms...),
		inspP: person("insp-1", "检查员乙", PermConsult+":view", PermConsult+":join"),
		obsP:  person("obs-1", "领导丙", PermConsult+":view", PermConsult+":join")}
	r.host, r.insp, r.obs = h.iss.Bearer(r.hostP), h.iss.Bearer(r.inspP), h.iss.Bearer(r.obsP)
	ev := h.event(t, "130102")
	rec := h.do(t, r.host, "POST", "/comms/v1/consults", map[string]any{"event_id": ev, "members": []map[string]string{
		{"user_id": "insp-1", "name": "检查员乙"}, {"user_id": "obs-1", "name": "领导丙", "role": "observer"}}})
	if rec.Code != http.StatusCreated {
		t.Fatalf("open consult: %d %s", rec.Code, rec.Body)
	}
	r.consult = decode[Consult](t, rec.Body.Bytes())
	if r.consult.EventID != ev || len(r.consult.Members) != 3 {
		t.Fatalf("consult %+v", r.consult)
	}
	return r
}

func (r consultRig) join(t *testing.T, bearer string) (*lksdk.Room, TokenReply) {
	t.Helper()
	rec := r.h.do(t, bearer, "POST", "/comms/v1/consults/"+r.consult.ID+"/token", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("token: %d %s", rec.Code, rec.Body)
	}
	tok := decode[TokenReply](t, rec.Body.Bytes())
	room, err := lksdk.ConnectToRoomWithToken(tok.URL, tok.Token, &lksdk.RoomCallback{}, lksdk.WithAutoSubscribe(false))
	if err != nil {
		t.Fatalf("join %s with our token: %v", tok.Identity, err)
	}
	t.Cleanup(room.Disconnect)
	return room, tok
}

// live is who the LiveKit server has in the room, as the consult shows it.
func (r consultRig) live(t *testing.T) map[string]Participant {
	t.Helper()
	rec := r.h.do(t, r.host, "GET", "/comms/v1/consults/"+r.consult.ID, nil)
	v := decode[ConsultView](t, rec.Body.Bytes())
	if rec.Code != http.StatusOK || v.LiveError != "" {
		t.Fatalf("consult: %d %s", rec.Code, rec.Body)
	}
	out := map[string]Participant{}
	for _, p := range v.Participants {
		out[p.Identity] = p
	}
	return out
}

func (r consultRig) until(t *testing.T, what string, ok func(map[string]Participant) bool) map[string]Participant {
	t.Helper()
	var last map[string]Participant
	testwait.For(t, what, func() bool { last = r.live(t); return ok(last) })
	return last
}

// publishAudio publishes an Opus track that sends silence, as a phone's
// microphone would.
func publishAudio(t *testing.T, room *lksdk.Room) (*lksdk.LocalTrackPublication, error) {
	t.Helper()
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "mic")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				_ = track.WriteSample(media.Sample{Data: []byte{0xf8, 0xff, 0xfe}, Duration: 20 * time.Millisecond})
			}
		}
	}()
	return room.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{Name: "mic"})
}

// FP-151, FP-156: a room opened for an event admits the invited inspectors
// with the tokens we mint, and nobody else gets one.
func TestConsultAdmitsInvitedInspectors(t *testing.T) {
	r := openRig(t)
	_, tok := r.join(t, r.insp)
	if tok.Role != RoleMember || !tok.Grants.Publish || tok.Identity != "insp-1" {
		t.Fatalf("inspector's token %+v", tok)
	}
	r.join(t, r.obs)
	live := r.until(t, "both invited members in the room", func(m map[string]Participant) bool {
		return m["insp-1"].Identity != "" && m["obs-1"].Identity != ""
	})
	if live["insp-1"].Name != "检查员乙" || !live["insp-1"].CanPublish {
		t.Errorf("inspector as the server sees them: %+v", live["insp-1"])
	}
	stranger := r.h.iss.Bearer(person("insp-9", "未受邀", PermConsult+":view", PermConsult+":join"))
	if rec := r.h.do(t, stranger, "POST", "/comms/v1/consults/"+r.consult.ID+"/token", nil); rec.Code != http.StatusForbidden {
		t.Errorf("an uninvited inspector got a token: %d %s", rec.Code, rec.Body)
	}
	// The phone's list (mine=1) has the invited inspector's consult, not the stranger's.
	if got := decode[struct{ Items []Consult }](t, r.h.do(t, r.insp, "GET", "/comms/v1/consults?mine=1", nil).Body.Bytes()); len(got.Items) != 1 || got.Items[0].ID != r.consult.ID {
		t.Errorf("the inspector's consults: %+v", got.Items)
	}
	if got := decode[struct{ Items []Consult }](t, r.h.do(t, stranger, "GET", "/comms/v1/consults?mine=1", nil).Body.Bytes()); len(got.Items) != 0 {
		t.Errorf("a stranger's consults: %+v", got.Items)
	}
	outside := r.h.iss.Bearer(auth.Principal{UserID: "insp-1", Perms: consultPerms,
		Scope: auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130104"}}})
	if rec := r.h.do(t, outside, "POST", "/comms/v1/consults/"+r.consult.ID+"/token", nil); rec.Code != http.StatusNotFound {
		t.Errorf("a consult outside the caller's district: %d %s", rec.Code, rec.Body)
	}
	ev := r.h.event(t, "130104")
	if rec := r.h.do(t, r.host, "POST", "/comms/v1/consults", map[string]any{"event_id": ev}); rec.Code != http.StatusNotFound {
		t.Errorf("a consult for an event outside the district: %d %s", rec.Code, rec.Body)
	}
	if rec := r.h.do(t, r.host, "POST", "/comms/v1/consults", map[string]any{"event_id": "x"}); rec.Code != http.StatusBadRequest ||
		!strings.Contains(rec.Body.String(), "事件编号格式不正确") {
		t.Errorf("a malformed event id: %d %s", rec.Code, rec.Body)
	}
}

// FP-151: an observer's token carries no publish grant, and the LiveKit
// server, not our code, refuses their track.
func TestObserverCannotPublish(t *testing.T) {
	r := openRig(t)
	room, tok := r.join(t, r.obs)
	if tok.Grants.Publish {
		t.Fatalf("observer's grants %+v", tok.Grants)
	}
	live := r.until(t, "the observer in the room", func(m map[string]Participant) bool { return m["obs-1"].Identity != "" })
	if live["obs-1"].CanPublish {
		t.Fatalf("the server lets the observer publish: %+v", live["obs-1"])
	}
	if _, err := publishAudio(t, room); err == nil {
		// The SDK may not wait for the refusal; the server's view decides.
		time.Sleep(2 * time.Second)
	}
	if n := len(r.live(t)["obs-1"].Tracks); n != 0 {
		t.Fatalf("the observer published %d tracks", n)
	}
}

// FP-151: the host mutes, unmutes and kicks through the room service, and
// the server's view shows each; a kicked member gets no new token.
func TestHostMutesAndKicks(t *testing.T) {
	r := openRig(t)
	room, _ := r.join(t, r.insp)
	if _, err := publishAudio(t, room); err != nil {
		t.Fatalf("the inspector could not publish: %v", err)
	}
	r.until(t, "the inspector's microphone published", func(m map[string]Participant) bool {
		return len(m["insp-1"].Tracks) == 1 && m["insp-1"].Tracks[0].Kind == "audio" && !m["insp-1"].Tracks[0].Muted
	})
	rec := r.h.do(t, r.host, "POST", "/comms/v1/consults/"+r.consult.ID+"/mute", map[string]any{"user_id": "insp-1"})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"tracks":1`) {
		t.Fatalf("mute: %d %s", rec.Code, rec.Body)
	}
	r.until(t, "the microphone muted on the server", func(m map[string]Participant) bool {
		return len(m["insp-1"].Tracks) == 1 && m["insp-1"].Tracks[0].Muted
	})
	rec = r.h.do(t, r.host, "POST", "/comms/v1/consults/"+r.consult.ID+"/mute", map[string]any{"user_id": "insp-1", "muted": false})
	if rec.Code != http.StatusOK {
		t.Fatalf("unmute: %d %s", rec.Code, rec.Body)
	}
	r.until(t, "the microphone unmuted on the server", func(m map[string]Participant) bool {
		return len(m["insp-1"].Tracks) == 1 && !m["insp-1"].Tracks[0].Muted
	})
	if rec := r.h.do(t, r.insp, "POST", "/comms/v1/consults/"+r.consult.ID+"/mute", map[string]any{"user_id": "obs-1"}); rec.Code != http.StatusForbidden {
		t.Errorf("a member without the host permission muted: %d", rec.Code)
	}
	if rec := r.h.do(t, r.host, "POST", "/comms/v1/consults/"+r.consult.ID+"/kick", map[string]any{"user_id": "centre-1"}); rec.Code != http.StatusConflict {
		t.Errorf("the host kicked themself: %d %s", rec.Code, rec.Body)
	}
	if rec := r.h.do(t, r.host, "POST", "/comms/v1/consults/"+r.consult.ID+"/kick", map[string]any{"user_id": "insp-1"}); rec.Code != http.StatusOK {
		t.Fatalf("kick: %d %s", rec.Code, rec.Body)
	}
	r.until(t, "the inspector out of the room", func(m map[string]Participant) bool { return m["insp-1"].Identity == "" })
	if rec := r.h.do(t, r.insp, "POST", "/comms/v1/consults/"+r.consult.ID+"/token", nil); rec.Code != http.StatusForbidden {
		t.Errorf("a kicked member got a new token: %d %s", rec.Code, rec.Body)
	}
	var actions []string
	for _, o := range auditlogtest.Ops(t, r.h.pool, r.consult.ID) {
		actions = append(actions, o.Action)
	}
	for _, want := range []string{"comms.consult.open", "comms.consult.mute", "comms.consult.unmute", "comms.consult.kick"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit has %v, not %s", actions, want)
		}
	}
}

// FP-151, FP-156: chat is kept with the event, for its retrospection; only
// current members may speak.
func TestChatKeptWithTheEvent(t *testing.T) {
	r := openRig(t)
	if rec := r.h.do(t, r.insp, "POST", "/comms/v1/consults/"+r.consult.ID+"/messages", map[string]string{"body": "  "}); rec.Code != http.StatusBadRequest ||
		!strings.Contains(rec.Body.String(), "请输入消息内容") {
		t.Errorf("a blank message: %d %s", rec.Code, rec.Body)
	}
	for _, m := range []struct{ who, body string }{{r.insp, "已到达现场"}, {r.host, "请拍照取证"}} {
		if rec := r.h.do(t, m.who, "POST", "/comms/v1/consults/"+r.consult.ID+"/messages", map[string]string{"body": m.body}); rec.Code != http.StatusCreated {
			t.Fatalf("say %q: %d %s", m.body, rec.Code, rec.Body)
		}
	}
	stranger := r.h.iss.Bearer(person("insp-9", "未受邀", PermConsult+":view", PermConsult+":join"))
	if rec := r.h.do(t, stranger, "POST", "/comms/v1/consults/"+r.consult.ID+"/messages", map[string]string{"body": "我也来"}); rec.Code != http.StatusForbidden {
		t.Errorf("a non-member spoke: %d", rec.Code)
	}
	rec := r.h.do(t, r.host, "GET", "/comms/v1/events/"+r.consult.EventID+"/messages", nil)
	got := decode[struct{ Items []Message }](t, rec.Body.Bytes())
	if rec.Code != http.StatusOK || len(got.Items) != 2 || got.Items[0].Body != "已到达现场" || got.Items[0].SenderName != "检查员乙" ||
		got.Items[1].EventID != r.consult.EventID {
		t.Fatalf("the event's chat: %d %s", rec.Code, rec.Body)
	}
}
