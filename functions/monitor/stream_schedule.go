package monitor

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/notify"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
)

// FP-89: each stream is checked on its own interval. The schedule only
// asks (one monitor.stream.check.requested per due stream, in the tick's
// transaction); a check samples up to ten minutes of captions, so it runs
// in a delivery of its own and instances scale with the requests.

// RequestDueChecks moves every due stream's next check one interval on
// and records a check request for it, in tx. Rows another instance holds
// are skipped: it asks for them.
func (f *Function) RequestDueChecks(ctx context.Context, tx pgx.Tx) (int, error) {
	now := f.now()
	rows, err := tx.Query(ctx, `UPDATE monitor.streams s SET next_check_at = $1 + s.every_minutes * interval '1 minute'
		FROM (SELECT id FROM monitor.streams WHERE next_check_at <= $1 ORDER BY next_check_at LIMIT 500 FOR UPDATE SKIP LOCKED) due
		WHERE s.id = due.id RETURNING s.id`, now)
	if err != nil {
		return 0, store.Classify(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, store.Classify(err)
	}
	due := now.Format(time.RFC3339)
	for _, id := range ids {
		e, err := outbox.NewEvent(Source, events.MonitorStreamCheckRequested, strconv.FormatInt(id, 10),
			events.MonitorStreamCheckRequestedData{StreamID: id, Due: due}, now)
		if err != nil {
			return 0, err
		}
		if err := outbox.Record(ctx, tx, e); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// receiveCheck checks the stream a request names. A stream deleted since is
// acknowledged; a stream that cannot be read (no caption track, the
// source down) has its reason stored by CheckStream and is not retried:
// the next interval asks again.
func (f *Function) receiveCheck(ctx context.Context, e event.Event) error {
	d, err := events.Decode[events.MonitorStreamCheckRequestedData](e)
	if err != nil {
		return err
	}
	s, err := scanStream(f.pool.QueryRow(ctx, `SELECT `+streamCols+` FROM monitor.streams WHERE id = $1`, d.StreamID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return store.Classify(err)
	}
	if _, err := f.CheckStream(ctx, s); err != nil {
		f.log.WarnContext(ctx, "scheduled stream check failed", "stream", s.ID, "err", err)
	}
	return nil
}

// alertNewClues tells whoever added the stream of the clues a check added
// (FP-89 alerts), in the check's transaction: once per check with new
// clues, never for clues found before.
func alertNewClues(ctx context.Context, tx pgx.Tx, s Stream, added int, now time.Time) error {
	if added == 0 || s.CreatedByID == "" {
		return nil
	}
	return notify.Post(ctx, tx, Source, notify.Notice{Title: "直播监测发现 " + strconv.Itoa(added) + " 处疑似违法：" + s.Platform + " " + s.Account,
		Body:  "“" + s.Title + "”的标题或字幕命中监测规则，请在监测线索中研判。",
		Level: notify.LevelWarning, Kind: "monitor_stream_clue", Link: "/console/#/monitor/streams", Popup: true,
		UserIDs: []string{s.CreatedByID}, Subject: "stream/" + strconv.FormatInt(s.ID, 10), At: now})
}

// principalID is the caller's user id ("" without a principal).
func principalID(r *http.Request) string {
	if p, ok := auth.FromContext(r.Context()); ok {
		return p.UserID
	}
	return ""
}
