package monitor

// FP-89: short-video and livestream monitoring, the minimal real part: a
// catalogue of hosts' streams and videos, each checked by sampling its
// caption track with ffmpeg; the title and every timed caption go through
// the same rules as shop pages, and a hit becomes a clue that points at
// its moment in the recording (#t=seconds).

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// PermStream is the stream catalogue's permission resource.
const PermStream = "monitor.stream" // view, edit (add streams and check them)

func (f *Function) streamRoutes(m *httpx.Mux) {
	m.Handle("GET /monitor/v1/streams", httpx.Endpoint(f.listStreams), auth.Requires(PermStream, "view"), httpx.EntityListing(), // FP-89 partly: captions, schedules and alerts (no speech-to-text, recording or FP-92 views)
		httpx.Params(httpx.PageParams...))
	m.Handle("POST /monitor/v1/streams", httpx.Body(f.addStream), auth.Requires(PermStream, "edit"), httpx.EntityInBody("credit_code")) // FP-89
	m.Handle("POST /monitor/v1/streams/{id}/check", httpx.Endpoint(f.checkStream), auth.Requires(PermStream, "edit"), httpx.NoEntity()) // FP-89
}

// Stream is one host's livestream or video under watch.
type Stream struct {
	ID           int64      `json:"id"`
	Platform     string     `json:"platform"`
	Account      string     `json:"account"`
	Title        string     `json:"title"`
	URL          string     `json:"url"`
	EntityName   string     `json:"entity_name"`
	CreditCode   string     `json:"credit_code"`
	District     string     `json:"district"`
	EveryMinutes int        `json:"every_minutes"`
	LastChecked  *time.Time `json:"last_checked"`
	LastResult   string     `json:"last_result"`
	NextCheckAt  *time.Time `json:"next_check_at"`
	CreatedBy    string     `json:"created_by"`
	CreatedByID  string     `json:"-"`
	CreatedAt    time.Time  `json:"created_at"`
}

const streamCols = `id, platform, account, title, url, entity_name, credit_code, district, every_minutes, last_checked, last_result,
	next_check_at, created_by, created_by_id, created_at`

func scanStream(r pgx.Row) (Stream, error) {
	var s Stream
	err := r.Scan(&s.ID, &s.Platform, &s.Account, &s.Title, &s.URL, &s.EntityName, &s.CreditCode, &s.District, &s.EveryMinutes,
		&s.LastChecked, &s.LastResult, &s.NextCheckAt, &s.CreatedBy, &s.CreatedByID, &s.CreatedAt)
	return s, err
}

// StreamInput is a stream to add to the catalogue.
type StreamInput struct {
	Platform     string `json:"platform"`
	Account      string `json:"account"`
	Title        string `json:"title"`
	URL          string `json:"url"`
	EntityName   string `json:"entity_name"`
	CreditCode   string `json:"credit_code"`
	District     string `json:"district"`
	EveryMinutes int    `json:"every_minutes"`
}

func (f *Function) addStream(r *http.Request, in StreamInput) (any, error) {
	var fe []errs.FieldError
	for _, c := range []struct{ field, val, msg string }{{"platform", in.Platform, "请填写平台（如抖音、快手）"}, {"account", in.Account, "请填写主播账号"}} {
		if n := utf8.RuneCountInString(strings.TrimSpace(c.val)); n == 0 || n > 100 {
			fe = append(fe, errs.FieldError{Field: c.field, Message: c.msg + "（不超过100字）"})
		}
	}
	u, err := url.Parse(strings.TrimSpace(in.URL))
	if err != nil || !(u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "file") || (u.Scheme != "file" && u.Host == "") {
		fe = append(fe, errs.FieldError{Field: "url", Message: "直播流或视频地址应为 http(s) 或 file 地址（HLS、FLV 或录像文件）"})
	}
	dc := districtCode(in.District)
	if dc == "" {
		fe = append(fe, errs.FieldError{Field: "district", Message: "请填写本市的区县名称或代码"})
	}
	if in.EveryMinutes == 0 {
		in.EveryMinutes = 60
	}
	if in.EveryMinutes < 5 || in.EveryMinutes > 10080 {
		fe = append(fe, errs.FieldError{Field: "every_minutes", Message: "监测间隔应为 5 至 10080 分钟"})
	}
	if err := errs.Fields(fe); err != nil {
		return nil, err
	}
	if !scopeOf(r).Allows(dc, "") {
		return nil, errs.New(errs.NotFound, "该主体不在您的数据范围内")
	}
	var s Stream
	now := f.now()
	err = store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		var err error
		s, err = scanStream(tx.QueryRow(r.Context(), `INSERT INTO monitor.streams (platform, account, title, url, entity_name, credit_code, district,
			district_code, every_minutes, created_by, created_by_id, created_at, next_check_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$12)
			RETURNING `+streamCols,
			strings.TrimSpace(in.Platform), strings.TrimSpace(in.Account), strings.TrimSpace(in.Title), strings.TrimSpace(in.URL),
			strings.TrimSpace(in.EntityName), strings.TrimSpace(in.CreditCode), strings.TrimSpace(in.District), dc, in.EveryMinutes, user(r),
			principalID(r), now))
		if err != nil {
			return err
		}
		return auditlog.RecordBy(r.Context(), tx, Source, auditlog.ActorOf(r), auditlog.Operation{Action: "monitor.stream.create",
			ObjectType: "monitor.stream", ObjectID: itoa(s.ID), DistrictCode: dc, After: s})
	})
	if errors.Is(store.Classify(err), errs.ErrConflict) {
		return nil, errs.New(errs.Conflict, "该直播流已在监测名单中")
	}
	if err != nil {
		return nil, store.Classify(err)
	}
	return httpx.Created(s, ""), nil
}

func (f *Function) listStreams(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	var w store.Where
	w.AddWith(func(args *[]any) string { return scopeOf(r).Filter("district_code", "NULL", args) })
	var total int
	if err := f.pool.QueryRow(r.Context(), `SELECT count(*) FROM monitor.streams`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, store.Classify(err)
	}
	rows, err := f.pool.Query(r.Context(), `SELECT `+streamCols+` FROM monitor.streams`+w.SQL()+` ORDER BY id DESC LIMIT `+w.Next(page.Size)+
		` OFFSET `+w.Next(page.Offset()), w.Args()...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Stream, error) { return scanStream(r) })
	if err != nil {
		return nil, store.Classify(err)
	}
	return httpx.NewPage(out, total, page), nil
}

// Cue is one timed caption of a recording.
type Cue struct {
	Start time.Duration
	Text  string
}

// captionWindow bounds how much of a live stream one check samples.
const captionWindow = 10 * time.Minute

// Captions samples the caption track of a stream or file with ffmpeg
// (converted to WebVTT on the fly) and returns its timed cues.
func Captions(ctx context.Context, src string) ([]Cue, error) {
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		return nil, errs.New(errs.Unavailable, "未安装 ffmpeg，无法采样直播流")
	}
	if u, err := url.Parse(src); err == nil && u.Scheme == "file" {
		src = u.Path
	}
	ctx, cancel := context.WithTimeout(ctx, captionWindow+time.Minute)
	defer cancel()
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-nostdin", "-hide_banner", "-loglevel", "error", "-t", strconv.Itoa(int(captionWindow.Seconds())),
		"-i", src, "-map", "0:s:0", "-f", "webvtt", "pipe:1")
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "matches no streams") {
			return nil, errs.New(errs.Invalid, "该直播流或视频没有字幕轨，暂不能转写")
		}
		return nil, &errs.Error{Code: errs.Invalid, Message: "无法读取该直播流或视频", Err: fmt.Errorf("ffmpeg: %v: %s", err, msg)}
	}
	return parseWebVTT(out.String()), nil
}

// parseWebVTT reads the cues of a WebVTT document: a timing line
// "00:00:03.000 --> 00:00:06.000" followed by the cue's text lines.
func parseWebVTT(doc string) []Cue {
	var cues []Cue
	sc := bufio.NewScanner(strings.NewReader(doc))
	var cur *Cue
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if start, _, ok := strings.Cut(line, "-->"); ok {
			if d, ok := vttTime(strings.TrimSpace(start)); ok {
				cues = append(cues, Cue{Start: d})
				cur = &cues[len(cues)-1]
				continue
			}
		}
		if line == "" {
			cur = nil
			continue
		}
		if cur != nil {
			cur.Text = strings.TrimSpace(cur.Text + " " + line)
		}
	}
	return cues
}

func vttTime(s string) (time.Duration, bool) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	sec, err := strconv.ParseFloat(parts[len(parts)-1], 64)
	if err != nil {
		return 0, false
	}
	total := sec
	for i, unit := 0, 60.0; i < len(parts)-1; i, unit = i+1, unit*60 {
		n, err := strconv.Atoi(parts[len(parts)-2-i])
		if err != nil {
			return 0, false
		}
		total += float64(n) * unit
	}
	return time.Duration(total * float64(time.Second)), true
}

// CheckResult is what one check of a stream found.
type CheckResult struct {
	Cues  int `json:"cues"`
	Found int `json:"found"`
	Added int `json:"added"`
}

func (f *Function) checkStream(r *http.Request) (any, error) {
	id, err := pathID(r, "直播流不存在")
	if err != nil {
		return nil, err
	}
	args := []any{id}
	s, err := scanStream(f.pool.QueryRow(r.Context(), `SELECT `+streamCols+` FROM monitor.streams WHERE id = $1 AND `+
		scopeOf(r).Filter("district_code", "NULL", &args), args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.New(errs.NotFound, "直播流不存在")
	}
	if err != nil {
		return nil, store.Classify(err)
	}
	return f.CheckStream(r.Context(), s)
}

// CheckStream samples a stream's captions and stores the clues its title
// and captions give.
func (f *Function) CheckStream(ctx context.Context, s Stream) (CheckResult, error) {
	cues, err := Captions(ctx, s.URL)
	now := f.now()
	if err != nil {
		var e *errs.Error
		msg := err.Error()
		if errors.As(err, &e) {
			msg = e.Message
		}
		f.pool.Exec(ctx, `UPDATE monitor.streams SET last_checked = $2, last_result = $3 WHERE id = $1`, s.ID, now, msg)
		return CheckResult{}, err
	}
	texts := append([]Cue{{Start: -1, Text: s.Title}}, cues...)
	var clues []Clue
	for _, c := range texts {
		obj, at := s.URL, "标题"
		if c.Start >= 0 {
			sec := int(c.Start / time.Second)
			obj, at = s.URL+"#t="+strconv.Itoa(sec), fmt.Sprintf("%02d:%02d:%02d", sec/3600, sec/60%60, sec%60)
		}
		for _, rule := range Rules() {
			hits, _ := rule.Check(c.Text)
			for _, h := range hits {
				clues = append(clues, Clue{RuleID: rule.ID, RuleVersion: RulesetVersion + "/" + rule.Version, Article: rule.Article, Term: h.Term,
					Snippet: "[" + at + "] " + h.Snippet, ObjectURL: obj, ObjectName: s.Platform + " " + s.Account + "：" + s.Title,
					EntityName: s.EntityName, CreditCode: s.CreditCode, District: s.District, Platform: "直播/短视频", CreatedAt: now})
			}
		}
	}
	res := CheckResult{Cues: len(cues), Found: len(clues)}
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		for _, c := range clues {
			tag, err := tx.Exec(ctx, `INSERT INTO monitor.clues (stream_id, rule_id, rule_version, article, term, snippet, object_url, object_name,
				entity_name, credit_code, district, platform, created_at, district_code) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)
				ON CONFLICT DO NOTHING`, s.ID, c.RuleID, c.RuleVersion, c.Article, c.Term, c.Snippet, c.ObjectURL, c.ObjectName,
				c.EntityName, c.CreditCode, c.District, c.Platform, c.CreatedAt, districtCode(c.District))
			if err != nil {
				return err
			}
			res.Added += int(tag.RowsAffected())
		}
		if _, err := tx.Exec(ctx, `UPDATE monitor.streams SET last_checked = $2, last_result = $3 WHERE id = $1`, s.ID, now,
			fmt.Sprintf("字幕 %d 条，疑似违法 %d 处", res.Cues, res.Found)); err != nil {
			return err
		}
		if err := alertNewClues(ctx, tx, s, res.Added, now); err != nil {
			return err
		}
		_, err := recompute(ctx, tx, []string{s.CreditCode}, "直播监测："+s.Platform+" "+s.Account, now)
		return err
	})
	return res, store.Classify(err)
}
