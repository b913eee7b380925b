// Package notify is identity's message centre (FP-128, FP-129): notices
// any function posts through the identity.notice.requested event (see
// shared/notify), targeted at users, departments or roles; unread counts,
// mark read, a pop-up flag for the side pop-up after login, and realtime
// delivery to open consoles over Server-Sent Events, fanned out across
// replicas through Redis pub/sub.
package notify

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	sharednotify "github.com/sjzamr/smartreg/shared/notify"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migration creates the notice tables in schema identity.
func Migration() store.Migration {
	return store.Migration{Component: "identity-notify", FS: migrations, Dir: "migrations"}
}

// Consumer is the inbox name notice events are deduplicated under.
const Consumer = "identity-notify"

// DefaultChannel is the Redis pub/sub channel of realtime delivery.
const DefaultChannel = "smartreg:identity:notices"

// Config is the operator's settings; config.Load fills it from the
// environment.
type Config struct {
	// Channel is the Redis pub/sub channel; change it only to separate two
	// platforms sharing one Redis.
	Channel string `env:"NOTIFY_CHANNEL" default:"smartreg:identity:notices" help:"实时消息 Redis 频道（同一 Redis 上部署两套平台时区分）"`
	// KeepAlive is the SSE comment interval that keeps proxies from
	// closing an idle stream.
	KeepAlive time.Duration `env:"NOTIFY_SSE_KEEPALIVE" default:"25s" help:"实时消息连接保活间隔"`
	// MaxStreamAge closes a stream so the browser reconnects and its token
	// is verified again: a revoked session stops receiving within this time.
	// It stays under Knative's default request timeout (300 s), which would
	// otherwise cut the stream with an error.
	MaxStreamAge time.Duration `env:"NOTIFY_SSE_MAX_AGE" default:"4m" help:"实时消息连接最长保持时间，到期后浏览器自动重连并重新校验令牌"`
}

// DefaultConfig is what a fresh installation runs with.
func DefaultConfig() Config {
	return Config{Channel: DefaultChannel, KeepAlive: 25 * time.Second, MaxStreamAge: 4 * time.Minute}
}

// Deps is what the message centre needs.
type Deps struct {
	Logger *slog.Logger
	Pool   *pgxpool.Pool
	Redis  *redis.Client
	Now    func() time.Time
	Config Config
}

// Service is the message centre.
type Service struct {
	log  *slog.Logger
	pool *pgxpool.Pool
	rdb  *redis.Client
	now  func() time.Time
	cfg  Config
	hub  *hub
}

// New checks the dependencies and builds the service. Nothing runs until
// the first stream connects; Close stops the Redis subscription.
func New(d Deps) (*Service, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("notify: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("notify: Pool is required")
	case d.Redis == nil:
		return nil, errors.New("notify: Redis is required")
	case d.Now == nil:
		return nil, errors.New("notify: Now is required")
	}
	c := d.Config
	def := DefaultConfig()
	if c.Channel == "" {
		c.Channel = def.Channel
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = def.KeepAlive
	}
	if c.MaxStreamAge <= 0 {
		c.MaxStreamAge = def.MaxStreamAge
	}
	s := &Service{log: d.Logger, pool: d.Pool, rdb: d.Redis, now: d.Now, cfg: c}
	s.hub = newHub(d.Redis, c.Channel, d.Logger)
	return s, nil
}

// Close stops realtime delivery on this replica.
func (s *Service) Close() { s.hub.close() }

// Ready answers when the database and Redis do.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return err
	}
	return s.rdb.Ping(ctx).Err()
}

// Notice is a notice as a reader sees it.
type Notice struct {
	ID        int64      `json:"id"`
	Title     string     `json:"title"`
	Body      string     `json:"body"`
	Level     string     `json:"level"`
	Kind      string     `json:"kind"`
	Link      string     `json:"link"`
	Popup     bool       `json:"popup"`
	Producer  string     `json:"producer"`
	CreatedAt time.Time  `json:"created_at"`
	Read      bool       `json:"read"`
	ReadAt    *time.Time `json:"read_at,omitempty"`
}

// message is what travels on the Redis channel: a new notice with its
// targets, or a user's changed unread count (another tab read something).
type message struct {
	Kind   string               `json:"kind"` // "notice" | "unread"
	Notice *Notice              `json:"notice,omitempty"`
	Target *events.NoticeTarget `json:"target,omitempty"`
	UserID string               `json:"user_id,omitempty"`
	Unread int                  `json:"unread,omitempty"`
}

// Matches reports whether a notice aimed at t reaches p.
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

// Receive stores a requested notice once per event id and pushes it to
// the open consoles it targets. It reports whether the event was its own.
func (s *Service) Receive(ctx context.Context, e event.Event) (bool, error) {
	if e.Type() != events.IdentityNoticeRequested {
		return false, nil
	}
	var d events.IdentityNoticeRequestedData
	if err := e.DataAs(&d); err != nil {
		return true, errs.Wrap(errs.Invalid, "通知事件数据无法解析", err)
	}
	n := sharednotify.Notice{Title: d.Title, Body: d.Body, Level: d.Level, All: d.Target.All,
		UserIDs: d.Target.UserIDs, DeptIDs: d.Target.DeptIDs, Roles: d.Target.Roles}
	if err := n.Validate(); err != nil {
		return true, errs.Wrap(errs.Invalid, "通知内容不完整", err)
	}
	if d.Level == "" {
		d.Level = sharednotify.LevelInfo
	}
	at := d.RequestedAt
	if at.IsZero() {
		at = s.now()
	}
	var out Notice
	ran, err := outbox.Once(ctx, s.pool, Consumer, e, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO identity.notices (event_id, created_at, title, body, level, kind, link, popup, producer,
			target_all, target_users, target_depts, target_roles)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			RETURNING id, title, body, level, kind, link, popup, producer, created_at`,
			e.ID(), at, strings.TrimSpace(d.Title), d.Body, d.Level, d.Kind, d.Link, d.Popup, d.Producer,
			d.Target.All, nonNil(d.Target.UserIDs), nonNil(d.Target.DeptIDs), nonNil(d.Target.Roles)).
			Scan(&out.ID, &out.Title, &out.Body, &out.Level, &out.Kind, &out.Link, &out.Popup, &out.Producer, &out.CreatedAt)
	})
	if err != nil || !ran {
		return true, err
	}
	t := d.Target
	s.publish(ctx, message{Kind: "notice", Notice: &out, Target: &t})
	return true, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// publish fans a message out to every replica. A lost publish only delays
// the notice until the console's next unread-count poll or reconnect, so
// it is logged, not failed.
func (s *Service) publish(ctx context.Context, m message) {
	raw, err := json.Marshal(m)
	if err == nil {
		err = s.rdb.Publish(ctx, s.cfg.Channel, raw).Err()
	}
	if err != nil {
		s.log.WarnContext(ctx, "notify: publish failed", "err", err)
	}
}

// visible is the SQL predicate for notices reaching the principal, with
// its arguments appended.
func visible(p *auth.Principal, args *[]any) string {
	roles := p.Roles
	if roles == nil {
		roles = []string{}
	}
	depts := []string{}
	if p.DeptID != "" {
		depts = []string{p.DeptID}
	}
	*args = append(*args, []string{p.UserID}, depts, roles)
	n := len(*args)
	return fmt.Sprintf("(n.target_all OR n.target_users && $%d OR n.target_depts && $%d OR n.target_roles && $%d)", n-2, n-1, n)
}

// ListFilter narrows a user's notice list.
type ListFilter struct {
	Unread, Popup bool
	Level, Q      string
}

// List returns the principal's notices, newest first.
func (s *Service) List(ctx context.Context, p *auth.Principal, f ListFilter, pg httpx.Page) (httpxPage, error) {
	args := []any{p.UserID}
	where := []string{visible(p, &args)}
	if f.Unread {
		where = append(where, "r.notice_id IS NULL")
	}
	if f.Popup {
		where = append(where, "n.popup")
	}
	if f.Level != "" {
		args = append(args, f.Level)
		where = append(where, fmt.Sprintf("n.level = $%d", len(args)))
	}
	if f.Q != "" {
		args = append(args, "%"+strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(f.Q)+"%")
		where = append(where, fmt.Sprintf("(n.title ILIKE $%d OR n.body ILIKE $%d)", len(args), len(args)))
	}
	from := `identity.notices n LEFT JOIN identity.notice_reads r ON r.notice_id = n.id AND r.user_id = $1 WHERE ` + strings.Join(where, " AND ")
	out := httpxPage{Items: []Notice{}, Page: pg.Page, PageSize: pg.Size}
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM `+from, args...).Scan(&out.Total); err != nil {
		return out, fmt.Errorf("count notices: %w", err)
	}
	args = append(args, pg.Size, pg.Offset())
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT n.id, n.title, n.body, n.level, n.kind, n.link, n.popup, n.producer, n.created_at, r.read_at
		FROM %s ORDER BY n.created_at DESC, n.id DESC LIMIT $%d OFFSET $%d`, from, len(args)-1, len(args)), args...)
	if err != nil {
		return out, fmt.Errorf("list notices: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notice, error) {
		var n Notice
		err := r.Scan(&n.ID, &n.Title, &n.Body, &n.Level, &n.Kind, &n.Link, &n.Popup, &n.Producer, &n.CreatedAt, &n.ReadAt)
		n.Read = n.ReadAt != nil
		return n, err
	})
	if err != nil {
		return out, fmt.Errorf("list notices: %w", err)
	}
	out.Items = items
	return out, nil
}

type httpxPage struct {
	Items    []Notice `json:"items"`
	Total    int      `json:"total"`
	Page     int      `json:"page"`
	PageSize int      `json:"page_size"`
}

// Unread counts the principal's unread notices, and how many of them pop up.
func (s *Service) Unread(ctx context.Context, p *auth.Principal) (count, popup int, err error) {
	args := []any{p.UserID}
	err = s.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE n.popup) FROM identity.notices n
		WHERE `+visible(p, &args)+` AND NOT EXISTS (SELECT 1 FROM identity.notice_reads r WHERE r.notice_id = n.id AND r.user_id = $1)`,
		args...).Scan(&count, &popup)
	if err != nil {
		err = fmt.Errorf("count unread: %w", err)
	}
	return count, popup, err
}

// MarkRead marks one notice read; a notice not aimed at the principal is
// not found (its existence is not revealed).
func (s *Service) MarkRead(ctx context.Context, p *auth.Principal, id int64) error {
	args := []any{p.UserID, id, s.now()}
	tag, err := s.pool.Exec(ctx, `INSERT INTO identity.notice_reads (user_id, notice_id, read_at)
		SELECT $1, n.id, $3 FROM identity.notices n WHERE n.id = $2 AND `+visible(p, &args)+`
		ON CONFLICT DO NOTHING`, args...)
	if err != nil {
		return fmt.Errorf("mark read: %w", err)
	}
	if tag.RowsAffected() == 0 {
		var exists bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM identity.notice_reads WHERE user_id = $1 AND notice_id = $2)`,
			p.UserID, id).Scan(&exists); err != nil {
			return fmt.Errorf("mark read: %w", err)
		}
		if !exists {
			return errs.Wrap(errs.NotFound, "消息不存在", errs.ErrNotFound)
		}
		return nil // already read: idempotent
	}
	s.pushUnread(ctx, p)
	return nil
}

// MarkAllRead marks every notice of the principal read.
func (s *Service) MarkAllRead(ctx context.Context, p *auth.Principal) (int64, error) {
	args := []any{p.UserID, s.now()}
	tag, err := s.pool.Exec(ctx, `INSERT INTO identity.notice_reads (user_id, notice_id, read_at)
		SELECT $1, n.id, $2 FROM identity.notices n WHERE `+visible(p, &args)+`
		ON CONFLICT DO NOTHING`, args...)
	if err != nil {
		return 0, fmt.Errorf("mark all read: %w", err)
	}
	if tag.RowsAffected() > 0 {
		s.pushUnread(ctx, p)
	}
	return tag.RowsAffected(), nil
}

// pushUnread tells the user's other open consoles the new unread count.
func (s *Service) pushUnread(ctx context.Context, p *auth.Principal) {
	n, _, err := s.Unread(ctx, p)
	if err != nil {
		s.log.WarnContext(ctx, "notify: unread count", "err", err)
		return
	}
	s.publish(ctx, message{Kind: "unread", UserID: p.UserID, Unread: n})
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

// add registers a stream, subscribing on first use; it returns once the
// subscription is live, so nothing published after add returns is missed.
func (h *hub) add(ctx context.Context, p *auth.Principal) (*client, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, errs.New(errs.Unavailable, "消息服务正在关闭")
	}
	if h.cancel == nil {
		h.start()
	}
	ready := h.ready
	c := &client{p: p, ch: make(chan message, 32)}
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	wait := time.NewTimer(5 * time.Second)
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
			for m := range ps.Channel() {
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
		case m.Kind == "notice" && m.Target != nil && Matches(*m.Target, c.p):
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
