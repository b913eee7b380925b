package entitygraph

// FP-125 企业数字画像: one enterprise on paper — its registered data, the
// ownership graph and penetration, its records, a records-based credit
// grade and risk signals, and what the national data says of it and of
// its holders registered elsewhere. Everything is read within the
// caller's data scope: a party outside it is a node without details, as
// in the graph.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// PortraitRecord is one record of the entity, as registry.entity_portrait
// answers it.
type PortraitRecord struct {
	ID         int64          `json:"id"`
	RefNo      string         `json:"ref_no"`
	Title      string         `json:"title"`
	Authority  string         `json:"authority"`
	OccurredOn string         `json:"occurred_on"`
	ValidUntil string         `json:"valid_until"`
	Status     string         `json:"status"`
	Public     bool           `json:"public"`
	Details    map[string]any `json:"details"`
}

// PortraitSection is the records of one kind: the total and the newest 50.
type PortraitSection struct {
	Kind    string           `json:"kind"`
	Total   int              `json:"total"`
	Records []PortraitRecord `json:"records"`
}

// PortraitEntity is the entity's registered data.
type PortraitEntity struct {
	CreditCode        string            `json:"credit_code"`
	Name              string            `json:"name"`
	EntityType        string            `json:"entity_type"`
	LegalRep          string            `json:"legal_rep"`
	EstablishedOn     string            `json:"established_on"`
	RegisteredCapital string            `json:"registered_capital"`
	BusinessScope     string            `json:"business_scope"`
	Address           string            `json:"address"`
	DistrictCode      string            `json:"district_code"`
	TownshipCode      string            `json:"township_code"`
	IndustryCode      string            `json:"industry_code"`
	Status            string            `json:"status"`
	Sections          []PortraitSection `json:"sections"`
}

// NationalItem is one national lookup of the portrait: the entity itself
// or a party registered beyond Shijiazhuang.
type NationalItem struct {
	Node  Node
	Found *NationalEnterprise
	Err   string // a Chinese sentence when the lookup failed
}

// Risk is one risk signal with its level (高, 中, 低).
type Risk struct {
	Level string
	Text  string
}

// Grade is the records-based credit grade (档案信用等级).
type Grade struct {
	Score   int
	Grade   string
	Factors []string
}

// Portrait is everything the report prints.
type Portrait struct {
	Entity       PortraitEntity
	Graph        *Graph // nil: no ownership data
	Penetration  *PenetrationView
	Changes      []Change
	Names        map[string]string // visible party ids to names, for change records
	National     []NationalItem
	Grade        Grade
	Risks        []Risk
	Scope        auth.Scope
	GeneratedAt  time.Time
	GeneratedBy  string
	NationalNote string // why nothing was asked nationally, when nothing was
}

// loadPortraitEntity calls the registry's published read function.
func loadPortraitEntity(ctx context.Context, pool *pgxpool.Pool, code string) (*PortraitEntity, error) {
	var raw []byte
	if err := pool.QueryRow(ctx, `SELECT registry.entity_portrait($1)`, code).Scan(&raw); err != nil {
		return nil, store.Classify(err)
	}
	if raw == nil {
		return nil, nil
	}
	var e PortraitEntity
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, fmt.Errorf("entity-graph: registry.entity_portrait: %w", err)
	}
	return &e, nil
}

// Portrait gathers the report of one entity for a caller with scope.
func (f *Function) Portrait(ctx context.Context, scope auth.Scope, code string) (*Portrait, error) {
	e, err := loadPortraitEntity(ctx, f.pool, code)
	if err != nil {
		return nil, err
	}
	if e == nil || !scope.Allows(e.DistrictCode, e.TownshipCode) {
		return nil, errs.New(errs.NotFound, "未找到该市场主体")
	}
	p := &Portrait{Entity: *e, Scope: scope, GeneratedAt: f.now(), Names: map[string]string{}}
	g, err := f.Graph(ctx, scope, code, 2)
	switch {
	case errs.CodeOf(err) == errs.NotFound:
		// An entity without ownership data still has a portrait.
	case err != nil:
		return nil, err
	default:
		p.Graph = &g
		pen, err := f.Penetration(ctx, scope, code, float64(f.cfg.Threshold))
		if err != nil {
			return nil, err
		}
		p.Penetration = &pen
		v, _ := f.center(ctx, scope, code)
		list, err := changesOf(ctx, f.pool, code)
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, c := range list {
			ids = append(ids, c.HolderID, c.Counterparty)
		}
		if err := v.load(ctx, f, ids); err != nil {
			return nil, err
		}
		for i := range list {
			for _, id := range []*string{&list[i].HolderID, &list[i].Counterparty} {
				if *id == "" {
					continue
				}
				n := v.node(*id)
				*id = n.ID
				p.Names[n.ID] = n.Name
			}
		}
		p.Changes = list
	}
	f.lookUpNational(ctx, p)
	p.Grade = gradeOf(p.Entity, p.GeneratedAt)
	p.Risks = risksOf(p)
	return p, nil
}

// outsideCity tells a credit code registered beyond Shijiazhuang by the
// division it carries (characters 3–8, GB 32100).
func outsideCity(code string) bool {
	return len(code) == 18 && !strings.HasPrefix(code[2:8], "1301")
}

// lookUpNational asks the gateway about the entity (its nationwide listings)
// and about the visible entity parties of its graph registered elsewhere,
// at most NationalMax of them, a few at a time. A hidden party is never
// asked about: its code is not the caller's to see.
func (f *Function) lookUpNational(ctx context.Context, p *Portrait) {
	items := []NationalItem{{Node: Node{ID: p.Entity.CreditCode, Kind: "entity", Name: p.Entity.Name}}}
	if p.Graph != nil {
		for _, n := range p.Graph.Nodes {
			if n.Hidden || n.Kind != "entity" || n.ID == p.Entity.CreditCode || !outsideCity(n.ID) {
				continue
			}
			if len(items) > f.cfg.NationalMax {
				p.NationalNote = fmt.Sprintf("外地关联主体较多，仅查询了前 %d 个。", f.cfg.NationalMax)
				break
			}
			items = append(items, NationalItem{Node: n})
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 3*f.cfg.NationalTimeout)
	defer cancel()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ent, err := f.national.Enterprise(ctx, items[i].Node.ID)
			if err != nil {
				var ne *NationalError
				if !errors.As(err, &ne) {
					ne = &NationalError{Message: "国家企业数据查询失败", Cause: err}
				}
				f.log.Warn("national data lookup failed", "code", items[i].Node.ID, "err", ne.Cause)
				items[i].Err = ne.Message
				return
			}
			items[i].Found = ent
		}()
	}
	wg.Wait()
	p.National = items
}

// gradeOf is the records-based credit grade, on the scale and the
// deductions monitor's credit model uses for the same kinds of record
// (FP-87): from 100, a penalty of the last three years 15 (at most 3
// counted), a current abnormal listing 20, a serious-illegal listing or a
// blacklist entry 30, a complaint of the last year 3 (at most 5); A ≥ 90,
// B ≥ 75, C ≥ 60, else D.
func gradeOf(e PortraitEntity, now time.Time) Grade {
	day := now.Format(time.DateOnly)
	since := func(years int) string { return now.AddDate(-years, 0, 0).Format(time.DateOnly) }
	count := func(kind, from string, current bool) int {
		n := 0
		for _, s := range e.Sections {
			if s.Kind != kind {
				continue
			}
			for _, r := range s.Records {
				if r.OccurredOn < from || r.OccurredOn > day || (current && removed(r)) {
					continue
				}
				n++
			}
		}
		return n
	}
	g := Grade{Score: 100}
	for _, d := range []struct {
		kind, name string
		from       string
		current    bool
		each, most int
	}{
		{"penalty", "近三年行政处罚", since(3), false, 15, 3},
		{"abnormal_list", "列入经营异常名录", "", true, 20, 1},
		{"serious_illegal", "列入严重违法失信名单", "", true, 30, 1},
		{"blacklist", "列入黑名单", "", true, 30, 1},
		{"complaint", "近一年投诉举报", since(1), false, 3, 5},
	} {
		n := count(d.kind, d.from, d.current)
		if n == 0 {
			continue
		}
		minus := d.each * min(n, d.most)
		g.Score -= minus
		g.Factors = append(g.Factors, fmt.Sprintf("%s %d 条，扣 %d 分", d.name, n, minus))
	}
	g.Score = max(g.Score, 0)
	switch {
	case g.Score >= 90:
		g.Grade = "A"
	case g.Score >= 75:
		g.Grade = "B"
	case g.Score >= 60:
		g.Grade = "C"
	default:
		g.Grade = "D"
	}
	return g
}

// removed tells a listing no longer in force (移出, 撤销).
func removed(r PortraitRecord) bool {
	return strings.Contains(r.Status, "移出") || strings.Contains(r.Status, "撤销") || strings.Contains(r.Status, "已解除")
}

// risksOf lists the signals a regulator looks at first, highest first.
func risksOf(p *Portrait) []Risk {
	var rs []Risk
	add := func(level, text string) { rs = append(rs, Risk{level, text}) }
	e := p.Entity
	switch e.Status {
	case "revoked":
		add("高", "主体已被吊销营业执照")
	case "deregistered":
		add("中", "主体已注销")
	}
	today := p.GeneratedAt.Format(time.DateOnly)
	soon := p.GeneratedAt.AddDate(0, 0, 30).Format(time.DateOnly)
	for _, s := range e.Sections {
		for _, r := range s.Records {
			switch {
			case (s.Kind == "serious_illegal" || s.Kind == "blacklist") && !removed(r):
				add("高", fmt.Sprintf("%s：%s（%s，%s）", kindName(s.Kind), r.Title, r.Authority, r.OccurredOn))
			case s.Kind == "abnormal_list" && !removed(r):
				add("高", fmt.Sprintf("列入经营异常名录：%s（%s）", r.Title, r.OccurredOn))
			case s.Kind == "licence" && r.ValidUntil != "" && r.ValidUntil < today:
				add("中", fmt.Sprintf("许可已过期：%s（有效期至 %s）", r.Title, r.ValidUntil))
			case s.Kind == "licence" && r.ValidUntil != "" && r.ValidUntil <= soon:
				add("低", fmt.Sprintf("许可 30 日内到期：%s（有效期至 %s）", r.Title, r.ValidUntil))
			}
		}
	}
	if n := p.Grade.Score; n < 60 {
		add("高", fmt.Sprintf("档案信用等级 %s（%d 分）", p.Grade.Grade, n))
	}
	for _, c := range p.Changes {
		if c.Kind == "pledge" {
			add("中", fmt.Sprintf("股权出质：%s（%s）", p.Names[c.HolderID], c.OccurredOn))
		}
	}
	if pen := p.Penetration; pen != nil {
		if len(pen.Controllers) == 0 && len(pen.Holders) > 0 {
			add("低", "股权分散，未识别出持股达到阈值的实际控制人")
		}
		for _, c := range pen.Controllers {
			if c.Hidden {
				add("中", "实际控制人在本人数据权限范围外，详情不可见")
			}
		}
		if pen.Truncated {
			add("低", "股权链条过长或过多，穿透结果已截断")
		}
	}
	for _, n := range p.National {
		if n.Found == nil {
			continue
		}
		who := "本主体"
		if n.Node.ID != e.CreditCode {
			who = "外地关联主体 " + n.Found.Name
		}
		for _, l := range n.Found.SeriousIllegal {
			if l.RemovedOn == "" {
				add("高", fmt.Sprintf("%s被列入严重违法失信名单（国家数据，%s）", who, l.Authority))
			}
		}
		for _, l := range n.Found.Abnormal {
			if l.RemovedOn == "" {
				add("中", fmt.Sprintf("%s被列入经营异常名录（国家数据，%s）", who, l.Authority))
			}
		}
		if n.Node.ID != e.CreditCode && n.Found.RegStatus != "" && !strings.Contains(n.Found.RegStatus, "存续") && !strings.Contains(n.Found.RegStatus, "在业") {
			add("中", fmt.Sprintf("外地关联主体 %s 登记状态为%s", n.Found.Name, n.Found.RegStatus))
		}
	}
	order := map[string]int{"高": 0, "中": 1, "低": 2}
	slices.SortStableFunc(rs, func(a, b Risk) int { return order[a.Level] - order[b.Level] })
	return rs
}

var kindNames = map[string]string{
	"licence": "许可备案", "annual_report": "年度报告", "penalty": "行政处罚", "inspection": "监督检查",
	"random_check": "双随机抽查", "spot_check": "抽查检查", "complaint": "投诉举报", "abnormal_list": "经营异常名录",
	"serious_illegal": "严重违法失信名单", "honour": "荣誉信息", "blacklist": "黑名单",
}

// portraitKinds is the order of the record sections in the report:
// licences and inspections before penalties, as the 一户一档 tabs.
var portraitKinds = []string{"licence", "annual_report", "honour", "blacklist", "inspection", "random_check",
	"spot_check", "penalty", "complaint", "abnormal_list", "serious_illegal"}

func kindName(k string) string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return k
}
