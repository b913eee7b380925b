package identity

import (
	"errors"
	"time"
)

// Config is identity's configuration; cmd/main.go and the one-process
// platform fill it with shared/config.Load. Every field has a default that
// runs locally.
type Config struct {
	Issuer    string `env:"IDENTITY_ISSUER" default:"http://localhost:8080/identity/oidc" help:"访问令牌签发者（iss），应为 PUBLIC_BASE_URL 加 /identity/oidc"`
	Audience  string `env:"AUTH_AUDIENCE" default:"smartreg" help:"访问令牌受众（aud），各函数校验令牌时使用同一值"`
	SecretKey string `env:"IDENTITY_SECRET_KEY" default:"dev-only-identity-secret-change-me" secret:"true" help:"加密签名私钥、身份证号和短信验证码摘要的主密钥（至少 16 个字符）；本地默认值仅供开发，生产必须更换"`
	DataDir   string `env:"IDENTITY_DATA_DIR" default:".data/identity" help:"数据目录：首次启动生成的初始账号密码文件 initial-passwords.txt（仅所有者可读）"`

	PasswordMinLength     int           `env:"IDENTITY_PASSWORD_MIN_LENGTH" default:"10" help:"密码最小长度"`
	PasswordClasses       int           `env:"IDENTITY_PASSWORD_CLASSES" default:"3" help:"密码至少包含的字符类别数（大写、小写、数字、特殊字符，1-4）"`
	PasswordExpiryDays    int           `env:"IDENTITY_PASSWORD_EXPIRY_DAYS" default:"90" help:"密码有效期（天），到期后登录须修改密码；0 表示不过期"`
	ForceChangeFirstLogin bool          `env:"IDENTITY_FORCE_CHANGE_FIRST_LOGIN" default:"true" help:"管理员创建或系统生成的密码首次登录后须修改"`
	LockoutThreshold      int           `env:"IDENTITY_LOCKOUT_THRESHOLD" default:"5" help:"连续登录失败多少次后锁定账号"`
	LockoutDuration       time.Duration `env:"IDENTITY_LOCKOUT_DURATION" default:"15m" help:"账号锁定时长"`
	SessionIdleTimeout    time.Duration `env:"IDENTITY_SESSION_IDLE_TIMEOUT" default:"30m" help:"会话空闲超时：超过该时长未刷新令牌即须重新登录"`
	AccessTTL             time.Duration `env:"IDENTITY_ACCESS_TTL" default:"15m" help:"访问令牌有效期（最长 1 小时）"`
	RefreshTTL            time.Duration `env:"IDENTITY_REFRESH_TTL" default:"12h" help:"刷新令牌有效期（每次使用即轮换）"`
	Argon2MemoryKiB       int           `env:"IDENTITY_ARGON2_MEMORY_KIB" default:"19456" help:"argon2id 口令散列内存开销（KiB），默认 19 MiB"`
	Argon2Passes          int           `env:"IDENTITY_ARGON2_PASSES" default:"2" help:"argon2id 口令散列迭代次数"`
	SecureCookies         bool          `env:"IDENTITY_SECURE_COOKIES" default:"false" help:"令牌 Cookie 是否带 Secure 属性（HTTPS 部署设为 true）"`

	SMSCodeTTL       time.Duration `env:"IDENTITY_SMS_CODE_TTL" default:"5m" help:"短信验证码有效期"`
	SMSPerPhoneHour  int           `env:"IDENTITY_SMS_PER_PHONE_HOUR" default:"5" help:"同一手机号每小时最多发送验证码次数（另有 60 秒间隔）"`
	SMSPerIPHour     int           `env:"IDENTITY_SMS_PER_IP_HOUR" default:"20" help:"同一 IP 每小时最多请求验证码次数"`
	SMSGatewayURL    string        `env:"SMS_GATEWAY_URL" default:"http://localhost:8080/sim/sms" help:"短信网关地址（POST {base}/sms/send）；本地默认指向模拟器"`
	SMSAppKey        string        `env:"SMS_APP_KEY" default:"smartreg-dev" help:"短信网关 AppKey"`
	SMSAppSecret     string        `env:"SMS_APP_SECRET" default:"dev-sms-secret" secret:"true" help:"短信网关签名密钥（HMAC-SHA256）"`
	SMSSignName      string        `env:"SMS_SIGN_NAME" default:"石家庄市场监管" help:"短信签名"`
	SMSTemplateReset string        `env:"SMS_TEMPLATE_RESET" default:"SMS_RESET_PASSWORD" help:"密码重置验证码短信模板编号"`

	RedisPrefix      string `env:"IDENTITY_REDIS_PREFIX" default:"smartreg:identity:" help:"identity 在 Redis 中的键前缀（限流计数）"`
	RevocationPrefix string `env:"AUTH_REVOCATION_PREFIX" default:"smartreg:auth:revoked:" help:"令牌吊销在 Redis 中的键前缀，须与各函数的校验器一致"`
	SeedDemo         bool   `env:"IDENTITY_SEED_DEMO" default:"false" help:"首次启动时创建演示部门（石家庄市各区县）和各角色演示用户（密码随机生成写入初始密码文件）"`
}

// DefaultConfig is Config with every default applied, for tests and tools.
func DefaultConfig() Config {
	return Config{
		Issuer: "http://localhost:8080/identity/oidc", Audience: "smartreg", SecretKey: "dev-only-identity-secret-change-me",
		DataDir: ".data/identity", PasswordMinLength: 10, PasswordClasses: 3, PasswordExpiryDays: 90, ForceChangeFirstLogin: true,
		Argon2MemoryKiB: 19456, Argon2Passes: 2, LockoutThreshold: 5, LockoutDuration: 15 * time.Minute, SessionIdleTimeout: 30 * time.Minute,
		AccessTTL: 15 * time.Minute, RefreshTTL: 12 * time.Hour, SMSCodeTTL: 5 * time.Minute, SMSPerPhoneHour: 5, SMSPerIPHour: 20,
		SMSGatewayURL: "http://localhost:8080/sim/sms", SMSAppKey: "smartreg-dev", SMSAppSecret: "dev-sms-secret",
		SMSSignName: "石家庄市场监管", SMSTemplateReset: "SMS_RESET_PASSWORD",
		RedisPrefix: "smartreg:identity:", RevocationPrefix: "smartreg:auth:revoked:",
	}
}

func (c Config) validate() error {
	switch {
	case c.Issuer == "" || c.Audience == "":
		return errors.New("identity: IDENTITY_ISSUER and AUTH_AUDIENCE are required")
	case c.PasswordMinLength < 8:
		return errors.New("identity: IDENTITY_PASSWORD_MIN_LENGTH must be at least 8")
	case c.PasswordClasses < 1 || c.PasswordClasses > 4:
		return errors.New("identity: IDENTITY_PASSWORD_CLASSES must be 1 to 4")
	case c.LockoutThreshold < 1 || c.LockoutDuration <= 0:
		return errors.New("identity: lockout threshold and duration must be positive")
	case c.AccessTTL <= 0 || c.AccessTTL > time.Hour:
		return errors.New("identity: IDENTITY_ACCESS_TTL must be between 0 and 1h")
	case c.RefreshTTL <= 0 || c.SessionIdleTimeout <= 0 || c.SMSCodeTTL <= 0:
		return errors.New("identity: refresh TTL, idle timeout and SMS code TTL must be positive")
	case c.Argon2MemoryKiB < 1024 || c.Argon2Passes < 1:
		return errors.New("identity: IDENTITY_ARGON2_MEMORY_KIB must be at least 1024 and IDENTITY_ARGON2_PASSES at least 1")
	case c.DataDir == "":
		return errors.New("identity: IDENTITY_DATA_DIR is required")
	}
	return nil
}
