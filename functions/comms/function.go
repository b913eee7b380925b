// Package comms is the comms function (会商与融合通信): consult rooms on a
// real LiveKit server opened for dispatch events, access tokens minted from
// our identity with grants per role, the host's kick and mute through
// LiveKit's room service, the consult's chat and the phones' reports kept
// with the event, recordings in object storage, and one-key call, SMS and
// fax to an event's nodes with fallbacks and a delivery log.
package comms

import (
	"context"
	"embed"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/sms"
	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its route prefix and Knative Service.
const Name = "comms"

// Source is the CloudEvents source of everything comms emits.
const Source = "/functions/comms"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the comms schema's one migration stream.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is the function's own settings, read from the environment. The
// defaults match infra/local/scripts/start-livekit.sh (the development
// server); the Knative deployment points them at the LiveKit cluster.
type Config struct {
	LiveKitURL    string        `env:"LIVEKIT_URL" default:"ws://127.0.0.1:7880" help:"LiveKit 服务地址（客户端连接用，ws:// 或 wss://）"`
	LiveKitKey    string        `env:"LIVEKIT_API_KEY" default:"smartreg" help:"LiveKit API Key"`
	LiveKitSecret string        `env:"LIVEKIT_API_SECRET" default:"smartreg-livekit-dev-secret-0123456789" secret:"true" help:"LiveKit API Secret（生产环境必须更换）"`
	TokenTTL      time.Duration `env:"COMMS_TOKEN_TTL" default:"2h" help:"会商入会令牌有效期"`
	MaxMembers    int           `env:"COMMS_MAX_MEMBERS" default:"50" help:"单个会商房间最多成员数"`
	MaxMessage    int           `env:"COMMS_MAX_MESSAGE" default:"2000" help:"单条聊天消息最大字数"`
	MaxUpload     int64         `env:"COMMS_MAX_UPLOAD" default:"20971520" help:"手机端上报的语音或图片最大字节数"`
	RecordingDir  string        `env:"COMMS_RECORDING_DIR" default:"" help:"录音进行中的临时文件目录（空为系统临时目录）；结束后存入对象存储"`
	TelephonyURL  string        `env:"COMMS_TELEPHONY_URL" default:"http://localhost:8080/sim/telecom" help:"语音呼叫网关地址（POST {base}/voice/call）；本地默认指向模拟器"`
	FaxURL        string        `env:"COMMS_FAX_URL" default:"http://localhost:8080/sim/telecom" help:"传真网关地址（POST {base}/fax/send）；本地默认指向模拟器"`
	TTSURL        string        `env:"COMMS_TTS_URL" default:"http://localhost:8080/sim/telecom" help:"语音合成（TTS）服务地址（POST {base}/tts/synthesize）；本地默认指向模拟器"`
	GatewayKey    string        `env:"COMMS_GATEWAY_KEY" default:"smartreg-dev" help:"语音、传真、TTS 网关 AppKey"`
	GatewaySecret string        `env:"COMMS_GATEWAY_SECRET" default:"dev-telecom-secret" secret:"true" help:"语音、传真、TTS 网关签名密钥（HMAC-SHA256）"`
	CallerID      string        `env:"COMMS_CALLER_ID" default:"03118888000" help:"一键呼叫的主叫号码"`
	SMSSign       string        `env:"COMMS_SMS_SIGN" default:"石家庄市场监管" help:"一键短信及回退短信的短信签名"`
	HLSIdle       time.Duration `env:"COMMS_HLS_IDLE" default:"1m" help:"摄像头直播（HLS）无人观看多久后停止转封装"`
	PublicURL     string        `env:"COMMS_PUBLIC_URL" default:"http://localhost:8080" help:"平台对外地址，传真回退短信中的查看链接以此开头"`
}

// Validate refuses settings the function cannot work with.
func (c Config) Validate() error {
	switch {
	case !strings.HasPrefix(c.LiveKitURL, "ws://") && !strings.HasPrefix(c.LiveKitURL, "wss://") &&
		!strings.HasPrefix(c.LiveKitURL, "http://") && !strings.HasPrefix(c.LiveKitURL, "https://"):
		return errors.New("comms: LIVEKIT_URL must be a ws://, wss://, http:// or https:// address")
	case c.LiveKitKey == "" || c.LiveKitSecret == "":
		return errors.New("comms: LIVEKIT_API_KEY and LIVEKIT_API_SECRET are required")
	case c.TokenTTL < time.Minute:
		return errors.New("comms: COMMS_TOKEN_TTL must be at least 1m")
	case c.MaxMembers < 2:
		return errors.New("comms: COMMS_MAX_MEMBERS must be at least 2")
	case c.MaxMessage < 1:
		return errors.New("comms: COMMS_MAX_MESSAGE must be at least 1")
	case c.MaxUpload < 1024:
		return errors.New("comms: COMMS_MAX_UPLOAD must be at least 1024")
	case c.HLSIdle < 10*time.Second:
		return errors.New("comms: COMMS_HLS_IDLE must be at least 10s")
	case !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://"):
		return errors.New("comms: COMMS_PUBLIC_URL must be an http(s) address")
	}
	return nil
}

// Verifier puts the caller's principal into each request (*auth.Verifier).
type Verifier interface {
	Middleware(next http.Handler) http.Handler
}

// Blob is the object storage recordings and the phones' voice and images
// go to (*blob.S3 or *blob.Dir).
type Blob interface {
	Put(ctx context.Context, key string, r io.Reader, contentType string) (blob.Info, error)
	Get(ctx context.Context, key string) (io.ReadCloser, blob.Info, error)
	Stat(ctx context.Context, key string) (blob.Info, error)
	Delete(ctx context.Context, key string) error
}

// SMS sends text messages (*sms.Client).
type SMS interface {
	Send(ctx context.Context, m sms.Message) error
}

// Deps is what the function needs. Telephony, Fax and TTS are the
// gateways' clients (*TelephonyClient, *FaxClient, *TTSClient; the
// simulators in tests/sim/telecom stand in for them here).
type Deps struct {
	Logger    *slog.Logger
	Pool      *pgxpool.Pool
	Now       func() time.Time
	Verifier  Verifier
	Blob      Blob
	SMS       SMS
	Telephony Telephony
	Fax       Fax
	TTS       TTS
}

// Function is comms.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	now      func() time.Time
	verifier Verifier
	blob     Blob
	sms      SMS
	tel      Telephony
	fax      Fax
	tts      TTS
	cfg      Config
	lk       *liveKit

	recMu     sync.Mutex
	recorders map[string]*recorder // consult id → the bot recording it
	hls       *hlsSessions
	stopReap  context.CancelFunc
}

// New checks the dependencies and the settings; it does no I/O and starts
// nothing (background work goes in Start, its end in Stop).
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("comms: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("comms: Pool is required")
	case d.Now == nil:
		return nil, errors.New("comms: Now is required")
	case d.Verifier == nil:
		return nil, errors.New("comms: Verifier is required")
	case d.Blob == nil:
		return nil, errors.New("comms: Blob is required")
	case d.SMS == nil:
		return nil, errors.New("comms: SMS is required")
	case d.Telephony == nil:
		return nil, errors.New("comms: Telephony is required")
	case d.Fax == nil:
		return nil, errors.New("comms: Fax is required")
	case d.TTS == nil:
		return nil, errors.New("comms: TTS is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Function{log: d.Logger, pool: d.Pool, now: d.Now, verifier: d.Verifier, blob: d.Blob, sms: d.SMS,
		tel: d.Telephony, fax: d.Fax, tts: d.TTS, cfg: c, lk: newLiveKit(c), recorders: map[string]*recorder{},
		hls: &hlsSessions{dir: c.RecordingDir, idleAfter: c.HLSIdle, live: map[string]*hlsSession{}}}, nil
}

// Start runs the reaper that ends camera streams nobody watches.
func (f *Function) Start(ctx context.Context) error {
	ctx, f.stopReap = context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		t := time.NewTicker(f.cfg.HLSIdle / 4)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				f.hls.reap(false)
			}
		}
	}()
	return nil
}

// Stop ends every recording this process runs, storing what was recorded.
func (f *Function) Stop(ctx context.Context) error {
	f.recMu.Lock()
	rs := f.recorders
	f.recorders = map[string]*recorder{}
	f.recMu.Unlock()
	for _, r := range rs {
		r.stop(ctx)
	}
	if f.stopReap != nil {
		f.stopReap()
	}
	f.hls.reap(true)
	return nil
}

// Ready answers when the database does. LiveKit is not part of readiness:
// the event's chat and the consult list work while it is down.
func (f *Function) Ready(ctx context.Context) error { return f.pool.Ping(ctx) }
