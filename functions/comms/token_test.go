package comms

import (
	"testing"

	"github.com/livekit/protocol/auth"

	"github.com/sjzamr/smartreg/shared/config"
)

// FP-151: each member role's token carries exactly its grants, for its room
// only, signed with our key (checked with LiveKit's own verifier).
func TestTokenGrantsPerRole(t *testing.T) {
	c := config.Defaults[Config]()
	lk := newLiveKit(c)
	for role, want := range RoleGrants {
		raw, err := lk.token("consult-x", "u-"+role, "名字", role)
		if err != nil {
			t.Fatal(err)
		}
		v, err := auth.ParseAPIToken(raw)
		if err != nil {
			t.Fatal(err)
		}
		if v.APIKey() != c.LiveKitKey || v.Identity() != "u-"+role {
			t.Fatalf("%s: key %q identity %q", role, v.APIKey(), v.Identity())
		}
		if _, _, err := v.Verify("not-our-secret"); err == nil {
			t.Fatalf("%s: a token verified with the wrong secret", role)
		}
		claims, g, err := v.Verify(c.LiveKitSecret)
		if err != nil {
			t.Fatal(err)
		}
		vg := g.Video
		got := Grants{Publish: vg.GetCanPublish(), Subscribe: vg.GetCanSubscribe(), PublishData: vg.GetCanPublishData(), Admin: vg.RoomAdmin}
		if got != want || !vg.RoomJoin || vg.Room != "consult-x" || vg.RoomCreate || vg.RoomList {
			t.Errorf("%s: grants %+v (room %q join %v), want %+v", role, got, vg.Room, vg.RoomJoin, want)
		}
		if ttl := claims.ExpiresAt.Sub(claims.NotBefore.Time); ttl != c.TokenTTL {
			t.Errorf("%s: valid for %s, want %s", role, ttl, c.TokenTTL)
		}
	}
	if RoleGrants[RoleObserver].Publish || !RoleGrants[RoleHost].Admin || RoleGrants[RoleMember].Admin {
		t.Fatal("role grants changed: observers must not publish, only hosts administer")
	}
}
