// Package activities is the activity library (活动库, FP-76, 77): the
// bureau's events (theme, time, place, organiser, how to join, materials,
// photos in object storage, a summary afterwards); import from a page of
// the bureau's website or an official-account article, reviewed by a
// person before it is published; sign-up with a capacity and a waiting
// list; reminders before the start by notice and SMS; public H5 pages and
// the JSON API the official mini-program calls.
package activities

import (
	"context"
	"crypto/sha256"
	"embed"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/sms"
	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its route prefix and Knative Service.
const Name = "activities"

// Source is the CloudEvents source of everything activities emits.
const Source = "/functions/activities"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the activities schema's one migration stream.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is the function's own settings, read from the environment.
type Config struct {
	// PhoneKey seals participants' phone numbers at rest and keys their
	// lookup hashes.
	PhoneKey string `env:"ACTIVITIES_PHONE_KEY" default:"smartreg-dev-activities-phone-key" secret:"true" help:"报名手机号加密密钥（生产环境必须更换）"`
	// ImportAllow are the address prefixes an import may fetch from (and
	// their images): an allow-list, so an import cannot be turned against
	// internal addresses.
	ImportAllow   string        `env:"ACTIVITIES_IMPORT_ALLOW" default:"https://scjg.sjz.gov.cn/,https://mp.weixin.qq.com/,https://mmbiz.qpic.cn/" help:"允许导入活动的网址前缀（逗号分隔；含图片地址）"`
	ImportTimeout time.Duration `env:"ACTIVITIES_IMPORT_TIMEOUT" default:"10s" help:"导入网页时抓取的超时时间"`
	MaxImages     int           `env:"ACTIVITIES_MAX_IMAGES" default:"12" help:"导入一篇文章时最多保存的图片数"`
	SMSSignName   string        `env:"ACTIVITIES_SMS_SIGN_NAME" default:"石家庄市场监管" help:"活动提醒短信签名"`
	SMSTemplate   string        `env:"ACTIVITIES_SMS_TEMPLATE" default:"SMS_ACTIVITY_REMINDER" help:"活动开始前提醒短信模板编号"`
	SMSPromoted   string        `env:"ACTIVITIES_SMS_TEMPLATE_PROMOTED" default:"SMS_ACTIVITY_PROMOTED" help:"候补转为正式报名的通知短信模板编号"`
}

// Validate refuses settings the function cannot work with.
func (c Config) Validate() error {
	switch {
	case len(c.PhoneKey) < 16:
		return errors.New("activities: ACTIVITIES_PHONE_KEY must be at least 16 characters")
	case c.ImportTimeout <= 0:
		return errors.New("activities: ACTIVITIES_IMPORT_TIMEOUT must be positive")
	case c.MaxImages < 0 || c.MaxImages > 50:
		return errors.New("activities: ACTIVITIES_MAX_IMAGES must be between 0 and 50")
	case c.SMSTemplate == "" || c.SMSPromoted == "" || c.SMSSignName == "":
		return errors.New("activities: the SMS sign name and templates are required")
	}
	for _, p := range c.allow() {
		if !strings.HasPrefix(p, "https://") && !strings.HasPrefix(p, "http://") {
			return errors.New("activities: ACTIVITIES_IMPORT_ALLOW entries must be http(s) address prefixes")
		}
	}
	return nil
}

func (c Config) allow() []string {
	var out []string
	for _, p := range strings.Split(c.ImportAllow, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Verifier puts the caller's principal into each request (*auth.Verifier).
type Verifier interface {
	Middleware(next http.Handler) http.Handler
}

// Blob stores photos, materials and imported images (blob.Store).
type Blob interface {
	Put(ctx context.Context, key string, r io.Reader, contentType string) (blob.Info, error)
	Get(ctx context.Context, key string) (io.ReadCloser, blob.Info, error)
}

// SMS sends text messages (*sms.Client).
type SMS interface {
	Send(ctx context.Context, m sms.Message) error
}

// Deps is what the function needs.
type Deps struct {
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Now      func() time.Time
	Verifier Verifier
	Blob     Blob
	SMS      SMS
	// HTTP fetches pages to import; nil uses a client with
	// Config.ImportTimeout that follows redirects only within the
	// allow-list.
	HTTP *http.Client
}

// Function is the activity library.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	now      func() time.Time
	verifier Verifier
	blob     Blob
	sms      SMS
	hc       *http.Client
	cfg      Config
	key      [32]byte
}

// New checks the dependencies and the settings; it does no I/O and starts
// nothing.
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("activities: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("activities: Pool is required")
	case d.Now == nil:
		return nil, errors.New("activities: Now is required")
	case d.Verifier == nil:
		return nil, errors.New("activities: Verifier is required")
	case d.Blob == nil:
		return nil, errors.New("activities: Blob is required")
	case d.SMS == nil:
		return nil, errors.New("activities: SMS is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	f := &Function{log: d.Logger, pool: d.Pool, now: d.Now, verifier: d.Verifier, blob: d.Blob, sms: d.SMS, hc: d.HTTP, cfg: c,
		key: sha256.Sum256([]byte(c.PhoneKey))}
	if f.hc == nil {
		f.hc = &http.Client{Timeout: c.ImportTimeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 || !f.allowed(req.URL.String()) {
				return errors.New("redirect outside the allow-list")
			}
			return nil
		}}
	}
	return f, nil
}

// Ready answers when the database does.
func (f *Function) Ready(ctx context.Context) error { return f.pool.Ping(ctx) }

// allowed reports whether an address is under an allowed prefix.
func (f *Function) allowed(u string) bool {
	for _, p := range f.cfg.allow() {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}
