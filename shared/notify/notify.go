// Package notify lets any function post a notice to the message centre
// (the notify function, FP-128, FP-129) without calling it: Post records a
// cn.gov.sjz.amr.notify.notice.requested.v1 event in the caller's
// transaction, so the notice goes out exactly when the change that caused
// it commits, and notify delivers it to users, departments, roles or
// everyone.
package notify

import (
	"context"
	"errors"
	"net/url"
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

// Warning levels (预警级别, FP-129): a notice with one is a warning, shown
// on the warning board with acknowledgement and handling, not in the
// message centre.
const (
	WarningRed    = "red"    // 红色预警
	WarningOrange = "orange" // 橙色预警
	WarningYellow = "yellow" // 黄色预警
	WarningBlue   = "blue"   // 蓝色预警
)

// Notice is what a producer asks to deliver. At least one target is needed:
// All, or some UserIDs, DeptIDs or Roles (role codes such as "secadmin").
type Notice struct {
	Title string
	Body  string
	Level string // info (default) | warning | alert
	Kind  string // producer-defined category, e.g. "security_alert"
	Link  string // console path to open: relative ("/console/#/…"), see CheckLink
	Popup bool   // show in the side pop-up after login until read

	// WarningLevel makes it a warning (one of the Warning* levels);
	// WarningKind is its category for readers ("食品安全").
	WarningLevel string
	WarningKind  string

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
	switch n.WarningLevel {
	case "", WarningRed, WarningOrange, WarningYellow, WarningBlue:
	default:
		return errors.Join(ErrInvalid, errors.New("unknown warning level "+n.WarningLevel))
	}
	if n.WarningKind != "" && n.WarningLevel == "" {
		return errors.Join(ErrInvalid, errors.New("warning kind without a warning level"))
	}
	if utf8.RuneCountInString(n.WarningKind) > 50 {
		return errors.Join(ErrInvalid, errors.New("warning kind longer than 50 characters"))
	}
	// A producer knows no allow-list: only a path of this site.
	if err := CheckLink(n.Link, nil); err != nil {
		return errors.Join(ErrInvalid, err)
	}
	return nil
}

// ErrLink is a notice link that is neither a path of this site nor on the
// allow-list.
var ErrLink = errors.New("notify: link is not a relative path or an allowed address")

// CheckLink accepts the links a notice may carry (issue 10: a link is
// clicked by a logged-in user, so javascript:, data: or a look-alike
// external address would turn a notice into phishing): "" (none), a path
// of this site ("/console/#/messages", never "//host", which browsers read
// as another site), or an absolute https address whose origin
// ("https://host[:port]") is in allowed. Whitespace, control characters
// and backslashes (which browsers turn into slashes) are refused anywhere.
func CheckLink(link string, allowed []string) error {
	if link == "" {
		return nil
	}
	if utf8.RuneCountInString(link) > 2000 || strings.ContainsAny(link, "\\ \t\r\n") || strings.ContainsFunc(link, func(r rune) bool {
		return r < 0x20 || r == 0x7f || r == utf8.RuneError
	}) {
		return ErrLink
	}
	u, err := url.Parse(link)
	if err != nil {
		return ErrLink
	}
	if u.Scheme == "" && u.Host == "" && u.User == nil {
		if strings.HasPrefix(link, "/") && !strings.HasPrefix(link, "//") {
			return nil
		}
		return ErrLink
	}
	if u.Scheme != "https" || u.Host == "" || u.User != nil || u.Opaque != "" {
		return ErrLink
	}
	origin := "https://" + strings.ToLower(u.Host)
	for _, a := range allowed {
		if strings.EqualFold(strings.TrimRight(strings.TrimSpace(a), "/"), origin) {
			return nil
		}
	}
	return ErrLink
}

// Data converts the notice to the event payload; source is the producing
// function's CloudEvent source, e.g. "/functions/registry".
func (n Notice) Data(source string) events.NoticeRequestedData {
	level := n.Level
	if level == "" {
		level = LevelInfo
	}
	at := n.At
	if at.IsZero() {
		at = time.Now()
	}
	return events.NoticeRequestedData{
		Title: strings.TrimSpace(n.Title), Body: n.Body, Level: level, Kind: n.Kind, Link: n.Link, Popup: n.Popup,
		Target:       events.NoticeTarget{All: n.All, UserIDs: n.UserIDs, DeptIDs: n.DeptIDs, Roles: n.Roles},
		WarningLevel: n.WarningLevel, WarningKind: strings.TrimSpace(n.WarningKind),
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
	e, err := outbox.NewEvent(source, events.NotifyNoticeRequested, n.Subject, d, d.RequestedAt)
	if err != nil {
		return err
	}
	return outbox.Record(ctx, tx, e)
}
