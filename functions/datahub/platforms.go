package datahub

// Third-party platforms (FP-115 三方平台管理) and their interface
// configurations (FP-116 数据交互配置): what they are, how they are
// validated, and their SQL. The runner is platforms_run.go, the routes
// platforms_http.go.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/robfig/cron/v3"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/netguard"
	"github.com/sjzamr/smartreg/shared/seal"
	"github.com/sjzamr/smartreg/shared/store"
)

// PlatformConfig is the settings of the third-party platform runner and
// the BJ-TJ-HE exchange, embedded in Config.
type PlatformConfig struct {
	PlatformAllow    string        `env:"DATAHUB_PLATFORM_ALLOW_NETS" default:"" help:"三方平台与京津冀交换允许访问的内网地址段（逗号分隔的 CIDR 或地址，如政务外网 10.0.0.0/8）；默认不允许访问本机与内网地址（防 SSRF）"`
	PlatformTimeout  time.Duration `env:"DATAHUB_PLATFORM_TIMEOUT" default:"30s" help:"调用三方平台接口的单次超时"`
	PlatformRetries  int           `env:"DATAHUB_PLATFORM_RETRIES" default:"3" help:"三方平台一次调用失败（网络错误、429、5xx）时的最多尝试次数"`
	PlatformRetryGap time.Duration `env:"DATAHUB_PLATFORM_RETRY_DELAY" default:"2s" help:"同一次调用重试前的等待（翻倍递增；对方给出 Retry-After 时取其值，最长 1 分钟）"`
	PlatformBackoff  time.Duration `env:"DATAHUB_PLATFORM_BACKOFF" default:"5m" help:"定时执行失败后推迟下次执行的基数（连续失败翻倍）"`
	PlatformMaxBack  time.Duration `env:"DATAHUB_PLATFORM_BACKOFF_MAX" default:"6h" help:"定时执行失败后推迟的最长时间"`
	PlatformMaxPages int           `env:"DATAHUB_PLATFORM_MAX_PAGES" default:"200" help:"分页接口一次执行最多读取的页数"`
	JJJClockSkew     time.Duration `env:"DATAHUB_JJJ_CLOCK_SKEW" default:"5m" help:"京津冀交换签名请求允许的时间偏差（超出即拒绝，防重放）"`
}

func (c PlatformConfig) validate() error {
	switch {
	case c.PlatformTimeout < time.Second:
		return errors.New("datahub: DATAHUB_PLATFORM_TIMEOUT must be at least 1s")
	case c.PlatformRetries < 1 || c.PlatformRetries > 10:
		return errors.New("datahub: DATAHUB_PLATFORM_RETRIES must be 1 to 10")
	case c.PlatformRetryGap < 0 || c.PlatformBackoff <= 0 || c.PlatformMaxBack < c.PlatformBackoff:
		return errors.New("datahub: DATAHUB_PLATFORM_RETRY_DELAY, _BACKOFF and _BACKOFF_MAX must be positive and BACKOFF_MAX at least BACKOFF")
	case c.PlatformMaxPages < 1:
		return errors.New("datahub: DATAHUB_PLATFORM_MAX_PAGES must be at least 1")
	case c.JJJClockSkew < time.Second:
		return errors.New("datahub: DATAHUB_JJJ_CLOCK_SKEW must be at least 1s")
	}
	if _, err := netguard.ParseAllow(c.PlatformAllow); err != nil {
		return errors.New("datahub: DATAHUB_PLATFORM_ALLOW_NETS: " + err.Error())
	}
	return nil
}

// platformState is what the runner keeps between calls.
type platformState struct {
	box    *seal.Sealer // the function's sealer (DATAHUB_SECRET_KEYS), shared with the push targets
	allow  netguard.Allow
	tokens *tokenCache
	sleep  func(context.Context, time.Duration) error // tests shorten waits
	// pullLimit is the page size asked of an exchange partner.
	pullLimit int
	once      sync.Once
	http      *http.Client
}

func newPlatformState(c PlatformConfig, box *seal.Sealer) *platformState {
	allow, _ := netguard.ParseAllow(c.PlatformAllow)
	return &platformState{box: box, allow: allow, tokens: &tokenCache{m: map[int64]token{}}, sleep: sleepCtx,
		pullLimit: 200}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Platform is a third-party platform (FP-115).
type Platform struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Department  string    `json:"department"`
	Contact     string    `json:"contact"`
	Phone       string    `json:"phone"`
	Description string    `json:"description"`
	State       string    `json:"state"` // active, disabled
	Configs     int       `json:"configs"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// PlatformInput is what a create or an update sends.
type PlatformInput struct {
	Name        string `json:"name"`
	Department  string `json:"department"`
	Contact     string `json:"contact"`
	Phone       string `json:"phone"`
	Description string `json:"description"`
	State       string `json:"state"`
}

func (in *PlatformInput) validate() error {
	var fe []errs.FieldError
	in.Name, in.Department, in.Contact, in.Phone = strings.TrimSpace(in.Name), strings.TrimSpace(in.Department),
		strings.TrimSpace(in.Contact), strings.TrimSpace(in.Phone)
	if n := utf8.RuneCountInString(in.Name); n == 0 || n > 100 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "请填写平台名称（不超过 100 字）"})
	}
	if utf8.RuneCountInString(in.Department) > 100 {
		fe = append(fe, errs.FieldError{Field: "department", Message: "所属单位不超过 100 字"})
	}
	if utf8.RuneCountInString(in.Contact) > 50 {
		fe = append(fe, errs.FieldError{Field: "contact", Message: "联系人不超过 50 字"})
	}
	if in.Phone != "" && !validPhone(in.Phone) {
		fe = append(fe, errs.FieldError{Field: "phone", Message: "联系电话格式不正确（手机号或带区号的固定电话）"})
	}
	if utf8.RuneCountInString(in.Description) > 1000 {
		fe = append(fe, errs.FieldError{Field: "description", Message: "说明不超过 1000 字"})
	}
	if in.State == "" {
		in.State = "active"
	}
	if in.State != "active" && in.State != "disabled" {
		fe = append(fe, errs.FieldError{Field: "state", Message: "状态只能是 active（启用）或 disabled（停用）"})
	}
	return errs.Fields(fe)
}

func validPhone(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '-' || r == ' ':
		default:
			return false
		}
	}
	return digits >= 7 && digits <= 20
}

// Auth kinds of a configuration.
const (
	AuthNone   = "none"
	AuthAPIKey = "api_key" // the secret in a header
	AuthHMAC   = "hmac"    // HMAC-SHA256 signed request (sign.go)
	AuthOAuth2 = "oauth2"  // OAuth2 client credentials, bearer token
)

// Joint-debugging states (联调状态).
var configStates = map[string]string{"untested": "未联调", "testing": "联调中", "tested": "已联调", "disabled": "已停用"}

// AuthParams is what of a configuration's auth is not secret.
type AuthParams struct {
	Header   string `json:"header,omitempty"`    // api_key: the header (default X-API-Key)
	KeyID    string `json:"key_id,omitempty"`    // hmac: sent as X-Key-Id
	TokenURL string `json:"token_url,omitempty"` // oauth2
	ClientID string `json:"client_id,omitempty"` // oauth2
	Scope    string `json:"scope,omitempty"`     // oauth2
}

// Mapping is one response field onto one dataset field.
type Mapping struct {
	Source string `json:"source"` // a dotted path in one record: "enterprise.name"
	Target string `json:"target"` // the dataset's field
}

// PlatformIface is one interface configuration (FP-116). The secret is
// never in it: HasSecret says one is stored.
type PlatformIface struct {
	ID           int64             `json:"id"`
	PlatformID   int64             `json:"platform_id"`
	PlatformName string            `json:"platform_name"`
	Name         string            `json:"name"`
	Address      string            `json:"address"`
	Method       string            `json:"method"`
	AuthKind     string            `json:"auth_kind"`
	Auth         AuthParams        `json:"auth"`
	HasSecret    bool              `json:"has_secret"`
	Params       map[string]string `json:"params"`
	RecordsPath  string            `json:"records_path"`
	PageParam    string            `json:"page_param"`
	Dataset      string            `json:"dataset"`
	Mapping      []Mapping         `json:"mapping"`
	KeyField     string            `json:"key_field"`
	ScheduleKind string            `json:"schedule_kind"`
	Schedule     string            `json:"schedule"`
	State        string            `json:"state"`
	StateName    string            `json:"state_name"`
	NextRunAt    *time.Time        `json:"next_run_at,omitempty"`
	Failures     int               `json:"failures"`
	LastRunAt    *time.Time        `json:"last_run_at,omitempty"`
	LastStatus   string            `json:"last_status"`
	LastMessage  string            `json:"last_message"`
	CreatedBy    string            `json:"created_by"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
}

// PlatformIfaceInput is what a create or an update of a configuration
// sends. Secret empty on an update keeps the stored one.
type PlatformIfaceInput struct {
	PlatformID   int64             `json:"platform_id"`
	Name         string            `json:"name"`
	Address      string            `json:"address"`
	Method       string            `json:"method"`
	AuthKind     string            `json:"auth_kind"`
	Auth         AuthParams        `json:"auth"`
	Secret       string            `json:"secret"`
	Params       map[string]string `json:"params"`
	RecordsPath  string            `json:"records_path"`
	PageParam    string            `json:"page_param"`
	Dataset      string            `json:"dataset"`
	Mapping      []Mapping         `json:"mapping"`
	KeyField     string            `json:"key_field"`
	ScheduleKind string            `json:"schedule_kind"`
	Schedule     string            `json:"schedule"`
	State        string            `json:"state"`
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// validate checks a configuration against the catalogue; hadSecret says
// whether an update already has a stored secret.
func (in *PlatformIfaceInput) validate(cat catalogue, hadSecret bool) error {
	var fe []errs.FieldError
	add := func(field, msg string) { fe = append(fe, errs.FieldError{Field: field, Message: msg}) }
	in.Name, in.Address = strings.TrimSpace(in.Name), strings.TrimSpace(in.Address)
	if in.PlatformID <= 0 {
		add("platform_id", "请选择所属平台")
	}
	if n := utf8.RuneCountInString(in.Name); n == 0 || n > 100 {
		add("name", "请填写接口名称（不超过 100 字）")
	}
	if u, err := url.Parse(in.Address); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		add("address", "接口地址应为 http:// 或 https:// 开头的完整网址（不含用户名密码）")
	}
	in.Method = strings.ToUpper(strings.TrimSpace(in.Method))
	if in.Method == "" {
		in.Method = "GET"
	}
	if in.Method != "GET" && in.Method != "POST" {
		add("method", "请求方式只能是 GET 或 POST")
	}
	if in.AuthKind == "" {
		in.AuthKind = AuthNone
	}
	needSecret := true
	switch in.AuthKind {
	case AuthNone:
		needSecret = false
		in.Secret, in.Auth = "", AuthParams{}
	case AuthAPIKey:
		if in.Auth.Header == "" {
			in.Auth.Header = "X-API-Key"
		}
		if !validHeader(in.Auth.Header) {
			add("auth.header", "请求头名称只能包含字母、数字和连字符")
		}
	case AuthHMAC:
		if in.Auth.KeyID = strings.TrimSpace(in.Auth.KeyID); in.Auth.KeyID == "" || len(in.Auth.KeyID) > 100 {
			add("auth.key_id", "HMAC 签名需要填写密钥编号（Key ID）")
		}
	case AuthOAuth2:
		if u, err := url.Parse(in.Auth.TokenURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("auth.token_url", "OAuth2 需要填写令牌地址（http:// 或 https:// 开头）")
		}
		if strings.TrimSpace(in.Auth.ClientID) == "" {
			add("auth.client_id", "OAuth2 需要填写客户端编号（client_id）")
		}
	default:
		needSecret = false
		add("auth_kind", "认证方式只能是 none（无）、api_key（API Key 请求头）、hmac（HMAC-SHA256 签名）或 oauth2（OAuth2 客户端凭据）")
	}
	if needSecret && in.Secret == "" && !hadSecret {
		add("secret", "请填写认证密钥")
	}
	if len(in.Secret) > 4096 {
		add("secret", "认证密钥过长")
	}
	if len(in.Params) > 50 {
		add("params", "请求参数不超过 50 个")
	}
	for k := range in.Params {
		if k == "" || len(k) > 100 {
			add("params", "请求参数名不能为空且不超过 100 个字符")
			break
		}
	}
	if len(in.RecordsPath) > 200 || len(in.PageParam) > 100 {
		add("records_path", "数据路径或分页参数过长")
	}
	ds := cat[in.Dataset]
	if ds == nil {
		add("dataset", "请选择目标数据集（数据目录中的数据集）")
	} else {
		if len(in.Mapping) == 0 {
			add("mapping", "请至少配置一个字段映射")
		}
		seen := map[string]bool{}
		for i, m := range in.Mapping {
			m.Source, m.Target = strings.TrimSpace(m.Source), strings.TrimSpace(m.Target)
			in.Mapping[i] = m
			at := "mapping[" + strconv.Itoa(i) + "]"
			if m.Source == "" || len(m.Source) > 200 {
				add(at+".source", "第 "+strconv.Itoa(i+1)+" 行映射缺少来源字段")
			}
			if _, ok := ds.field(m.Target); !ok {
				add(at+".target", "第 "+strconv.Itoa(i+1)+" 行映射的目标字段“"+clip(m.Target)+"”不在数据集“"+ds.Title+"”中")
			} else if seen[m.Target] {
				add(at+".target", "目标字段“"+m.Target+"”映射了两次")
			}
			seen[m.Target] = true
		}
		if in.KeyField == "" {
			in.KeyField = ds.Key
		}
		if !seen[in.KeyField] {
			add("key_field", "去重键“"+clip(in.KeyField)+"”必须是已映射的目标字段（同一键的数据只保留一行，重复执行不会重复写入）")
		}
	}
	if in.ScheduleKind == "" {
		in.ScheduleKind = "manual"
	}
	in.Schedule = strings.TrimSpace(in.Schedule)
	switch in.ScheduleKind {
	case "manual":
		in.Schedule = ""
	case "interval":
		if n, err := strconv.Atoi(in.Schedule); err != nil || n < 1 || n > 10080 {
			add("schedule", "执行间隔应为 1 至 10080 之间的分钟数")
		}
	case "cron":
		if _, err := cronParser.Parse(in.Schedule); err != nil {
			add("schedule", "cron 表达式不正确（5 段：分 时 日 月 周，如 0 2 * * *）")
		}
	default:
		add("schedule_kind", "执行方式只能是 manual（手动）、interval（间隔）或 cron（定时）")
	}
	if in.State == "" {
		in.State = "untested"
	}
	if _, ok := configStates[in.State]; !ok {
		add("state", "联调状态只能是 untested（未联调）、testing（联调中）、tested（已联调）或 disabled（已停用）")
	}
	return errs.Fields(fe)
}

func validHeader(h string) bool {
	if h == "" || len(h) > 100 {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// nextRun is when a configuration is next due after t, nil for manual.
func nextRun(kind, schedule string, t time.Time) *time.Time {
	var n time.Time
	switch kind {
	case "interval":
		m, _ := strconv.Atoi(schedule)
		n = t.Add(time.Duration(m) * time.Minute)
	case "cron":
		s, err := cronParser.Parse(schedule)
		if err != nil {
			return nil
		}
		n = s.Next(t.In(beijing))
	default:
		return nil
	}
	return &n
}

// SQL.

const platformCols = `p.id, p.name, p.department, p.contact, p.phone, p.description, p.state,
	(SELECT count(*) FROM datahub.platform_configs c WHERE c.platform_id = p.id)::int, p.created_by, p.created_at, p.updated_at`

func scanPlatform(row pgx.Row) (Platform, error) {
	var p Platform
	err := row.Scan(&p.ID, &p.Name, &p.Department, &p.Contact, &p.Phone, &p.Description, &p.State, &p.Configs,
		&p.CreatedBy, &p.CreatedAt, &p.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, errs.New(errs.NotFound, "三方平台不存在")
	}
	return p, err
}

func dupName(err error, what string) error {
	if store.IsUniqueViolation(err) {
		return errs.Fields([]errs.FieldError{{Field: "name", Message: what + "名称已存在"}})
	}
	return err
}

func insertPlatform(ctx context.Context, q store.Querier, in PlatformInput, by string, now time.Time) (Platform, error) {
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO datahub.platforms (name, department, contact, phone, description, state, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
		in.Name, in.Department, in.Contact, in.Phone, in.Description, in.State, by, now).Scan(&id)
	if err != nil {
		return Platform{}, dupName(err, "平台")
	}
	return getPlatform(ctx, q, id)
}

func updatePlatform(ctx context.Context, q store.Querier, id int64, in PlatformInput, now time.Time) (Platform, error) {
	tag, err := q.Exec(ctx, `UPDATE datahub.platforms SET name = $2, department = $3, contact = $4, phone = $5, description = $6,
		state = $7, updated_at = $8 WHERE id = $1`, id, in.Name, in.Department, in.Contact, in.Phone, in.Description, in.State, now)
	if err != nil {
		return Platform{}, dupName(err, "平台")
	}
	if tag.RowsAffected() == 0 {
		return Platform{}, errs.New(errs.NotFound, "三方平台不存在")
	}
	return getPlatform(ctx, q, id)
}

func getPlatform(ctx context.Context, q store.Querier, id int64) (Platform, error) {
	return scanPlatform(q.QueryRow(ctx, `SELECT `+platformCols+` FROM datahub.platforms p WHERE p.id = $1`, id))
}

func deletePlatform(ctx context.Context, q store.Querier, id int64) error {
	var n int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM datahub.platform_configs WHERE platform_id = $1`, id).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return errs.New(errs.Conflict, "该平台下还有 "+strconv.Itoa(n)+" 个接口配置，请先删除或停用")
	}
	tag, err := q.Exec(ctx, `DELETE FROM datahub.platforms WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = errs.New(errs.NotFound, "三方平台不存在")
	}
	return err
}

// PlatformFilter is the list's conditions.
type PlatformFilter struct{ Name, State string }

func listPlatforms(ctx context.Context, q store.Querier, pf PlatformFilter, limit, offset int) ([]Platform, int, error) {
	var w store.Where
	if pf.Name != "" {
		w.Add("(p.name ILIKE ? OR p.department ILIKE ?)", store.Contains(pf.Name), store.Contains(pf.Name))
	}
	if pf.State != "" {
		w.Add("p.state = ?", pf.State)
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM datahub.platforms p`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := q.Query(ctx, `SELECT `+platformCols+` FROM datahub.platforms p`+w.SQL()+` ORDER BY p.id DESC LIMIT `+w.Next(limit)+` OFFSET `+w.Next(offset), w.Args()...)
	if err != nil {
		return nil, 0, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Platform, error) { return scanPlatform(r) })
	return out, total, err
}

const ifaceColsP = `c.id, c.platform_id, p.name, c.name, c.address, c.method, c.auth_kind, c.auth, c.secret_sealed IS NOT NULL,
	c.params, c.records_path, c.page_param, c.dataset, c.mapping, c.key_field, c.schedule_kind, c.schedule, c.state, c.next_run_at,
	c.failures, c.last_run_at, c.last_status, c.last_message, c.created_by, c.created_at, c.updated_at`

func scanPIface(row pgx.Row) (PlatformIface, error) {
	var c PlatformIface
	var auth, params, mapping []byte
	err := row.Scan(&c.ID, &c.PlatformID, &c.PlatformName, &c.Name, &c.Address, &c.Method, &c.AuthKind, &auth, &c.HasSecret,
		&params, &c.RecordsPath, &c.PageParam, &c.Dataset, &mapping, &c.KeyField, &c.ScheduleKind, &c.Schedule, &c.State,
		&c.NextRunAt, &c.Failures, &c.LastRunAt, &c.LastStatus, &c.LastMessage, &c.CreatedBy, &c.CreatedAt, &c.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, errs.New(errs.NotFound, "接口配置不存在")
	}
	if err != nil {
		return c, err
	}
	_ = json.Unmarshal(auth, &c.Auth)
	_ = json.Unmarshal(params, &c.Params)
	_ = json.Unmarshal(mapping, &c.Mapping)
	c.StateName = configStates[c.State]
	return c, nil
}

func getPIface(ctx context.Context, q store.Querier, id int64) (PlatformIface, error) {
	return scanPIface(q.QueryRow(ctx, `SELECT `+ifaceColsP+` FROM datahub.platform_configs c JOIN datahub.platforms p ON p.id = c.platform_id
		WHERE c.id = $1`, id))
}

// pIfaceSecret is a configuration's sealed secret.
func pIfaceSecret(ctx context.Context, q store.Querier, id int64) ([]byte, error) {
	var b []byte
	err := q.QueryRow(ctx, `SELECT secret_sealed FROM datahub.platform_configs WHERE id = $1`, id).Scan(&b)
	return b, err
}

func jsonOf(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func insertPIface(ctx context.Context, q store.Querier, in PlatformIfaceInput, sealed []byte, by string, now time.Time) (PlatformIface, error) {
	if in.Params == nil {
		in.Params = map[string]string{}
	}
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO datahub.platform_configs (platform_id, name, address, method, auth_kind, auth, secret_sealed, params,
		records_path, page_param, dataset, mapping, key_field, schedule_kind, schedule, state, next_run_at, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19) RETURNING id`,
		in.PlatformID, in.Name, in.Address, in.Method, in.AuthKind, jsonOf(in.Auth), sealed, jsonOf(in.Params), in.RecordsPath,
		in.PageParam, in.Dataset, jsonOf(in.Mapping), in.KeyField, in.ScheduleKind, in.Schedule, in.State,
		nextRun(in.ScheduleKind, in.Schedule, now), by, now).Scan(&id)
	if err != nil {
		return PlatformIface{}, dupName(err, "同一平台下的接口")
	}
	return getPIface(ctx, q, id)
}

// updatePIface replaces a configuration; a nil sealed keeps the secret
// (an auth kind of none clears it).
func updatePIface(ctx context.Context, q store.Querier, id int64, in PlatformIfaceInput, sealed []byte, now time.Time) (PlatformIface, error) {
	if in.Params == nil {
		in.Params = map[string]string{}
	}
	tag, err := q.Exec(ctx, `UPDATE datahub.platform_configs SET platform_id = $2, name = $3, address = $4, method = $5, auth_kind = $6,
		auth = $7, secret_sealed = CASE WHEN $6 = 'none' THEN NULL ELSE coalesce($8, secret_sealed) END, params = $9, records_path = $10,
		page_param = $11, dataset = $12, mapping = $13, key_field = $14, schedule_kind = $15, schedule = $16, state = $17,
		next_run_at = $18, failures = 0, updated_at = $19 WHERE id = $1`,
		id, in.PlatformID, in.Name, in.Address, in.Method, in.AuthKind, jsonOf(in.Auth), sealed, jsonOf(in.Params), in.RecordsPath,
		in.PageParam, in.Dataset, jsonOf(in.Mapping), in.KeyField, in.ScheduleKind, in.Schedule, in.State,
		nextRun(in.ScheduleKind, in.Schedule, now), now)
	if err != nil {
		return PlatformIface{}, dupName(err, "同一平台下的接口")
	}
	if tag.RowsAffected() == 0 {
		return PlatformIface{}, errs.New(errs.NotFound, "接口配置不存在")
	}
	return getPIface(ctx, q, id)
}

func deletePIface(ctx context.Context, q store.Querier, id int64) error {
	var n int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM datahub.platform_logs WHERE config_id = $1`, id).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return errs.New(errs.Conflict, "该接口已有 "+strconv.Itoa(n)+" 条交互日志，为便于追溯不能删除，请改为“已停用”")
	}
	tag, err := q.Exec(ctx, `DELETE FROM datahub.platform_configs WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = errs.New(errs.NotFound, "接口配置不存在")
	}
	return err
}

// PIfaceFilter is the configuration list's conditions.
type PIfaceFilter struct {
	Name       string
	PlatformID int64
	State      string
}

func listPIfaces(ctx context.Context, q store.Querier, cf PIfaceFilter, limit, offset int) ([]PlatformIface, int, error) {
	var w store.Where
	if cf.Name != "" {
		w.Add("(c.name ILIKE ? OR c.address ILIKE ?)", store.Contains(cf.Name), store.Contains(cf.Name))
	}
	if cf.PlatformID != 0 {
		w.Add("c.platform_id = ?", cf.PlatformID)
	}
	if cf.State != "" {
		w.Add("c.state = ?", cf.State)
	}
	from := ` FROM datahub.platform_configs c JOIN datahub.platforms p ON p.id = c.platform_id`
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*)`+from+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := q.Query(ctx, `SELECT `+ifaceColsP+from+w.SQL()+` ORDER BY c.id DESC LIMIT `+w.Next(limit)+` OFFSET `+w.Next(offset), w.Args()...)
	if err != nil {
		return nil, 0, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PlatformIface, error) { return scanPIface(r) })
	return out, total, err
}
