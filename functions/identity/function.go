// Package identity is SmartReg's identity and access function (FP-1 to
// FP-10): departments with jurisdictions, roles with menu, operation and
// data-scope permissions, users and their registration review, password
// login throttled per account and per address with a captcha, short-lived
// access tokens signed with Ed25519 and verified locally by every
// function, rotating refresh tokens, password reset by SMS, and the
// version changelog. The oidcprovider and online sub-packages serve the
// OpenID Connect provider and the online-user list beside it. Login
// attempts and operations are recorded for the audit function
// (auditlog.go).
//
// The path of a login: http_login.go (decode, origin check) → login.go
// Login (throttle.go: delay and captcha; password check with the login
// event) → issue (tokens) → the cookies.
package identity

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/functions/identity/oidcprovider"
	"github.com/sjzamr/smartreg/functions/identity/online"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its route prefix and Knative Service.
const Name = "identity"

// Source is the CloudEvents source of everything identity emits.
const Source = "/functions/identity"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the identity schema's one stream: users, roles,
// departments, sessions and the OIDC provider's tables. The login and
// operation logs and the message centre are the audit and notify
// functions' own streams.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is identity's settings; cmd/main.go and the one-process platform
// embed it and fill it with shared/config.Load. Every field has a default
// that runs locally.
type Config struct {
	config.Public

	Issuer    string `env:"IDENTITY_ISSUER" default:"http://localhost:8080/identity/oidc" help:"访问令牌签发者（iss），应为 PUBLIC_BASE_URL 加 /identity/oidc"`
	Audience  string `env:"AUTH_AUDIENCE" default:"smartreg" help:"访问令牌受众（aud），各函数校验令牌时使用同一值"`
	SecretKey string `env:"IDENTITY_SECRET_KEY" default:"dev-only-identity-secret-change-me" secret:"true" help:"加密签名私钥、身份证号和短信验证码摘要的主密钥（至少 16 个字符）；本地默认值仅供开发，生产必须更换"`
	DataDir   string `env:"IDENTITY_DATA_DIR" default:".data/identity" help:"数据目录：首次启动生成的初始账号密码文件 initial-passwords.txt（仅所有者可读）"`

	PasswordMinLength     int           `env:"IDENTITY_PASSWORD_MIN_LENGTH" default:"10" help:"密码最小长度"`
	PasswordClasses       int           `env:"IDENTITY_PASSWORD_CLASSES" default:"3" help:"密码至少包含的字符类别数（大写、小写、数字、特殊字符，1-4）"`
	PasswordExpiryDays    int           `env:"IDENTITY_PASSWORD_EXPIRY_DAYS" default:"90" help:"密码有效期（天），到期后登录须修改密码；0 表示不过期"`
	ForceChangeFirstLogin bool          `env:"IDENTITY_FORCE_CHANGE_FIRST_LOGIN" default:"true" help:"管理员创建或系统生成的密码首次登录后须修改"`
	LockoutThreshold      int           `env:"IDENTITY_LOCKOUT_THRESHOLD" default:"5" help:"须输入验证码后，又连续登录失败（验证码正确、密码错误）多少次锁定账号；未过验证码的失败不锁定账号"`
	LockoutDuration       time.Duration `env:"IDENTITY_LOCKOUT_DURATION" default:"15m" help:"账号锁定时长（短信重置密码可随时解锁）"`
	LoginWindow           time.Duration `env:"IDENTITY_LOGIN_WINDOW" default:"15m" help:"登录失败计数的时间窗（按账号名和按 IP 分别计数）"`
	CaptchaAfter          int           `env:"IDENTITY_CAPTCHA_AFTER" default:"3" help:"同一账号名在时间窗内登录失败达到该次数后，登录须输入图形验证码"`
	CaptchaAfterIP        int           `env:"IDENTITY_CAPTCHA_AFTER_IP" default:"10" help:"同一 IP 在时间窗内登录失败达到该次数后，该 IP 的登录须输入图形验证码"`
	LoginDelayMax         time.Duration `env:"IDENTITY_LOGIN_DELAY_MAX" default:"1m" help:"登录失败后递增等待时间（1 秒起逐次加倍）的上限"`
	CaptchaTTL            time.Duration `env:"IDENTITY_CAPTCHA_TTL" default:"5m" help:"图形验证码有效期（一次有效）"`
	CaptchaPerIPHour      int           `env:"IDENTITY_CAPTCHA_PER_IP_HOUR" default:"200" help:"同一 IP 每小时最多获取图形验证码次数"`
	SessionIdleTimeout    time.Duration `env:"IDENTITY_SESSION_IDLE_TIMEOUT" default:"30m" help:"会话空闲超时：超过该时长未刷新令牌即须重新登录"`
	AccessTTL             time.Duration `env:"IDENTITY_ACCESS_TTL" default:"15m" help:"访问令牌有效期（最长 1 小时）"`
	RefreshTTL            time.Duration `env:"IDENTITY_REFRESH_TTL" default:"12h" help:"刷新令牌有效期（每次使用即轮换）"`
	Argon2MemoryKiB       int           `env:"IDENTITY_ARGON2_MEMORY_KIB" default:"19456" help:"argon2id 口令散列内存开销（KiB），默认 19 MiB"`
	Argon2Passes          int           `env:"IDENTITY_ARGON2_PASSES" default:"2" help:"argon2id 口令散列迭代次数"`
	SecureCookies         bool          `env:"IDENTITY_SECURE_COOKIES" default:"false" help:"令牌 Cookie 是否带 Secure 属性（HTTPS 部署设为 true）"`
	RegisterPerIPHour     int           `env:"IDENTITY_REGISTER_PER_IP_HOUR" default:"20" help:"同一 IP 每小时最多提交账号申请次数"`

	SMSCodeTTL              time.Duration `env:"IDENTITY_SMS_CODE_TTL" default:"5m" help:"短信验证码有效期"`
	SMSPerPhoneHour         int           `env:"IDENTITY_SMS_PER_PHONE_HOUR" default:"5" help:"同一手机号每小时最多发送短信次数（另有 60 秒间隔）"`
	SMSPerIPHour            int           `env:"IDENTITY_SMS_PER_IP_HOUR" default:"20" help:"同一 IP 每小时最多请求验证码次数"`
	SMSGatewayURL           string        `env:"SMS_GATEWAY_URL" default:"http://localhost:8080/sim/sms" help:"短信网关地址（POST {base}/sms/send）；本地默认指向模拟器（须 SMARTREG_SIMULATORS=true）"`
	SMSAppKey               string        `env:"SMS_APP_KEY" default:"smartreg-dev" help:"短信网关 AppKey"`
	SMSAppSecret            string        `env:"SMS_APP_SECRET" default:"dev-sms-secret" secret:"true" help:"短信网关签名密钥（HMAC-SHA256）"`
	SMSSignName             string        `env:"SMS_SIGN_NAME" default:"石家庄市场监管" help:"短信签名"`
	SMSTemplateReset        string        `env:"SMS_TEMPLATE_RESET" default:"SMS_RESET_PASSWORD" help:"密码重置验证码短信模板编号"`
	SMSTemplateLocked       string        `env:"SMS_TEMPLATE_LOCKED" default:"SMS_ACCOUNT_LOCKED" help:"账号因连续登录失败被锁定时通知本人的短信模板编号"`
	SMSTemplateRegistration string        `env:"SMS_TEMPLATE_REGISTRATION" default:"SMS_REGISTRATION_RESULT" help:"账号申请受理与审核结果短信模板编号"`

	RedisPrefix      string `env:"IDENTITY_REDIS_PREFIX" default:"smartreg:identity:" help:"identity 在 Redis 中的键前缀（限流计数、验证码）"`
	RevocationPrefix string `env:"AUTH_REVOCATION_PREFIX" default:"smartreg:auth:revoked:" help:"令牌吊销在 Redis 中的键前缀，须与各函数的校验器一致"`
	SeedDemo         bool   `env:"IDENTITY_SEED_DEMO" default:"false" help:"首次启动时创建演示部门（石家庄市各区县）和各角色演示用户（密码随机生成写入初始密码文件）"`

	// The sub-packages' settings, loaded with identity's.
	OIDC   oidcprovider.Config
	Online online.Config
}

// Validate refuses settings identity cannot run with.
func (c Config) Validate() error {
	switch {
	case c.Issuer == "" || c.Audience == "":
		return errors.New("identity: IDENTITY_ISSUER and AUTH_AUDIENCE are required")
	case len(c.SecretKey) < 16:
		return errors.New("identity: IDENTITY_SECRET_KEY must be at least 16 characters")
	case c.PasswordMinLength < 8:
		return errors.New("identity: IDENTITY_PASSWORD_MIN_LENGTH must be at least 8")
	case c.PasswordClasses < 1 || c.PasswordClasses > 4:
		return errors.New("identity: IDENTITY_PASSWORD_CLASSES must be 1 to 4")
	case c.LockoutThreshold < 1 || c.LockoutDuration <= 0:
		return errors.New("identity: lockout threshold and duration must be positive")
	case c.LoginWindow < time.Minute || c.CaptchaAfter < 1 || c.CaptchaAfterIP < 1 || c.LoginDelayMax < time.Second:
		return errors.New("identity: IDENTITY_LOGIN_WINDOW (≥ 1m), IDENTITY_CAPTCHA_AFTER, _AFTER_IP (≥ 1) and IDENTITY_LOGIN_DELAY_MAX (≥ 1s) are out of range")
	case c.CaptchaTTL < 30*time.Second || c.CaptchaPerIPHour < 1:
		return errors.New("identity: IDENTITY_CAPTCHA_TTL must be at least 30s and IDENTITY_CAPTCHA_PER_IP_HOUR at least 1")
	case c.AccessTTL <= 0 || c.AccessTTL > time.Hour:
		return errors.New("identity: IDENTITY_ACCESS_TTL must be between 0 and 1h")
	case c.RefreshTTL <= 0 || c.SessionIdleTimeout <= 0 || c.SMSCodeTTL <= 0:
		return errors.New("identity: refresh TTL, idle timeout and SMS code TTL must be positive")
	case c.Argon2MemoryKiB < 1024 || c.Argon2Passes < 1:
		return errors.New("identity: IDENTITY_ARGON2_MEMORY_KIB must be at least 1024 and IDENTITY_ARGON2_PASSES at least 1")
	case c.DataDir == "":
		return errors.New("identity: IDENTITY_DATA_DIR is required")
	case c.RegisterPerIPHour < 1 || c.SMSPerIPHour < 1 || c.SMSPerPhoneHour < 1:
		return errors.New("identity: the per-hour limits must be at least 1")
	}
	if c.Issuer != c.Public.URL()+oidcprovider.IssuerPath {
		return fmt.Errorf("identity: IDENTITY_ISSUER %q must be PUBLIC_BASE_URL + %s (%s)", c.Issuer, oidcprovider.IssuerPath, c.Public.URL()+oidcprovider.IssuerPath)
	}
	if err := c.OIDC.Validate(); err != nil {
		return err
	}
	return c.Online.Validate()
}

// simulated reports whether the SMS gateway is the local simulator, which
// shows every code it "sends".
func (c Config) simulated() bool {
	u, err := url.Parse(c.SMSGatewayURL)
	return err == nil && strings.HasPrefix(u.Path, "/sim/")
}

// Sender delivers SMS. The real one is SMSClient; tests and the local
// platform point it at the simulator in tests/sim/sms.
type Sender interface {
	Send(ctx context.Context, m SMS) error
}

// Hasher hashes passwords and checks them; the default is argon2id at the
// configured cost (Config.Argon2*). Tests count its calls to prove every
// login runs exactly one check, whatever the account.
type Hasher interface {
	Hash(pw string) (string, error)
	Check(phc, pw string) bool
}

// Deps is what identity needs.
type Deps struct {
	Logger *slog.Logger
	Pool   *pgxpool.Pool
	Redis  *redis.Client
	Now    func() time.Time
	// SMS sends reset codes and notices to account owners; nil builds the
	// HTTP client for Config.SMSGatewayURL.
	SMS Sender
	// Hasher checks passwords; nil is argon2id with Config's cost.
	Hasher Hasher
	// HTTPClient calls the upstream OIDC provider and WeChat; nil: a
	// client with a 10 s timeout.
	HTTPClient *http.Client
}

// Function is identity.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	rdb      *redis.Client
	now      func() time.Time
	cfg      Config
	seal     *sealer
	sms      Sender
	hasher   Hasher
	keys     *keyring
	verifier *auth.Verifier
	revoker  *auth.Revoker
	oidc     *oidcprovider.Provider
	online   *online.Service
	mux      *httpx.Mux

	// dummy is a hash checked for unknown usernames, so every login costs
	// one password check (made on first use: hashing is not cheap).
	dummy func() (string, error)
	// credMu serialises rewrites of the initial-password file.
	credMu sync.Mutex

	subReady []func(context.Context) error

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// New checks the dependencies and the settings and builds identity. It
// does no I/O of its own and starts none of its own goroutines: Start
// loads the signing key and bootstraps the first administrators. The
// token verifier it builds can be handed to other functions at once; it
// knows the keys once Start has run.
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("identity: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("identity: Pool is required")
	case d.Redis == nil:
		return nil, errors.New("identity: Redis is required")
	case d.Now == nil:
		return nil, errors.New("identity: Now is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	seal, err := newSealer(c.SecretKey)
	if err != nil {
		return nil, err
	}
	f := &Function{log: d.Logger, pool: d.Pool, rdb: d.Redis, now: d.Now, cfg: c, seal: seal, sms: d.SMS, hasher: d.Hasher,
		revoker: auth.NewRevoker(d.Redis).WithPrefix(c.RevocationPrefix),
		keys:    &keyring{iss: c.Issuer, aud: c.Audience, ttl: c.AccessTTL}}
	if f.hasher == nil {
		f.hasher = argon2Hasher{c}
	}
	f.dummy = sync.OnceValues(func() (string, error) { return f.hasher.Hash(generatePassword()) })
	if f.sms == nil {
		if f.sms, err = NewSMSClient(c.SMSGatewayURL, c.SMSAppKey, c.SMSAppSecret, nil); err != nil {
			return nil, err
		}
	}
	f.verifier, err = auth.NewVerifier(auth.VerifierConfig{Keys: f.keys, Issuer: c.Issuer, Audience: c.Audience,
		Redis: d.Redis, RevocationPrefix: c.RevocationPrefix, Logger: d.Logger, Now: d.Now, AllowedOrigins: []string{c.Public.URL()}})
	if err != nil {
		return nil, err
	}
	if err := f.compose(d); err != nil {
		f.verifier.Close()
		return nil, err
	}
	return f, nil
}

// Start loads (or on first start creates) the signing key, bootstraps the
// built-in roles and the first administrators (printing generated
// passwords once), republishes stored revocations to Redis and keeps
// doing so in the background until Stop.
func (f *Function) Start(ctx context.Context) error {
	if f.cfg.simulated() {
		f.log.Warn("SMS gateway is the local simulator (tests/sim/sms): reset codes are shown at /sim/sms/sms/messages; "+
			"it is mounted only with SMARTREG_SIMULATORS=true; set SMS_GATEWAY_URL for production", "sms_gateway", f.cfg.SMSGatewayURL)
	}
	key, err := f.signingKey(ctx)
	if err != nil {
		return err
	}
	if err := f.keys.load(key, f.now); err != nil {
		return err
	}
	if err := f.bootstrap(ctx); err != nil {
		return err
	}
	if err := f.republish(ctx); err != nil {
		f.log.Warn("republish revocations failed; will retry", "err", err)
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	f.stop = stop
	f.wg.Go(func() { f.republishLoop(rctx) })
	return nil
}

// Stop ends the background work: revocation republishing, the verifier's
// key and revocation sync. It is safe without a Start and more than once.
func (f *Function) Stop(context.Context) error {
	if f.stop != nil {
		f.stop()
	}
	f.wg.Wait()
	f.verifier.Close()
	return nil
}

// Ready answers when PostgreSQL and Redis do.
func (f *Function) Ready(ctx context.Context) error {
	if err := f.pool.Ping(ctx); err != nil {
		return err
	}
	if err := f.rdb.Ping(ctx).Err(); err != nil {
		return err
	}
	for _, r := range f.subReady {
		if err := r(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Handler serves identity's HTTP API, with the access-token middleware in
// front of every route that is not public.
func (f *Function) Handler() http.Handler { return f.mux }

// KeySet gives the current verifying keys for in-process verifiers (the
// one-process platform builds every function's Verifier from it); it is
// empty until Start has loaded the signing key.
func (f *Function) KeySet() auth.KeySource { return f.keys }

// Verifier is identity's own token verifier; it verifies once Start ran.
func (f *Function) Verifier() *auth.Verifier { return f.verifier }

// republishEvery is how often stored revocations are written to Redis
// again: after a flush, at most this long passes before every verifier
// refuses revoked tokens again (their own in-memory sets survive a flush).
const republishEvery = 30 * time.Second

func (f *Function) republishLoop(ctx context.Context) {
	t := time.NewTicker(republishEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := f.republish(ctx); err != nil && ctx.Err() == nil {
				f.log.Warn("republish revocations failed", "err", err)
			}
		}
	}
}
