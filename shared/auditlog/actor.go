package auditlog

import (
	"context"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// Actor is who made a change: the signed-in user and the client address,
// or the function itself for changes driven by events and schedules.
// Functions pass it from the handler to the method that opens the
// transaction, so the operation row names the person.
type Actor struct {
	UserID, Username, IP string
}

// System is the actor of changes no person made (an event consumer, a
// scheduled job); Username says which.
func System(name string) Actor { return Actor{Username: "system:" + name} }

// ActorOf is the request's caller: its principal (when verified) and its
// client IP.
func ActorOf(r *http.Request) Actor {
	a := Actor{IP: httpx.ClientIP(r)}
	if p, ok := auth.FromContext(r.Context()); ok {
		a.UserID, a.Username = p.UserID, p.Username
	}
	return a
}

// RecordBy is Record with op's user and address taken from a.
func RecordBy(ctx context.Context, tx pgx.Tx, source string, a Actor, op Operation) error {
	op.UserID, op.Username, op.IP = a.UserID, a.Username, a.IP
	return Record(ctx, tx, source, op)
}
