package datahub

// The Beijing–Tianjin–Hebei exchange of key-industry enterprise data
// (FP-126; the contract is docs/jjj-exchange.md and jjj-openapi.yaml).
// Both directions: we serve our key-industry enterprises to a partner
// district of Beijing or Tianjin (GET /datahub/v1/jjj/enterprises,
// signed with sign.go's scheme, replay refused), and pull theirs from
// the same interface on their side into datahub.ingested_rows.

import (
	"bytes"
	"context"
	"crypto/hmac"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/netguard"
	"github.com/sjzamr/smartreg/shared/store"
)

//go:embed jjj-openapi.yaml
var jjjOpenAPI []byte

// PermExchange (view, edit) manages exchange partners and pulls.
const PermExchange = "datahub.exchange"

// KeyIndustry is one key industry of the exchange and the GB/T
// 4754-2017 codes it covers (by prefix).
type KeyIndustry struct {
	Code     string   `json:"code"`
	Name     string   `json:"name"`
	Prefixes []string `json:"prefixes"`
}

// KeyIndustries are the industries the exchange carries (重点行业):
// those under joint supervision of the three regulators.
var KeyIndustries = []KeyIndustry{
	{"food", "食品生产", []string{"13", "14", "15"}},
	{"drug", "药品生产", []string{"27"}},
	{"device", "医疗器械生产", []string{"358"}},
	{"chemical", "危险化学品生产", []string{"26"}},
	{"special_equipment", "特种设备制造", []string{"341", "343"}},
}

func keyIndustryOf(industryCode string) string {
	for _, k := range KeyIndustries {
		for _, p := range k.Prefixes {
			if strings.HasPrefix(industryCode, p) {
				return k.Code
			}
		}
	}
	return ""
}

func keyIndustry(code string) (KeyIndustry, bool) {
	i := slices.IndexFunc(KeyIndustries, func(k KeyIndustry) bool { return k.Code == code })
	if i < 0 {
		return KeyIndustry{}, false
	}
	return KeyIndustries[i], true
}

// JJJError is one error of the exchange's error model: a stable code, the
// HTTP status and the Chinese message.
type JJJError struct {
	Code    string `json:"code"`
	Status  int    `json:"-"`
	Message string `json:"message"`
}

// The exchange's error model (docs/jjj-exchange.md lists the same table;
// TestJJJDocumentListsEveryError keeps them equal).
var (
	jjjNoSignature  = JJJError{"JJJ-1001", 401, "缺少签名请求头（X-Key-Id、X-Timestamp、X-Nonce、X-Signature）"}
	jjjUnknownKey   = JJJError{"JJJ-1002", 401, "密钥编号未登记"}
	jjjClock        = JJJError{"JJJ-1003", 401, "时间戳超出允许范围，请校准时钟"}
	jjjBadSignature = JJJError{"JJJ-1004", 401, "签名不正确"}
	jjjReplay       = JJJError{"JJJ-1005", 401, "随机数已使用，疑似重放请求"}
	jjjBadNonce     = JJJError{"JJJ-1006", 401, "随机数格式不正确（16–64 位字母、数字、-、_）"}
	jjjDisabled     = JJJError{"JJJ-1101", 403, "合作方已停用"}
	jjjBadParam     = JJJError{"JJJ-2001", 400, "参数错误"}
	jjjIndustry     = JJJError{"JJJ-2002", 403, "所请求的行业不在重点行业范围内或未向贵方开放"}
	jjjInternal     = JJJError{"JJJ-5001", 500, "系统内部错误，请稍后重试"}
	jjjUnavailable  = JJJError{"JJJ-5031", 503, "服务暂不可用，请稍后重试"}
)

// JJJErrors is the whole error model, in document order.
var JJJErrors = []JJJError{jjjNoSignature, jjjUnknownKey, jjjClock, jjjBadSignature, jjjReplay, jjjBadNonce,
	jjjDisabled, jjjBadParam, jjjIndustry, jjjInternal, jjjUnavailable}

// JJJEnterprise is one row of the field contract.
type JJJEnterprise struct {
	CreditCode        string    `json:"credit_code"`
	Name              string    `json:"name"`
	EntityType        string    `json:"entity_type"`
	LegalRep          string    `json:"legal_rep"` // masked: 张*
	EstablishedOn     string    `json:"established_on"`
	RegisteredCapital *float64  `json:"registered_capital"`
	Address           string    `json:"address"`
	DistrictCode      string    `json:"district_code"`
	IndustryCode      string    `json:"industry_code"`
	KeyIndustry       string    `json:"key_industry"`
	Status            string    `json:"status"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// JJJPage is the data of a successful answer.
type JJJPage struct {
	Region     string          `json:"region_code"`
	Items      []JJJEnterprise `json:"items"`
	NextCursor string          `json:"next_cursor"`
}

// jjjReply is the envelope of every answer.
type jjjReply struct {
	Code      string   `json:"code"`
	Message   string   `json:"message"`
	RequestID string   `json:"request_id"`
	Data      *JJJPage `json:"data,omitempty"`
}

// ourRegion is Shijiazhuang's division code, the region of what we serve.
const ourRegion = "130100"

// Partner is an exchange partner (the secret never leaves but once).
type Partner struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	RegionCode  string     `json:"region_code"`
	RegionName  string     `json:"region_name"`
	KeyID       string     `json:"key_id"`
	BaseURL     string     `json:"base_url"`
	Industries  []string   `json:"industries"`
	State       string     `json:"state"`
	Watermark   *time.Time `json:"watermark,omitempty"`
	LastPullAt  *time.Time `json:"last_pull_at,omitempty"`
	LastMessage string     `json:"last_message"`
	CreatedAt   time.Time  `json:"created_at"`
}

// PartnerInput creates or updates a partner; Secret empty on a creation
// generates one (shown once), on an update keeps it.
type PartnerInput struct {
	Name       string   `json:"name"`
	RegionCode string   `json:"region_code"`
	KeyID      string   `json:"key_id"`
	Secret     string   `json:"secret"`
	BaseURL    string   `json:"base_url"`
	Industries []string `json:"industries"`
	State      string   `json:"state"`
}

// PartnerCreated carries the shared secret, this once.
type PartnerCreated struct {
	Partner
	Secret string `json:"secret"`
}

func (in *PartnerInput) validate(create bool) error {
	var fe []errs.FieldError
	add := func(f, m string) { fe = append(fe, errs.FieldError{Field: f, Message: m}) }
	in.Name, in.KeyID, in.BaseURL = strings.TrimSpace(in.Name), strings.TrimSpace(in.KeyID), strings.TrimSpace(in.BaseURL)
	if n := utf8.RuneCountInString(in.Name); n == 0 || n > 100 {
		add("name", "请填写合作方名称（不超过 100 字）")
	}
	if create {
		if rg, ok := codes.LookupRegion(in.RegionCode); !ok || rg.Abolished || strings.HasSuffix(in.RegionCode, "00") || !(strings.HasPrefix(in.RegionCode, "11") || strings.HasPrefix(in.RegionCode, "12")) {
			add("region_code", "合作方应为北京市或天津市的区（6 位行政区划代码，如 110105 朝阳区、120116 滨海新区）")
		}
		if len(in.KeyID) < 4 || len(in.KeyID) > 64 || !validNonce(in.KeyID+strings.Repeat("0", 16)) {
			add("key_id", "密钥编号应为 4–64 位字母、数字、-、_")
		}
		if in.Secret != "" && len(in.Secret) < 32 {
			add("secret", "共享密钥至少 32 个字符（留空则自动生成）")
		}
	}
	if in.BaseURL != "" {
		if u, err := url.Parse(in.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			add("base_url", "对方接口地址应为 http(s):// 开头的网址")
		}
	}
	if len(in.Industries) == 0 {
		add("industries", "请至少选择一个开放的重点行业")
	}
	for _, c := range in.Industries {
		if _, ok := keyIndustry(c); !ok {
			add("industries", "“"+clip(c)+"”不是重点行业（可选："+industryCodes()+"）")
		}
	}
	if in.State == "" {
		in.State = "active"
	}
	if in.State != "active" && in.State != "disabled" {
		add("state", "状态只能是 active（启用）或 disabled（停用）")
	}
	return errs.Fields(fe)
}

func industryCodes() string {
	var s []string
	for _, k := range KeyIndustries {
		s = append(s, k.Code+" "+k.Name)
	}
	return strings.Join(s, "、")
}

const partnerCols = `id, name, region_code, key_id, base_url, industries, state, watermark, last_pull_at, last_message, created_at`

func scanPartner(row pgx.Row) (Partner, error) {
	var p Partner
	err := row.Scan(&p.ID, &p.Name, &p.RegionCode, &p.KeyID, &p.BaseURL, &p.Industries, &p.State, &p.Watermark, &p.LastPullAt,
		&p.LastMessage, &p.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, errs.New(errs.NotFound, "交换合作方不存在")
	}
	if rg, ok := codes.LookupRegion(p.RegionCode); ok {
		p.RegionName = rg.Name
	}
	return p, err
}

func (f *Function) listPartners(r *http.Request) (any, error) {
	rows, err := f.pool.Query(r.Context(), `SELECT `+partnerCols+` FROM datahub.exchange_partners ORDER BY id`)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Partner, error) { return scanPartner(r) })
	if items == nil {
		items = []Partner{}
	}
	return map[string]any{"items": items, "key_industries": KeyIndustries}, err
}

func (f *Function) createPartner(r *http.Request, in PartnerInput) (any, error) {
	if err := in.validate(true); err != nil {
		return nil, err
	}
	if in.Secret == "" {
		in.Secret = newNonce() + newNonce()
	}
	sealed, err := f.plat.box.Seal([]byte(in.Secret))
	if err != nil {
		return nil, err
	}
	var p Partner
	err = f.change(r, "datahub.exchange_partner.create", "datahub_exchange_partner", func(tx pgx.Tx) (string, any, any, error) {
		var err error
		p, err = scanPartner(tx.QueryRow(r.Context(), `INSERT INTO datahub.exchange_partners (name, region_code, key_id, secret_sealed,
			base_url, industries, state, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+partnerCols,
			in.Name, in.RegionCode, in.KeyID, sealed, in.BaseURL, in.Industries, in.State, operatorOf(r), f.now()))
		if store.IsUniqueViolation(err) {
			err = errs.Fields([]errs.FieldError{{Field: "key_id", Message: "密钥编号已被其他合作方使用"}})
		}
		return strconv.FormatInt(p.ID, 10), nil, p, err
	})
	if err != nil {
		return nil, err
	}
	return httpx.Created(PartnerCreated{Partner: p, Secret: in.Secret}, "/datahub/v1/jjj/partners/"+strconv.FormatInt(p.ID, 10)), nil
}

func (f *Function) updatePartner(r *http.Request, in PartnerInput) (any, error) {
	id, err := idIn(r, "交换合作方")
	if err != nil {
		return nil, err
	}
	if err := in.validate(false); err != nil {
		return nil, err
	}
	var p Partner
	err = f.change(r, "datahub.exchange_partner.update", "datahub_exchange_partner", func(tx pgx.Tx) (string, any, any, error) {
		before, err := scanPartner(tx.QueryRow(r.Context(), `SELECT `+partnerCols+` FROM datahub.exchange_partners WHERE id = $1`, id))
		if err != nil {
			return "", nil, nil, err
		}
		p, err = scanPartner(tx.QueryRow(r.Context(), `UPDATE datahub.exchange_partners SET name = $2, base_url = $3, industries = $4, state = $5
			WHERE id = $1 RETURNING `+partnerCols, id, in.Name, in.BaseURL, in.Industries, in.State))
		return strconv.FormatInt(id, 10), before, p, err
	})
	return p, err
}

// ExchangeLog is one exchange call.
type ExchangeLog struct {
	ID        int64     `json:"id"`
	PartnerID *int64    `json:"partner_id"`
	KeyID     string    `json:"key_id"`
	Direction string    `json:"direction"`
	At        time.Time `json:"at"`
	Path      string    `json:"path"`
	Status    int       `json:"status"`
	Code      string    `json:"code"`
	Rows      int       `json:"rows"`
	Message   string    `json:"message"`
	ClientIP  string    `json:"client_ip"`
}

func (f *Function) exchangeLog(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	var total int
	if err := f.pool.QueryRow(r.Context(), `SELECT count(*) FROM datahub.exchange_log`).Scan(&total); err != nil {
		return nil, err
	}
	rows, err := f.pool.Query(r.Context(), `SELECT id, partner_id, key_id, direction, at, path, status, code, rows, message, client_ip
		FROM datahub.exchange_log ORDER BY id DESC LIMIT $1 OFFSET $2`, page.Size, page.Offset())
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ExchangeLog, error) {
		var l ExchangeLog
		err := r.Scan(&l.ID, &l.PartnerID, &l.KeyID, &l.Direction, &l.At, &l.Path, &l.Status, &l.Code, &l.Rows, &l.Message, &l.ClientIP)
		return l, err
	})
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, page), nil
}

func (f *Function) logExchange(ctx context.Context, l ExchangeLog) {
	if _, err := f.pool.Exec(context.WithoutCancel(ctx), `INSERT INTO datahub.exchange_log (partner_id, key_id, direction, at, path,
		status, code, rows, message, client_ip) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		l.PartnerID, l.KeyID, l.Direction, f.now(), l.Path, l.Status, l.Code, l.Rows, clipText(l.Message, 500), l.ClientIP); err != nil {
		f.log.ErrorContext(ctx, "datahub: exchange log", "err", err)
	}
}

// partnerByKey is the partner with this key id and its secret.
func (f *Function) partnerByKey(ctx context.Context, keyID string) (Partner, string, error) {
	var sealed []byte
	var p Partner
	row := f.pool.QueryRow(ctx, `SELECT `+partnerCols+`, secret_sealed FROM datahub.exchange_partners WHERE key_id = $1`, keyID)
	err := row.Scan(&p.ID, &p.Name, &p.RegionCode, &p.KeyID, &p.BaseURL, &p.Industries, &p.State, &p.Watermark, &p.LastPullAt,
		&p.LastMessage, &p.CreatedAt, &sealed)
	if err != nil {
		return p, "", err
	}
	plain, err := f.plat.box.Open(sealed)
	return p, string(plain), err
}

// verifyJJJ checks a partner's signed request: the headers, the key, the
// clock, the signature, then the nonce (recorded only for a request that
// is signed right, so nobody can burn a partner's nonces).
func (f *Function) verifyJJJ(r *http.Request) (Partner, *JJJError) {
	kid, ts, nonce, sig := r.Header.Get(HeaderKeyID), r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderNonce), r.Header.Get(HeaderSignature)
	if kid == "" || ts == "" || nonce == "" || sig == "" {
		return Partner{}, &jjjNoSignature
	}
	if !validNonce(nonce) {
		return Partner{}, &jjjBadNonce
	}
	p, secret, err := f.partnerByKey(r.Context(), kid)
	if errors.Is(err, pgx.ErrNoRows) {
		return Partner{}, &jjjUnknownKey
	} else if err != nil {
		f.log.ErrorContext(r.Context(), "datahub: exchange partner", "err", err)
		return Partner{}, &jjjInternal
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	now := f.now()
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > f.cfg.JJJClockSkew {
		return p, &jjjClock
	}
	want := Sign(secret, r.Method, r.URL.EscapedPath(), r.URL.Query(), ts, nonce, nil)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return p, &jjjBadSignature
	}
	tag, err := f.pool.Exec(r.Context(), `INSERT INTO datahub.exchange_nonces (key_id, nonce, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		kid, nonce, now)
	if err != nil {
		return p, &jjjInternal
	}
	if tag.RowsAffected() == 0 {
		return p, &jjjReplay
	}
	// Nonces older than the window can never be replayed: the clock check refuses them first.
	_, _ = f.pool.Exec(r.Context(), `DELETE FROM datahub.exchange_nonces WHERE at < $1`, now.Add(-2*f.cfg.JJJClockSkew))
	if p.State != "active" {
		return p, &jjjDisabled
	}
	return p, nil
}

// serveJJJ is our side of the exchange: key-industry enterprises of
// Shijiazhuang, limited to the industries opened to the calling partner.
func (f *Function) serveJJJ(w http.ResponseWriter, r *http.Request) {
	reqID := httpx.RequestID(r.Context())
	if reqID == "" {
		reqID = newNonce()[:16]
	}
	l := ExchangeLog{Direction: "serve", Path: r.URL.RequestURI(), KeyID: clipText(r.Header.Get(HeaderKeyID), 64), ClientIP: httpx.ClientIP(r)}
	fail := func(e JJJError, detail string) {
		l.Status, l.Code, l.Message = e.Status, e.Code, e.Message
		msg := e.Message
		if detail != "" {
			msg += "：" + detail
			l.Message = msg
		}
		f.logExchange(r.Context(), l)
		httpx.JSON(w, e.Status, jjjReply{Code: e.Code, Message: msg, RequestID: reqID})
	}
	p, jerr := f.verifyJJJ(r)
	if p.ID != 0 {
		l.PartnerID = &p.ID
	}
	if jerr != nil {
		fail(*jerr, "")
		return
	}
	q := r.URL.Query()
	for k := range q {
		if !slices.Contains([]string{"industry", "updated_since", "cursor", "limit"}, k) {
			fail(jjjBadParam, "不支持的参数 "+clip(k))
			return
		}
	}
	industries := p.Industries
	if s := q.Get("industry"); s != "" {
		if _, ok := keyIndustry(s); !ok || !slices.Contains(p.Industries, s) {
			fail(jjjIndustry, clip(s))
			return
		}
		industries = []string{s}
	}
	var since *time.Time
	if s := q.Get("updated_since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			fail(jjjBadParam, "updated_since 应为 RFC 3339 时间，如 2026-01-01T00:00:00+08:00")
			return
		}
		since = &t
	}
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			fail(jjjBadParam, "limit 应为 1 至 500")
			return
		}
		limit = n
	}
	cursor := q.Get("cursor")
	if len(cursor) > 18 || !validNonce(cursor+strings.Repeat("0", 16)) {
		fail(jjjBadParam, "cursor 应为上一页返回的 next_cursor")
		return
	}
	var patterns []string
	for _, c := range industries {
		k, _ := keyIndustry(c)
		for _, pre := range k.Prefixes {
			patterns = append(patterns, pre+"%")
		}
	}
	rows, err := f.pool.Query(r.Context(), `SELECT credit_code, name, entity_type, legal_rep, established_on, registered_capital::float8,
		address, district_code, industry_code, status, updated_at
		FROM registry.datahub_entities() t
		WHERE t.industry_code LIKE ANY($1::text[]) AND t.credit_code > $2 AND ($3::timestamptz IS NULL OR t.updated_at >= $3)
		ORDER BY t.credit_code LIMIT $4`, patterns, cursor, since, limit+1)
	if err != nil {
		f.log.ErrorContext(r.Context(), "datahub: exchange query", "err", err)
		fail(jjjInternal, "")
		return
	}
	page := JJJPage{Region: ourRegion, Items: []JJJEnterprise{}}
	for rows.Next() {
		var e JJJEnterprise
		var est *time.Time
		var upd *time.Time
		if err := rows.Scan(&e.CreditCode, &e.Name, &e.EntityType, &e.LegalRep, &est, &e.RegisteredCapital, &e.Address, &e.DistrictCode,
			&e.IndustryCode, &e.Status, &upd); err != nil {
			rows.Close()
			fail(jjjInternal, "")
			return
		}
		if est != nil {
			e.EstablishedOn = est.Format("2006-01-02")
		}
		if upd != nil {
			e.UpdatedAt = upd.UTC()
		}
		e.LegalRep = Mask("name", e.LegalRep)
		e.KeyIndustry = keyIndustryOf(e.IndustryCode)
		page.Items = append(page.Items, e)
	}
	if rows.Err() != nil {
		fail(jjjInternal, "")
		return
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.NextCursor = page.Items[limit-1].CreditCode
	}
	l.Status, l.Code, l.Rows, l.Message = 200, "0", len(page.Items), "成功"
	f.logExchange(r.Context(), l)
	httpx.JSON(w, 200, jjjReply{Code: "0", Message: "成功", RequestID: reqID, Data: &page})
}

func (f *Function) serveJJJDoc(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Write(jjjOpenAPI)
}

// PullResult is what one pull of a partner's side did.
type PullResult struct {
	PartnerID   int64  `json:"partner_id"`
	OK          bool   `json:"ok"`
	Pages       int    `json:"pages"`
	RowsRead    int    `json:"rows_read"`
	RowsWritten int    `json:"rows_written"`
	Rejected    int    `json:"rows_rejected"`
	Message     string `json:"message"`
}

// JJJDataset is where pulled enterprises land in datahub.ingested_rows.
const JJJDataset = "jjj_enterprises"

func (f *Function) pullPartner(r *http.Request) (any, error) {
	id, err := idIn(r, "交换合作方")
	if err != nil {
		return nil, err
	}
	return f.PullPartner(r.Context(), id)
}

// PullPartner pulls the partner's key-industry enterprises updated since
// its watermark (less the overlap window), page by page, into
// datahub.ingested_rows; a row outside the partner's region, or with a
// bad credit code or industry, is not written.
func (f *Function) PullPartner(ctx context.Context, id int64) (PullResult, error) {
	res := PullResult{PartnerID: id}
	var kid string
	if err := f.pool.QueryRow(ctx, `SELECT key_id FROM datahub.exchange_partners WHERE id = $1`, id).Scan(&kid); errors.Is(err, pgx.ErrNoRows) {
		return res, errs.New(errs.NotFound, "交换合作方不存在")
	} else if err != nil {
		return res, err
	}
	p, secret, err := f.partnerByKey(ctx, kid)
	if err != nil {
		return res, err
	}
	if p.State != "active" {
		return res, errs.New(errs.Conflict, "合作方已停用")
	}
	if p.BaseURL == "" {
		return res, errs.New(errs.Conflict, "未配置对方接口地址，无法拉取")
	}
	runErr := f.pull(ctx, p, secret, &res)
	res.OK = runErr == nil
	if runErr != nil {
		res.Message = runErr.Error()
	} else {
		res.Message = fmt.Sprintf("读取 %d 页 %d 行，写入 %d 行", res.Pages, res.RowsRead, res.RowsWritten)
		if res.Rejected > 0 {
			res.Message += fmt.Sprintf("，%d 行不符合字段约定未写入", res.Rejected)
		}
	}
	_, err = f.pool.Exec(context.WithoutCancel(ctx), `UPDATE datahub.exchange_partners SET last_pull_at = $2, last_message = $3 WHERE id = $1`,
		id, f.now(), res.Message)
	return res, err
}

func (f *Function) pull(ctx context.Context, p Partner, secret string, res *PullResult) error {
	base, err := url.Parse(strings.TrimRight(p.BaseURL, "/") + "/enterprises")
	if err != nil {
		return errors.New("对方接口地址格式错误")
	}
	if _, err := f.plat.allow.Check(ctx, base.Hostname()); err != nil {
		return errors.New(refusal(err, base.Hostname()))
	}
	var since *time.Time
	if p.Watermark != nil {
		t := p.Watermark.Add(-f.cfg.PushOverlap)
		since = &t
	}
	var newest time.Time
	cursor := ""
	for {
		q := url.Values{"limit": {strconv.Itoa(f.plat.pullLimit)}}
		if since != nil {
			q.Set("updated_since", since.Format(time.RFC3339))
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		u := *base
		u.RawQuery = q.Encode()
		page, err := f.pullPage(ctx, p, secret, u.String())
		if err != nil {
			return err
		}
		res.Pages++
		var rows []map[string]any
		for _, e := range page.Items {
			if codes.CheckCreditCode(e.CreditCode) != nil || e.DistrictCode != p.RegionCode || keyIndustryOf(e.IndustryCode) == "" || e.Name == "" {
				res.Rejected++
				continue
			}
			if e.UpdatedAt.After(newest) {
				newest = e.UpdatedAt
			}
			var m map[string]any
			b, _ := json.Marshal(e)
			json.Unmarshal(b, &m)
			m["source_region"] = p.RegionCode
			rows = append(rows, m)
		}
		res.RowsRead += len(page.Items)
		n, err := ingest(ctx, f.pool, JJJDataset, "exchange", p.ID, "credit_code", rows, f.now())
		if err != nil {
			return fmt.Errorf("写入数据失败：%w", err)
		}
		res.RowsWritten += n
		if page.NextCursor == "" || page.NextCursor == cursor || res.Pages >= f.cfg.PlatformMaxPages {
			break
		}
		cursor = page.NextCursor
	}
	if !newest.IsZero() {
		_, err := f.pool.Exec(ctx, `UPDATE datahub.exchange_partners SET watermark = greatest(watermark, $2) WHERE id = $1`, p.ID, newest)
		return err
	}
	return nil
}

func (f *Function) pullPage(ctx context.Context, p Partner, secret, target string) (JJJPage, error) {
	l := ExchangeLog{PartnerID: &p.ID, KeyID: p.KeyID, Direction: "pull", Path: target}
	done := func(status int, code, msg string, rows int) {
		l.Status, l.Code, l.Message, l.Rows = status, code, msg, rows
		f.logExchange(ctx, l)
	}
	req, err := http.NewRequestWithContext(ctx, "GET", target, nil)
	if err != nil {
		return JJJPage{}, err
	}
	req.Header.Set("Accept", "application/json")
	signRequest(req, p.KeyID, secret, nil, f.now())
	resp, err := f.plat.client(f.cfg.PlatformTimeout).Do(req)
	if err != nil {
		var ref *netguard.Refused
		msg := "调用对方接口失败（网络）：" + shortErr(err)
		if errors.As(err, &ref) {
			msg = refusal(ref, req.URL.Hostname())
		}
		done(0, "", msg, 0)
		return JJJPage{}, errors.New(msg)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	var rep jjjReply
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&rep); err != nil {
		msg := fmt.Sprintf("对方应答不是约定的 JSON（HTTP %d）", resp.StatusCode)
		done(resp.StatusCode, "", msg, 0)
		return JJJPage{}, errors.New(msg)
	}
	if rep.Code != "0" || resp.StatusCode != 200 || rep.Data == nil {
		msg := fmt.Sprintf("对方答复 %s：%s（HTTP %d）", rep.Code, clipText(rep.Message, 200), resp.StatusCode)
		done(resp.StatusCode, rep.Code, msg, 0)
		return JJJPage{}, errors.New(msg)
	}
	done(200, "0", "成功", len(rep.Data.Items))
	return *rep.Data, nil
}
