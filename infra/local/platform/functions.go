package platform

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	activities "github.com/sjzamr/smartreg/functions/activities"
	alarmintake "github.com/sjzamr/smartreg/functions/alarm-intake"
	"github.com/sjzamr/smartreg/functions/audit"
	certificateprint "github.com/sjzamr/smartreg/functions/certificate-print"
	certrender "github.com/sjzamr/smartreg/functions/certificate-print/render"
	comms "github.com/sjzamr/smartreg/functions/comms"
	connectors "github.com/sjzamr/smartreg/functions/connectors"
	"github.com/sjzamr/smartreg/functions/console"
	crawlershard "github.com/sjzamr/smartreg/functions/crawler-shard"
	dashboard "github.com/sjzamr/smartreg/functions/dashboard"
	"github.com/sjzamr/smartreg/functions/dashboard/geocode/amapsim"
	datahub "github.com/sjzamr/smartreg/functions/datahub"
	dispatch "github.com/sjzamr/smartreg/functions/dispatch"
	documents "github.com/sjzamr/smartreg/functions/documents"
	entitygraph "github.com/sjzamr/smartreg/functions/entity-graph"
	evidencecapture "github.com/sjzamr/smartreg/functions/evidence-capture"
	"github.com/sjzamr/smartreg/functions/identity"
	laws "github.com/sjzamr/smartreg/functions/laws"
	metrology "github.com/sjzamr/smartreg/functions/metrology"
	monitor "github.com/sjzamr/smartreg/functions/monitor"
	"github.com/sjzamr/smartreg/functions/notify"
	ocridcard "github.com/sjzamr/smartreg/functions/ocr-idcard"
	policymatch "github.com/sjzamr/smartreg/functions/policy-match"
	provincialsync "github.com/sjzamr/smartreg/functions/provincial-sync"
	qrgenerate "github.com/sjzamr/smartreg/functions/qr-generate"
	"github.com/sjzamr/smartreg/functions/qr-generate/render"
	"github.com/sjzamr/smartreg/functions/registry"
	scanresolve "github.com/sjzamr/smartreg/functions/scan-resolve"
	// scaffold:imports (go tool task new-function adds new functions' imports above)
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/runtime"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
	"github.com/sjzamr/smartreg/shared/sms"
	"github.com/sjzamr/smartreg/shared/store"
)

// Config is the platform's configuration, read from the environment: the
// shared groups once, and each function's own Config as a group of its
// own (documented in docs/operations.md, generated from the structs).
type Config struct {
	entry.HTTP
	entry.Data
	entry.Blob
	config.Public
	DBMaxConns int `env:"DB_MAX_CONNS" default:"40" help:"数据库连接池上限"`
	// ListenHost is where `smartreg serve` listens: loopback unless an
	// operator opens it deliberately.
	ListenHost string `env:"LISTEN_HOST" default:"127.0.0.1" help:"监听地址（默认仅本机；0.0.0.0 对外开放）"`
	// Simulators mounts the simulators of systems we cannot reach (the SMS
	// gateway shows every code it "sent"): a development aid, never for a
	// reachable server.
	Simulators bool `env:"SMARTREG_SIMULATORS" default:"false" help:"开发模式：挂载外部系统模拟器（短信模拟器会显示验证码，切勿对外开放）"`
	// Add-on Triggers (e.g. a subscriber given by URI, such as another
	// department's webhook) join the production wiring without a rebuild.
	ExtraManifestsDir string `env:"EXTRA_MANIFESTS_DIR" default:"" help:"额外的 Knative 清单目录（附加触发器，如外部订阅地址）"`

	// Each function's own settings, documented in docs/operations.md.
	Registry         registry.Config         `group:"registry"`
	QR               qrgenerate.Config       `group:"qr-generate"`
	Console          console.Config          `group:"console"`
	Identity         identity.Config         `group:"identity"` // with its OIDC provider's and online list's groups
	Audit            audit.Config            `group:"audit"`
	Notify           notify.Config           `group:"notify"`
	Scan             scanresolve.Config      `group:"scan-resolve"`
	OcrIdcard        ocridcard.Config        `group:"ocr-idcard"`
	Documents        documents.Config        `group:"documents"`
	Metrology        metrology.Config        `group:"metrology"`
	CertificatePrint certificateprint.Config `group:"certificate-print"`
	ProvincialSync   provincialsync.Config   `group:"provincial-sync"`
	Laws             laws.Config             `group:"laws"`
	Activities       activities.Config       `group:"activities"`
	PolicyMatch      policymatch.Config      `group:"policy-match"`
	AlarmIntake      alarmintake.Config      `group:"alarm-intake"`
	Dispatch         dispatch.Config         `group:"dispatch"`
	Datahub          datahub.Config          `group:"datahub"`
	EvidenceCapture  evidencecapture.Config  `group:"evidence-capture"`
	CrawlerShard     crawlershard.Config     `group:"crawler-shard"`
	Monitor          monitor.Config          `group:"monitor"`
	EntityGraph      entitygraph.Config      `group:"entity-graph"`
	Dashboard        dashboard.Config        `group:"dashboard"`
	Comms            comms.Config            `group:"comms"`
	Connectors       connectors.Config       `group:"connectors"`
	// scaffold:config
}

// Typed holds each function by its own type, set by its builder.
type Typed struct {
	Registry         *registry.Function
	Identity         *identity.Function
	Audit            *audit.Function
	Notify           *notify.Function
	QR               *qrgenerate.Function
	Scan             *scanresolve.Function
	Console          *console.Function
	OcrIdcard        *ocridcard.Function
	Documents        *documents.Function
	Metrology        *metrology.Function
	CertificatePrint *certificateprint.Function
	ProvincialSync   *provincialsync.Function
	Laws             *laws.Function
	Activities       *activities.Function
	PolicyMatch      *policymatch.Function
	AlarmIntake      *alarmintake.Function
	Dispatch         *dispatch.Function
	Datahub          *datahub.Function
	EvidenceCapture  *evidencecapture.Function
	CrawlerShard     *crawlershard.Function
	Monitor          *monitor.Function
	EntityGraph      *entitygraph.Function
	Dashboard        *dashboard.Function
	Comms            *comms.Function
	Connectors       *connectors.Function
	// scaffold:typed
}

// builder makes one function from the platform's shared connections and
// its own Config; builders lists them in start order. Identity comes
// first: the others verify tokens against its keys.
type builder struct {
	name       string
	prefixes   []string // public prefixes besides /<name>/
	migrations func() []store.Migration
	build      func(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error)
}

var builders = []builder{
	{name: identity.Name, migrations: identity.Migrations, build: buildIdentity},
	{name: audit.Name, migrations: audit.Migrations, build: buildAudit},
	{name: notify.Name, migrations: notify.Migrations, build: buildNotify},
	{name: registry.Name, migrations: registry.Migrations, build: buildRegistry},
	{name: qrgenerate.Name, prefixes: []string{"/qr/"}, migrations: qrgenerate.Migrations, build: buildQR},
	{name: scanresolve.Name, prefixes: []string{"/q/", "/scan/"}, migrations: scanresolve.Migrations, build: buildScan},
	{name: console.Name, migrations: none, build: buildConsole},
	{name: ocridcard.Name, prefixes: []string{"/ocr/"}, migrations: ocridcard.Migrations, build: buildOcrIdcard},
	{name: documents.Name, prefixes: []string{"/docs/"}, migrations: documents.Migrations, build: buildDocuments},
	{name: metrology.Name, migrations: metrology.Migrations, build: buildMetrology},
	{name: certificateprint.Name, prefixes: []string{"/certs/"}, migrations: certificateprint.Migrations, build: buildCertificatePrint},
	{name: provincialsync.Name, prefixes: []string{"/province/"}, migrations: provincialsync.Migrations, build: buildProvincialSync},
	{name: laws.Name, migrations: laws.Migrations, build: buildLaws},
	{name: activities.Name, migrations: activities.Migrations, build: buildActivities},
	{name: policymatch.Name, prefixes: []string{"/policy/"}, migrations: policymatch.Migrations, build: buildPolicyMatch},
	{name: alarmintake.Name, prefixes: []string{"/alarm/"}, migrations: alarmintake.Migrations, build: buildAlarmIntake},
	{name: dispatch.Name, migrations: dispatch.Migrations, build: buildDispatch},
	{name: datahub.Name, migrations: datahub.Migrations, build: buildDatahub},
	{name: evidencecapture.Name, prefixes: []string{"/evidence/"}, migrations: evidencecapture.Migrations, build: buildEvidenceCapture},
	{name: crawlershard.Name, prefixes: []string{"/crawl/"}, migrations: crawlershard.Migrations, build: buildCrawlerShard},
	{name: monitor.Name, migrations: monitor.Migrations, build: buildMonitor},
	{name: entitygraph.Name, prefixes: []string{"/entity/"}, migrations: entitygraph.Migrations, build: buildEntityGraph},
	{name: dashboard.Name, migrations: dashboard.Migrations, build: buildDashboard},
	{name: comms.Name, migrations: comms.Migrations, build: buildComms},
	{name: connectors.Name, migrations: connectors.Migrations, build: buildConnectors},
	// scaffold:builders
}

func one(m func() store.Migration) func() []store.Migration {
	return func() []store.Migration { return []store.Migration{m()} }
}

func none() []store.Migration { return nil }

func buildIdentity(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	// PUBLIC_BASE_URL is one setting: the platform's group is the one a
	// caller sets (identity's embedded copy was loaded from the same
	// variable).
	ic := cfg.Identity
	ic.Public = cfg.Public
	fn, err := identity.New(identity.Deps{Logger: log, Pool: p.Pool, Redis: p.Redis, Now: time.Now}, ic)
	if err != nil {
		return nil, err
	}
	if u, err := url.Parse(cfg.Identity.SMSGatewayURL); err == nil && strings.HasPrefix(u.Path, "/sim/") && !cfg.Simulators {
		log.Warn("SMS_GATEWAY_URL points at the SMS simulator, which is mounted only with SMARTREG_SIMULATORS=true: "+
			"reset codes and account notices cannot be sent", "sms_gateway", cfg.Identity.SMSGatewayURL)
	}
	p.Identity = fn
	// One verifier (one revocation subscription) serves every function
	// here; it knows identity's keys once identity has started, before any
	// request is served. It lives as long as the platform.
	p.Verifier = fn.Verifier()
	p.closers = append(p.closers, p.Verifier.Close)
	return fn, nil
}

func buildAudit(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	fn, err := audit.New(audit.Deps{Logger: log, Pool: p.Pool, Blob: p.Blob, Verifier: p.Verifier, Now: time.Now}, cfg.Audit)
	p.Audit = fn
	return fn, err
}

func buildNotify(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	fn, err := notify.New(notify.Deps{Logger: log, Pool: p.Pool, Redis: p.Redis, Verifier: p.Verifier, Now: time.Now}, cfg.Notify)
	p.Notify = fn
	return fn, err
}

func buildRegistry(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	fn, err := registry.New(registry.Deps{Logger: log, Pool: p.Pool, Now: time.Now, Verifier: p.Verifier}, cfg.Registry)
	p.Registry = fn
	return fn, err
}

func buildQR(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	// The platform's public address is the one every function builds
	// links on: the group is read once, here (a test may set it).
	qc := cfg.QR
	qc.Public = cfg.Public
	fn, err := qrgenerate.New(qrgenerate.Deps{Logger: log, Pool: p.Pool, Blob: p.Blob,
		Render: render.New(render.LevelM), Verifier: p.Verifier, Now: time.Now}, qc)
	p.QR = fn
	return fn, err
}

func buildScan(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	codec, err := cfg.Scan.Codec()
	if err != nil {
		return nil, err
	}
	fn, err := scanresolve.New(scanresolve.Deps{Logger: log, Pool: p.Pool, Redis: p.Redis, Blob: p.Blob, Tokens: codec,
		Verifier: p.Verifier, Now: time.Now}, cfg.Scan)
	p.Scan = fn
	return fn, err
}

func buildConsole(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	cc := cfg.Console
	// The consult pages open comms' LiveKit signalling WebSocket.
	if u := cfg.Comms.LiveKitURL; !strings.Contains(" "+cc.ConnectSrc+" ", " "+u+" ") {
		cc.ConnectSrc += " " + u
	}
	fn, err := console.New(console.Deps{Logger: log}, cc)
	p.Console = fn
	return fn, err
}

func buildOcrIdcard(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	fn, err := ocridcard.New(ocridcard.Deps{Logger: log, Pool: p.Pool, Blob: p.Blob, Now: time.Now, Verifier: p.Verifier}, cfg.OcrIdcard)
	p.OcrIdcard = fn
	return fn, err
}

func buildDocuments(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	c := cfg.Documents
	c.Public = cfg.Public // one public address for the whole platform
	fn, err := documents.New(documents.Deps{Logger: log, Pool: p.Pool, Blob: p.Blob, Now: time.Now, Verifier: p.Verifier}, c)
	p.Documents = fn
	return fn, err
}

func buildMetrology(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	fn, err := metrology.New(metrology.Deps{Logger: log, Pool: p.Pool, Blob: p.Blob, Now: time.Now, Verifier: p.Verifier}, cfg.Metrology)
	p.Metrology = fn
	return fn, err
}

func buildCertificatePrint(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	cc := cfg.CertificatePrint
	cc.Public = cfg.Public // the certificates' QR codes point to the platform's public address
	fn, err := certificateprint.New(certificateprint.Deps{Logger: log, Pool: p.Pool, Blob: p.Blob, Render: certrender.New(),
		Now: time.Now, Verifier: p.Verifier}, cc)
	p.CertificatePrint = fn
	return fn, err
}

func buildProvincialSync(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	fn, err := provincialsync.New(provincialsync.Deps{Logger: log, Pool: p.Pool, Blob: p.Blob, HTTP: &http.Client{},
		Now: time.Now, Verifier: p.Verifier}, cfg.ProvincialSync)
	p.ProvincialSync = fn
	return fn, err
}

func buildLaws(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	fn, err := laws.New(laws.Deps{Logger: log, Pool: p.Pool, Now: time.Now, Verifier: p.Verifier}, cfg.Laws)
	p.Laws = fn
	return fn, err
}

func buildActivities(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	// The same gateway as identity's reset codes.
	text, err := sms.New(cfg.Identity.SMSGatewayURL, cfg.Identity.SMSAppKey, cfg.Identity.SMSAppSecret, nil)
	if err != nil {
		return nil, err
	}
	ac := cfg.Activities
	if cfg.Simulators {
		// The bureau-site simulator (/sim/bureau/) can be imported from.
		ac.ImportAllow += "," + strings.TrimRight(cfg.Public.URL(), "/") + "/sim/bureau/"
	}
	fn, err := activities.New(activities.Deps{Logger: log, Pool: p.Pool, Now: time.Now, Verifier: p.Verifier, Blob: p.Blob, SMS: text}, ac)
	p.Activities = fn
	return fn, err
}

func buildPolicyMatch(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	fn, err := policymatch.New(policymatch.Deps{Logger: log, Pool: p.Pool, Now: time.Now, Verifier: p.Verifier,
		Fetcher: policymatch.NewHTTPFetcher()}, cfg.PolicyMatch)
	p.PolicyMatch = fn
	return fn, err
}

func buildAlarmIntake(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	fn, err := alarmintake.New(alarmintake.Deps{Logger: log, Pool: p.Pool, Blob: p.Blob, Now: time.Now, Verifier: p.Verifier}, cfg.AlarmIntake)
	p.AlarmIntake = fn
	return fn, err
}

func buildDispatch(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	fn, err := dispatch.New(dispatch.Deps{Logger: log, Pool: p.Pool, Now: time.Now, Verifier: p.Verifier}, cfg.Dispatch)
	p.Dispatch = fn
	return fn, err
}

func buildDatahub(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	fn, err := datahub.New(datahub.Deps{Logger: log, Pool: p.Pool, Redis: p.Redis, Now: time.Now, Verifier: p.Verifier}, cfg.Datahub)
	p.Datahub = fn
	return fn, err
}

func buildEvidenceCapture(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	ec := cfg.EvidenceCapture
	ec.Public = cfg.Public // the certificates' QR codes open the platform's public verification page
	fn, err := evidencecapture.New(evidencecapture.Deps{Logger: log, Pool: p.Pool, Blob: p.Blob, Now: time.Now, Verifier: p.Verifier}, ec)
	p.EvidenceCapture = fn
	return fn, err
}

func buildCrawlerShard(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	fn, err := crawlershard.New(crawlershard.Deps{Logger: log, Pool: p.Pool, Redis: p.Redis, Now: time.Now, Verifier: p.Verifier}, cfg.CrawlerShard)
	p.CrawlerShard = fn
	return fn, err
}

func buildMonitor(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	fn, err := monitor.New(monitor.Deps{Logger: log, Pool: p.Pool, Now: time.Now, Verifier: p.Verifier}, cfg.Monitor)
	p.Monitor = fn
	return fn, err
}

func buildEntityGraph(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	ec := cfg.EntityGraph
	if cfg.Simulators && ec.NationalURL == config.Defaults[entitygraph.Config]().NationalURL {
		// The portrait's national data comes from the simulator the platform mounts (/sim/nationaldata/).
		ec.NationalURL = strings.TrimRight(cfg.Public.URL(), "/") + "/sim/nationaldata"
	}
	fn, err := entitygraph.New(entitygraph.Deps{Logger: log, Pool: p.Pool, Now: time.Now, Verifier: p.Verifier}, ec)
	p.EntityGraph = fn
	return fn, err
}

// functionSimulators are the simulators kept in a function's own sim
// package, by the path prefix the platform mounts them at when simulators
// are on.
func functionSimulators(cfg Config) map[string]http.Handler {
	return map[string]http.Handler{
		// AMap's geocoding for dashboard: signed requests, limits, points near each district's seat.
		"/sim/amap": amapsim.New(cfg.Dashboard.AMapKey, cfg.Dashboard.AMapSecret),
	}
}

func buildDashboard(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	dc := cfg.Dashboard
	if cfg.Simulators && dc.AMapURL == config.Defaults[dashboard.Config]().AMapURL {
		// Geocoding goes to the AMap simulator the platform mounts (/sim/amap/).
		dc.AMapURL = strings.TrimRight(cfg.Public.URL(), "/") + "/sim/amap"
	}
	fn, err := dashboard.New(dashboard.Deps{Logger: log, Pool: p.Pool, Now: time.Now, Verifier: p.Verifier, Blob: p.Blob}, dc)
	p.Dashboard = fn
	return fn, err
}

func buildComms(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	// The same SMS gateway as identity's reset codes; the voice, fax and TTS
	// gateways default to the simulator at /sim/telecom.
	text, err := sms.New(cfg.Identity.SMSGatewayURL, cfg.Identity.SMSAppKey, cfg.Identity.SMSAppSecret, nil)
	if err != nil {
		return nil, err
	}
	tel, fax, tts, err := cfg.Comms.Gateways()
	if err != nil {
		return nil, err
	}
	fn, err := comms.New(comms.Deps{Logger: log, Pool: p.Pool, Now: time.Now, Verifier: p.Verifier, Blob: p.Blob, SMS: text,
		Telephony: tel, Fax: fax, TTS: tts}, cfg.Comms)
	p.Comms = fn
	return fn, err
}

func buildConnectors(p *Platform, cfg Config, log *slog.Logger) (runtime.Function, error) {
	fn, err := connectors.New(connectors.Deps{Logger: log, Pool: p.Pool, HTTP: &http.Client{}, Now: time.Now, Verifier: p.Verifier}, cfg.Connectors)
	p.Connectors = fn
	return fn, err
}

// scaffold:build-funcs
