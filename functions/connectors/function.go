// Package connectors is the connectors function (数据对接): the clients of
// the outside systems the entity base exchanges with — the legal-person
// base and its register of persons (FP-14), the credit publicity system
// (FP-15), the city data hub's return channel (FP-16), the spot-check
// platform (FP-19), 石i企 and 石i民 (FP-20, 21) — and the external
// databases an administrator configures (FP-13). Each runs incrementally
// on the PingSource, keeps its cursor in the same transaction as the rows
// it covers (so a killed run resumes where it stopped and a re-run writes
// nothing), and logs every request. Pulled records reach the registry only
// through the connectors.record.received event.
package connectors

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its route prefix and Knative Service.
const Name = "connectors"

// Source is the CloudEvents source of everything connectors emits.
const Source = "/functions/connectors"

// SyncTask is the PingSource data {"task": "connectors-sync"}.
const SyncTask = "connectors-sync"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the connectors schema's one migration stream.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is the function's own settings, read from the environment. The
// local defaults point at the simulators the platform serves under /sim/.
type Config struct {
	PageSize   int           `env:"CONNECTORS_PAGE_SIZE" default:"100" help:"每次向外部系统拉取或回传的条数（1–500）"`
	Timeout    time.Duration `env:"CONNECTORS_TIMEOUT" default:"30s" help:"调用外部系统单个请求的超时时间"`
	MaxRetries int           `env:"CONNECTORS_MAX_RETRIES" default:"5" help:"外部系统请求失败（超时、限流、5xx）时的最大重试次数"`
	Backoff    time.Duration `env:"CONNECTORS_BACKOFF" default:"500ms" help:"重试的初始退避时间（每次翻倍，最长 10 秒）"`

	LegalPersonURL    string `env:"CONNECTORS_LEGALPERSON_URL" default:"http://localhost:8080/sim/legalperson" help:"法人库（涉市场经营人员库）共享接口地址；本地默认指向模拟器"`
	LegalPersonID     string `env:"CONNECTORS_LEGALPERSON_CLIENT_ID" default:"smartreg-dev" help:"法人库分配的客户端标识"`
	LegalPersonSecret string `env:"CONNECTORS_LEGALPERSON_CLIENT_SECRET" default:"dev-legalperson-secret" secret:"true" help:"法人库分配的客户端密钥"`
	PublicityURL      string `env:"CONNECTORS_PUBLICITY_URL" default:"http://localhost:8080/sim/publicity" help:"企业信用信息公示系统数据交换接口地址；本地默认指向模拟器"`
	PublicityAppID    string `env:"CONNECTORS_PUBLICITY_APP_ID" default:"smartreg-dev" help:"公示系统分配的应用标识"`
	PublicitySecret   string `env:"CONNECTORS_PUBLICITY_SECRET" default:"dev-publicity-secret" secret:"true" help:"公示系统分配的签名密钥"`
	SpotCheckURL      string `env:"CONNECTORS_SPOTCHECK_URL" default:"http://localhost:8080/sim/spotcheck" help:"抽查数据平台接口地址；本地默认指向模拟器"`
	SpotCheckKey      string `env:"CONNECTORS_SPOTCHECK_KEY" default:"dev-spotcheck-key" secret:"true" help:"抽查数据平台的 API Key"`
	ShiURL            string `env:"CONNECTORS_SHI_URL" default:"http://localhost:8080/sim/shi" help:"石i企、石i民数据交换接口地址；本地默认指向模拟器"`
	ShiAppID          string `env:"CONNECTORS_SHI_APP_ID" default:"smartreg-dev" help:"石i企、石i民交换接口的应用标识"`
	ShiSecret         string `env:"CONNECTORS_SHI_SECRET" default:"dev-shi-secret" secret:"true" help:"石i企、石i民交换接口的签名密钥"`
	HubURL            string `env:"CONNECTORS_HUB_URL" default:"http://localhost:8080/sim/hub" help:"数据枢纽监管记录回传接口地址；本地默认指向模拟器"`
	HubKey            string `env:"CONNECTORS_HUB_KEY" default:"dev-hub-key" secret:"true" help:"数据枢纽分配的回传密钥"`
}

// Validate refuses settings the function cannot work with.
func (c Config) Validate() error {
	var bad []string
	if c.PageSize < 1 || c.PageSize > 500 {
		bad = append(bad, "CONNECTORS_PAGE_SIZE must be 1–500")
	}
	if c.Timeout <= 0 || c.Backoff <= 0 || c.MaxRetries < 0 {
		bad = append(bad, "CONNECTORS_TIMEOUT and CONNECTORS_BACKOFF must be positive, CONNECTORS_MAX_RETRIES not negative")
	}
	for name, v := range map[string]string{"CONNECTORS_LEGALPERSON_URL": c.LegalPersonURL, "CONNECTORS_PUBLICITY_URL": c.PublicityURL,
		"CONNECTORS_SPOTCHECK_URL": c.SpotCheckURL, "CONNECTORS_SHI_URL": c.ShiURL, "CONNECTORS_HUB_URL": c.HubURL} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad = append(bad, name+" must be an absolute http(s) URL")
		}
	}
	if len(bad) > 0 {
		return errors.New("connectors: " + strings.Join(bad, "; "))
	}
	return nil
}

// Verifier puts the caller's principal into each request (*auth.Verifier).
type Verifier interface {
	Middleware(next http.Handler) http.Handler
}

// Deps is what the function needs. HTTP is the client its calls to the
// outside systems go through.
type Deps struct {
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	HTTP     *http.Client
	Now      func() time.Time
	Verifier Verifier
}

// Function is connectors.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	http     *http.Client
	now      func() time.Time
	verifier Verifier
	cfg      Config
	builtin  []Connector

	// afterPage runs after each committed page (the kill test slows runs
	// down with it); sleep is the backoff's wait.
	afterPage func()
	sleep     func(context.Context, time.Duration) error

	bg sync.WaitGroup // runs started from the API
}

// New checks the dependencies and the settings; it does no I/O and starts
// nothing (background work goes in Start, its end in Stop).
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("connectors: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("connectors: Pool is required")
	case d.HTTP == nil:
		return nil, errors.New("connectors: HTTP is required")
	case d.Now == nil:
		return nil, errors.New("connectors: Now is required")
	case d.Verifier == nil:
		return nil, errors.New("connectors: Verifier is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	f := &Function{log: d.Logger, pool: d.Pool, http: d.HTTP, now: d.Now, verifier: d.Verifier, cfg: c,
		afterPage: func() {}, sleep: sleepCtx}
	f.builtin = f.builtins()
	return f, nil
}

// Ready answers when the database does.
func (f *Function) Ready(ctx context.Context) error { return f.pool.Ping(ctx) }

// Stop waits for runs started from the API.
func (f *Function) Stop(ctx context.Context) error {
	done := make(chan struct{})
	go func() { f.bg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Connector is one outside system the function exchanges with.
type Connector struct {
	Name      string `json:"name"`
	Title     string `json:"title"`
	FP        string `json:"fp"`
	System    string `json:"system"`    // the remote side's documented style
	Direction string `json:"direction"` // pull or push
	URL       string `json:"url"`

	puller puller
	pusher *hubPush
}

func (f *Function) builtins() []Connector {
	c := f.cfg
	trim := func(s string) string { return strings.TrimRight(s, "/") }
	return []Connector{
		{Name: "legalperson", Title: "法人库（涉市场经营人员库）", FP: "FP-14", System: "OAuth2 客户端凭证 + 版本号增量分页", Direction: "pull", URL: c.LegalPersonURL,
			puller: &legalPerson{base: trim(c.LegalPersonURL), id: c.LegalPersonID, secret: c.LegalPersonSecret}},
		{Name: "publicity", Title: "公示系统（行政处罚、经营异常名录、合规记录）", FP: "FP-15", System: "HMAC-SHA256 签名 + 三个增量流", Direction: "pull", URL: c.PublicityURL,
			puller: &publicitySource{base: trim(c.PublicityURL), appID: c.PublicityAppID, secret: c.PublicitySecret, now: f.now}},
		{Name: "hub", Title: "数据枢纽（监管记录回传）", FP: "FP-16", System: "HubKey 认证 + 批量回传、按记录号去重", Direction: "push", URL: c.HubURL,
			pusher: &hubPush{base: trim(c.HubURL), key: c.HubKey}},
		{Name: "spotcheck", Title: "抽查数据平台", FP: "FP-19", System: "API Key + 序号增量分页、GBK 报文", Direction: "pull", URL: c.SpotCheckURL,
			puller: &spotCheck{base: trim(c.SpotCheckURL), key: c.SpotCheckKey}},
		{Name: "shiqi", Title: "石i企", FP: "FP-20", System: "市定简易交换：MD5 签名 POST + 偏移量增量", Direction: "pull", URL: c.ShiURL,
			puller: &shiExchange{base: trim(c.ShiURL), appID: c.ShiAppID, secret: c.ShiSecret, dataset: "shiqi", now: f.now}},
		{Name: "shimin", Title: "石i民", FP: "FP-21", System: "市定简易交换：MD5 签名 POST + 偏移量增量", Direction: "pull", URL: c.ShiURL,
			puller: &shiExchange{base: trim(c.ShiURL), appID: c.ShiAppID, secret: c.ShiSecret, dataset: "shimin", now: f.now}},
	}
}
