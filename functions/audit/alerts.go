package audit

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/notify"
)

// Login results.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// Alert kinds (FP-9).
const (
	AlertUserFailures = "user_failures"
	AlertIPFailures   = "ip_failures"
	AlertNewPlace     = "new_place"
)

// alertLink is the console page of the security alerts.
const alertLink = "/console/#/security/alerts"

// watch raises the alerts the login row just written calls for: repeated
// failures of an account or from an IP within the window, and a successful
// login from a new place (new IP /16 or new device for the user). It runs
// in the row's transaction, so the row, its alert and the alert's notice
// commit together, once.
func (f *Function) watch(ctx context.Context, tx pgx.Tx, d events.AuditLoginRecordedData) error {
	if d.Result == ResultFailure {
		if d.Username != "" && f.cfg.UserFailThreshold > 0 {
			if err := f.failureAlert(ctx, tx, d, AlertUserFailures, "username", d.Username, f.cfg.UserFailThreshold); err != nil {
				return err
			}
		}
		if d.IP != "" && f.cfg.IPFailThreshold > 0 {
			if err := f.failureAlert(ctx, tx, d, AlertIPFailures, "ip", d.IP, f.cfg.IPFailThreshold); err != nil {
				return err
			}
		}
		return nil
	}
	if !f.cfg.NewPlaceAlerts || d.UserID == "" {
		return nil
	}
	return f.newPlace(ctx, tx, d)
}

// failureAlert raises one alert of kind for key when threshold failures
// fall within one window. Rows may arrive in any order (the Broker
// delivers concurrently and retries), so the count is the most failures
// of any window-long span around this one, not only of those before it;
// and one alert per key covers a window on either side, so a guessing run
// gives one alert however its rows arrive.
func (f *Function) failureAlert(ctx context.Context, tx pgx.Tx, d events.AuditLoginRecordedData, kind, col, key string, threshold int) error {
	// One transaction at a time per key: the lock lasts until commit, and
	// each statement sees what earlier holders committed, so concurrent
	// rows raise exactly one alert.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 7210000203))`, kind, key); err != nil {
		return fmt.Errorf("lock alert key: %w", err)
	}
	w := f.cfg.FailWindow
	from, to := d.At.Add(-w), d.At.Add(w)
	var dup bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM audit.alerts
		WHERE kind = $1 AND `+col+` = $2 AND at > $3 AND at < $4)`, kind, key, from, to).Scan(&dup); err != nil {
		return fmt.Errorf("look up alerts: %w", err)
	}
	if dup {
		return nil
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(max(c), 0) FROM (
			SELECT count(*) OVER (ORDER BY at RANGE BETWEEN CURRENT ROW AND make_interval(secs => $4) FOLLOWING) AS c
			FROM audit.login_log WHERE `+col+` = $1 AND result = 'failure' AND at > $2 AND at < $3) s`,
		key, from, to, w.Seconds()).Scan(&n); err != nil {
		return fmt.Errorf("count failures: %w", err)
	}
	if n < threshold {
		return nil
	}
	var title, body string
	if kind == AlertUserFailures {
		title = fmt.Sprintf("账号 %s 连续登录失败", MaskText(d.Username))
		body = fmt.Sprintf("账号 %s 在 %s 内登录失败 %d 次，最近一次来自 %s。", MaskText(d.Username), minutes(w), n, maskIP(d.IP))
	} else {
		title = fmt.Sprintf("IP %s 多次登录失败", maskIP(d.IP))
		body = fmt.Sprintf("来自 %s 的登录在 %s 内失败 %d 次，最近一次账号 %s。", maskIP(d.IP), minutes(w), n, MaskText(d.Username))
	}
	return f.raise(ctx, tx, d, kind, fmt.Sprintf("%d 次失败", n), n, title, body)
}

// newPlace raises an alert for a successful login whose place (IP /16,
// IPv6 /48) or device the user has never logged in from before, within
// the logs still online. A user's first login has no usual place.
func (f *Function) newPlace(ctx context.Context, tx pgx.Tx, d events.AuditLoginRecordedData) error {
	rows, err := tx.Query(ctx, `SELECT DISTINCT ip, device FROM audit.login_log
		WHERE user_id = $1 AND result = 'success' AND at < $2 LIMIT 1000`, d.UserID, d.At)
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
		return nil
	}
	place := prefix16(d.IP)
	knownPlace, knownDevice := false, false
	for _, h := range hist {
		knownPlace = knownPlace || prefix16(h.ip) == place
		knownDevice = knownDevice || h.device == d.Device
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
	return f.raise(ctx, tx, d, AlertNewPlace, detail, 0,
		fmt.Sprintf("账号 %s 从新的地点登录", d.Username),
		fmt.Sprintf("账号 %s 于 %s 从 %s（%s）登录成功：%s。如非本人操作，请立即冻结账号。",
			d.Username, d.At.In(shanghai()).Format("2006-01-02 15:04:05"), maskIP(d.IP), Locate(d.IP), detail))
}

// raise stores the alert and asks the message centre for a pop-up notice
// to the security administrators, in the same transaction.
func (f *Function) raise(ctx context.Context, tx pgx.Tx, d events.AuditLoginRecordedData, kind, detail string, count int, title, body string) error {
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO audit.alerts (at, kind, user_id, username, ip, device, detail, count)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		d.At, kind, d.UserID, d.Username, d.IP, d.Device, detail, count).Scan(&id); err != nil {
		return fmt.Errorf("insert alert: %w", err)
	}
	return notify.Post(ctx, tx, Source, notify.Notice{
		Title: title, Body: body, Level: notify.LevelAlert, Kind: "security_alert",
		Link: alertLink, Popup: true, Roles: []string{RoleSecAdmin},
		Subject: fmt.Sprint(id), At: d.At,
	})
}

func minutes(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d 小时", int(d/time.Hour))
	}
	return fmt.Sprintf("%d 分钟", int(d/time.Minute))
}

// Locate guesses where an IP is. No GeoIP database ships with the
// platform, so public addresses are "未知" (unknown) rather than a made-up
// city; private and loopback addresses are recognisably internal.
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

// maskIP hides the host part of an address in notices (personal
// information in messages is masked): 1.2.3.4 → 1.2.*.*.
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
