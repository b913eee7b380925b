package identity

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"github.com/sjzamr/smartreg/shared/store"
)

// Actor is who performs a command, for checks and the operation log.
type Actor struct {
	UserID, Username, IP, Device string
	SessionID                    string
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
