// Package audit is SmartReg's audit function (FP-7, FP-8, FP-9): the login
// log and the operation log of every function, received as events that
// each function records in the transaction of its change
// (shared/auditlog), stored once per event id, append-only, partitioned
// by Beijing calendar month, archived to object storage past retention and
// verified before a partition is dropped; search and export for the audit
// administrator only; security alerts (repeated failures per account and
// per IP, logins from a new place) raised as the login log is written and
// sent to the security administrator through the message centre.
package audit

import (
	"context"
	"embed"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its route prefix and Knative Service.
const Name = "audit"

// Source is the CloudEvents source of everything audit emits (the notices
// of its security alerts).
const Source = "/functions/audit"

// Consumer is the inbox name audit dedupes its events under.
const Consumer = "audit"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the audit schema's one migration stream. Its 0002 moves
// the logs an older identity kept in schema identity.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// MinRetentionMonths is the legal floor: network logs are kept at least six
// months (Cybersecurity Law art. 21).
const MinRetentionMonths = 6

// Config is the audit function's own settings.
type Config struct {
	RetentionMonths   int           `env:"AUDIT_RETENTION_MONTHS" default:"6" help:"日志在线保存月数（不少于 6，网络安全法第二十一条），更早的月份归档到对象存储"`
	AheadMonths       int           `env:"AUDIT_AHEAD_MONTHS" default:"2" help:"预先创建的未来月份分区数（每日定时任务与启动时创建）"`
	UserFailThreshold int           `env:"AUDIT_USER_FAIL_THRESHOLD" default:"5" help:"同一账号在时间窗内登录失败达到该次数即告警（0 关闭）"`
	IPFailThreshold   int           `env:"AUDIT_IP_FAIL_THRESHOLD" default:"20" help:"同一 IP 在时间窗内登录失败达到该次数即告警（0 关闭）"`
	FailWindow        time.Duration `env:"AUDIT_FAIL_WINDOW" default:"15m" help:"登录失败统计时间窗"`
	NewPlaceAlerts    bool          `env:"AUDIT_NEW_PLACE_ALERTS" default:"true" help:"新网段（/16）或新设备登录成功时告警"`
	MaxExportRows     int           `env:"AUDIT_MAX_EXPORT_ROWS" default:"50000" help:"单次导出日志的最大行数（更多请缩小时间范围）"`
}

// Validate rejects settings that would break the legal floor or make no sense.
func (c Config) Validate() error {
	var fe []errs.FieldError
	if c.RetentionMonths < MinRetentionMonths || c.RetentionMonths > 120 {
		fe = append(fe, errs.FieldError{Field: "AUDIT_RETENTION_MONTHS", Message: "日志在线保存月数应为 6 至 120（网络安全法要求不少于六个月）"})
	}
	if c.AheadMonths < 1 || c.AheadMonths > 12 {
		fe = append(fe, errs.FieldError{Field: "AUDIT_AHEAD_MONTHS", Message: "预建分区月数应为 1 至 12"})
	}
	if c.UserFailThreshold < 0 || c.IPFailThreshold < 0 {
		fe = append(fe, errs.FieldError{Field: "AUDIT_USER_FAIL_THRESHOLD", Message: "失败次数阈值不能为负数"})
	}
	if c.FailWindow < time.Minute || c.FailWindow > 24*time.Hour {
		fe = append(fe, errs.FieldError{Field: "AUDIT_FAIL_WINDOW", Message: "失败统计时间窗应为 1 分钟至 24 小时"})
	}
	if c.MaxExportRows < 1 || c.MaxExportRows > 1_000_000 {
		fe = append(fe, errs.FieldError{Field: "AUDIT_MAX_EXPORT_ROWS", Message: "单次导出行数应为 1 至 1000000"})
	}
	if err := errs.Fields(fe); err != nil {
		return errors.Join(errors.New("audit: invalid settings"), err)
	}
	return nil
}

// Blob is what archiving needs from object storage.
type Blob interface {
	Put(ctx context.Context, key string, r io.Reader, contentType string) (blob.Info, error)
	Get(ctx context.Context, key string) (io.ReadCloser, blob.Info, error)
}

// Verifier puts the caller's principal into each request (*auth.Verifier).
type Verifier interface {
	Middleware(next http.Handler) http.Handler
}

// Deps is what audit needs.
type Deps struct {
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Blob     Blob // archives
	Verifier Verifier
	Now      func() time.Time
}

// Function is the audit function.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	blob     Blob
	verifier Verifier
	now      func() time.Time
	cfg      Config

	mu    sync.Mutex
	parts map[string]bool // partitions known to exist ("op_log_p202611")
}

// New checks the dependencies and the settings; it does no I/O.
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("audit: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("audit: Pool is required")
	case d.Blob == nil:
		return nil, errors.New("audit: Blob is required")
	case d.Verifier == nil:
		return nil, errors.New("audit: Verifier is required")
	case d.Now == nil:
		return nil, errors.New("audit: Now is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Function{log: d.Logger, pool: d.Pool, blob: d.Blob, verifier: d.Verifier, now: d.Now, cfg: c, parts: map[string]bool{}}, nil
}

// Start creates this month's and the next AheadMonths' partitions, so a
// deployment that missed the daily schedule writes into months that exist.
func (f *Function) Start(ctx context.Context) error {
	return f.ensureAhead(ctx)
}

// Ready answers when the database does.
func (f *Function) Ready(ctx context.Context) error { return f.pool.Ping(ctx) }
