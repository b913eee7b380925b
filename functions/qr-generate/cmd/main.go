// Command qr-generate is the qr-generate function's Knative entry point:
// the same constructor the one-process platform calls, served on $PORT,
// with an outbox relay posting its events to the Broker (K_SINK) and the
// batch issuance runner.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	qrgenerate "github.com/sjzamr/smartreg/functions/qr-generate"
	"github.com/sjzamr/smartreg/functions/qr-generate/render"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/cache"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/qrtoken"
	"github.com/sjzamr/smartreg/shared/runtime"
	"github.com/sjzamr/smartreg/shared/store"
)

type Config struct {
	DatabaseURL   string        `env:"DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/smartreg?sslmode=disable" secret:"true"`
	RedisURL      string        `env:"REDIS_URL" default:"redis://127.0.0.1:6379/0" secret:"true" help:"Redis（令牌吊销通知）"`
	BlobURL       string        `env:"BLOB_URL" default:"file:.data/blob" secret:"true" help:"对象存储地址（二维码图片、海报缓存）"`
	QRTokenKey    string        `env:"QR_TOKEN_KEY" default:"smartreg-dev-qr-token-key-not-for-production" secret:"true" help:"二维码令牌 MAC 密钥，与 scan-resolve 相同；生产环境必须更换且不可再改"`
	PublicBaseURL string        `env:"PUBLIC_BASE_URL" default:"http://localhost:8080" help:"平台对外地址，二维码内容为 PUBLIC_BASE_URL/q/{token}"`
	Authority     string        `env:"QR_POSTER_AUTHORITY" default:"石家庄市市场监督管理局" help:"海报上的发码机关"`
	MaxZipItems   int           `env:"QR_MAX_ZIP_ITEMS" default:"2000" help:"单次批量下载（ZIP）最多包含的二维码数"`
	JWKSURL       string        `env:"AUTH_JWKS_URL" default:"http://localhost:8080/identity/oidc/keys" help:"identity 的公钥集（JWKS）地址"`
	Issuer        string        `env:"IDENTITY_ISSUER" default:"http://localhost:8080/identity/oidc" help:"访问令牌签发者（iss）"`
	Audience      string        `env:"AUTH_AUDIENCE" default:"smartreg" help:"访问令牌受众（aud）"`
	Port          int           `env:"PORT" default:"8080"`
	BrokerURL     string        `env:"K_SINK" default:"" help:"Broker ingress, injected by a SinkBinding"`
	LogLevel      string        `env:"LOG_LEVEL" default:"info"`
	DrainTimeout  time.Duration `env:"DRAIN_TIMEOUT" default:"20s"`
	DBMaxConns    int           `env:"DB_MAX_CONNS" default:"20"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "qr-generate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg Config
	if err := config.Load(&cfg, nil); err != nil {
		return err
	}
	log := httpx.NewLogger(os.Stderr, cfg.LogLevel).With("function", qrgenerate.Name)
	log.Info("starting", "config", config.Masked(&cfg))
	if cfg.QRTokenKey == qrtoken.DevKey {
		log.Warn("QR_TOKEN_KEY is the documented development key: set a secret key in production")
	}
	if cfg.BrokerURL == "" {
		return errors.New("K_SINK is not set: bind qr-generate to the Broker with a SinkBinding")
	}
	pool, err := store.Connect(ctx, cfg.DatabaseURL, int32(cfg.DBMaxConns))
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool, store.Platform(), qrgenerate.Migration()); err != nil {
		return err
	}
	rdb, err := cache.Connect(ctx, cfg.RedisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	blobs, err := blob.Open(ctx, cfg.BlobURL)
	if err != nil {
		return err
	}
	codec, err := qrtoken.New([]byte(cfg.QRTokenKey))
	if err != nil {
		return err
	}
	verifier, err := auth.NewVerifier(auth.VerifierConfig{JWKSURL: cfg.JWKSURL, Issuer: cfg.Issuer, Audience: cfg.Audience,
		Redis: rdb, Logger: log})
	if err != nil {
		return err
	}
	defer verifier.Close()
	fn, err := qrgenerate.New(qrgenerate.Deps{Logger: log, Pool: pool, Blob: blobs, Render: render.New(render.LevelM),
		Tokens: codec, Now: time.Now, Authenticate: verifier.Middleware, PublicBaseURL: cfg.PublicBaseURL,
		Authority: cfg.Authority, MaxZipItems: cfg.MaxZipItems})
	if err != nil {
		return err
	}
	stopRelay, err := outbox.StartHTTPRelay(ctx, pool, cfg.BrokerURL, log)
	if err != nil {
		return err
	}
	defer stopRelay()
	// Batch jobs run beside the server; on SIGTERM the running one goes
	// back to the queue for another pod while requests drain.
	jctx, stopJobs := context.WithCancel(ctx)
	var jobs sync.WaitGroup
	jobs.Go(func() { _ = fn.RunBatchJobs(jctx) })
	defer jobs.Wait()
	defer stopJobs()
	h := runtime.Handler(qrgenerate.Name, fn, log, runtime.NewMetrics())
	return runtime.Serve(ctx, fmt.Sprintf(":%d", cfg.Port), h, cfg.DrainTimeout, log)
}
