package datahub

// FP-97: lineage. The graph is derived from what the platform holds, each
// time it is asked for: the schema behind each catalogue dataset's
// published read function (its source system and its storage, sized by
// pg_total_relation_size), the dataset's rows, its cleaning (the key's
// deduplication, type conversion, masking and the quality rules' anomaly
// handling), the generated interfaces over it with the rows their access
// log says they served, and the push jobs with the rows their runs wrote
// into each target. What the platform cannot see — a paper channel, a
// return from the province — is registered by API (lineage_nodes,
// lineage_flows) and drawn with the rest.

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// PermLineage: view, edit (register external sources and flows).
const PermLineage = "datahub.lineage"

// Node kinds of the lineage graph, upstream to downstream.
const (
	NodeSource    = "source"
	NodeStorage   = "storage"
	NodeDataset   = "dataset"
	NodeCleaning  = "cleaning"
	NodeInterface = "interface"
	NodePush      = "push"
	NodeConsumer  = "consumer"
)

// LineageNode is one node; Details are what a click in the console shows.
type LineageNode struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Kind      string         `json:"kind"`
	Origin    string         `json:"origin,omitempty"`  // sources: upstream, shared, third_party, returned
	Channel   string         `json:"channel,omitempty"` // sources: manual, crawled, api
	Storage   string         `json:"storage,omitempty"` // storage: database, object_store
	SizeBytes *int64         `json:"size_bytes,omitempty"`
	Rows      *int64         `json:"rows,omitempty"`
	Derived   bool           `json:"derived"` // from the platform's own records, not registered
	Details   map[string]any `json:"details,omitempty"`
}

// LineageLink is a flow between nodes, with its volume in rows.
type LineageLink struct {
	Source  string `json:"source"`
	Target  string `json:"target"`
	Volume  int64  `json:"volume"`
	Label   string `json:"label"`
	Derived bool   `json:"derived"`
}

// Lineage is the graph.
type Lineage struct {
	Nodes []LineageNode `json:"nodes"`
	Links []LineageLink `json:"links"`
	At    time.Time     `json:"at"`
}

// sourceSystems names the systems behind our schemas: who enters the data
// and how. A schema not listed is drawn under its own name.
var sourceSystems = map[string]struct{ Name, Origin, Channel, Description string }{
	"registry": {"市场主体登记注册系统", "upstream", "manual",
		"登记窗口录入与网上申报，入库时按 GB 32100、GB/T 2260、GB/T 4754-2017 校验（登记注册功能）"},
}

var (
	originTitles  = map[string]string{"upstream": "上游系统", "shared": "共享交换", "third_party": "第三方", "returned": "回流数据"}
	channelTitles = map[string]string{"manual": "人工录入", "crawled": "网页采集", "api": "接口对接"}
	storageTitles = map[string]string{"database": "数据库", "object_store": "对象存储"}
)

// schemaOf is the schema of a dataset's published function.
func schemaOf(source string) string {
	s, _, _ := strings.Cut(source, ".")
	return s
}

// BuildLineage derives the whole graph.
func (f *Function) BuildLineage(ctx context.Context) (Lineage, error) {
	g := Lineage{At: f.now()}
	add := func(n LineageNode) { n.Derived = true; g.Nodes = append(g.Nodes, n) }
	link := func(s, t string, v int64, label string) {
		g.Links = append(g.Links, LineageLink{Source: s, Target: t, Volume: v, Label: label, Derived: true})
	}
	seenSchema := map[string]bool{}
	for _, ds := range Datasets() {
		schema := schemaOf(ds.source)
		src, store := "src:"+schema, "store:"+schema
		if !seenSchema[schema] {
			seenSchema[schema] = true
			sys, ok := sourceSystems[schema]
			if !ok {
				sys.Name, sys.Origin, sys.Channel = schema, "shared", "api"
			}
			add(LineageNode{ID: src, Name: sys.Name, Kind: NodeSource, Origin: sys.Origin, Channel: sys.Channel,
				Details: map[string]any{"说明": sys.Description, "来源类型": originTitles[sys.Origin], "采集方式": channelTitles[sys.Channel]}})
			var size, tables int64
			if err := f.pool.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint, count(*)
				FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
				WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'm')`, schema).Scan(&size, &tables); err != nil {
				return g, err
			}
			add(LineageNode{ID: store, Name: "PostgreSQL " + schema + " 模式", Kind: NodeStorage, Storage: "database", SizeBytes: &size,
				Details: map[string]any{"存储": "数据库（PostgreSQL）", "表数量": tables, "占用空间（字节）": size,
					"说明": "pg_total_relation_size 合计（含索引与 TOAST）"}})
		}
		var rows int64
		sql := "SELECT count(*) FROM " + ds.source + " t"
		if ds.where != "" {
			sql += " WHERE " + ds.where
		}
		if err := f.pool.QueryRow(ctx, sql).Scan(&rows); err != nil {
			return g, err
		}
		dsID, clean := "ds:"+ds.ID, "clean:"+ds.ID
		var personal []string
		for _, fl := range ds.Fields {
			if fl.Sensitivity == Personal {
				personal = append(personal, fl.Title)
			}
		}
		add(LineageNode{ID: dsID, Name: ds.Title, Kind: NodeDataset, Rows: &rows, Details: map[string]any{
			"数据集": ds.ID, "读取函数": ds.source, "分类": ds.Classification, "责任部门": ds.Owner, "更新频率": ds.Frequency,
			"字段数": len(ds.Fields), "主键": ds.Key, "行数": rows}})
		link(src, store, rows, "入库")
		link(store, dsID, rows, "发布读取函数")
		steps := []string{"去重：按主键 " + ds.Key + " 唯一，分页与推送按主键续传、重复推送即更新（upsert）",
			"格式转换：日期为 YYYY-MM-DD，数值为十进制，推送时映射为目标库的 DATE、DECIMAL、BIGINT、TIMESTAMP 类型"}
		if len(personal) > 0 {
			steps = append(steps, "脱敏："+strings.Join(personal, "、")+"默认脱敏")
		}
		var nRules, open int64
		if err := f.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM datahub.quality_rules WHERE dataset = $1 AND enabled),
			(SELECT count(*) FROM datahub.quality_issues WHERE dataset = $1 AND status = 'open')`, ds.ID).Scan(&nRules, &open); err != nil {
			return g, err
		}
		steps = append(steps, "异常处理："+strconv.FormatInt(nRules, 10)+" 条质量规则，待处理问题 "+strconv.FormatInt(open, 10)+" 个（转责任部门整改或说明）")
		add(LineageNode{ID: clean, Name: ds.Title + "·清洗", Kind: NodeCleaning, Rows: &rows,
			Details: map[string]any{"清洗步骤": steps, "质量规则数": nRules, "待处理问题": open}})
		link(dsID, clean, rows, "清洗")
	}

	// Generated interfaces and what their access log says they served.
	rows, err := f.pool.Query(ctx, `SELECT i.id, i.name, i.dataset, i.owner_name, i.status, array_length(i.fields, 1),
		coalesce(sum(l.rows) FILTER (WHERE l.status = 200), 0)::bigint, count(l.id) FILTER (WHERE l.status = 200),
		count(l.id) FILTER (WHERE l.status <> 200), max(l.at)
		FROM datahub.interfaces i LEFT JOIN datahub.access_log l ON l.interface_id = i.id
		GROUP BY i.id ORDER BY i.id`)
	if err != nil {
		return g, err
	}
	type ifaceUse struct {
		id                   int64
		name, dataset, owner string
		status               string
		fields               *int32
		rows, calls, refused int64
		last                 *time.Time
	}
	uses, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ifaceUse, error) {
		var u ifaceUse
		return u, r.Scan(&u.id, &u.name, &u.dataset, &u.owner, &u.status, &u.fields, &u.rows, &u.calls, &u.refused, &u.last)
	})
	if err != nil {
		return g, err
	}
	consumers := false
	for _, u := range uses {
		if f.catalogue[u.dataset] == nil {
			continue
		}
		id := "if:" + strconv.FormatInt(u.id, 10)
		served := u.rows
		add(LineageNode{ID: id, Name: "接口 " + u.name, Kind: NodeInterface, Rows: &served, Details: map[string]any{
			"接口编号": u.id, "创建人": u.owner, "状态": u.status, "字段数": u.fields, "成功调用": u.calls, "拒绝调用": u.refused,
			"返回行数": u.rows, "最近调用": u.last, "地址": "/datahub/v1/data/" + strconv.FormatInt(u.id, 10)}})
		link("clean:"+u.dataset, id, u.rows, "接口共享")
		if u.calls > 0 {
			consumers = true
			link(id, "consumer:api", u.rows, "调用")
		}
	}
	if consumers {
		add(LineageNode{ID: "consumer:api", Name: "接口调用方", Kind: NodeConsumer, Details: map[string]any{"说明": "持访问密钥调用生成接口的部门与系统"}})
	}

	// Push jobs and what their runs wrote.
	rows, err = f.pool.Query(ctx, `SELECT j.id, j.name, i.dataset, j.target_kind, j.target_dsn, j.target_table,
		coalesce(sum(r.rows_read), 0)::bigint, coalesce(sum(r.rows_written), 0)::bigint, count(r.id),
		(SELECT status FROM datahub.push_runs WHERE job_id = j.id ORDER BY id DESC LIMIT 1), max(r.started_at)
		FROM datahub.push_jobs j JOIN datahub.interfaces i ON i.id = j.interface_id
		LEFT JOIN datahub.push_runs r ON r.job_id = j.id GROUP BY j.id, i.dataset ORDER BY j.id`)
	if err != nil {
		return g, err
	}
	type pushUse struct {
		id                       int64
		name, dataset, kind, dsn string
		table                    string
		read, written, runs      int64
		last                     *string
		lastAt                   *time.Time
	}
	pushes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pushUse, error) {
		var u pushUse
		return u, r.Scan(&u.id, &u.name, &u.dataset, &u.kind, &u.dsn, &u.table, &u.read, &u.written, &u.runs, &u.last, &u.lastAt)
	})
	if err != nil {
		return g, err
	}
	targets := map[string]bool{}
	for _, u := range pushes {
		if f.catalogue[u.dataset] == nil {
			continue
		}
		id := "push:" + strconv.FormatInt(u.id, 10)
		host := targetHost(u.dsn)
		tgt := "target:" + u.kind + ":" + host + "/" + u.table
		add(LineageNode{ID: id, Name: "推送 " + u.name, Kind: NodePush, Rows: &u.written, Details: map[string]any{
			"推送任务": u.id, "运行次数": u.runs, "读取行数": u.read, "写入行数": u.written, "最近状态": u.last, "最近运行": u.lastAt}})
		link("clean:"+u.dataset, id, u.read, "读取")
		if !targets[tgt] {
			targets[tgt] = true
			add(LineageNode{ID: tgt, Name: map[string]string{"mysql": "MySQL", "postgres": "PostgreSQL"}[u.kind] + " " + host + " · " + u.table,
				Kind: NodeConsumer, Storage: "database", Details: map[string]any{"目标库": maskedDSN(u.dsn), "目标表": u.table}})
		}
		link(id, tgt, u.written, "写入")
	}

	// Registered sources, storage and flows.
	ext, err := listExtNodes(ctx, f)
	if err != nil {
		return g, err
	}
	g.Nodes = append(g.Nodes, ext...)
	flows, err := listExtFlows(ctx, f)
	if err != nil {
		return g, err
	}
	have := map[string]bool{}
	for _, n := range g.Nodes {
		have[n.ID] = true
	}
	for _, fl := range flows {
		if have[fl.Source] && have[fl.Target] { // a flow to a node that has gone is not drawn
			g.Links = append(g.Links, fl)
		}
	}
	return g, nil
}

// targetHost is the host and database of a target address, without the user.
func targetHost(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "?"
	}
	return u.Host + u.Path
}

func listExtNodes(ctx context.Context, f *Function) ([]LineageNode, error) {
	rows, err := f.pool.Query(ctx, `SELECT code, name, kind, origin, channel, storage, size_bytes, description, created_by, created_at
		FROM datahub.lineage_nodes ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (LineageNode, error) {
		var n LineageNode
		var desc, by string
		var at time.Time
		err := r.Scan(&n.ID, &n.Name, &n.Kind, &n.Origin, &n.Channel, &n.Storage, &n.SizeBytes, &desc, &by, &at)
		n.ID = "ext:" + n.ID
		n.Details = map[string]any{"说明": desc, "登记人": by, "登记时间": at}
		if n.Origin != "" {
			n.Details["来源类型"] = originTitles[n.Origin]
		}
		if n.Channel != "" {
			n.Details["采集方式"] = channelTitles[n.Channel]
		}
		if n.Storage != "" {
			n.Details["存储"] = storageTitles[n.Storage]
		}
		return n, err
	})
}

func listExtFlows(ctx context.Context, f *Function) ([]LineageLink, error) {
	rows, err := f.pool.Query(ctx, `SELECT source, target, volume, description FROM datahub.lineage_flows ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (LineageLink, error) {
		var l LineageLink
		return l, r.Scan(&l.Source, &l.Target, &l.Volume, &l.Label)
	})
}

// DatasetLineage is the part of the graph one dataset belongs to: every
// node upstream of it and every node downstream, with the links between
// them (what the dashboard's anomaly trace reads).
func (g Lineage) DatasetLineage(dataset string) Lineage {
	start := "ds:" + dataset
	keep := map[string]bool{start: true}
	walk := func(next func(LineageLink) (from, to string)) {
		frontier := []string{start}
		for len(frontier) > 0 {
			var more []string
			for _, l := range g.Links {
				from, to := next(l)
				if slices.Contains(frontier, from) && !keep[to] {
					keep[to] = true
					more = append(more, to)
				}
			}
			frontier = more
		}
	}
	walk(func(l LineageLink) (string, string) { return l.Target, l.Source }) // upstream
	down := map[string]bool{}
	for k := range keep {
		down[k] = true
	}
	keep = map[string]bool{start: true}
	walk(func(l LineageLink) (string, string) { return l.Source, l.Target }) // downstream
	for k := range down {
		keep[k] = true
	}
	out := Lineage{At: g.At, Nodes: []LineageNode{}, Links: []LineageLink{}}
	for _, n := range g.Nodes {
		if keep[n.ID] {
			out.Nodes = append(out.Nodes, n)
		}
	}
	for _, l := range g.Links {
		if keep[l.Source] && keep[l.Target] {
			out.Links = append(out.Links, l)
		}
	}
	return out
}

func (f *Function) lineageRoutes(m *httpx.Mux) {
	// FP-97: the lineage graph, derived from the catalogue, interfaces, access log, push runs and table sizes.
	m.Handle("GET /datahub/v1/lineage", httpx.Endpoint(f.getLineage), auth.Requires(PermLineage, "view"), httpx.NoEntity())
	// FP-97: one dataset's lineage, read by other functions (the dashboard's anomaly trace).
	m.Handle("GET /datahub/v1/lineage/datasets/{id}", httpx.Endpoint(f.getDatasetLineage), auth.Requires(PermLineage, "view"), httpx.NoEntity())
	// FP-97: register a source, storage or consumer the platform cannot see.
	m.Handle("POST /datahub/v1/lineage/nodes", httpx.Body(f.createLineageNode), auth.Requires(PermLineage, "edit"), httpx.NoEntity())
	// FP-97: register a flow between two nodes.
	m.Handle("POST /datahub/v1/lineage/flows", httpx.Body(f.createLineageFlow), auth.Requires(PermLineage, "edit"), httpx.NoEntity())
}

func (f *Function) getLineage(r *http.Request) (any, error) { return f.BuildLineage(r.Context()) }

func (f *Function) getDatasetLineage(r *http.Request) (any, error) {
	id := r.PathValue("id")
	if f.catalogue[id] == nil {
		return nil, errs.New(errs.NotFound, "数据集不存在")
	}
	g, err := f.BuildLineage(r.Context())
	if err != nil {
		return nil, err
	}
	return g.DatasetLineage(id), nil
}

// LineageNodeInput registers a node.
type LineageNodeInput struct {
	Code        string `json:"code"`
	Name        string `json:"name"`
	Kind        string `json:"kind"`    // source, storage, cleaning, consumer
	Origin      string `json:"origin"`  // sources
	Channel     string `json:"channel"` // sources
	Storage     string `json:"storage"` // storage
	SizeBytes   *int64 `json:"size_bytes"`
	Description string `json:"description"`
}

var nodeCode = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

func (in *LineageNodeInput) validate() error {
	var fe []errs.FieldError
	in.Name = strings.TrimSpace(in.Name)
	if !nodeCode.MatchString(in.Code) {
		fe = append(fe, errs.FieldError{Field: "code", Message: "节点代码只能由小写字母、数字、下划线和连字符组成，最长 63 个字符"})
	}
	if n := utf8.RuneCountInString(in.Name); n == 0 || n > 100 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "请填写节点名称（不超过 100 字）"})
	}
	switch in.Kind {
	case NodeSource, NodeStorage, NodeCleaning, NodeConsumer:
	default:
		fe = append(fe, errs.FieldError{Field: "kind", Message: "节点类型应为 source（来源）、storage（存储）、cleaning（清洗）、consumer（去向）之一"})
	}
	if _, ok := originTitles[in.Origin]; in.Origin != "" && !ok {
		fe = append(fe, errs.FieldError{Field: "origin", Message: "来源类型应为 upstream（上游）、shared（共享）、third_party（第三方）、returned（回流）之一"})
	}
	if _, ok := channelTitles[in.Channel]; in.Channel != "" && !ok {
		fe = append(fe, errs.FieldError{Field: "channel", Message: "采集方式应为 manual（人工）、crawled（爬取）、api（接口）之一"})
	}
	if _, ok := storageTitles[in.Storage]; in.Storage != "" && !ok {
		fe = append(fe, errs.FieldError{Field: "storage", Message: "存储应为 database（数据库）或 object_store（对象存储）"})
	}
	if in.Kind == NodeSource && (in.Origin == "" || in.Channel == "") {
		fe = append(fe, errs.FieldError{Field: "origin", Message: "来源节点需填写来源类型和采集方式"})
	}
	if in.SizeBytes != nil && *in.SizeBytes < 0 {
		fe = append(fe, errs.FieldError{Field: "size_bytes", Message: "占用空间不能为负数"})
	}
	return errs.Fields(fe)
}

func (f *Function) createLineageNode(r *http.Request, in LineageNodeInput) (any, error) {
	p, _ := auth.FromContext(r.Context())
	if err := in.validate(); err != nil {
		return nil, err
	}
	n := LineageNode{ID: "ext:" + in.Code, Name: in.Name, Kind: in.Kind, Origin: in.Origin, Channel: in.Channel, Storage: in.Storage, SizeBytes: in.SizeBytes}
	err := f.change(r, "datahub.lineage.node.create", "datahub_lineage_node", func(tx pgx.Tx) (string, any, any, error) {
		_, err := tx.Exec(r.Context(), `INSERT INTO datahub.lineage_nodes (code, name, kind, origin, channel, storage, size_bytes, description,
			created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, in.Code, in.Name, in.Kind, in.Origin, in.Channel,
			in.Storage, in.SizeBytes, strings.TrimSpace(in.Description), p.Username, f.now())
		if errs.CodeOf(store.Classify(err)) == errs.Conflict {
			return "", nil, nil, errs.Fields([]errs.FieldError{{Field: "code", Message: "节点代码“" + in.Code + "”已存在"}})
		}
		return n.ID, nil, n, err
	})
	if err != nil {
		return nil, err
	}
	return httpx.Created(n, "/datahub/v1/lineage"), nil
}

// LineageFlowInput registers a flow.
type LineageFlowInput struct {
	Source      string `json:"source"`
	Target      string `json:"target"`
	Volume      int64  `json:"volume"`
	Description string `json:"description"`
}

func (f *Function) createLineageFlow(r *http.Request, in LineageFlowInput) (any, error) {
	p, _ := auth.FromContext(r.Context())
	g, err := f.BuildLineage(r.Context())
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, n := range g.Nodes {
		have[n.ID] = true
	}
	var fe []errs.FieldError
	for _, s := range []struct{ field, id string }{{"source", in.Source}, {"target", in.Target}} {
		if !have[s.id] {
			fe = append(fe, errs.FieldError{Field: s.field, Message: "节点“" + clip(s.id) + "”不存在（登记的节点写作 ext:代码）"})
		}
	}
	if in.Source == in.Target {
		fe = append(fe, errs.FieldError{Field: "target", Message: "流向的起点和终点不能相同"})
	}
	if in.Volume < 0 {
		fe = append(fe, errs.FieldError{Field: "volume", Message: "数据量不能为负数"})
	}
	if !strings.HasPrefix(in.Source, "ext:") && !strings.HasPrefix(in.Target, "ext:") {
		fe = append(fe, errs.FieldError{Field: "source", Message: "平台内部的流向已自动生成，登记的流向至少一端应是登记的节点（ext:代码）"})
	}
	if err := errs.Fields(fe); err != nil {
		return nil, err
	}
	l := LineageLink{Source: in.Source, Target: in.Target, Volume: in.Volume, Label: strings.TrimSpace(in.Description)}
	err = f.change(r, "datahub.lineage.flow.create", "datahub_lineage_flow", func(tx pgx.Tx) (string, any, any, error) {
		var id int64
		err := tx.QueryRow(r.Context(), `INSERT INTO datahub.lineage_flows (source, target, volume, description, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, l.Source, l.Target, l.Volume, l.Label, p.Username, f.now()).Scan(&id)
		return strconv.FormatInt(id, 10), nil, l, err
	})
	if err != nil {
		return nil, err
	}
	return httpx.Created(l, "/datahub/v1/lineage"), nil
}
