// Package ocridcard is the ocr-idcard function (身份证识别, FP-11): it reads
// ID cards from phone photos (package recognize: Tesseract through
// gosseract, with the card found, straightened and read field by field),
// keeps the photos encrypted for a limited time, and audits every view of a
// photo or a full number.
package ocridcard

import (
	"context"
	"embed"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/functions/ocr-idcard/recognize"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its route prefix and Knative Service.
const Name = "ocr-idcard"

// Source is the CloudEvents source of everything ocr-idcard emits.
const Source = "/functions/ocr-idcard"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the ocridcard schema's one migration stream.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is the function's own settings, read from the environment.
type Config struct {
	Workers       int    `env:"OCR_WORKERS" default:"2" help:"同时进行识别的 Tesseract 引擎数（每个约 110 MiB 内存，建议等于 CPU 核数）"`
	MaxUploadMB   int    `env:"OCR_MAX_UPLOAD_MB" default:"10" help:"每张照片的最大字节数（MB）"`
	MaxPixels     int    `env:"OCR_MAX_PIXELS" default:"50000000" help:"照片解码前允许的最大像素数（防解压炸弹）"`
	RetentionDays int    `env:"OCR_RETENTION_DAYS" default:"30" help:"身份证照片保留天数，过期由定时任务删除"`
	PhotoKeys     string `env:"OCR_PHOTO_KEYS" default:"dev-only-ocr-photo-key-change-me" secret:"true" help:"照片与身份证号加密的主密钥（逗号分隔，第一个用于加密，其余用于解密轮换前的数据；每个至少 16 个字符）；本地默认值仅供开发，生产必须更换"`
	// FP-12: the identity-verification provider (local default: the simulator).
	VerifyURL       string        `env:"OCR_VERIFY_URL" default:"http://localhost:8080/sim/idverify" help:"身份核验服务地址（POST {base}/v1/idcard/verify）；本地默认指向模拟器（须 SMARTREG_SIMULATORS=true）"`
	VerifyAppID     string        `env:"OCR_VERIFY_APP_ID" default:"smartreg-dev" help:"身份核验服务分配的 AppId"`
	VerifySecret    string        `env:"OCR_VERIFY_APP_SECRET" default:"dev-only-idverify-secret" secret:"true" help:"身份核验请求签名密钥（HMAC-SHA256）；本地默认值仅供开发"`
	VerifyQuota     int           `env:"OCR_VERIFY_DAILY_QUOTA" default:"500" help:"每日身份核验次数上限（按北京时间自然日，服务按次计费）"`
	VerifyRetries   int           `env:"OCR_VERIFY_RETRIES" default:"3" help:"核验服务繁忙或超时时的重试次数（指数退避）"`
	VerifyBackoff   time.Duration `env:"OCR_VERIFY_BACKOFF" default:"500ms" help:"首次重试前的等待时间，之后每次加倍"`
	VerifyTimeout   time.Duration `env:"OCR_VERIFY_TIMEOUT" default:"5s" help:"每次核验请求的超时时间"`
	VerifyThreshold int           `env:"OCR_VERIFY_PHOTO_THRESHOLD" default:"80" help:"照片比对分数低于此值视为照片不符（0–100）"`
	Tessdata        string        `env:"OCR_TESSDATA" default:"" help:"Tesseract 语言数据目录（留空使用系统默认，需 chi_sim 与 eng）"`
}

// Validate refuses settings the function cannot work with.
func (c Config) Validate() error {
	switch {
	case c.Workers < 1:
		return errors.New("ocr-idcard: OCR_WORKERS must be at least 1")
	case c.MaxUploadMB < 1:
		return errors.New("ocr-idcard: OCR_MAX_UPLOAD_MB must be at least 1")
	case c.MaxPixels < 1_000_000:
		return errors.New("ocr-idcard: OCR_MAX_PIXELS must be at least 1000000")
	case c.RetentionDays < 1:
		return errors.New("ocr-idcard: OCR_RETENTION_DAYS must be at least 1")
	case c.VerifyQuota < 0 || c.VerifyRetries < 0 || c.VerifyBackoff <= 0 || c.VerifyTimeout <= 0:
		return errors.New("ocr-idcard: OCR_VERIFY_DAILY_QUOTA and OCR_VERIFY_RETRIES must not be negative, OCR_VERIFY_BACKOFF and OCR_VERIFY_TIMEOUT must be positive")
	case c.VerifyThreshold < 0 || c.VerifyThreshold > 100:
		return errors.New("ocr-idcard: OCR_VERIFY_PHOTO_THRESHOLD must be 0–100")
	}
	_, err := newSealer(c.keys())
	return err
}

func (c Config) keys() []string {
	var out []string
	for _, k := range strings.Split(c.PhotoKeys, ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// Verifier puts the caller's principal into each request (*auth.Verifier).
type Verifier interface {
	Middleware(next http.Handler) http.Handler
}

// Blob is the object storage the encrypted photos live in (blob.Store).
type Blob interface {
	Put(ctx context.Context, key string, r io.Reader, contentType string) (blob.Info, error)
	Get(ctx context.Context, key string) (io.ReadCloser, blob.Info, error)
	Delete(ctx context.Context, key string) error
	Ping(ctx context.Context) error
}

// Deps is what the function needs.
type Deps struct {
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Blob     Blob
	Now      func() time.Time
	Verifier Verifier
	// IDVerifier is the identity-verification provider; nil: the HTTP
	// client configured by OCR_VERIFY_*.
	IDVerifier IdentityVerifier
}

// Function is ocr-idcard.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	blob     Blob
	now      func() time.Time
	verifier Verifier
	cfg      Config
	seal     *sealer
	engines  *recognize.Engines
	idv      IdentityVerifier
}

// New checks the dependencies and the settings; it does no I/O and starts
// nothing: the Tesseract engines load on first use.
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("ocr-idcard: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("ocr-idcard: Pool is required")
	case d.Blob == nil:
		return nil, errors.New("ocr-idcard: Blob is required")
	case d.Now == nil:
		return nil, errors.New("ocr-idcard: Now is required")
	case d.Verifier == nil:
		return nil, errors.New("ocr-idcard: Verifier is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s, _ := newSealer(c.keys())
	idv := d.IDVerifier
	if idv == nil {
		idv = newVerifyClient(c)
	}
	return &Function{log: d.Logger, pool: d.Pool, blob: d.Blob, now: d.Now, verifier: d.Verifier, cfg: c, seal: s,
		engines: recognize.NewEngines(c.Workers, c.Tessdata), idv: idv}, nil
}

// Stop frees the Tesseract engines.
func (f *Function) Stop(context.Context) error {
	f.engines.Close()
	return nil
}

// Ready answers when the database, the object store and Tesseract's
// languages are there.
func (f *Function) Ready(ctx context.Context) error {
	if err := f.pool.Ping(ctx); err != nil {
		return err
	}
	if err := f.blob.Ping(ctx); err != nil {
		return err
	}
	return recognize.Available()
}
