// Package online tracks who is using the platform (FP-123): consoles send
// a heartbeat every ~30 s, kept in Redis with a TTL (a sorted set by last
// seen plus one hash per session); administrators list online sessions and
// force one out, which revokes the session's tokens on every replica
// (shared/auth Revoker) and is written to the operation log.
package online

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// DefaultPrefix prefixes every Redis key of this package.
const DefaultPrefix = "smartreg:identity:online:"

// Revoker ends a session's tokens everywhere; *auth.Revoker is one.
type Revoker interface {
	RevokeSession(ctx context.Context, sessionID string) error
}

// Config is the operator's settings; config.Load fills it from the
// environment (identity's Config embeds it).
type Config struct {
	Prefix string        `env:"ONLINE_REDIS_PREFIX" default:"smartreg:identity:online:" help:"在线用户 Redis 键前缀"`
	TTL    time.Duration `env:"ONLINE_TTL" default:"90s" help:"超过该时间无心跳即视为离线"`
}

// Validate refuses settings the list cannot work with.
func (c Config) Validate() error {
	if c.Prefix == "" {
		return errors.New("online: ONLINE_REDIS_PREFIX is required")
	}
	if c.TTL < 10*time.Second || c.TTL > time.Hour {
		return fmt.Errorf("online: ONLINE_TTL %s out of range 10s–1h", c.TTL)
	}
	return nil
}

// Deps is what the online service needs.
type Deps struct {
	Logger  *slog.Logger
	Redis   *redis.Client
	Pool    *pgxpool.Pool // operation log of force-logouts
	Revoker Revoker
	Now     func() time.Time
	// DeptNames, when set, names departments in the online list
	// (identity's department store); otherwise only ids are shown.
	DeptNames func(ctx context.Context, ids []string) (map[string]string, error)
}

// Service is the online-user tracker.
type Service struct {
	log   *slog.Logger
	rdb   *redis.Client
	pool  *pgxpool.Pool
	rev   Revoker
	now   func() time.Time
	cfg   Config
	depts func(ctx context.Context, ids []string) (map[string]string, error)
}

// New checks the dependencies and the settings and builds the service.
func New(d Deps, c Config) (*Service, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("online: Logger is required")
	case d.Redis == nil:
		return nil, errors.New("online: Redis is required")
	case d.Pool == nil:
		return nil, errors.New("online: Pool is required")
	case d.Revoker == nil:
		return nil, errors.New("online: Revoker is required")
	case d.Now == nil:
		return nil, errors.New("online: Now is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Service{log: d.Logger, rdb: d.Redis, pool: d.Pool, rev: d.Revoker, now: d.Now, cfg: c, depts: d.DeptNames}, nil
}

// Ready answers when Redis does.
func (s *Service) Ready(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }

// Session is one online session as administrators see it.
type Session struct {
	SessionID string    `json:"session_id"`
	UserID    string    `json:"user_id"`
	Username  string    `json:"username"`
	Name      string    `json:"name"`
	DeptID    string    `json:"dept_id"`
	DeptName  string    `json:"dept_name,omitempty"`
	IP        string    `json:"ip"`
	Device    string    `json:"device"`
	LoginAt   time.Time `json:"login_at"` // first heartbeat of the session, right after login
	LastSeen  time.Time `json:"last_seen"`
}

func (s *Service) seenKey() string             { return s.cfg.Prefix + "seen" }
func (s *Service) sessionKey(id string) string { return s.cfg.Prefix + "s:" + id }

// sessionID is the token's session; a token without one (a service
// token) is tracked per user.
func sessionID(p *auth.Principal) string {
	if p.SessionID != "" {
		return p.SessionID
	}
	return "user:" + p.UserID
}

// Heartbeat records that the principal's session is alive.
func (s *Service) Heartbeat(ctx context.Context, p *auth.Principal, ip, userAgent string) (Session, error) {
	now := s.now()
	sid := sessionID(p)
	key := s.sessionKey(sid)
	ms := strconv.FormatInt(now.UnixMilli(), 10)
	pipe := s.rdb.TxPipeline()
	pipe.HSet(ctx, key, "user_id", p.UserID, "username", p.Username, "name", p.Name, "dept_id", p.DeptID,
		"ip", ip, "device", Device(userAgent), "last_seen", ms)
	pipe.HSetNX(ctx, key, "login_at", ms)
	pipe.Expire(ctx, key, s.cfg.TTL)
	pipe.ZAdd(ctx, s.seenKey(), redis.Z{Score: float64(now.UnixMilli()), Member: sid})
	if _, err := pipe.Exec(ctx); err != nil {
		return Session{}, errs.Wrap(errs.Unavailable, "在线状态服务暂不可用", err)
	}
	return s.get(ctx, sid)
}

func (s *Service) get(ctx context.Context, sid string) (Session, error) {
	m, err := s.rdb.HGetAll(ctx, s.sessionKey(sid)).Result()
	if err != nil {
		return Session{}, errs.Wrap(errs.Unavailable, "在线状态服务暂不可用", err)
	}
	if len(m) == 0 {
		return Session{}, errs.Wrap(errs.NotFound, "该会话不在线", errs.ErrNotFound)
	}
	return fromHash(sid, m), nil
}

func fromHash(sid string, m map[string]string) Session {
	ms := func(k string) time.Time {
		n, _ := strconv.ParseInt(m[k], 10, 64)
		return time.UnixMilli(n).UTC()
	}
	return Session{SessionID: sid, UserID: m["user_id"], Username: m["username"], Name: m["name"], DeptID: m["dept_id"],
		IP: m["ip"], Device: m["device"], LoginAt: ms("login_at"), LastSeen: ms("last_seen")}
}

// ListFilter narrows the online list.
type ListFilter struct {
	Q, DeptID, Sort string
}

// List returns the sessions seen within the TTL, most recent first.
func (s *Service) List(ctx context.Context, f ListFilter, pg httpx.Page) (httpx.PageOf[Session], error) {
	out := httpx.NewPage([]Session{}, 0, pg)
	cutoff := s.now().Add(-s.cfg.TTL).UnixMilli()
	if err := s.rdb.ZRemRangeByScore(ctx, s.seenKey(), "-inf", "("+strconv.FormatInt(cutoff, 10)).Err(); err != nil {
		return out, errs.Wrap(errs.Unavailable, "在线状态服务暂不可用", err)
	}
	ids, err := s.rdb.ZRevRangeByScore(ctx, s.seenKey(), &redis.ZRangeBy{Min: strconv.FormatInt(cutoff, 10), Max: "+inf"}).Result()
	if err != nil {
		return out, errs.Wrap(errs.Unavailable, "在线状态服务暂不可用", err)
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, s.sessionKey(id))
	}
	if len(ids) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return out, errs.Wrap(errs.Unavailable, "在线状态服务暂不可用", err)
		}
	}
	q := strings.ToLower(f.Q)
	var all []Session
	for i, id := range ids {
		m := cmds[i].Val()
		if len(m) == 0 {
			continue // the hash expired between the two reads
		}
		ss := fromHash(id, m)
		if f.DeptID != "" && ss.DeptID != f.DeptID {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(ss.Username+" "+ss.Name+" "+ss.IP), q) {
			continue
		}
		all = append(all, ss)
	}
	switch f.Sort {
	case "username":
		slices.SortStableFunc(all, func(a, b Session) int { return strings.Compare(a.Username, b.Username) })
	case "login_at":
		slices.SortStableFunc(all, func(a, b Session) int { return a.LoginAt.Compare(b.LoginAt) })
	case "-login_at":
		slices.SortStableFunc(all, func(a, b Session) int { return b.LoginAt.Compare(a.LoginAt) })
	}
	out.Total = len(all)
	lo := min(pg.Offset(), len(all))
	hi := min(lo+pg.Size, len(all))
	out.Items = append(out.Items, all[lo:hi]...)
	if s.depts != nil && len(out.Items) > 0 {
		var ids []string
		for _, ss := range out.Items {
			if ss.DeptID != "" && !slices.Contains(ids, ss.DeptID) {
				ids = append(ids, ss.DeptID)
			}
		}
		names, err := s.depts(ctx, ids)
		if err != nil {
			s.log.WarnContext(ctx, "online: department names", "err", err)
		}
		for i := range out.Items {
			out.Items[i].DeptName = names[out.Items[i].DeptID]
		}
	}
	return out, nil
}

// ForceLogout revokes a session's tokens on every replica and removes it
// from the online list; the operation log records who did it to whom. The
// log row and the revocation succeed together or the request fails.
func (s *Service) ForceLogout(ctx context.Context, by *auth.Principal, ip, sid string) (Session, error) {
	ss, err := s.get(ctx, sid)
	if err != nil {
		return ss, err
	}
	err = store.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := auditlog.Record(ctx, tx, "/functions/identity", auditlog.Operation{At: s.now(), UserID: by.UserID, Username: by.Username, IP: ip,
			Action: "identity.session.force_logout", ObjectType: "session", ObjectID: sid,
			Before: ss, After: map[string]any{"status": "revoked"}, Result: auditlog.ResultSuccess}); err != nil {
			return err
		}
		if err := s.rev.RevokeSession(ctx, sid); err != nil {
			return errs.Wrap(errs.Unavailable, "会话注销失败，请稍后重试", err)
		}
		return nil
	})
	if err != nil {
		return ss, err
	}
	pipe := s.rdb.TxPipeline()
	pipe.Del(ctx, s.sessionKey(sid))
	pipe.ZRem(ctx, s.seenKey(), sid)
	if _, err := pipe.Exec(ctx); err != nil {
		// The tokens are already refused; the entry ages out with its TTL.
		s.log.WarnContext(ctx, "online: remove session", "err", err)
	}
	return ss, nil
}

// Routes mounts the online API under /identity/v1.
func (s *Service) Routes(m *httpx.Mux) {
	m.Handle("POST /identity/v1/heartbeat", httpx.Endpoint(s.heartbeat), auth.SignedIn(), httpx.NoEntity())
	m.Handle("GET /identity/v1/online", httpx.Endpoint(s.list), auth.Requires("identity.online", "view"), httpx.NoEntity(),
		httpx.Params(append([]string{"q", "dept_id", "sort"}, httpx.PageParams...)...))
	m.Handle("POST /identity/v1/online/{session_id}/logout", httpx.Endpoint(s.forceLogout), auth.Requires("identity.online", "edit"), httpx.NoEntity())
}

// Beat is the answer to a heartbeat.
type Beat struct {
	SessionID  string    `json:"session_id"`
	LoginAt    time.Time `json:"login_at"`
	LastSeen   time.Time `json:"last_seen"`
	TTLSeconds int       `json:"ttl_seconds"`
}

func (s *Service) heartbeat(r *http.Request) (any, error) {
	p, _ := auth.FromContext(r.Context())
	ss, err := s.Heartbeat(r.Context(), p, httpx.ClientIP(r), r.UserAgent())
	if err != nil {
		return nil, err
	}
	return Beat{SessionID: ss.SessionID, LoginAt: ss.LoginAt, LastSeen: ss.LastSeen, TTLSeconds: int(s.cfg.TTL / time.Second)}, nil
}

func (s *Service) list(r *http.Request) (any, error) {
	pg, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	f := ListFilter{Q: strings.TrimSpace(q.Get("q")), DeptID: q.Get("dept_id"), Sort: q.Get("sort")}
	switch f.Sort {
	case "", "-last_seen", "username", "login_at", "-login_at":
	default:
		return nil, errs.Fields([]errs.FieldError{{Field: "sort", Message: "排序字段应为 -last_seen、username、login_at 或 -login_at"}})
	}
	return s.List(r.Context(), f, pg)
}

// Ended is the answer to a force-logout.
type Ended struct {
	SessionID string `json:"session_id"`
	Username  string `json:"username"`
	Revoked   bool   `json:"revoked"`
}

func (s *Service) forceLogout(r *http.Request) (any, error) {
	p, _ := auth.FromContext(r.Context())
	ss, err := s.ForceLogout(r.Context(), p, httpx.ClientIP(r), r.PathValue("session_id"))
	if err != nil {
		return nil, err
	}
	return Ended{SessionID: ss.SessionID, Username: ss.Username, Revoked: true}, nil
}

// Device summarises a User-Agent as "browser / system" for the online list
// and login log; the raw string is long and mostly noise to an admin.
func Device(ua string) string {
	if strings.TrimSpace(ua) == "" {
		return "未知"
	}
	browser := "其他浏览器"
	for _, b := range []struct{ token, name string }{
		{"MicroMessenger", "微信"}, {"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"},
		{"Chrome/", "Chrome"}, {"Chromium/", "Chromium"}, {"Safari/", "Safari"}, {"curl/", "curl"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	system := "其他系统"
	for _, o := range []struct{ token, name string }{
		{"HarmonyOS", "HarmonyOS"}, {"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			system = o.name
			break
		}
	}
	return browser + " / " + system
}
