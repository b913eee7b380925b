// Command qr-generate is the qr-generate function's Knative entry point:
// the same constructor the one-process platform calls, served on $PORT,
// with an outbox relay posting its events to the Broker (K_SINK) and the
// batch issuance runner.
package main

import (
	"context"
	"time"

	qrgenerate "github.com/sjzamr/smartreg/functions/qr-generate"
	"github.com/sjzamr/smartreg/functions/qr-generate/render"
	"github.com/sjzamr/smartreg/shared/qrtoken"
	"github.com/sjzamr/smartreg/shared/runtime/entry"
)

type Config struct {
	entry.Server
	entry.Backend
	entry.Blob // QR images, cached posters
	entry.Auth
	QRTokenKey    string `env:"QR_TOKEN_KEY" default:"smartreg-dev-qr-token-key-not-for-production" secret:"true" help:"二维码令牌 MAC 密钥，与 scan-resolve 相同；生产环境必须更换且不可再改"`
	PublicBaseURL string `env:"PUBLIC_BASE_URL" default:"http://localhost:8080" help:"平台对外地址，二维码内容为 PUBLIC_BASE_URL/q/{token}"`
	Authority     string `env:"QR_POSTER_AUTHORITY" default:"石家庄市市场监督管理局" help:"海报上的发码机关"`
	MaxZipItems   int    `env:"QR_MAX_ZIP_ITEMS" default:"2000" help:"单次批量下载（ZIP）最多包含的二维码数"`
	DBMaxConns    int    `env:"DB_MAX_CONNS" default:"20"`
}

func main() { entry.Main(qrgenerate.Name, run) }

func run(ctx context.Context) error {
	var cfg Config
	log, err := entry.Load(qrgenerate.Name, &cfg)
	if err != nil {
		return err
	}
	if cfg.QRTokenKey == qrtoken.DevKey {
		log.Warn("QR_TOKEN_KEY is the documented development key: set a secret key in production")
	}
	deps, err := entry.Open(ctx, &cfg, cfg.DBMaxConns, log, qrgenerate.Migration())
	if err != nil {
		return err
	}
	defer deps.Close()
	codec, err := qrtoken.New([]byte(cfg.QRTokenKey))
	if err != nil {
		return err
	}
	fn, err := qrgenerate.New(qrgenerate.Deps{Logger: log, Pool: deps.Pool, Blob: deps.Blobs, Render: render.New(render.LevelM),
		Tokens: codec, Now: time.Now, Authenticate: deps.Verifier.Middleware, PublicBaseURL: cfg.PublicBaseURL,
		Authority: cfg.Authority, MaxZipItems: cfg.MaxZipItems})
	if err != nil {
		return err
	}
	return entry.Run(ctx, qrgenerate.Name, fn, cfg.Server, deps, log)
}
