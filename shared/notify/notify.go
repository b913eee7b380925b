// Package notify lets any function post a notice to the identity message
// centre (FP-128, FP-129) without calling identity: Post records a
// cn.gov.sjz.amr.identity.notice.requested.v1 event in the caller's
// transaction, so the notice goes out exactly when the change that caused
// it commits, and identity delivers it to users, departments or roles.
package notify

import (
	"context"
	"errors"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/outbox"
)

// Levels of a notice; the console colours them.
const (
	LevelInfo    = "info"
	LevelWarning = "warning"
	LevelAlert   = "alert"
)

// Notice is what a producer asks to deliver. At least one target is needed:
// All, or some UserIDs, DeptIDs or Roles (role codes such as "secadmin").
type Notice struct {
	Title string
	Body  string
	Level string // info (default) | warning | alert
	Kind  string // producer-defined category, e.g. "security_alert"
	Link  string // console path to open
	Popup bool   // show in the side pop-up after login until read

	All     bool
	UserIDs []string
	DeptIDs []string
	Roles   []string

	// Subject is an optional id placed in the CloudEvent subject (for
	// tracing: the alert or task the notice is about).
	Subject string
	At      time.Time // when it was asked for; zero means now
}

// ErrInvalid is returned for a notice that cannot be delivered.
var ErrInvalid = errors.New("notify: invalid notice")

// Validate reports what makes a notice undeliverable.
func (n Notice) Validate() error {
	switch {
	case strings.TrimSpace(n.Title) == "":
		return errors.Join(ErrInvalid, errors.New("title is empty"))
	case utf8.RuneCountInString(n.Title) > 200:
		return errors.Join(ErrInvalid, errors.New("title longer than 200 characters"))
	case utf8.RuneCountInString(n.Body) > 4000:
		return errors.Join(ErrInvalid, errors.New("body longer than 4000 characters"))
	case !n.All && len(n.UserIDs) == 0 && len(n.DeptIDs) == 0 && len(n.Roles) == 0:
		return errors.Join(ErrInvalid, errors.New("no target"))
	}
	switch n.Level {
	case "", LevelInfo, LevelWarning, LevelAlert:
	default:
		return errors.Join(ErrInvalid, errors.New("unknown level "+n.Level))
	}
	return nil
}

// Data converts the notice to the event payload; source is the producing
// function's CloudEvent source, e.g. "/functions/registry".
func (n Notice) Data(source string) events.IdentityNoticeRequestedData {
	level := n.Level
	if level == "" {
		level = LevelInfo
	}
	at := n.At
	if at.IsZero() {
		at = time.Now()
	}
	return events.IdentityNoticeRequestedData{
		Title: strings.TrimSpace(n.Title), Body: n.Body, Level: level, Kind: n.Kind, Link: n.Link, Popup: n.Popup,
		Target:      events.NoticeTarget{All: n.All, UserIDs: n.UserIDs, DeptIDs: n.DeptIDs, Roles: n.Roles},
		Producer:    path.Base(source),
		RequestedAt: at.UTC(),
	}
}

// Post records the notice request in tx. It is delivered only if tx commits.
func Post(ctx context.Context, tx pgx.Tx, source string, n Notice) error {
	if err := n.Validate(); err != nil {
		return err
	}
	d := n.Data(source)
	e, err := outbox.NewEvent(source, events.IdentityNoticeRequested, n.Subject, d, d.RequestedAt)
	if err != nil {
		return err
	}
	return outbox.Record(ctx, tx, e)
}
