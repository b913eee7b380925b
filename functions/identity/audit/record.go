package audit

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/notify"
	"github.com/sjzamr/smartreg/shared/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migration creates the identity schema's log, alert and archive tables.
func Migration() store.Migration {
	return store.Migration{Component: "identity-audit", FS: migrations, Dir: "migrations"}
}

// Source is the CloudEvent source of notices this package posts.
const Source = "/functions/identity"

// Login results.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// LoginEntry is one login attempt (FP-7).
type LoginEntry struct {
	At                                           time.Time // zero means now
	UserID, Username, IP, Device, Result, Reason string
}

// OpEntry is one operation (FP-8). Before and After are the object's state
// around the change, stored as jsonb (nil for none).
type OpEntry struct {
	At                                                         time.Time // zero means now
	UserID, Username, IP, Action, ObjectType, ObjectID, Result string
	Before, After                                              any
}

// ErrInvalidEntry reports an entry missing what the log requires.
var ErrInvalidEntry = errors.New("audit: invalid entry")

// beginner is what both a pool and a transaction offer: Begin on a pool
// opens a transaction, on a transaction a savepoint. Recording in a nested
// transaction means a failed log write never poisons the caller's work
// before it can see the error, and the alert and its notice commit with the row.
type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// RecordLogin appends a login attempt and raises security alerts: repeated
// failures for an account or an IP within the configured window, and a
// successful login from a new place (new IP /16 or new device for the user).
// Call it with a pool, or with the caller's transaction to commit together.
func RecordLogin(ctx context.Context, q store.Querier, e LoginEntry) error {
	if e.Result != ResultSuccess && e.Result != ResultFailure {
		return fmt.Errorf("%w: login result %q", ErrInvalidEntry, e.Result)
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	// A failed login's username is whatever the caller typed: bound it.
	e.UserID, e.Username, e.IP = clip(e.UserID, 100), clip(e.Username, 200), clip(e.IP, 100)
	e.Device, e.Reason = clip(e.Device, 500), clip(e.Reason, 500)
	b, ok := q.(beginner)
	if !ok {
		return fmt.Errorf("%w: querier %T cannot begin a transaction", ErrInvalidEntry, q)
	}
	return pgx.BeginFunc(ctx, b, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT identity.audit_ensure_partition('login_log', $1)`, e.At); err != nil {
			return fmt.Errorf("ensure login_log partition: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO identity.login_log (at, user_id, username, ip, device, result, reason, location)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			e.At, e.UserID, e.Username, e.IP, e.Device, e.Result, e.Reason, Locate(e.IP)); err != nil {
			return fmt.Errorf("insert login_log: %w", err)
		}
		return checkLogin(ctx, tx, e)
	})
}

// RecordOp appends an operation log row. Call it inside the command's
// transaction so the log row and the change commit or roll back together.
func RecordOp(ctx context.Context, q store.Querier, e OpEntry) error {
	if strings.TrimSpace(e.Action) == "" || strings.TrimSpace(e.Result) == "" {
		return fmt.Errorf("%w: action and result are required", ErrInvalidEntry)
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	before, err := toJSON(e.Before)
	if err != nil {
		return fmt.Errorf("%w: before: %v", ErrInvalidEntry, err)
	}
	after, err := toJSON(e.After)
	if err != nil {
		return fmt.Errorf("%w: after: %v", ErrInvalidEntry, err)
	}
	// One round trip: the partition check and the insert go as a batch,
	// which PostgreSQL runs as one implicit transaction when q is a pool
	// and inside the caller's transaction when q is one.
	b := &pgx.Batch{}
	b.Queue(`SELECT identity.audit_ensure_partition('op_log', $1)`, e.At)
	b.Queue(`INSERT INTO identity.op_log (at, user_id, username, ip, action, object_type, object_id, before, after, result)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		e.At, clip(e.UserID, 100), clip(e.Username, 200), clip(e.IP, 100), clip(e.Action, 200), clip(e.ObjectType, 100), clip(e.ObjectID, 200),
		before, after, clip(e.Result, 100))
	if err := q.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("insert op_log: %w", err)
	}
	return nil
}

// toJSON turns a before/after state into jsonb text; raw JSON passes as is.
func toJSON(v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		if len(x) == 0 {
			return nil, nil
		}
		if !json.Valid(x) {
			return nil, errors.New("not valid JSON")
		}
		return x, nil
	case []byte:
		if len(x) == 0 {
			return nil, nil
		}
		if !json.Valid(x) {
			return nil, errors.New("not valid JSON")
		}
		return x, nil
	}
	return json.Marshal(v)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// Locate guesses where an IP is. No GeoIP database ships with the platform,
// so public addresses are "未知" (unknown) rather than a made-up city;
// private and loopback addresses are recognisably internal.
func Locate(ip string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return "未知"
	}
	if a.IsLoopback() {
		return "本机"
	}
	if a.IsPrivate() || a.IsLinkLocalUnicast() {
		return "内网"
	}
	return "未知"
}

// prefix16 is the "place" of an IP for new-place alerts: its /16 for IPv4,
// its /48 for IPv6. Unparseable addresses are their own place.
func prefix16(ip string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return ip
	}
	a = a.Unmap()
	bits := 16
	if a.Is6() {
		bits = 48
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ip
	}
	return p.String()
}

type settings struct {
	userFails, ipFails int
	window             time.Duration
	newPlace           bool
}

func loadSettings(ctx context.Context, q store.Querier) (settings, error) {
	var s settings
	var secs int
	err := q.QueryRow(ctx, `SELECT user_fail_threshold, ip_fail_threshold, fail_window_seconds, new_place_alerts
		FROM identity.audit_settings`).Scan(&s.userFails, &s.ipFails, &secs, &s.newPlace)
	s.window = time.Duration(secs) * time.Second
	return s, err
}

// checkLogin raises alerts for the entry just written. An alert of a kind
// is raised once per key (account or IP) per window, so a password-guessing
// run produces one alert, not one per guess.
func checkLogin(ctx context.Context, tx pgx.Tx, e LoginEntry) error {
	s, err := loadSettings(ctx, tx)
	if err != nil {
		return fmt.Errorf("load audit settings: %w", err)
	}
	since := e.At.Add(-s.window)
	if e.Result == ResultFailure {
		if e.Username != "" && s.userFails > 0 {
			if err := failureAlert(ctx, tx, e, "user_failures", "username", e.Username, s.userFails, since); err != nil {
				return err
			}
		}
		if e.IP != "" && s.ipFails > 0 {
			if err := failureAlert(ctx, tx, e, "ip_failures", "ip", e.IP, s.ipFails, since); err != nil {
				return err
			}
		}
		return nil
	}
	if !s.newPlace || e.UserID == "" {
		return nil
	}
	// Earlier successful logins of this user still online (within retention).
	rows, err := tx.Query(ctx, `SELECT DISTINCT ip, device FROM identity.login_log
		WHERE user_id = $1 AND result = 'success' AND at < $2 LIMIT 1000`, e.UserID, e.At)
	if err != nil {
		return fmt.Errorf("read login history: %w", err)
	}
	type seen struct{ ip, device string }
	hist, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (seen, error) {
		var s seen
		return s, r.Scan(&s.ip, &s.device)
	})
	if err != nil {
		return fmt.Errorf("read login history: %w", err)
	}
	if len(hist) == 0 {
		return nil // a first login has no "usual place" to differ from
	}
	place := prefix16(e.IP)
	knownPlace, knownDevice := false, false
	for _, h := range hist {
		knownPlace = knownPlace || prefix16(h.ip) == place
		knownDevice = knownDevice || h.device == e.Device
	}
	if knownPlace && knownDevice {
		return nil
	}
	var why []string
	if !knownPlace {
		why = append(why, "新的网络位置 "+place)
	}
	if !knownDevice {
		why = append(why, "新的设备")
	}
	detail := strings.Join(why, "，")
	return raise(ctx, tx, e, "new_place", detail, 0,
		fmt.Sprintf("账号 %s 从新的地点登录", e.Username),
		fmt.Sprintf("账号 %s 于 %s 从 %s（%s）登录成功：%s。如非本人操作，请立即冻结账号。",
			e.Username, e.At.In(shanghai()).Format("2006-01-02 15:04:05"), maskIP(e.IP), Locate(e.IP), detail))
}

func failureAlert(ctx context.Context, tx pgx.Tx, e LoginEntry, kind, col, key string, threshold int, since time.Time) error {
	// Failures of one key are counted one transaction at a time (the lock
	// lasts until commit, and each statement sees what earlier holders
	// committed), so concurrent guesses raise exactly one alert.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 7210000103))`, kind, key); err != nil {
		return fmt.Errorf("lock alert key: %w", err)
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM identity.login_log
		WHERE `+col+` = $1 AND result = 'failure' AND at > $2 AND at <= $3`, key, since, e.At).Scan(&n); err != nil {
		return fmt.Errorf("count failures: %w", err)
	}
	if n < threshold {
		return nil
	}
	var dup bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM identity.security_alerts
		WHERE kind = $1 AND `+col+` = $2 AND at > $3)`, kind, key, since).Scan(&dup); err != nil {
		return fmt.Errorf("look up alerts: %w", err)
	}
	if dup {
		return nil
	}
	var title, body string
	if kind == "user_failures" {
		title = fmt.Sprintf("账号 %s 连续登录失败", e.Username)
		body = fmt.Sprintf("账号 %s 在 %s 内登录失败 %d 次，最近一次来自 %s。", e.Username, e.At.Sub(since), n, maskIP(e.IP))
	} else {
		title = fmt.Sprintf("IP %s 多次登录失败", maskIP(e.IP))
		body = fmt.Sprintf("来自 %s 的登录在 %s 内失败 %d 次，最近一次账号 %s。", maskIP(e.IP), e.At.Sub(since), n, e.Username)
	}
	return raise(ctx, tx, e, kind, fmt.Sprintf("%d 次失败", n), n, title, body)
}

func raise(ctx context.Context, tx pgx.Tx, e LoginEntry, kind, detail string, count int, title, body string) error {
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO identity.security_alerts (at, kind, user_id, username, ip, device, detail, count)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		e.At, kind, e.UserID, e.Username, e.IP, clip(e.Device, 500), detail, count).Scan(&id); err != nil {
		return fmt.Errorf("insert alert: %w", err)
	}
	return notify.Post(ctx, tx, Source, notify.Notice{
		Title: title, Body: body, Level: notify.LevelAlert, Kind: "security_alert",
		Link: "/console/identity/alerts", Popup: true, Roles: []string{"secadmin"},
		Subject: fmt.Sprint(id), At: e.At,
	})
}

// shanghai is fixed UTC+8 (China has no daylight saving), so the package
// needs no tzdata.
func shanghai() *time.Location { return time.FixedZone("CST", 8*3600) }

// maskIP hides the host part of an address in notices (personal
// information in logs is masked): 1.2.3.4 → 1.2.*.*.
func maskIP(ip string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil || !a.Unmap().Is4() {
		if i := strings.LastIndex(ip, ":"); i > 0 {
			return ip[:i] + ":*"
		}
		return ip
	}
	b := a.Unmap().As4()
	return fmt.Sprintf("%d.%d.*.*", b[0], b[1])
}
