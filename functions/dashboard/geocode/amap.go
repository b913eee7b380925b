package geocode

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Errors of the geocoding service, by what the caller can do about them.
var (
	ErrRateLimited = errors.New("geocode: rate limited") // retry later (QPS exceeded)
	ErrQuota       = errors.New("geocode: daily quota used up")
	ErrAuth        = errors.New("geocode: key or signature refused")
	ErrUnavailable = errors.New("geocode: service unavailable")
)

// Point is a geocoded result.
type Point struct {
	Formatted string  `json:"formatted"`
	Adcode    string  `json:"adcode"`
	District  string  `json:"district"`
	Township  string  `json:"township"`
	Street    string  `json:"street"`
	Number    string  `json:"number"`
	Lng       float64 `json:"lng"`
	Lat       float64 `json:"lat"`
	Level     string  `json:"level"` // AMap's match level: 门牌号, 道路, 乡镇, 区县, …
}

// AMap is a client of AMap's Web Service geocoding API (地理编码,
// GET /v3/geocode/geo) with digital signatures: sig = MD5 of the request
// parameters sorted by name and joined as k=v&k=v, followed by the key's
// private secret.
type AMap struct {
	BaseURL string // https://restapi.amap.com, or the simulator
	Key     string
	Secret  string
	City    string // 石家庄 unless set
	HTTP    *http.Client
}

// Sign is the signature of params as AMap computes it (values unescaped).
func Sign(params url.Values, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "sig" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + params.Get(k)
	}
	sum := md5.Sum([]byte(strings.Join(parts, "&") + secret))
	return hex.EncodeToString(sum[:])
}

type amapAnswer struct {
	Status   string `json:"status"`
	Info     string `json:"info"`
	Infocode string `json:"infocode"`
	Count    string `json:"count"`
	Geocodes []struct {
		FormattedAddress string `json:"formatted_address"`
		District         any    `json:"district"` // a string, or [] when empty
		Township         any    `json:"township"`
		Street           any    `json:"street"`
		Number           any    `json:"number"`
		Adcode           string `json:"adcode"`
		Location         string `json:"location"`
		Level            string `json:"level"`
	} `json:"geocodes"`
}

// str reads AMap's fields, which are "" or [] when empty.
func str(v any) string {
	s, _ := v.(string)
	return s
}

// Geocode asks for one address; ok is false when AMap found nothing.
func (c *AMap) Geocode(ctx context.Context, address string) (p Point, ok bool, err error) {
	city := c.City
	if city == "" {
		city = "石家庄"
	}
	q := url.Values{"address": {address}, "city": {city}, "key": {c.Key}, "output": {"JSON"}}
	q.Set("sig", Sign(q, c.Secret))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.BaseURL, "/")+"/v3/geocode/geo?"+q.Encode(), nil)
	if err != nil {
		return p, false, err
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	res, err := hc.Do(req)
	if err != nil {
		return p, false, errors.Join(ErrUnavailable, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return p, false, fmt.Errorf("%w: HTTP %d", ErrUnavailable, res.StatusCode)
	}
	var a amapAnswer
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil {
		return p, false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if a.Status != "1" {
		return p, false, infoError(a.Infocode, a.Info)
	}
	if len(a.Geocodes) == 0 {
		return p, false, nil
	}
	g := a.Geocodes[0]
	lng, lat, found := strings.Cut(g.Location, ",")
	if !found {
		return p, false, fmt.Errorf("%w: location %q", ErrUnavailable, g.Location)
	}
	p = Point{Formatted: g.FormattedAddress, Adcode: g.Adcode, District: str(g.District), Township: str(g.Township),
		Street: str(g.Street), Number: str(g.Number), Level: g.Level}
	if p.Lng, err = strconv.ParseFloat(lng, 64); err == nil {
		p.Lat, err = strconv.ParseFloat(lat, 64)
	}
	if err != nil {
		return Point{}, false, fmt.Errorf("%w: location %q", ErrUnavailable, g.Location)
	}
	return p, true, nil
}

// infoError maps AMap's infocodes (错误码对照表) to what the caller does.
func infoError(code, info string) error {
	var kind error
	switch code {
	case "10001", "10005", "10006", "10007", "10009", "10010", "10011", "10012":
		kind = ErrAuth
	case "10003", "10044", "10045":
		kind = ErrQuota
	case "10004", "10014", "10015", "10019", "10020", "10021", "10029":
		kind = ErrRateLimited
	default:
		kind = ErrUnavailable
	}
	return fmt.Errorf("%w: %s %s", kind, code, info)
}

// Levels AMap answers, the precise ones first.
var preciseLevels = map[string]bool{"门牌号": true, "单元号": true, "楼栋": true, "兴趣点": true}

// Check flags a geocoded point against the address it came from (FP-140):
// outside_district when AMap placed it in another district, too_vague when
// the address or AMap's match is coarser than a house number, no_result
// when AMap found nothing.
func Check(a Address, p Point, ok bool) []string {
	var issues []string
	if !ok {
		return []string{"no_result"}
	}
	if a.DistrictCode != "" && p.Adcode != "" && p.Adcode != a.DistrictCode {
		issues = append(issues, "outside_district")
	}
	if !preciseLevels[p.Level] || a.Grade > GradeNumber {
		issues = append(issues, IssueVague)
	}
	return issues
}
