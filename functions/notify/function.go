// Package notify is SmartReg's message centre and warning board (FP-128,
// FP-129): notices any function asks for through the notify.notice.requested
// event (shared/notify.Post, in the transaction of the change that caused
// it), aimed at users, departments, roles or everyone; unread counts, mark
// read, the pop-up after login, and delivery to every open console over
// Server-Sent Events, fanned out across replicas through Redis pub/sub.
//
// Targets are matched against the claims of the reader's access token
// (user id, department id, role codes) when a notice is read or pushed, so
// notify needs none of identity's data: no published read function, no
// recipients resolved by the producer.
//
// Notify has a Knative Service of its own because every open console holds
// a stream for minutes: counted as requests in flight, streams would scale
// a CPU-bound service (identity's argon2id logins) on the wrong signal.
package notify

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its route prefix and Knative Service.
const Name = "notify"

// Source is the CloudEvents source of what notify emits (its operation
// log rows, the notices published from the console).
const Source = "/functions/notify"

// Consumer is the inbox name notice events are deduplicated under.
const Consumer = "notify"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the notify schema's one migration stream. Its 0002 moves
// the notices an older identity kept in schema identity.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is notify's own settings. The stream timings are set against the
// Knative Service's timeoutSeconds (300): a stream that outlives it is cut
// with an error, so streams end themselves before (docs/functions/notify.md).
type Config struct {
	// Channel is the Redis pub/sub channel; change it only to separate two
	// platforms sharing one Redis.
	Channel string `env:"NOTIFY_CHANNEL" default:"smartreg:notify:notices" help:"实时消息 Redis 频道（同一 Redis 上部署两套平台时区分）"`
	// KeepAlive is the SSE comment interval that keeps proxies from
	// closing an idle stream.
	KeepAlive time.Duration `env:"NOTIFY_SSE_KEEPALIVE" default:"25s" help:"实时消息连接保活间隔（低于代理空闲超时，通常 60 秒）"`
	// MaxStreamAge closes a stream so the browser reconnects and its token
	// is verified again: a revoked session stops receiving within this
	// time. Streams end at 90–100 % of it, so reconnects spread out.
	MaxStreamAge time.Duration `env:"NOTIFY_SSE_MAX_AGE" default:"4m" help:"实时消息连接最长保持时间（须小于 Knative 请求超时 300 秒），到期后浏览器自动重连并重新校验令牌"`
	// LinkAllow is the external addresses a notice may link to; without
	// it, only paths of this site.
	LinkAllow string `env:"NOTIFY_LINK_ALLOW" default:"" help:"消息链接允许的外部地址（https 源，逗号分隔，如 https://amr.sjz.gov.cn）；为空时只允许站内相对路径"`
}

// Validate refuses settings that would break the streams.
func (c Config) Validate() error {
	var fe []errs.FieldError
	if strings.TrimSpace(c.Channel) == "" {
		fe = append(fe, errs.FieldError{Field: "NOTIFY_CHANNEL", Message: "请设置实时消息频道"})
	}
	if c.KeepAlive < time.Second || c.KeepAlive > time.Minute {
		fe = append(fe, errs.FieldError{Field: "NOTIFY_SSE_KEEPALIVE", Message: "保活间隔应为 1 秒至 1 分钟"})
	}
	if c.MaxStreamAge <= c.KeepAlive || c.MaxStreamAge > 290*time.Second {
		fe = append(fe, errs.FieldError{Field: "NOTIFY_SSE_MAX_AGE", Message: "连接最长保持时间应大于保活间隔且不超过 290 秒（Knative 请求超时为 300 秒）"})
	}
	for _, a := range c.allowed() {
		if !strings.HasPrefix(a, "https://") || strings.Count(a, "/") != 2 {
			fe = append(fe, errs.FieldError{Field: "NOTIFY_LINK_ALLOW", Message: "允许的外部地址应为 https://主机[:端口]，不含路径"})
			break
		}
	}
	if err := errs.Fields(fe); err != nil {
		return errors.Join(errors.New("notify: invalid settings"), err)
	}
	return nil
}

func (c Config) allowed() []string {
	var out []string
	for _, a := range strings.Split(c.LinkAllow, ",") {
		if a = strings.TrimRight(strings.TrimSpace(a), "/"); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// Verifier puts the caller's principal into each request (*auth.Verifier).
type Verifier interface {
	Middleware(next http.Handler) http.Handler
}

// Deps is what notify needs.
type Deps struct {
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Redis    *redis.Client
	Verifier Verifier
	Now      func() time.Time
}

// Function is the message centre.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	rdb      *redis.Client
	verifier Verifier
	now      func() time.Time
	cfg      Config
	allow    []string
	hub      *hub
}

// New checks the dependencies and the settings; it does no I/O and starts
// nothing (the Redis subscription opens with the first stream).
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("notify: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("notify: Pool is required")
	case d.Redis == nil:
		return nil, errors.New("notify: Redis is required")
	case d.Verifier == nil:
		return nil, errors.New("notify: Verifier is required")
	case d.Now == nil:
		return nil, errors.New("notify: Now is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Function{log: d.Logger, pool: d.Pool, rdb: d.Redis, verifier: d.Verifier, now: d.Now, cfg: c, allow: c.allowed(),
		hub: newHub(d.Redis, c.Channel, d.Logger)}, nil
}

// Start ties the open streams to ctx: when it ends (SIGTERM, the platform
// stopping) every stream ends at once, so the server's drain is not held
// up by consoles that would stay connected for minutes; browsers
// reconnect to another replica.
func (f *Function) Start(ctx context.Context) error {
	context.AfterFunc(ctx, f.hub.close)
	return nil
}

// Stop ends realtime delivery on this replica.
func (f *Function) Stop(context.Context) error {
	f.hub.close()
	return nil
}

// Ready answers when the database and Redis do.
func (f *Function) Ready(ctx context.Context) error {
	if err := f.pool.Ping(ctx); err != nil {
		return err
	}
	return f.rdb.Ping(ctx).Err()
}
