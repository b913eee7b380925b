package identity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"strings"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Actor is who performs a command, for checks and the operation log.
type Actor struct {
	UserID, Username, IP, Device string
	SessionID                    string
}

// actorFrom reads the caller of an authenticated request.
func actorFrom(r *http.Request) (Actor, error) {
	p, ok := auth.FromContext(r.Context())
	if !ok {
		return Actor{}, errs.New(errs.Unauthorized, auth.MsgLoginRequired)
	}
	return Actor{UserID: p.UserID, Username: p.Username, SessionID: p.SessionID, IP: clientIP(r), Device: r.UserAgent()}, nil
}

// clientIP is the caller's address: the first X-Forwarded-For hop set by
// the ingress, else the socket peer.
func clientIP(r *http.Request) string {
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		first, _, _ := strings.Cut(xff, ",")
		if ip := net.ParseIP(strings.TrimSpace(first)); ip != nil {
			return ip.String()
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// opLog records a change in the caller's transaction (FP-8); before and
// after must already have personal data masked.
func (f *Function) opLog(ctx context.Context, q store.Querier, a Actor, action, objType, objID string, before, after any) error {
	return f.recordOp(ctx, q, opEntry{At: f.now(), UserID: a.UserID, Username: a.Username, IP: a.IP,
		Action: action, ObjectType: objType, ObjectID: objID, Result: "success", Before: before, After: after})
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
