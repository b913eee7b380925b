package notify

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
)

// message is what travels on the Redis channel: a new notice with its
// targets, or a user's changed unread count (another tab read something).
type message struct {
	Kind   string  `json:"kind"` // "notice" | "unread" | "warning" | "warning_state"
	Notice *Notice `json:"notice,omitempty"`
	// Warning is a new warning (FP-129) or one whose state changed; it
	// reaches the streams of its addressees, as a notice does.
	Warning *Warning             `json:"warning,omitempty"`
	Target  *events.NoticeTarget `json:"target,omitempty"`
	UserID  string               `json:"user_id,omitempty"`
	Unread  int                  `json:"unread,omitempty"`
}

// Matches reports whether a notice aimed at t reaches p, by the claims of
// p's access token: its user id, its department, its role codes.
// Department targets do not reach sub-departments.
func Matches(t events.NoticeTarget, p *auth.Principal) bool {
	if p == nil {
		return false
	}
	if t.All || slices.Contains(t.UserIDs, p.UserID) || (p.DeptID != "" && slices.Contains(t.DeptIDs, p.DeptID)) {
		return true
	}
	for _, r := range p.Roles {
		if slices.Contains(t.Roles, r) {
			return true
		}
	}
	return false
}

// hub is one replica's Redis subscription and its open streams.
type hub struct {
	rdb     *redis.Client
	channel string
	log     *slog.Logger

	mu      sync.Mutex
	clients map[*client]struct{}
	cancel  context.CancelFunc
	ready   chan struct{} // closed once the subscription is confirmed
	closed  bool
	done    chan struct{} // closed by close: open streams end, so shutdown is not held up
}

type client struct {
	p  *auth.Principal
	ch chan message
}

func newHub(rdb *redis.Client, channel string, log *slog.Logger) *hub {
	return &hub{rdb: rdb, channel: channel, log: log, clients: map[*client]struct{}{}, done: make(chan struct{})}
}

// subscribeWait bounds how long a stream waits for the subscription before
// the browser is told to retry.
const subscribeWait = 5 * time.Second

// add registers a stream, subscribing on first use; it returns once the
// subscription is live, so nothing published after add returns is missed.
func (h *hub) add(ctx context.Context, p *auth.Principal) (*client, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, errs.New(errs.Unavailable, "消息服务正在关闭，请稍后重试")
	}
	if h.cancel == nil {
		h.start()
	}
	ready := h.ready
	c := &client{p: p, ch: make(chan message, 16)}
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	wait := time.NewTimer(subscribeWait)
	defer wait.Stop()
	select {
	case <-ready:
		return c, nil
	case <-wait.C: // Redis unreachable: tell the browser, which retries
		h.remove(c)
		return nil, errs.New(errs.Unavailable, "实时消息服务暂不可用，请稍后重试")
	case <-ctx.Done():
		h.remove(c)
		return nil, ctx.Err()
	}
}

func (h *hub) remove(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
}

// streams is how many streams this replica holds.
func (h *hub) streams() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// start runs the subscription loop; called with mu held.
func (h *hub) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.ready = make(chan struct{})
	ready := h.ready
	go func() {
		var once sync.Once
		for ctx.Err() == nil {
			ps := h.rdb.Subscribe(ctx, h.channel)
			if _, err := ps.Receive(ctx); err != nil { // the subscription confirmation
				_ = ps.Close()
				if ctx.Err() == nil {
					h.log.Warn("notify: subscribe failed, retrying", "err", err)
					select {
					case <-ctx.Done():
					case <-time.After(time.Second):
					}
				}
				continue
			}
			once.Do(func() { close(ready) })
			// go-redis reconnects a broken subscription by itself; the
			// channel closes only when ps is closed, which ctx ending does.
			stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
			for m := range ps.Channel(redis.WithChannelSize(1000)) {
				var msg message
				if err := json.Unmarshal([]byte(m.Payload), &msg); err != nil {
					h.log.Warn("notify: bad message", "err", err)
					continue
				}
				h.dispatch(msg)
			}
			stop()
			_ = ps.Close()
		}
	}()
}

func (h *hub) dispatch(m message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		switch {
		case (m.Kind == "notice" || m.Kind == "warning" || m.Kind == "warning_state") && m.Target != nil && Matches(*m.Target, c.p):
		case m.Kind == "unread" && m.UserID == c.p.UserID:
		default:
			continue
		}
		select {
		case c.ch <- m:
		default: // a stalled browser must not block the others; it catches up on reconnect
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		close(h.done)
	}
	h.closed = true
	if h.cancel != nil {
		h.cancel()
	}
}
