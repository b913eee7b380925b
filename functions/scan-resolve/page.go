package scanresolve

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
)

// maxPageRecords bounds each section of the page (and its JSON), so an
// entity with hundreds of complaints still gets a page under 50 KB.
const maxPageRecords = 20

//go:embed page.html
var pageHTML string

// profile is what the page shows of an entity: a row of
// registry.public_page (read through scan.pages, store.go).
type profile struct {
	CreditCode        string
	Name              string
	EntityType        string
	LegalRep          string
	EstablishedOn     string
	RegisteredCapital string
	BusinessScope     string
	Address           string
	DistrictCode      string
	TownshipCode      string
	IndustryCode      string
	Status            string
	Version           int
	UpdatedAt         time.Time
	Records           []profileRecord // newest first
}

type profileRecord struct {
	Kind       string          `json:"kind"`
	RefNo      string          `json:"ref_no"`
	Title      string          `json:"title"`
	Authority  string          `json:"authority"`
	OccurredOn string          `json:"occurred_on"`
	ValidUntil *string         `json:"valid_until"`
	Status     string          `json:"status"`
	Details    json.RawMessage `json:"details"`
}

// View is the public answer for a token: the H5 page's data and the JSON
// the mini-program and app read.
type View struct {
	Token       string          `json:"token"`
	Status      string          `json:"status"` // active | invalid | pending | rejected | missing
	Message     string          `json:"message,omitempty"`
	Entity      *EntityView     `json:"entity,omitempty"`
	Sections    []SectionView   `json:"sections,omitempty"`
	ListStatus  []ListStatus    `json:"list_status,omitempty"`
	Hotline     string          `json:"hotline"`
	Rights      []rightsChannel `json:"rights"`
	GeneratedAt time.Time       `json:"generated_at"`
}

// EntityView is the basic information (基本信息, FP-26).
type EntityView struct {
	CreditCode        string    `json:"credit_code"`
	Name              string    `json:"name"`
	EntityType        string    `json:"entity_type"`
	EntityTypeName    string    `json:"entity_type_name"`
	LegalRep          string    `json:"legal_rep"`
	EstablishedOn     string    `json:"established_on"`
	RegisteredCapital string    `json:"registered_capital"`
	BusinessScope     string    `json:"business_scope"`
	Address           string    `json:"address"`
	DistrictCode      string    `json:"district_code"`
	DistrictName      string    `json:"district_name"`
	TownshipCode      string    `json:"township_code,omitempty"`
	TownshipName      string    `json:"township_name,omitempty"`
	IndustryCode      string    `json:"industry_code"`
	IndustryName      string    `json:"industry_name"`
	Status            string    `json:"status"`
	StatusName        string    `json:"status_name"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// SectionView is one section of the page; Total counts every public
// record, Records holds at most maxPageRecords of them, newest first.
type SectionView struct {
	Key     string       `json:"key"`
	Title   string       `json:"title"`
	Kinds   []string     `json:"kinds"`
	Total   int          `json:"total"`
	Records []RecordView `json:"records"`
}

// RecordView is one record as the public sees it.
type RecordView struct {
	Kind       string     `json:"kind"`
	KindName   string     `json:"kind_name"`
	Title      string     `json:"title"`
	RefNo      string     `json:"ref_no,omitempty"`
	Authority  string     `json:"authority,omitempty"`
	OccurredOn string     `json:"occurred_on"`
	ValidUntil string     `json:"valid_until,omitempty"`
	Status     string     `json:"status,omitempty"`
	Items      []ItemView `json:"items,omitempty"`
	Conclusion string     `json:"conclusion,omitempty"`
	Remarks    string     `json:"remarks,omitempty"`
	// Photos are the on-the-spot photos of an inspection recorded by
	// scanning (paths under PUBLIC_BASE_URL, see photos.go).
	Photos []string `json:"photos,omitempty"`
	// Penalty is what a penalty decision publishes (FP-33).
	Penalty *PenaltyView `json:"penalty,omitempty"`
}

// PenaltyView is the publicised part of a penalty decision (FP-33, as the
// credit publicity system shows it): type, amount, legal basis and
// execution status.
type PenaltyView struct {
	Type      string `json:"type"`
	Amount    string `json:"amount,omitempty"` // yuan, as recorded
	Basis     string `json:"basis,omitempty"`
	Execution string `json:"execution,omitempty"`
}

// penaltyView reads a penalty's details: "type" (or the decision text,
// "decision"), "amount", "basis" and "execution"; the record's status is
// the execution status when details do not say.
func penaltyView(status string, details json.RawMessage) *PenaltyView {
	var d struct {
		Type, PenaltyType, Decision, Basis, Execution, ExecutionStatus string
		Amount                                                         any
	}
	var m map[string]any
	if json.Unmarshal(details, &m) != nil {
		m = nil
	}
	str := func(k string) string {
		if v, ok := m[k]; ok && v != nil {
			return strings.TrimSpace(fmt.Sprint(v))
		}
		return ""
	}
	d.Type, d.PenaltyType, d.Decision, d.Basis = str("type"), str("penalty_type"), str("decision"), str("basis")
	d.Execution, d.ExecutionStatus = str("execution"), str("execution_status")
	p := &PenaltyView{Type: firstOf(d.Type, d.PenaltyType, d.Decision), Amount: str("amount"), Basis: d.Basis,
		Execution: firstOf(d.Execution, d.ExecutionStatus, status)}
	if p.Type == "" && p.Amount == "" && p.Basis == "" && p.Execution == "" {
		return nil
	}
	return p
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// ItemView is an annual-report item (name, value) or an inspection item
// (name, result, reason).
type ItemView struct {
	Name   string `json:"name"`
	Value  string `json:"value,omitempty"`
	Result string `json:"result,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// ListStatus is the entity's standing on a list (FP-35).
type ListStatus struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Listed bool   `json:"listed"`
	Text   string `json:"text"`
}

var kindNames = map[string]string{
	"licence": "许可备案", "annual_report": "年度报告", "penalty": "行政处罚", "inspection": "监督检查",
	"random_check": "双随机抽查", "spot_check": "抽查检查", "complaint": "投诉举报", "abnormal_list": "经营异常名录",
	"serious_illegal": "严重违法失信名单", "honour": "荣誉信息", "blacklist": "黑名单",
}

// pageSections are the page's record sections in FP order (FP-27–35).
var pageSections = []struct {
	key, title string
	kinds      []string
}{
	{"licence", "许可备案", []string{"licence"}},
	{"annual_report", "年度报告", []string{"annual_report"}},
	{"honour_blacklist", "荣誉与黑名单", []string{"honour", "blacklist"}},
	{"inspection", "监督检查", []string{"inspection"}},
	{"random_check", "双随机抽查", []string{"random_check"}},
	{"spot_check", "抽查检查", []string{"spot_check"}},
	{"penalty", "行政处罚", []string{"penalty"}},
	{"complaint", "投诉举报", []string{"complaint"}},
	{"lists", "经营异常/严重违法失信名单", []string{"abnormal_list", "serious_illegal"}},
}

var (
	entityTypeNames = map[string]string{"enterprise": "企业", "individual": "个体工商户", "cooperative": "农民专业合作社",
		"institution": "事业单位", "non_enterprise": "民办非企业单位"}
	entityStatusNames = map[string]string{"active": "存续", "revoked": "吊销", "deregistered": "注销"}
)

// load is the cache's loader: token's row from scan.pages, through the
// batcher that shares round trips between concurrent misses, rendered as
// asked.
func (f *Function) load(ctx context.Context, token string, asJSON bool) (*pair, error) {
	v, fc, version, err := f.loadView(ctx, token)
	if err != nil {
		return nil, err
	}
	return f.render(v, fc, version, asJSON)
}

// loadView is the View of token and the facts of its scans; version is
// the entity version it shows (0 without an entity).
func (f *Function) loadView(ctx context.Context, token string) (View, facts, int, error) {
	v := View{Token: token, Hotline: f.cfg.Hotline, Rights: f.rights, GeneratedAt: f.now()}
	row, err := f.pages.do(ctx, token)
	if err != nil {
		return v, facts{}, 0, err
	}
	if row == nil {
		v.Status, v.Message = "missing", "该码不存在，请核对后重新扫码。"
		return v, facts{Status: "missing"}, 0, nil
	}
	p, found, err := row.profile()
	if err != nil {
		return v, facts{}, 0, err
	}
	fc := facts{Status: row.status, CC: strings.TrimSpace(row.cc)}
	v.Status = row.status
	switch {
	case row.status == "invalid":
		v.Message = "该码已失效"
		return v, fc, 0, nil
	case row.status != "active":
		v.Message = "该码尚未生效"
		return v, fc, 0, nil
	case !found:
		// An active code whose entity the registry no longer holds.
		v.Status, v.Message = "invalid", "该码已失效"
		fc.Status = "invalid"
		return v, fc, 0, nil
	}
	fc.District, fc.Township, fc.Industry = p.DistrictCode, p.TownshipCode, p.IndustryCode
	v.Entity = entityView(p)
	photoToken := ""
	if f.cfg.PublicPhotos {
		photoToken = token
	}
	v.Sections, v.ListStatus = sectionViews(p, photoToken)
	return v, fc, p.Version, nil
}

func entityView(p profile) *EntityView {
	e := &EntityView{CreditCode: p.CreditCode, Name: p.Name, EntityType: p.EntityType, EntityTypeName: entityTypeNames[p.EntityType],
		LegalRep: p.LegalRep, EstablishedOn: p.EstablishedOn, RegisteredCapital: trimDecimal(p.RegisteredCapital),
		BusinessScope: p.BusinessScope, Address: p.Address, DistrictCode: p.DistrictCode, TownshipCode: p.TownshipCode,
		IndustryCode: p.IndustryCode, Status: p.Status, StatusName: entityStatusNames[p.Status], UpdatedAt: p.UpdatedAt}
	if d, ok := codes.Divisions().Lookup(p.DistrictCode); ok {
		e.DistrictName = d.Name
	}
	if d, ok := codes.Divisions().Lookup(p.TownshipCode); ok && p.TownshipCode != "" {
		e.TownshipName = d.Name
	}
	if i, ok := codes.Industries().Lookup(p.IndustryCode); ok {
		e.IndustryName = i.Name
	}
	return e
}

func trimDecimal(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// sectionViews groups the records into the page's sections; inspection
// photos are linked under photoToken's page ("" links none).
func sectionViews(p profile, photoToken string) ([]SectionView, []ListStatus) {
	byKind := map[string][]profileRecord{}
	for _, r := range p.Records {
		byKind[r.Kind] = append(byKind[r.Kind], r)
	}
	var out []SectionView
	for _, ps := range pageSections {
		s := SectionView{Key: ps.key, Title: ps.title, Kinds: ps.kinds, Records: []RecordView{}}
		for _, k := range ps.kinds {
			for _, r := range byKind[k] {
				s.Total++
				if len(s.Records) < maxPageRecords {
					s.Records = append(s.Records, recordView(k, r, photoToken))
				}
			}
		}
		out = append(out, s)
	}
	var lists []ListStatus
	for _, k := range []string{"abnormal_list", "serious_illegal"} {
		ls := ListStatus{Kind: k, Name: kindNames[k], Text: "未列入" + kindNames[k]}
		if recs := byKind[k]; len(recs) > 0 && !strings.Contains(recs[0].Status, "移出") {
			r := recs[0]
			ls.Listed = true
			ls.Text = fmt.Sprintf("%s 由%s列入%s：%s", r.OccurredOn, r.Authority, kindNames[k], r.Title)
		}
		lists = append(lists, ls)
	}
	return out, lists
}

func recordView(kind string, r profileRecord, photoToken string) RecordView {
	v := RecordView{Kind: kind, KindName: kindNames[kind], Title: r.Title, RefNo: r.RefNo, Authority: r.Authority,
		OccurredOn: r.OccurredOn, Status: r.Status}
	if r.ValidUntil != nil {
		v.ValidUntil = *r.ValidUntil
	}
	if kind == "penalty" {
		v.Penalty = penaltyView(r.Status, r.Details)
	}
	var d struct {
		Items []struct {
			Name   string `json:"name"`
			Value  any    `json:"value"`
			Result string `json:"result"`
			Reason string `json:"reason"`
		} `json:"items"`
		Conclusion   string `json:"conclusion"`
		Remarks      string `json:"remarks"`
		InspectionID string `json:"inspection_id"` // set by the registry for an inspection recorded by scanning
		Photos       any    `json:"photos"`        // its photo count there
	}
	if json.Unmarshal(r.Details, &d) == nil {
		for _, it := range d.Items {
			iv := ItemView{Name: it.Name, Result: it.Result, Reason: it.Reason}
			if it.Value != nil {
				iv.Value = fmt.Sprint(it.Value)
			}
			v.Items = append(v.Items, iv)
		}
		v.Conclusion, v.Remarks = d.Conclusion, d.Remarks
		if n, ok := d.Photos.(float64); ok && photoToken != "" && uuid.Validate(d.InspectionID) == nil {
			for i := 1; i <= int(n) && i <= maxPhotoLinks; i++ {
				v.Photos = append(v.Photos, "/q/"+photoToken+"/photos/"+d.InspectionID+"/"+strconv.Itoa(i))
			}
		}
	}
	return v
}

// inspectorForm is the extra block an inspector sees (FP-30, FP-32); an
// entity outside the inspector's data scope gets a note instead of the
// form.
type inspectorForm struct {
	Token      string
	Name       string
	Today      string
	Items      []string
	Recorded   bool
	MaxPhotos  int
	OutOfScope bool
}

// defaultInspectionItems pre-fill the form; the inspector may rename them.
var defaultInspectionItems = []string{"证照公示", "经营场所环境卫生", "进货查验记录", "从业人员健康证明", "价格标示", "计量器具检定"}

func (f *Function) render(v View, fc facts, version int, asJSON bool) (*pair, error) {
	var body []byte
	var err error
	if asJSON {
		body, err = json.Marshal(v)
	} else {
		body, err = f.renderPage(v, nil)
	}
	if err != nil {
		return nil, err
	}
	code := httpStatus(v.Status)
	e := newEntry(code, fc, body)
	if asJSON {
		return &pair{json: e, version: version}, nil
	}
	return &pair{page: e, version: version}, nil
}

// httpStatus is the HTTP status of a page for a code in status.
func httpStatus(status string) int {
	switch status {
	case "missing":
		return http.StatusNotFound
	case "invalid":
		return http.StatusGone
	}
	return http.StatusOK
}

// renderMessage renders a page that only says something (not found, busy).
func (f *Function) renderMessage(status, msg string) ([]byte, error) {
	return f.renderPage(View{Status: status, Message: msg, Hotline: f.cfg.Hotline, Rights: f.rights}, nil)
}

// inspectorPage renders a fresh page with the form for an inspector: rare
// enough to bypass the cache, and it must show the latest records. The
// form is offered only for an entity inside the inspector's data scope,
// where recordInspection would accept it.
func (f *Function) inspectorPage(ctx context.Context, token string, p *auth.Principal, recorded bool) ([]byte, facts, int, error) {
	v, fc, _, err := f.loadView(ctx, token)
	if err != nil {
		return nil, fc, 0, err
	}
	var form *inspectorForm
	if v.Status == "active" {
		form = &inspectorForm{Token: token, Name: p.Name, Today: f.now().In(shanghai).Format(time.DateOnly),
			Items: defaultInspectionItems, Recorded: recorded, MaxPhotos: f.cfg.MaxPhotos,
			OutOfScope: !p.Scope.Allows(fc.District, fc.Township)}
	}
	b, err := f.renderPage(v, form)
	return b, fc, httpStatus(v.Status), err
}

// shanghai is China Standard Time; a fixed zone needs no tzdata.
var shanghai = time.FixedZone("CST", 8*3600)

// rightsChannel is one way to reach 12315 (FP-78–84).
type rightsChannel struct {
	Key   string `json:"key"`
	Name  string `json:"name"`
	Hint  string `json:"hint"`
	URL   string `json:"url,omitempty"`
	Image string `json:"image,omitempty"`
}

// rightsChannels are the 12315 entries of the page (FP-80–84). Each
// defaults to the official national platform (https://www.12315.cn, which
// carries the links to its WeChat, Alipay and Baidu mini-programs and its
// App); a configured address replaces it. An entry without a configured
// image gets a QR code of its address rendered here, so scanning it opens
// the channel out of the box.
func rightsChannels(c Config) ([]rightsChannel, error) {
	out := []rightsChannel{
		{"website", "全国12315平台网站", "在线投诉举报、查询处理进度", c.Website, ""},
		{"wechat_oa", "12315 微信公众号", "微信搜索“全国12315平台”关注公众号", c.WeChatOAURL, c.WeChatOAQR},
		{"wechat_mp", "12315 微信小程序", "微信搜索“全国12315平台”小程序", c.WeChatMPURL, c.WeChatMPQR},
		{"app", "12315 App", "下载“全国12315平台”App", c.AppURL, c.AppQR},
		{"alipay", "12315 支付宝小程序", "支付宝搜索“全国12315平台”小程序", c.AlipayURL, c.AlipayQR},
		{"baidu", "12315 百度小程序", "百度 App 搜索“全国12315平台”小程序", c.BaiduURL, c.BaiduQR},
	}
	for i := range out {
		if out[i].Image != "" || out[i].URL == "" {
			continue
		}
		img, err := qrDataURI(out[i].URL)
		if err != nil {
			return nil, fmt.Errorf("scan-resolve: QR image of %s: %w", out[i].Key, err)
		}
		out[i].Image = img
	}
	return out, nil
}
