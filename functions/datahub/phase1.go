package datahub

// FP-181 数据接口升级服务: phase I's data interfaces (法人信息库, 许可证照库,
// 食品, 医疗器械) kept as v1 — their paths, pinyin field names, pageNo /
// pageSize paging and {code, msg, data} envelope — beside v2, which
// answers the same rows with the platform's field names, keyset paging
// and errors. Both read only the registry's published read functions, in
// the caller's data scope, with personal fields masked unless
// datahub.personal:view. phase1_test.go holds v1 to its frozen contract
// (testdata/phase1_v1_contract.json) and v1 to v2 row by row.

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// PermPhase1 (view) is the permission of the phase-I interfaces, v1 and v2.
const PermPhase1 = "datahub.phase1"

// phase1MaxPage bounds a page of either version.
const phase1MaxPage = 200

// Licence categories of the phase-I interfaces: the registry keeps one
// record kind for licences, so a category is read from the title, as the
// phase-I food and medical-device interfaces selected them.
var licenceCategories = map[string]string{"": "", "food": "%食品%", "medical_device": "%医疗器械%"}

func (f *Function) phase1Routes(m *httpx.Mux) {
	// FP-181: phase I's interfaces, kept as v1 (paths, fields and envelope unchanged).
	m.Handle("GET /datahub/v1/phase1/frxx", http.HandlerFunc(f.v1LegalPersons), auth.Requires(PermPhase1, "view"), httpx.NoEntity(),
		httpx.Params("tyshxydm", "qymc", "xzqhdm", "pageNo", "pageSize"))
	for path, cat := range map[string]string{"xkzz": "", "spxk": "food", "ylqx": "medical_device"} {
		m.Handle("GET /datahub/v1/phase1/"+path, f.v1Licences(cat), auth.Requires(PermPhase1, "view"), httpx.NoEntity(),
			httpx.Params("tyshxydm", "xzqhdm", "pageNo", "pageSize"))
	}
	// FP-181: v2 of the same data — platform field names, keyset paging, the platform's errors.
	m.Handle("GET /datahub/v2/legal-persons", httpx.Endpoint(f.v2LegalPersons), auth.Requires(PermPhase1, "view"), httpx.NoEntity(),
		httpx.Params("credit_code", "name", "district_code", "after", "limit"))
	m.Handle("GET /datahub/v2/licences", httpx.Endpoint(f.v2Licences), auth.Requires(PermPhase1, "view"), httpx.NoEntity(),
		httpx.Params("category", "credit_code", "district_code", "after", "limit"))
}

// LegalPerson is a v2 legal-person row.
type LegalPerson struct {
	CreditCode        string   `json:"credit_code"`
	Name              string   `json:"name"`
	EntityType        string   `json:"entity_type"`
	LegalRep          string   `json:"legal_rep"`
	EstablishedOn     *string  `json:"established_on"`
	RegisteredCapital *float64 `json:"registered_capital"`
	BusinessScope     string   `json:"business_scope"`
	Address           string   `json:"address"`
	DistrictCode      string   `json:"district_code"`
	Status            string   `json:"status"`
}

// Licence is a v2 licence row.
type Licence struct {
	ID           int64   `json:"id"`
	LicenceNo    string  `json:"licence_no"`
	Title        string  `json:"title"`
	Authority    string  `json:"authority"`
	IssuedOn     *string `json:"issued_on"`
	ValidUntil   *string `json:"valid_until"`
	Status       string  `json:"status"`
	CreditCode   string  `json:"credit_code"`
	EntityName   string  `json:"entity_name"`
	DistrictCode string  `json:"district_code"`
}

// Phase1Page is a v2 page: the rows and, when more follow, the cursor of
// the next page (after=).
type Phase1Page[T any] struct {
	Items     []T    `json:"items"`
	NextAfter string `json:"next_after,omitempty"`
}

// phase1Query is one request's conditions, either version.
type phase1Query struct {
	CreditCode, Name, District, Category string
	After                                string
	Limit, Offset                        int
	Scope                                auth.Scope
	Unmask                               bool
}

func callerOf(r *http.Request) (auth.Scope, bool) {
	p, ok := auth.FromContext(r.Context())
	if !ok {
		return auth.Scope{}, false
	}
	return p.Scope, p.Can(PermPersonal, "view")
}

func day(d *time.Time) *string {
	if d == nil {
		return nil
	}
	s := d.Format(time.DateOnly)
	return &s
}

func (f *Function) legalPersons(ctx context.Context, q phase1Query) ([]LegalPerson, error) {
	var w store.Where
	w.AddWith(func(args *[]any) string { return q.Scope.Filter("district_code", "township_code", args) })
	if q.CreditCode != "" {
		w.Add("credit_code = ?", q.CreditCode)
	}
	if q.Name != "" {
		w.Add("name LIKE ?", store.Contains(q.Name))
	}
	if q.District != "" {
		w.Add("district_code = ?", q.District)
	}
	if q.After != "" {
		w.Add("credit_code > ?", q.After)
	}
	rows, err := f.pool.Query(ctx, `SELECT credit_code, name, coalesce(entity_type, ''), coalesce(legal_rep, ''), established_on,
		registered_capital::float8, coalesce(business_scope, ''), coalesce(address, ''), coalesce(district_code, ''), coalesce(status, '')
		FROM registry.datahub_entities()`+w.SQL()+` ORDER BY credit_code LIMIT `+w.Next(q.Limit)+` OFFSET `+w.Next(q.Offset), w.Args()...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LegalPerson, error) {
		var p LegalPerson
		var est *time.Time
		err := r.Scan(&p.CreditCode, &p.Name, &p.EntityType, &p.LegalRep, &est, &p.RegisteredCapital, &p.BusinessScope, &p.Address, &p.DistrictCode, &p.Status)
		p.EstablishedOn = day(est)
		if !q.Unmask && p.LegalRep != "" {
			p.LegalRep = Mask("name", p.LegalRep)
		}
		return p, err
	})
	return out, store.Classify(err)
}

func (f *Function) countLegalPersons(ctx context.Context, q phase1Query) (int, error) {
	var w store.Where
	w.AddWith(func(args *[]any) string { return q.Scope.Filter("district_code", "township_code", args) })
	if q.CreditCode != "" {
		w.Add("credit_code = ?", q.CreditCode)
	}
	if q.Name != "" {
		w.Add("name LIKE ?", store.Contains(q.Name))
	}
	if q.District != "" {
		w.Add("district_code = ?", q.District)
	}
	var n int
	err := f.pool.QueryRow(ctx, `SELECT count(*) FROM registry.datahub_entities()`+w.SQL(), w.Args()...).Scan(&n)
	return n, store.Classify(err)
}

func (q phase1Query) licenceWhere() *store.Where {
	w := &store.Where{}
	w.Add("kind = 'licence'")
	w.AddWith(func(args *[]any) string { return q.Scope.Filter("district_code", "township_code", args) })
	if like := licenceCategories[q.Category]; like != "" {
		w.Add("title LIKE ?", like)
	}
	if q.CreditCode != "" {
		w.Add("credit_code = ?", q.CreditCode)
	}
	if q.District != "" {
		w.Add("district_code = ?", q.District)
	}
	return w
}

func (f *Function) licences(ctx context.Context, q phase1Query) ([]Licence, error) {
	w := q.licenceWhere()
	if q.After != "" {
		id, _ := strconv.ParseInt(q.After, 10, 64)
		w.Add("id > ?", id)
	}
	rows, err := f.pool.Query(ctx, `SELECT id, coalesce(ref_no, ''), title, coalesce(authority, ''), occurred_on, valid_until, coalesce(status, ''),
		credit_code, entity_name, coalesce(district_code, '') FROM registry.datahub_records()`+w.SQL()+` ORDER BY id LIMIT `+w.Next(q.Limit)+` OFFSET `+w.Next(q.Offset), w.Args()...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Licence, error) {
		var l Licence
		var issued, until *time.Time
		err := r.Scan(&l.ID, &l.LicenceNo, &l.Title, &l.Authority, &issued, &until, &l.Status, &l.CreditCode, &l.EntityName, &l.DistrictCode)
		l.IssuedOn, l.ValidUntil = day(issued), day(until)
		return l, err
	})
	return out, store.Classify(err)
}

func (f *Function) countLicences(ctx context.Context, q phase1Query) (int, error) {
	w := q.licenceWhere()
	var n int
	err := f.pool.QueryRow(ctx, `SELECT count(*) FROM registry.datahub_records()`+w.SQL(), w.Args()...).Scan(&n)
	return n, store.Classify(err)
}

// ---- v2 ----

// v2Query reads v2's parameters; every bad one is named in Chinese.
func v2Query(r *http.Request, cursorDigits bool) (phase1Query, error) {
	v := r.URL.Query()
	q := phase1Query{CreditCode: strings.ToUpper(strings.TrimSpace(v.Get("credit_code"))), Name: strings.TrimSpace(v.Get("name")),
		District: strings.TrimSpace(v.Get("district_code")), Category: v.Get("category"), After: v.Get("after"), Limit: 50}
	q.Scope, q.Unmask = callerOf(r)
	var fe []errs.FieldError
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > phase1MaxPage {
			fe = append(fe, errs.FieldError{Field: "limit", Message: "limit 应为 1 至 200 的整数"})
		}
		q.Limit = n
	}
	if _, ok := licenceCategories[q.Category]; !ok {
		fe = append(fe, errs.FieldError{Field: "category", Message: "category 应为 food（食品）或 medical_device（医疗器械），不填为全部许可证照"})
	}
	if cursorDigits && q.After != "" {
		if _, err := strconv.ParseInt(q.After, 10, 64); err != nil {
			fe = append(fe, errs.FieldError{Field: "after", Message: "after 应为上一页返回的 next_after"})
		}
	}
	if q.District != "" && (len(q.District) != 6 || strings.Trim(q.District, "0123456789") != "") {
		fe = append(fe, errs.FieldError{Field: "district_code", Message: "district_code 应为 6 位行政区划代码"})
	}
	return q, errs.Fields(fe)
}

func (f *Function) v2LegalPersons(r *http.Request) (any, error) {
	q, err := v2Query(r, false)
	if err != nil {
		return nil, err
	}
	q.Limit++ // one more tells whether a next page exists
	rows, err := f.legalPersons(r.Context(), q)
	if err != nil {
		return nil, err
	}
	page := Phase1Page[LegalPerson]{Items: rows}
	if len(rows) == q.Limit {
		page.Items = rows[:q.Limit-1]
		page.NextAfter = page.Items[len(page.Items)-1].CreditCode
	}
	if page.Items == nil {
		page.Items = []LegalPerson{}
	}
	return page, nil
}

func (f *Function) v2Licences(r *http.Request) (any, error) {
	q, err := v2Query(r, true)
	if err != nil {
		return nil, err
	}
	q.Limit++
	rows, err := f.licences(r.Context(), q)
	if err != nil {
		return nil, err
	}
	page := Phase1Page[Licence]{Items: rows}
	if len(rows) == q.Limit {
		page.Items = rows[:q.Limit-1]
		page.NextAfter = strconv.FormatInt(page.Items[len(page.Items)-1].ID, 10)
	}
	if page.Items == nil {
		page.Items = []Licence{}
	}
	return page, nil
}

// ---- v1 (phase I's shapes, frozen) ----

// v1Envelope is phase I's answer: code "0" and msg 成功 on success; on an
// error its code ("E400", "E500") and the Chinese message.
type v1Envelope struct {
	Code string  `json:"code"`
	Msg  string  `json:"msg"`
	Data *v1Page `json:"data,omitempty"`
}

type v1Page struct {
	Total    int              `json:"total"`
	PageNo   int              `json:"pageNo"`
	PageSize int              `json:"pageSize"`
	List     []map[string]any `json:"list"`
}

func v1Fail(w http.ResponseWriter, status int, msg string) {
	code := "E" + strconv.Itoa(status)
	httpx.JSON(w, status, v1Envelope{Code: code, Msg: msg})
}

// v1Query reads phase I's parameters (pageNo from 1, pageSize up to 200).
func v1Query(r *http.Request) (phase1Query, int, int, string) {
	v := r.URL.Query()
	q := phase1Query{CreditCode: strings.ToUpper(strings.TrimSpace(v.Get("tyshxydm"))), Name: strings.TrimSpace(v.Get("qymc")),
		District: strings.TrimSpace(v.Get("xzqhdm"))}
	q.Scope, q.Unmask = callerOf(r)
	pageNo, size := 1, 20
	if s := v.Get("pageNo"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return q, 0, 0, "pageNo 应为从 1 开始的页码"
		}
		pageNo = n
	}
	if s := v.Get("pageSize"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > phase1MaxPage {
			return q, 0, 0, "pageSize 应为 1 至 200 的整数"
		}
		size = n
	}
	if q.District != "" && (len(q.District) != 6 || strings.Trim(q.District, "0123456789") != "") {
		return q, 0, 0, "xzqhdm 应为 6 位行政区划代码"
	}
	q.Limit, q.Offset = size, (pageNo-1)*size
	return q, pageNo, size, ""
}

// v1 field names of phase I, from v2's rows.
func v1LegalPerson(p LegalPerson) map[string]any {
	zczb := ""
	if p.RegisteredCapital != nil {
		zczb = strconv.FormatFloat(*p.RegisteredCapital, 'f', -1, 64)
	}
	clrq := ""
	if p.EstablishedOn != nil {
		clrq = *p.EstablishedOn
	}
	return map[string]any{"tyshxydm": p.CreditCode, "qymc": p.Name, "qylx": p.EntityType, "fddbr": p.LegalRep, "clrq": clrq,
		"zczb": zczb, "jyfw": p.BusinessScope, "zs": p.Address, "xzqhdm": p.DistrictCode, "djzt": p.Status}
}

func v1Licence(l Licence) map[string]any {
	or := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	return map[string]any{"xkzbh": l.LicenceNo, "xkzmc": l.Title, "fzjg": l.Authority, "fzrq": or(l.IssuedOn), "yxqz": or(l.ValidUntil),
		"zt": l.Status, "tyshxydm": l.CreditCode, "qymc": l.EntityName, "xzqhdm": l.DistrictCode}
}

func (f *Function) v1LegalPersons(w http.ResponseWriter, r *http.Request) {
	q, pageNo, size, bad := v1Query(r)
	if bad != "" {
		v1Fail(w, http.StatusBadRequest, bad)
		return
	}
	total, err := f.countLegalPersons(r.Context(), q)
	if err != nil {
		v1Fail(w, http.StatusInternalServerError, "查询失败，请稍后重试")
		return
	}
	rows, err := f.legalPersons(r.Context(), q)
	if err != nil {
		v1Fail(w, http.StatusInternalServerError, "查询失败，请稍后重试")
		return
	}
	list := make([]map[string]any, 0, len(rows))
	for _, p := range rows {
		list = append(list, v1LegalPerson(p))
	}
	httpx.JSON(w, http.StatusOK, v1Envelope{Code: "0", Msg: "成功", Data: &v1Page{Total: total, PageNo: pageNo, PageSize: size, List: list}})
}

func (f *Function) v1Licences(category string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, pageNo, size, bad := v1Query(r)
		if bad != "" {
			v1Fail(w, http.StatusBadRequest, bad)
			return
		}
		q.Category = category
		total, err := f.countLicences(r.Context(), q)
		if err != nil {
			v1Fail(w, http.StatusInternalServerError, "查询失败，请稍后重试")
			return
		}
		rows, err := f.licences(r.Context(), q)
		if err != nil {
			v1Fail(w, http.StatusInternalServerError, "查询失败，请稍后重试")
			return
		}
		list := make([]map[string]any, 0, len(rows))
		for _, l := range rows {
			list = append(list, v1Licence(l))
		}
		httpx.JSON(w, http.StatusOK, v1Envelope{Code: "0", Msg: "成功", Data: &v1Page{Total: total, PageNo: pageNo, PageSize: size, List: list}})
	})
}
