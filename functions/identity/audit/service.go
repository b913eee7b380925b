// Package audit keeps identity's login log (FP-7) and operation log (FP-8):
// append-only, partitioned by month, searchable and exportable by the audit
// administrator (FP-9), archived to object storage past retention, and
// watched for security alerts (repeated failures, logins from a new place).
package audit

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/errs"
)

// MinRetentionMonths is the legal floor: network logs are kept at least six
// months (Cybersecurity Law art. 21).
const MinRetentionMonths = 6

// MaintainTask is the PingSource data task that runs Maintain.
const MaintainTask = "identity-audit-maintain"

// Blob is what archiving needs from object storage.
type Blob interface {
	Put(ctx context.Context, key string, r io.Reader, contentType string) (blob.Info, error)
	Get(ctx context.Context, key string) (io.ReadCloser, blob.Info, error)
}

// Config is the operator's settings; config.Load fills it from the
// environment (the tags name each variable, its default and help text).
type Config struct {
	RetentionMonths   int           `env:"AUDIT_RETENTION_MONTHS" default:"6" help:"日志在线保存月数（不少于 6，网络安全法第二十一条），更早的月份归档到对象存储"`
	AheadMonths       int           `env:"AUDIT_AHEAD_MONTHS" default:"2" help:"预先创建的未来月份分区数"`
	UserFailThreshold int           `env:"AUDIT_USER_FAIL_THRESHOLD" default:"5" help:"同一账号在时间窗内登录失败达到该次数即告警（0 关闭）"`
	IPFailThreshold   int           `env:"AUDIT_IP_FAIL_THRESHOLD" default:"20" help:"同一 IP 在时间窗内登录失败达到该次数即告警（0 关闭）"`
	FailWindow        time.Duration `env:"AUDIT_FAIL_WINDOW" default:"15m" help:"登录失败统计时间窗"`
	NewPlaceAlerts    bool          `env:"AUDIT_NEW_PLACE_ALERTS" default:"true" help:"新网段（/16）或新设备登录成功时告警"`
}

// DefaultConfig is what a fresh installation runs with.
func DefaultConfig() Config {
	return Config{RetentionMonths: 6, AheadMonths: 2, UserFailThreshold: 5, IPFailThreshold: 20,
		FailWindow: 15 * time.Minute, NewPlaceAlerts: true}
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
	return errs.Fields(fe)
}

// Deps is what the audit service needs.
type Deps struct {
	Logger *slog.Logger
	Pool   *pgxpool.Pool
	Blob   Blob // archives
	Now    func() time.Time
	Config Config
}

// Service serves the log, export and alert APIs and runs maintenance.
type Service struct {
	log  *slog.Logger
	pool *pgxpool.Pool
	blob Blob
	now  func() time.Time
	cfg  Config
}

// New checks the dependencies and builds the service. It writes the alert
// thresholds into identity.audit_settings so RecordLogin applies them.
func New(ctx context.Context, d Deps) (*Service, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("audit: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("audit: Pool is required")
	case d.Blob == nil:
		return nil, errors.New("audit: Blob is required")
	case d.Now == nil:
		return nil, errors.New("audit: Now is required")
	}
	if err := d.Config.Validate(); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	s := &Service{log: d.Logger, pool: d.Pool, blob: d.Blob, now: d.Now, cfg: d.Config}
	if _, err := d.Pool.Exec(ctx, `UPDATE identity.audit_settings SET user_fail_threshold = $1, ip_fail_threshold = $2,
		fail_window_seconds = $3, new_place_alerts = $4`,
		d.Config.UserFailThreshold, d.Config.IPFailThreshold, int(d.Config.FailWindow/time.Second), d.Config.NewPlaceAlerts); err != nil {
		return nil, fmt.Errorf("audit: write settings: %w", err)
	}
	return s, nil
}

// Ready answers when the database does.
func (s *Service) Ready(ctx context.Context) error { return s.pool.Ping(ctx) }

// Receive runs Maintain for the monthly PingSource (data {"task":
// "identity-audit-maintain"}); it reports whether the event was its own, so
// identity's Receive can dispatch to each sub-package in turn.
func (s *Service) Receive(ctx context.Context, e event.Event) (bool, error) {
	if e.Type() != events.Ping {
		return false, nil
	}
	var data events.PingData
	if err := e.DataAs(&data); err != nil || data["task"] != MaintainTask {
		return false, nil
	}
	// Maintain is idempotent and locks against other replicas, so a
	// redelivered tick is harmless.
	_, err := s.Maintain(ctx)
	return true, err
}

// Routes mounts the audit API under /identity/v1. guard wraps a handler
// with the permission check (auth.Require in production).
func (s *Service) Routes(mux *http.ServeMux, guard func(resource, action string) func(http.Handler) http.Handler) {
	view := func(h http.HandlerFunc) http.Handler { return guard("identity.log", "view")(auditor(h)) }
	export := func(h http.HandlerFunc) http.Handler { return guard("identity.log", "export")(auditor(h)) }
	mux.Handle("GET /identity/v1/logs/login", view(s.listLogin))
	mux.Handle("GET /identity/v1/logs/operation", view(s.listOp))
	mux.Handle("GET /identity/v1/logs/login/export", export(s.exportLogin))
	mux.Handle("GET /identity/v1/logs/operation/export", export(s.exportOp))
	mux.Handle("GET /identity/v1/logs/archives", view(s.listArchives))
	mux.Handle("GET /identity/v1/alerts", guard("identity.alert", "view")(secadmin(http.HandlerFunc(s.listAlerts))))
	mux.HandleFunc("GET /identity/v1/openapi-audit.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		_, _ = w.Write(openapi)
	})
}

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the document of the audit, notify and online routes, for
// identity to serve beside its own.
func OpenAPI() []byte { return openapi }
