package entitygraph

// FP-125: data beyond Shijiazhuang. Entities registered elsewhere (a
// shareholder from Beijing) and the nationwide listings of the entity
// itself come from the national enterprise-data gateway
// (tests/sim/nationaldata simulates it): signed requests, one retry on a
// busy answer, and every failure turned into a Chinese sentence the
// portrait prints in its section instead of failing the report.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// NationalListing is an entry of a national list (经营异常名录, 严重违法失信名单).
type NationalListing struct {
	Reason    string `json:"reason"`
	ListedOn  string `json:"listed_on"`
	Authority string `json:"authority"`
	RemovedOn string `json:"removed_on,omitempty"`
}

// NationalPenalty is a penalty published nationally.
type NationalPenalty struct {
	RefNo     string `json:"ref_no"`
	Content   string `json:"content"`
	Authority string `json:"authority"`
	DecidedOn string `json:"decided_on"`
}

// NationalEnterprise is what the gateway knows of one credit code.
type NationalEnterprise struct {
	CreditCode        string            `json:"credit_code"`
	Name              string            `json:"name"`
	EntityType        string            `json:"entity_type"`
	LegalRep          string            `json:"legal_rep"`
	RegStatus         string            `json:"reg_status"`
	EstablishedOn     string            `json:"established_on"`
	RegisteredCapital string            `json:"registered_capital"`
	RegAuthority      string            `json:"reg_authority"`
	Address           string            `json:"address"`
	Abnormal          []NationalListing `json:"abnormal"`
	SeriousIllegal    []NationalListing `json:"serious_illegal"`
	Penalties         []NationalPenalty `json:"penalties"`
}

// National looks enterprises up in the national data. A code the gateway
// does not know is (nil, nil); an error's Error() is a Chinese sentence
// fit for the report.
type National interface {
	Enterprise(ctx context.Context, code string) (*NationalEnterprise, error)
}

// NationalError is a failure of the gateway, said for a reader.
type NationalError struct {
	Message string
	Cause   error
}

func (e *NationalError) Error() string { return e.Message }
func (e *NationalError) Unwrap() error { return e.Cause }

// nationalClient is the HTTP client of the gateway.
type nationalClient struct {
	base, key, secret string
	http              *http.Client
	backoff           time.Duration
	now               func() time.Time
}

func newNationalClient(c Config, now func() time.Time) *nationalClient {
	return &nationalClient{base: strings.TrimRight(c.NationalURL, "/"), key: c.NationalKey, secret: c.NationalSecret,
		http: &http.Client{Timeout: c.NationalTimeout}, backoff: 300 * time.Millisecond, now: now}
}

// signNational is the gateway's documented scheme: HMAC-SHA256 over the
// method, the API path (below the base URL: a gateway prefix is not
// signed), the timestamp in milliseconds, the nonce and the key, base64.
func signNational(secret, method, path, ts, nonce, key string) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%s\n%s\n%s\n%s\n%s", method, path, ts, nonce, key)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

type nationalAnswer struct {
	Code string              `json:"code"`
	Msg  string              `json:"msg"`
	Data *NationalEnterprise `json:"data"`
}

// Enterprise asks the gateway once, and once more after a busy answer
// (429 or 5xx), each attempt signed afresh (the gateway refuses a reused
// nonce).
func (c *nationalClient) Enterprise(ctx context.Context, code string) (*NationalEnterprise, error) {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var e *NationalEnterprise
		var retry bool
		e, retry, err = c.once(ctx, code)
		if err == nil || !retry || ctx.Err() != nil {
			return e, err
		}
		t := time.NewTimer(c.backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, &NationalError{Message: "国家企业数据接口查询超时", Cause: ctx.Err()}
		case <-t.C:
		}
	}
	return nil, err
}

func (c *nationalClient) once(ctx context.Context, code string) (*NationalEnterprise, bool, error) {
	path := "/openapi/v1/enterprises/" + code
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, false, &NationalError{Message: "国家企业数据接口地址配置有误", Cause: err}
	}
	nb := make([]byte, 12)
	_, _ = rand.Read(nb)
	ts, nonce := strconv.FormatInt(c.now().UnixMilli(), 10), hex.EncodeToString(nb)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Ca-Key", c.key)
	req.Header.Set("X-Ca-Timestamp", ts)
	req.Header.Set("X-Ca-Nonce", nonce)
	req.Header.Set("X-Ca-Signature", signNational(c.secret, http.MethodGet, path, ts, nonce, c.key))
	resp, err := c.http.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, true, &NationalError{Message: "国家企业数据接口响应超时", Cause: err}
		}
		return nil, true, &NationalError{Message: "无法连接国家企业数据接口", Cause: err}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var a nationalAnswer
	jsonErr := json.Unmarshal(raw, &a)
	cause := fmt.Errorf("entity-graph: national data: HTTP %d %s %s", resp.StatusCode, a.Code, a.Msg)
	switch {
	case resp.StatusCode == http.StatusNotFound && a.Code == "404":
		return nil, false, nil
	case resp.StatusCode == http.StatusTooManyRequests:
		return nil, true, &NationalError{Message: "国家企业数据接口请求过于频繁，请稍后重试", Cause: cause}
	case resp.StatusCode >= 500:
		return nil, true, &NationalError{Message: fmt.Sprintf("国家企业数据接口暂时不可用（HTTP %d），请稍后重试", resp.StatusCode), Cause: cause}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, false, &NationalError{Message: "国家企业数据接口拒绝了本平台的签名，请核对 AppKey 与密钥配置", Cause: cause}
	case resp.StatusCode != http.StatusOK || jsonErr != nil || a.Data == nil:
		return nil, false, &NationalError{Message: fmt.Sprintf("国家企业数据接口返回了无法识别的应答（HTTP %d）", resp.StatusCode), Cause: cause}
	}
	return a.Data, false, nil
}
