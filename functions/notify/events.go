package notify

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/errs"
	sharednotify "github.com/sjzamr/smartreg/shared/notify"
	"github.com/sjzamr/smartreg/shared/outbox"
)

// Receive stores a requested notice once per event id and pushes it to
// the open consoles it targets. It takes the notify.notice.requested type
// and, for events recorded before the split and still on their way, the
// old identity.notice.requested (the same payload).
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != events.NotifyNoticeRequested && e.Type() != events.IdentityNoticeRequested {
		return nil, nil
	}
	d, err := events.Decode[events.NoticeRequestedData](e)
	if err != nil {
		return nil, err
	}
	d.Title = strings.TrimSpace(d.Title)
	if d.Level == "" {
		d.Level = sharednotify.LevelInfo
	}
	n := sharednotify.Notice{Title: d.Title, Body: d.Body, Level: d.Level, All: d.Target.All,
		UserIDs: d.Target.UserIDs, DeptIDs: d.Target.DeptIDs, Roles: d.Target.Roles, WarningLevel: d.WarningLevel, WarningKind: d.WarningKind}
	if err := n.Validate(); err != nil {
		return nil, errs.Wrap(errs.Invalid, "通知内容不完整", err)
	}
	// A link that is neither a path of this site nor allowed is dropped,
	// not the notice: the message still arrives, without the way to a
	// phishing page (issue 10).
	if err := sharednotify.CheckLink(d.Link, f.allow); err != nil {
		f.log.WarnContext(ctx, "notify: notice link refused", "link", d.Link, "producer", d.Producer, "event_id", e.ID())
		d.Link = ""
	}
	at := d.RequestedAt
	if at.IsZero() {
		at = f.now()
	}
	if d.WarningLevel != "" {
		return nil, f.receiveWarning(ctx, e, at, d)
	}
	var out Notice
	var stored bool
	_, err = outbox.Once(ctx, f.pool, Consumer, e, func(tx pgx.Tx) error {
		var err error
		out, stored, err = insertNotice(ctx, tx, e.ID(), at, d)
		return err
	})
	if err != nil || !stored {
		return nil, err
	}
	t := d.Target
	f.publish(ctx, message{Kind: "notice", Notice: &out, Target: &t})
	return nil, nil
}

// receiveWarning stores a warning (FP-129) once per event and pushes it
// to its addressees' open consoles.
func (f *Function) receiveWarning(ctx context.Context, e event.Event, at time.Time, d events.NoticeRequestedData) error {
	var out Warning
	var stored bool
	_, err := outbox.Once(ctx, f.pool, Consumer, e, func(tx pgx.Tx) error {
		var err error
		out, stored, err = insertWarning(ctx, tx, e.ID(), at, d)
		return err
	})
	if err != nil || !stored {
		return err
	}
	t := d.Target
	f.publish(ctx, message{Kind: "warning", Warning: &out, Target: &t})
	return nil
}

// publish fans a message out to every replica. A lost publish only delays
// the notice until the console's next unread-count read or reconnect, so
// it is logged, not failed.
func (f *Function) publish(ctx context.Context, m message) {
	raw, err := json.Marshal(m)
	if err == nil {
		err = f.rdb.Publish(ctx, f.cfg.Channel, raw).Err()
	}
	if err != nil {
		f.log.WarnContext(ctx, "notify: publish failed", "err", err)
	}
}
