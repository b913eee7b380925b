// Package comms is the comms function (会商与融合通信): consult rooms on a
// real LiveKit server opened for dispatch events, access tokens minted from
// our identity with grants per role, the host's kick and mute through
// LiveKit's room service, and the consult's text chat kept with the event.
package comms

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

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
	}
	return nil
}

// Verifier puts the caller's principal into each request (*auth.Verifier).
type Verifier interface {
	Middleware(next http.Handler) http.Handler
}

// Deps is what the function needs.
type Deps struct {
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Now      func() time.Time
	Verifier Verifier
}

// Function is comms.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	now      func() time.Time
	verifier Verifier
	cfg      Config
	lk       *liveKit
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
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Function{log: d.Logger, pool: d.Pool, now: d.Now, verifier: d.Verifier, cfg: c, lk: newLiveKit(c)}, nil
}

// Ready answers when the database does. LiveKit is not part of readiness:
// the event's chat and the consult list work while it is down.
func (f *Function) Ready(ctx context.Context) error { return f.pool.Ping(ctx) }
