package dispatch

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// A stream reads the feed in commit order, not seq order. seq is taken at
// insert and rows commit in any order, so "seq > last sent" would skip a
// row with a small seq that commits after a larger one is sent; a lock
// making seq order commit order serialised every writer's commit. Instead
// the cursor is a PostgreSQL snapshot (pg_snapshot, "xmin:xmax:xip,..."):
// a stream has sent every row whose writer is visible in lo, i.e. has
// committed by then; what is new is exactly the rows whose xid is not
// visible in lo (xid >= xmax(lo) or xid in xip(lo)), both index ranges on
// feed_xid. A read is bounded by its own snapshot hi; when a page of rows
// fills, the stream goes on inside (lo, hi] after seq, and only when the
// pages end does lo become hi.
type cursor struct {
	lo  string // snapshot: rows visible in it are sent
	hi  string // "" or the snapshot the current pages are bounded by
	seq int64  // with hi: rows in (lo, hi] up to seq are sent
}

var snapshotRe = regexp.MustCompile(`^[0-9]{1,20}:[0-9]{1,20}:([0-9]{1,20}(,[0-9]{1,20})*)?$`)

// String is the SSE id of the item a stream sent last.
func (c cursor) String() string {
	if c.hi == "" {
		return c.lo
	}
	return c.lo + "~" + c.hi + "~" + strconv.FormatInt(c.seq, 10)
}

func parseCursor(s string) (cursor, bool) {
	parts := strings.Split(s, "~")
	switch len(parts) {
	case 1:
		return cursor{lo: s}, snapshotRe.MatchString(s)
	case 3:
		seq, err := strconv.ParseInt(parts[2], 10, 64)
		return cursor{lo: parts[0], hi: parts[1], seq: seq},
			err == nil && snapshotRe.MatchString(parts[0]) && snapshotRe.MatchString(parts[1])
	}
	return cursor{}, false
}

// startCursor is where a stream begins. With a cursor from Last-Event-ID,
// there. With a bare seq (an older client's id, or ?since=), at the rows
// after it. Without either, at the rows since from (the last hour's
// alarms on a freshly opened map). A synthetic snapshot "X:X:" counts
// every xid below X as sent; X is never above the oldest running
// transaction's xid, whose row may still commit.
func (f *Function) startCursor(ctx context.Context, last string, from time.Time) (cursor, error) {
	if last != "" {
		if c, ok := parseCursor(last); ok {
			return c, nil
		}
		seq, err := strconv.ParseInt(last, 10, 64)
		if err != nil || seq < 0 {
			return cursor{}, errs.New(errs.Invalid, "Last-Event-ID（或 since）无法识别，请不带它重新连接")
		}
		return f.syntheticCursor(ctx, `seq > $1`, seq)
	}
	return f.syntheticCursor(ctx, `at >= $1`, from)
}

func (f *Function) syntheticCursor(ctx context.Context, cond string, arg any) (cursor, error) {
	var x string
	err := f.pool.QueryRow(ctx, `SELECT least((SELECT min(xid) FROM dispatch.feed WHERE `+cond+`),
		pg_snapshot_xmin(pg_current_snapshot()))::text`, arg).Scan(&x)
	if err != nil {
		return cursor{}, store.Classify(err)
	}
	return cursor{lo: x + ":" + x + ":"}, nil
}

// feedRead returns up to limit rows after c in the caller's scope, in seq
// order, each with the cursor that stands just after it, and the cursor
// after the read (which moves even when nothing is new).
func (f *Function) feedRead(ctx context.Context, s auth.Scope, c cursor, floor time.Time, limit int) ([]FeedItem, []cursor, cursor, error) {
	var hi any
	if c.hi != "" {
		hi = c.hi
	}
	args := []any{c.lo, hi, c.seq, limit, floor}
	q := `SELECT s.snap::text, f.seq, f.kind, f.payload, f.at
		FROM (SELECT coalesce($2::text::pg_snapshot, pg_current_snapshot()) AS snap) s
		LEFT JOIN LATERAL (
			SELECT seq, kind, payload, at FROM dispatch.feed
			WHERE (xid >= pg_snapshot_xmax($1::text::pg_snapshot) OR xid = ANY (ARRAY(SELECT pg_snapshot_xip($1::text::pg_snapshot))))
				AND pg_visible_in_snapshot(xid, s.snap) AND seq > $3 AND at >= $5 AND ` + s.Filter("district", "township", &args) + `
			ORDER BY seq LIMIT $4) f ON true
		ORDER BY f.seq`
	rows, err := f.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, nil, c, store.Classify(err)
	}
	defer rows.Close()
	var items []FeedItem
	var snap string
	for rows.Next() {
		var seq *int64
		var kind *string
		var it FeedItem
		var at *time.Time
		if err := rows.Scan(&snap, &seq, &kind, &it.Payload, &at); err != nil {
			return nil, nil, c, store.Classify(err)
		}
		if seq != nil { // nil: the snapshot alone, nothing new
			it.Seq, it.Kind, it.At = *seq, *kind, *at
			items = append(items, it)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, c, store.Classify(err)
	}
	if snap == "" {
		return nil, nil, c, fmt.Errorf("dispatch: feed read returned no snapshot")
	}
	ids := make([]cursor, len(items))
	for i, it := range items {
		ids[i] = cursor{lo: c.lo, hi: snap, seq: it.Seq}
	}
	next := cursor{lo: snap}
	if len(items) == limit {
		next = ids[len(ids)-1] // more may follow inside (lo, hi]
	} else if len(items) > 0 {
		ids[len(ids)-1] = next
	}
	return items, ids, next, nil
}
