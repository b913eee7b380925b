// Package datahub is the data hub (数据枢纽, FP-93–96, 136, 137): the catalogue of
// datasets over other schemas' published read functions, and interfaces
// generated from a person's own permissions and data scope, each with
// its OpenAPI document and an access key, queried with a PostgREST-like
// filter grammar compiled to parameterised SQL, rate-limited and
// revocable across replicas through Redis, every call logged.
//
// The path of a call: http.go (routes) → access.go (key, limits, masking,
// log) → query.go (the grammar, parsed against the allow-list) →
// store.go (selectSQL: one statement over the published function).
package datahub

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/seal"
	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its route prefix and Knative Service.
const Name = "datahub"

// Source is the CloudEvents source of everything datahub emits.
const Source = "/functions/datahub"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the datahub schema's one migration stream.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is the function's own settings, read from the environment.
type Config struct {
	DefaultRatePerMin  int           `env:"DATAHUB_DEFAULT_RATE_PER_MIN" default:"600" help:"生成接口默认的每分钟调用上限（每个密钥，多实例共享）"`
	DefaultQuotaPerDay int           `env:"DATAHUB_DEFAULT_QUOTA_PER_DAY" default:"100000" help:"生成接口默认的每日调用配额（每个密钥）"`
	KeyCacheTTL        time.Duration `env:"DATAHUB_KEY_CACHE_TTL" default:"5s" help:"访问密钥在实例内存中的缓存时长（吊销经 Redis 即时生效，此为 Redis 丢失标记时的最长延迟）"`
	MaxExportRows      int           `env:"DATAHUB_MAX_EXPORT_ROWS" default:"100000" help:"访问日志单次导出的最大行数"`
	PushBatch          int           `env:"DATAHUB_PUSH_BATCH" default:"1000" help:"数据库推送每批读取并写入目标的行数（每批一个目标事务，之后记录断点）"`
	PushOverlap        time.Duration `env:"DATAHUB_PUSH_OVERLAP" default:"10m" help:"增量推送的重叠窗口：从上次水位减去此时长开始读取，以免漏掉迟到提交的行"`
	PushPollEvery      time.Duration `env:"DATAHUB_PUSH_POLL_EVERY" default:"1m" help:"检查到期推送任务的间隔"`
	MaxDataExportRows  int           `env:"DATAHUB_MAX_DATA_EXPORT_ROWS" default:"5000000" help:"生成接口一次 CSV 导出（/export.csv，流式）的最大行数"`
	SecretKeys         string        `env:"DATAHUB_SECRET_KEYS" default:"dev-only-datahub-secret-change-me" secret:"true" help:"加密推送目标库地址（含密码）、三方平台凭据（API Key、HMAC 密钥、OAuth2 客户端密钥）与京津冀交换密钥的主密钥（逗号分隔，第一个用于加密，其余用于解密轮换前的数据；每个至少 16 个字符）；本地默认值仅供开发，生产必须更换"`
	PlatformConfig                   // FP-115–117, FP-126: platforms.go
}

func (c Config) keys() []string {
	var out []string
	for _, k := range strings.Split(c.SecretKeys, ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// Validate refuses settings the function cannot work with.
func (c Config) Validate() error {
	switch {
	case c.DefaultRatePerMin < 1:
		return errors.New("datahub: DATAHUB_DEFAULT_RATE_PER_MIN must be at least 1")
	case c.DefaultQuotaPerDay < 1:
		return errors.New("datahub: DATAHUB_DEFAULT_QUOTA_PER_DAY must be at least 1")
	case c.KeyCacheTTL <= 0 || c.KeyCacheTTL > time.Minute:
		return errors.New("datahub: DATAHUB_KEY_CACHE_TTL must be positive and at most 1m")
	case c.MaxExportRows < 1:
		return errors.New("datahub: DATAHUB_MAX_EXPORT_ROWS must be at least 1")
	case c.PushBatch < 1 || c.PushBatch > 100000:
		return errors.New("datahub: DATAHUB_PUSH_BATCH must be 1 to 100000")
	case c.PushOverlap < 0:
		return errors.New("datahub: DATAHUB_PUSH_OVERLAP must not be negative")
	case c.PushPollEvery < time.Second:
		return errors.New("datahub: DATAHUB_PUSH_POLL_EVERY must be at least 1s")
	case c.MaxDataExportRows < 1:
		return errors.New("datahub: DATAHUB_MAX_DATA_EXPORT_ROWS must be at least 1")
	}
	if _, err := seal.New(Name, c.keys()); err != nil {
		return fmt.Errorf("datahub: DATAHUB_SECRET_KEYS: %w", err)
	}
	return c.PlatformConfig.validate()
}

// Verifier puts the caller's principal into each request (*auth.Verifier).
type Verifier interface {
	Middleware(next http.Handler) http.Handler
}

// Deps is what the function needs.
type Deps struct {
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Redis    *redis.Client
	Now      func() time.Time
	Verifier Verifier
}

// Function is datahub.
type Function struct {
	log       *slog.Logger
	pool      *pgxpool.Pool
	redis     *redis.Client
	now       func() time.Time
	verifier  Verifier
	cfg       Config
	catalogue catalogue
	ifaces    *ifaceCache
	rprefix   string // Redis key prefix (tests give each run its own)
	seal      *seal.Sealer

	plat *platformState // third-party platforms and the exchange (FP-115–117, FP-126)

	afterBatch func() // tests: called after each pushed batch is recorded
	stop       context.CancelFunc
	done       chan struct{}
}

// New checks the dependencies and the settings; it does no I/O and starts
// nothing.
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("datahub: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("datahub: Pool is required")
	case d.Redis == nil:
		return nil, errors.New("datahub: Redis is required")
	case d.Now == nil:
		return nil, errors.New("datahub: Now is required")
	case d.Verifier == nil:
		return nil, errors.New("datahub: Verifier is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	sl, _ := seal.New(Name, c.keys())
	return &Function{log: d.Logger, pool: d.Pool, redis: d.Redis, now: d.Now, verifier: d.Verifier, cfg: c,
		catalogue: newCatalogue(), ifaces: &ifaceCache{ttl: c.KeyCacheTTL}, rprefix: "datahub:", seal: sl,
		plat: newPlatformState(c.PlatformConfig, sl)}, nil
}

// Ready answers when the database and Redis do.
func (f *Function) Ready(ctx context.Context) error {
	if err := f.pool.Ping(ctx); err != nil {
		return err
	}
	return f.redis.Ping(ctx).Err()
}

// Start runs the push scheduler: every DATAHUB_PUSH_POLL_EVERY it runs the
// jobs that are due (one replica per job at a time, by advisory lock).
func (f *Function) Start(start context.Context) error {
	// Push targets saved before their addresses were sealed are sealed now.
	if n, err := f.sealLegacyTargets(start); err != nil {
		return err
	} else if n > 0 {
		f.log.Info("datahub: sealed push target addresses stored in clear", "jobs", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.stop, f.done = cancel, make(chan struct{})
	go func() {
		defer close(f.done)
		t := time.NewTicker(f.cfg.PushPollEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				ids, err := duePushJobs(ctx, f.pool, f.now())
				if err != nil && ctx.Err() == nil {
					f.log.Error("datahub: due pushes", "err", err)
				}
				for _, id := range ids {
					if run, err := f.RunPush(ctx, id); err != nil && ctx.Err() == nil && errs.CodeOf(err) != errs.Conflict {
						f.log.Error("datahub: push", "job", id, "err", err)
					} else if run.Status == "failed" || run.Status == "drift" {
						f.log.Warn("datahub: push", "job", id, "status", run.Status, "message", run.Message)
					}
				}
			}
		}
	}()
	return nil
}

// Stop ends the scheduler; a run it interrupts resumes at the next one.
func (f *Function) Stop(ctx context.Context) error {
	if f.stop == nil {
		return nil
	}
	f.stop()
	select {
	case <-f.done:
	case <-ctx.Done():
	}
	return nil
}
