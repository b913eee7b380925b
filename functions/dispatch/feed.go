package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// feedChannel is the NOTIFY channel a feed row's transaction signals.
const feedChannel = "dispatch_feed"

// hub wakes this replica's open streams. A wake carries no data: each
// stream reads the feed rows after its last one, within its scope.
type hub struct {
	mu      sync.Mutex
	clients map[chan struct{}]struct{}
	closed  chan struct{}
	once    sync.Once
}

func newHub() *hub { return &hub{clients: map[chan struct{}]struct{}{}, closed: make(chan struct{})} }

func (h *hub) add() chan struct{} {
	c := make(chan struct{}, 1)
	h.mu.Lock()
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	return c
}

func (h *hub) remove(c chan struct{}) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
}

func (h *hub) wake() {
	h.mu.Lock()
	for c := range h.clients {
		select {
		case c <- struct{}{}:
		default: // already woken; it will read everything new
		}
	}
	h.mu.Unlock()
}

func (h *hub) close() { h.once.Do(func() { close(h.closed) }) }

// listen holds one connection LISTENing on the feed channel and wakes the
// streams on each notification; it reconnects after an error, waking the
// streams then too (a notification may have been missed meanwhile).
func (f *Function) listen(ctx context.Context) {
	for ctx.Err() == nil {
		err := func() error {
			conn, err := f.pool.Acquire(ctx)
			if err != nil {
				return err
			}
			defer conn.Release()
			if _, err := conn.Exec(ctx, "LISTEN "+feedChannel); err != nil {
				return err
			}
			f.hub.wake()
			for {
				if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
					conn.Conn().Close(context.Background()) // not back to the pool still listening
					return err
				}
				f.hub.wake()
			}
		}()
		if ctx.Err() == nil {
			f.log.Warn("dispatch feed listener", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// FeedItem is one row of the live feed as a stream sends it.
type FeedItem struct {
	Seq     int64           `json:"seq"`
	Kind    string          `json:"kind"`
	Payload json.RawMessage `json:"payload"`
	At      time.Time       `json:"at"`
}

// stream is the centre's live feed (FP-146): SSE "alarm" (and later
// "event", "task") items in the caller's scope, each once, in commit
// order (feedcursor.go). With Last-Event-ID (or ?since=) it first replays
// what the client missed; without it, it starts with the last hour's rows.
// An item's id is the cursor just after it; data.seq identifies the row.
func (f *Function) stream(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	ctx := r.Context()
	wake := f.hub.add()
	defer f.hub.remove(wake)
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("since")
	}
	var floor time.Time
	if last == "" {
		floor = f.now().Add(-time.Hour)
	}
	cur, err := f.startCursor(ctx, last, floor)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, "retry: 2000\nevent: ready\ndata: {}\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	keep := time.NewTicker(f.cfg.KeepAlive)
	defer keep.Stop()
	maxAge := time.NewTimer(30*time.Minute + time.Duration(rand.Int64N(int64(3*time.Minute))))
	defer maxAge.Stop()
	send := func() error {
		for {
			bounded := cur.hi != "" // a page inside an older read: what is newer needs a fresh one
			items, ids, next, err := f.feedRead(ctx, p.Scope, cur, floor, 200)
			if err != nil {
				return err
			}
			for i, it := range items {
				raw, _ := json.Marshal(it)
				if _, err := fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", ids[i], it.Kind, raw); err != nil {
					return err
				}
			}
			cur = next
			if err := rc.Flush(); err != nil {
				return err
			}
			if len(items) < 200 && !bounded {
				return nil
			}
		}
	}
	if send() != nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.hub.closed:
			return
		case <-maxAge.C:
			return
		case <-keep.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
			// A missed notification (listener reconnecting) costs at most
			// one keep-alive period, never an alarm.
			if send() != nil {
				return
			}
		case <-wake:
			if send() != nil {
				return
			}
		}
	}
}
