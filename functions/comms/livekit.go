package comms

import (
	"context"
	"errors"
	"time"

	"github.com/twitchtv/twirp"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/sjzamr/smartreg/shared/errs"
)

// Member roles, and the LiveKit grants each one carries (FP-151). The grant
// is enforced by the LiveKit server, not by us: an observer's client that
// tries to publish is refused there.
const (
	RoleHost     = "host"
	RoleMember   = "member"
	RoleObserver = "observer"
)

// Grants is what a role may do in the room, as put into its token.
type Grants struct {
	Publish     bool `json:"publish"`
	Subscribe   bool `json:"subscribe"`
	PublishData bool `json:"publish_data"`
	Admin       bool `json:"admin"`
}

// RoleGrants maps each member role to its grants.
var RoleGrants = map[string]Grants{
	RoleHost:     {Publish: true, Subscribe: true, PublishData: true, Admin: true},
	RoleMember:   {Publish: true, Subscribe: true, PublishData: true},
	RoleObserver: {Subscribe: true},
}

// liveKit is the room service client and the token signer for one server.
type liveKit struct {
	url, key, secret string
	rooms            *lksdk.RoomServiceClient
	ttl              time.Duration
}

func newLiveKit(c Config) *liveKit {
	return &liveKit{url: c.LiveKitURL, key: c.LiveKitKey, secret: c.LiveKitSecret, ttl: c.TokenTTL,
		rooms: lksdk.NewRoomServiceClient(c.LiveKitURL, c.LiveKitKey, c.LiveKitSecret)}
}

// unavailable turns a LiveKit failure into the error the caller sees.
func unavailable(err error) error {
	return errs.Wrap(errs.Unavailable, "音视频服务（LiveKit）暂不可用，请稍后重试", err)
}

func (l *liveKit) createRoom(ctx context.Context, room, metadata string, max int) error {
	_, err := l.rooms.CreateRoom(ctx, &livekit.CreateRoomRequest{Name: room, Metadata: metadata,
		MaxParticipants: uint32(max), EmptyTimeout: 600, DepartureTimeout: 60})
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// token mints a participant token: the identity is our user id, so what the
// room service reports maps back to our members.
func (l *liveKit) token(room, identity, name, role string) (string, error) {
	g := RoleGrants[role]
	vg := &auth.VideoGrant{RoomJoin: true, Room: room, RoomAdmin: g.Admin}
	vg.SetCanPublish(g.Publish)
	vg.SetCanSubscribe(g.Subscribe)
	vg.SetCanPublishData(g.PublishData)
	return auth.NewAccessToken(l.key, l.secret).SetIdentity(identity).SetName(name).
		SetMetadata(`{"role":"` + role + `"}`).SetVideoGrant(vg).SetValidFor(l.ttl).ToJWT()
}

// recorderToken is the recording bot's: hidden from the other members,
// marked as a recorder, subscribe only.
func (l *liveKit) recorderToken(room, identity string) (string, error) {
	vg := &auth.VideoGrant{RoomJoin: true, Room: room, Hidden: true, Recorder: true}
	vg.SetCanPublish(false)
	vg.SetCanSubscribe(true)
	vg.SetCanPublishData(false)
	return auth.NewAccessToken(l.key, l.secret).SetIdentity(identity).SetName("录音").
		SetVideoGrant(vg).SetValidFor(l.ttl).ToJWT()
}

// Participant is one participant the LiveKit server has in a room.
type Participant struct {
	Identity   string       `json:"identity"`
	Name       string       `json:"name"`
	CanPublish bool         `json:"can_publish"`
	Tracks     []TrackState `json:"tracks"`
}

// TrackState is one published track and whether it is muted.
type TrackState struct {
	SID   string `json:"sid"`
	Kind  string `json:"kind"`
	Muted bool   `json:"muted"`
}

func (l *liveKit) participants(ctx context.Context, room string) ([]Participant, error) {
	res, err := l.rooms.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: room})
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]Participant, 0, len(res.Participants))
	for _, p := range res.Participants {
		if p.Permission.GetHidden() || p.Permission.GetRecorder() {
			continue // the recorder bot is no member
		}
		q := Participant{Identity: p.Identity, Name: p.Name, CanPublish: p.Permission.GetCanPublish(), Tracks: []TrackState{}}
		for _, t := range p.Tracks {
			q.Tracks = append(q.Tracks, TrackState{SID: t.Sid, Kind: kindName(t.Type), Muted: t.Muted})
		}
		out = append(out, q)
	}
	return out, nil
}

func kindName(t livekit.TrackType) string {
	switch t {
	case livekit.TrackType_AUDIO:
		return "audio"
	case livekit.TrackType_VIDEO:
		return "video"
	}
	return "data"
}

// kick removes the participant from the room; not being in it is no error,
// since the member's row is what keeps them out afterwards.
func (l *liveKit) kick(ctx context.Context, room, identity string) error {
	_, err := l.rooms.RemoveParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: identity})
	if err != nil && !isNotFound(err) {
		return unavailable(err)
	}
	return nil
}

// mute mutes or unmutes every audio track the participant publishes and
// returns how many it changed.
func (l *liveKit) mute(ctx context.Context, room, identity string, muted bool) (int, error) {
	p, err := l.rooms.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: identity})
	if isNotFound(err) {
		return 0, errs.New(errs.Conflict, "该成员当前不在会商房间中")
	}
	if err != nil {
		return 0, unavailable(err)
	}
	n := 0
	for _, t := range p.Tracks {
		if t.Type != livekit.TrackType_AUDIO {
			continue
		}
		if _, err := l.rooms.MutePublishedTrack(ctx, &livekit.MuteRoomTrackRequest{Room: room, Identity: identity,
			TrackSid: t.Sid, Muted: muted}); err != nil {
			return n, unavailable(err)
		}
		n++
	}
	return n, nil
}

// say puts a chat line on the room's data channel, so that those in the
// room see it at once; the stored row is the record.
func (l *liveKit) say(ctx context.Context, room string, payload []byte) error {
	_, err := l.rooms.SendData(ctx, &livekit.SendDataRequest{Room: room, Data: payload,
		Kind: livekit.DataPacket_RELIABLE, Topic: ptr("chat")})
	return err
}

func ptr[T any](v T) *T { return &v }

// isNotFound reports LiveKit's twirp "not_found" (no such participant or room).
func isNotFound(err error) bool {
	var te twirp.Error
	return errors.As(err, &te) && te.Code() == twirp.NotFound
}
