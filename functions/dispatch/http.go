package dispatch

import (
	_ "embed"
	"encoding/csv"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the function's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/dispatch/v1/openapi.yaml", openapi }

// Permission resources, listed in shared/auth's catalogue.
const (
	PermEvent = "dispatch.event" // view, create, edit: the centre's alarms and events
	PermTrack = "dispatch.track" // create (a phone posts its positions), view
	PermTask  = "dispatch.task"  // view, create, handle
)

// TypeColors colour-codes the event types on the map and in lists (FP-144).
var TypeColors = map[string]string{
	"食品安全": "#e53935", "特种设备": "#fb8c00", "价格投诉": "#fdd835", "产品质量": "#8e24aa",
	"执法受阻": "#d81b60", "市场秩序": "#1e88e5", "其他": "#757575",
}

// Handler serves the API behind token verification.
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	// FP-142: the schematic base map, served from our own data.
	m.HandleFunc("GET /dispatch/v1/basemap", f.baseMap, auth.Requires(PermEvent, "view"), httpx.NoEntity())
	// FP-146: the centre's live feed and its alarms.
	m.HandleFunc("GET /dispatch/v1/feed", f.stream, auth.Requires(PermEvent, "view"), httpx.NoEntity(), httpx.Params("since"))
	m.Handle("GET /dispatch/v1/alarms", httpx.Endpoint(f.listAlarms), auth.Requires(PermEvent, "view"), httpx.EntityListing(),
		httpx.Params(append([]string{"status", "level", "q", "from", "to"}, httpx.PageParams...)...))
	m.Handle("POST /dispatch/v1/alarms/{id}/dismiss", httpx.Body(f.dismissAlarm), auth.Requires(PermEvent, "edit"), httpx.NoEntity())
	m.Handle("POST /dispatch/v1/alarms/{id}/accept", httpx.Body(f.acceptAlarm), auth.Requires(PermEvent, "edit"), httpx.NoEntity())
	// FP-144, FP-149, FP-154: events, their types, closing, grouping, timeline.
	m.Handle("GET /dispatch/v1/event-types", httpx.Endpoint(f.eventTypes), auth.Requires(PermEvent, "view"), httpx.NoEntity())
	// Counts carry no entity rows (the scope still applies).
	m.Handle("GET /dispatch/v1/event-counts", httpx.Endpoint(f.eventCounts), auth.Requires(PermEvent, "view"), httpx.NoEntity(),
		httpx.Params("status"))
	m.Handle("GET /dispatch/v1/events", httpx.Endpoint(f.listEvents), auth.Requires(PermEvent, "view"), httpx.EntityListing(),
		httpx.Params(append([]string{"q", "status", "type"}, httpx.PageParams...)...))
	m.Handle("POST /dispatch/v1/events", httpx.Body(f.createEvent), auth.Requires(PermEvent, "create"), httpx.NoEntity())
	m.Handle("POST /dispatch/v1/events/{id}/close", httpx.Body(f.closeEvent), auth.Requires(PermEvent, "edit"), httpx.NoEntity())
	m.Handle("POST /dispatch/v1/events/group", httpx.Body(f.groupEvents), auth.Requires(PermEvent, "edit"), httpx.NoEntity())
	// FP-159: field reports from the phone, instructions from the centre.
	m.Handle("POST /dispatch/v1/events/{id}/updates", httpx.Body(f.addUpdate), auth.Requires(PermEvent, "create"), httpx.NoEntity())
	m.Handle("GET /dispatch/v1/events/{id}/timeline", httpx.Endpoint(f.timeline), auth.Requires(PermEvent, "view"), httpx.NoEntity())
	// FP-148, FP-145, FP-147: positions in, live positions and selection, tracks.
	m.Handle("POST /dispatch/v1/positions", httpx.Body(f.ingest), auth.Requires(PermTrack, "create"), httpx.NoEntity())
	m.Handle("GET /dispatch/v1/live", httpx.Endpoint(f.live), auth.Requires(PermTrack, "view"), httpx.EntityListing(),
		httpx.Params("lat", "lng", "radius", "nearest", "polygon", "within"))
	m.Handle("GET /dispatch/v1/tracks/{user}", httpx.Endpoint(f.track), auth.Requires(PermTrack, "view"), httpx.NoEntity(),
		httpx.Params("from", "to", "tolerance"))
	m.HandleFunc("GET /dispatch/v1/tracks/{user}/csv", f.trackCSV, auth.Requires(PermTrack, "view"), httpx.NoEntity(),
		httpx.Params("from", "to"))
	// FP-143: resources on the map (stations, cameras, devices, vehicles),
	// selected as the live positions are.
	m.Handle("GET /dispatch/v1/resources", httpx.Endpoint(f.listResources), auth.Requires(PermEvent, "view"), httpx.EntityListing(),
		httpx.Params("kind", "lat", "lng", "radius", "nearest", "polygon"))
	m.Handle("POST /dispatch/v1/resources", httpx.Body(f.createResource), auth.Requires(PermEvent, "edit"), httpx.NoEntity())
	m.Handle("PUT /dispatch/v1/resources/{id}", httpx.Body(f.updateResource), auth.Requires(PermEvent, "edit"), httpx.NoEntity())
	m.Handle("DELETE /dispatch/v1/resources/{id}", httpx.Endpoint(f.deleteResource), auth.Requires(PermEvent, "edit"), httpx.NoEntity())
	// FP-150, FP-162: tasks.
	m.Handle("POST /dispatch/v1/tasks", httpx.Body(f.createTask), auth.Requires(PermTask, "create"), httpx.NoEntity())
	m.Handle("GET /dispatch/v1/tasks", httpx.Endpoint(f.tasks), auth.Requires(PermTask, "view"), httpx.EntityListing(),
		httpx.Params(append([]string{"box", "status", "sender", "receiver", "from", "to", "due_before"}, httpx.PageParams...)...))
	m.Handle("POST /dispatch/v1/tasks/{id}/{action}", httpx.Body(f.taskAction), auth.Requires(PermTask, "handle"), httpx.NoEntity())
	return m
}

func principal(r *http.Request) *auth.Principal { p, _ := auth.FromContext(r.Context()); return p }

func fieldErr(field, msg string) error {
	return errs.Fields([]errs.FieldError{{Field: field, Message: msg}})
}

func checkPoint(lat, lng *float64) error {
	switch {
	case lat == nil || lng == nil:
		return fieldErr("position", "请在地图上选择位置或填写地址")
	case math.IsNaN(*lat) || math.IsNaN(*lng) || math.IsInf(*lat, 0) || math.IsInf(*lng, 0):
		return fieldErr("position", "坐标不是有效数字（NaN）")
	case *lat < -90 || *lat > 90:
		return fieldErr("lat", "纬度超出范围（-90 至 90）")
	case *lng < -180 || *lng > 180:
		return fieldErr("lng", "经度超出范围（-180 至 180）")
	}
	return nil
}

func (f *Function) listAlarms(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	aq := AlarmQuery{Status: q.Get("status"), Level: q.Get("level"), Q: strings.TrimSpace(q.Get("q"))}
	switch aq.Status {
	case "", "new", "accepted", "dismissed", "closed":
	default:
		return nil, fieldErr("status", "状态只能是 new、accepted、dismissed 或 closed")
	}
	if aq.From, err = timeParam(r, "from"); err != nil {
		return nil, err
	}
	if aq.To, err = timeParam(r, "to"); err != nil {
		return nil, err
	}
	items, total, err := listAlarms(r.Context(), f.pool, principal(r).Scope, aq, page)
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, page), nil
}

// AcceptInput turns an alarm into an event of a type.
type AcceptInput struct {
	Type string `json:"type"`
}

func (f *Function) acceptAlarm(r *http.Request, in AcceptInput) (any, error) {
	if in.Type == "" {
		in.Type = "执法受阻"
	}
	if _, ok := TypeColors[in.Type]; !ok {
		return nil, fieldErr("type", "未知的事件类型："+in.Type)
	}
	return f.AcceptAlarm(r.Context(), principal(r), r.PathValue("id"), in.Type)
}

func (f *Function) eventTypes(*http.Request) (any, error) { return TypeColors, nil }

// EventInput is an event entered at the centre (call) or reported.
type EventInput struct {
	Type        string   `json:"type"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Source      string   `json:"source"`
	Address     string   `json:"address"`
	Lat         *float64 `json:"lat"`
	Lng         *float64 `json:"lng"`
	District    string   `json:"district"`
	Township    string   `json:"township"`
	// Attachments are object keys of alarm-intake's uploads (photos and
	// videos of a hazard report).
	Attachments []string `json:"attachments"`
}

func (f *Function) createEvent(r *http.Request, in EventInput) (any, error) {
	in.Title = strings.TrimSpace(in.Title)
	switch {
	case in.Title == "" || utf8.RuneCountInString(in.Title) > 200:
		return nil, fieldErr("title", "请填写事件标题（不超过 200 字）")
	case TypeColors[in.Type] == "":
		return nil, fieldErr("type", "请选择事件类型")
	case in.Source != "call" && in.Source != "report":
		return nil, fieldErr("source", "事件来源只能是来电（call）或上报（report）")
	}
	if err := checkPoint(in.Lat, in.Lng); err != nil {
		return nil, err
	}
	if err := checkAttachments(in.Attachments); err != nil {
		return nil, err
	}
	e, err := f.CreateEvent(r.Context(), principal(r), in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(e, ""), nil
}

func (f *Function) listEvents(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	items, total, err := listEvents(r.Context(), f.pool, principal(r).Scope, strings.TrimSpace(q.Get("q")), q.Get("status"), q.Get("type"), page)
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, page), nil
}

func (f *Function) eventCounts(r *http.Request) (any, error) {
	status := r.URL.Query().Get("status")
	if status != "" && status != "open" && status != "closed" {
		return nil, fieldErr("status", "状态只能是 open 或 closed")
	}
	return EventCounts(r.Context(), f.pool, principal(r).Scope, status)
}

// CloseInput closes an event.
type CloseInput struct {
	Reason string `json:"reason"`
}

func (f *Function) closeEvent(r *http.Request, in CloseInput) (any, error) {
	if strings.TrimSpace(in.Reason) == "" {
		return nil, fieldErr("reason", "请填写关闭原因")
	}
	return f.CloseEvent(r.Context(), principal(r), r.PathValue("id"), strings.TrimSpace(in.Reason))
}

// GroupInput groups events.
type GroupInput struct {
	IDs []string `json:"ids"`
}

func (f *Function) groupEvents(r *http.Request, in GroupInput) (any, error) {
	if in.IDs = dedupe(in.IDs); len(in.IDs) < 2 {
		return nil, fieldErr("ids", "至少选择两个事件")
	}
	if err := f.GroupEvents(r.Context(), principal(r), in.IDs); err != nil {
		return nil, err
	}
	return httpx.NoContent(), nil
}

func (f *Function) timeline(r *http.Request) (any, error) {
	return f.EventTimeline(r.Context(), principal(r), r.PathValue("id"))
}

// PositionsInput is a phone's batch of fixes (queued while offline).
type PositionsInput struct {
	Positions []Position `json:"positions"`
}

func (f *Function) ingest(r *http.Request, in PositionsInput) (any, error) {
	now := f.now()
	switch n := len(in.Positions); {
	case n == 0:
		return nil, fieldErr("positions", "没有定位点")
	case n > f.cfg.MaxBatch:
		return nil, fieldErr("positions", "一次最多上报 "+strconv.Itoa(f.cfg.MaxBatch)+" 个定位点")
	}
	for i, x := range in.Positions {
		lat, lng := x.Lat, x.Lng
		if err := checkPoint(&lat, &lng); err != nil {
			return nil, fieldErr("positions["+strconv.Itoa(i)+"]", errs.As(err).Fields[0].Message)
		}
		switch {
		case x.At.IsZero():
			return nil, fieldErr("positions["+strconv.Itoa(i)+"]", "缺少定位时间")
		case x.At.After(now.Add(2 * time.Minute)):
			return nil, fieldErr("positions["+strconv.Itoa(i)+"]", "定位时间晚于当前时间，请校准手机时钟")
		case x.At.Before(now.Add(-time.Duration(f.cfg.TrackRetentionDays) * 24 * time.Hour)):
			return nil, fieldErr("positions["+strconv.Itoa(i)+"]", "定位时间早于轨迹保留期")
		case x.Accuracy < 0 || math.IsNaN(float64(x.Accuracy)):
			return nil, fieldErr("positions["+strconv.Itoa(i)+"]", "定位精度无效")
		}
	}
	n, err := f.Ingest(r.Context(), principal(r), in.Positions)
	if err != nil {
		return nil, err
	}
	return map[string]int{"stored": n}, nil
}

func floatParam(r *http.Request, name string) (*float64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return nil, fieldErr(name, name+" 不是有效数字")
	}
	return &x, nil
}

// parseSelection reads a map selection from the query: a point with a
// radius (circle) or the nearest N, or a polygon.
func (f *Function) parseSelection(r *http.Request) (Selection, error) {
	q := r.URL.Query()
	var sel Selection
	var err error
	if sel.Lat, err = floatParam(r, "lat"); err != nil {
		return sel, err
	}
	if sel.Lng, err = floatParam(r, "lng"); err != nil {
		return sel, err
	}
	if (sel.Lat == nil) != (sel.Lng == nil) {
		return sel, fieldErr("lat", "经纬度须同时提供")
	}
	if sel.Lat != nil {
		if err := checkPoint(sel.Lat, sel.Lng); err != nil {
			return sel, err
		}
	}
	if rad, err := floatParam(r, "radius"); err != nil {
		return sel, err
	} else if rad != nil {
		if *rad <= 0 || *rad > 200000 {
			return sel, fieldErr("radius", "半径应在 0 至 200 公里之间")
		}
		sel.Radius = *rad
	}
	if v := q.Get("nearest"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > f.cfg.MaxNearest {
			return sel, fieldErr("nearest", "就近人数应为 1 至 "+strconv.Itoa(f.cfg.MaxNearest))
		}
		sel.Nearest = n
	}
	if v := q.Get("polygon"); v != "" {
		// lng,lat;lng,lat;… — a ring drawn on the map.
		for _, pt := range strings.Split(v, ";") {
			a, b, ok := strings.Cut(pt, ",")
			x, e1 := strconv.ParseFloat(a, 64)
			y, e2 := strconv.ParseFloat(b, 64)
			if !ok || e1 != nil || e2 != nil || checkPoint(&y, &x) != nil {
				return sel, fieldErr("polygon", "多边形坐标格式应为 经度,纬度;经度,纬度;…")
			}
			sel.Polygon = append(sel.Polygon, [2]float64{x, y})
		}
		if len(sel.Polygon) < 3 {
			return sel, fieldErr("polygon", "多边形至少需要三个点")
		}
	}
	return sel, nil
}

func (f *Function) live(r *http.Request) (any, error) {
	sel, err := f.parseSelection(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	within := 24 * time.Hour
	if v := q.Get("within"); v != "" {
		if within, err = time.ParseDuration(v); err != nil || within <= 0 {
			return nil, fieldErr("within", "within 应为时长，如 10m")
		}
	}
	sel.Since = f.now().Add(-within)
	return f.Live(r.Context(), principal(r).Scope, sel)
}

func timeParam(r *http.Request, name string) (*time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, fieldErr(name, name+" 应为 RFC 3339 时间，如 2026-12-02T08:00:00+08:00")
	}
	return &t, nil
}

// trackWindow is a track query's [from, to): by default the last 24
// hours, at most 31 days.
func (f *Function) trackWindow(r *http.Request) (time.Time, time.Time, error) {
	now := f.now()
	from, err := timeParam(r, "from")
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	to, err := timeParam(r, "to")
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if to == nil {
		t := now.Add(2 * time.Minute) // the clock skew ingest accepts
		to = &t
	}
	if from == nil {
		t := to.Add(-24 * time.Hour)
		from = &t
	}
	if !from.Before(*to) {
		return time.Time{}, time.Time{}, fieldErr("from", "开始时间应早于结束时间")
	}
	if to.Sub(*from) > 31*24*time.Hour {
		return time.Time{}, time.Time{}, fieldErr("to", "一次最多查询 31 天的轨迹")
	}
	return *from, *to, nil
}

// defaultTolerance is the playback's thinning, in metres: finer than a
// pixel of the city map at street zoom, and 17 280 fixes of a day become
// a few hundred to a few thousand.
const defaultTolerance = 5.0

func (f *Function) track(r *http.Request) (any, error) {
	from, to, err := f.trackWindow(r)
	if err != nil {
		return nil, err
	}
	tol := defaultTolerance
	if v, err := floatParam(r, "tolerance"); err != nil {
		return nil, err
	} else if v != nil {
		if *v < 0 || *v > 10000 {
			return nil, fieldErr("tolerance", "抽稀容差应在 0 至 10000 米之间（0 为全部定位点）")
		}
		tol = *v
	}
	return f.Track(r.Context(), principal(r).Scope, r.PathValue("user"), from, to, tol)
}

// trackCSV is the full-resolution download of a track: every fix, streamed.
func (f *Function) trackCSV(w http.ResponseWriter, r *http.Request) {
	from, to, err := f.trackWindow(r)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	user := r.PathValue("user")
	started := false
	cw := csv.NewWriter(w)
	err = f.TrackRows(r.Context(), principal(r).Scope, user, from, to, func(x Position) error {
		if !started {
			started = true
			h := w.Header()
			h.Set("Content-Type", "text/csv; charset=utf-8")
			h.Set("Content-Disposition", `attachment; filename="track.csv"`)
			cw.Write([]string{"user_id", "at", "lat", "lng", "accuracy"})
		}
		return cw.Write([]string{user, x.At.UTC().Format(time.RFC3339Nano), strconv.FormatFloat(x.Lat, 'f', -1, 64),
			strconv.FormatFloat(x.Lng, 'f', -1, 64), strconv.FormatFloat(float64(x.Accuracy), 'f', -1, 32)})
	})
	if err != nil && !started {
		httpx.Fail(w, r, err)
		return
	}
	if !started {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		cw.Write([]string{"user_id", "at", "lat", "lng", "accuracy"})
	}
	cw.Flush()
}

// TaskInput creates a task.
type TaskInput struct {
	EventID       string     `json:"event_id"`
	Title         string     `json:"title"`
	Body          string     `json:"body"`
	Assignee      string     `json:"assignee"`
	Attachments   []string   `json:"attachments"`
	DueAt         *time.Time `json:"due_at"`
	NeedsApproval bool       `json:"needs_approval"`
}

func (f *Function) createTask(r *http.Request, in TaskInput) (any, error) {
	in.Title = strings.TrimSpace(in.Title)
	switch {
	case in.Title == "" || utf8.RuneCountInString(in.Title) > 200:
		return nil, fieldErr("title", "请填写任务标题（不超过 200 字）")
	case in.Assignee == "":
		return nil, fieldErr("assignee", "请选择任务接收人")
	}
	if err := checkAttachments(in.Attachments); err != nil {
		return nil, err
	}
	t, err := f.CreateTask(r.Context(), principal(r), in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(t, ""), nil
}

func (f *Function) tasks(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	tq := TaskQuery{Box: q.Get("box"), Status: q.Get("status"), Sender: q.Get("sender"), Receiver: q.Get("receiver")}
	if tq.Box != "" && tq.Box != "created" && tq.Box != "handled" {
		return nil, fieldErr("box", "box 只能是 created（我创建的）或 handled（我办理的）")
	}
	if tq.From, err = timeParam(r, "from"); err != nil {
		return nil, err
	}
	if tq.To, err = timeParam(r, "to"); err != nil {
		return nil, err
	}
	if tq.DueBefore, err = timeParam(r, "due_before"); err != nil {
		return nil, err
	}
	items, total, err := f.listTasks(r.Context(), principal(r), tq, page)
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, page), nil
}

// TaskActionInput is the body of a task action.
type TaskActionInput struct {
	Result      string   `json:"result"`
	Attachments []string `json:"attachments"`
	Assignee    string   `json:"assignee"`
}

func (f *Function) taskAction(r *http.Request, in TaskActionInput) (any, error) {
	action := r.PathValue("action")
	switch action {
	case "handle", "approve", "reassign":
	default:
		return nil, errs.New(errs.NotFound, "未知的任务操作："+action)
	}
	if action == "approve" && !principal(r).Can(PermTask, "approve") {
		return nil, errs.New(errs.Forbidden, "需要任务审批权限")
	}
	if err := checkAttachments(in.Attachments); err != nil {
		return nil, err
	}
	return f.TaskAction(r.Context(), principal(r), r.PathValue("id"), action, in)
}

// maxAttachments bounds the photos and videos on one record.
const maxAttachments = 9

// checkAttachments accepts only keys of the form alarm-intake gives out
// (alarm/<uuid>), so a record cannot point at any other object.
func checkAttachments(keys []string) error {
	if len(keys) > maxAttachments {
		return fieldErr("attachments", "附件最多 "+strconv.Itoa(maxAttachments)+" 个")
	}
	for _, k := range keys {
		if id, ok := strings.CutPrefix(k, "alarm/"); !ok || uuid.Validate(id) != nil {
			return fieldErr("attachments", "附件无效："+k)
		}
	}
	return nil
}

func (f *Function) addUpdate(r *http.Request, in UpdateInput) (any, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	if in.Kind == "instruction" && !principal(r).Can(PermEvent, "edit") {
		return nil, errs.New(errs.Forbidden, "下达指令需要事件处置权限")
	}
	u, err := f.AddEventUpdate(r.Context(), principal(r), r.PathValue("id"), in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(u, ""), nil
}

func (f *Function) dismissAlarm(r *http.Request, in CloseInput) (any, error) {
	reason := strings.TrimSpace(in.Reason)
	if reason == "" || utf8.RuneCountInString(reason) > 500 {
		return nil, fieldErr("reason", "请填写消除原因（不超过 500 字）")
	}
	return f.DismissAlarm(r.Context(), principal(r), r.PathValue("id"), reason)
}
