package qrgenerate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/functions/qr-generate/render"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Format is a download's kind.
type Format struct {
	Kind  string // "png", "svg", "poster"
	Size  int    // PNG pixels
	Paper string // poster "A4" | "A5"
}

// DefaultPNGSize is the PNG size when none is asked for.
const DefaultPNGSize = 512

// counter is the qr.downloads format column of f.
func (f Format) counter() string {
	if f.Kind == "poster" {
		return "poster_" + strings.ToLower(f.Paper)
	}
	return f.Kind
}

func (f Format) ext() string {
	if f.Kind == "poster" {
		return "pdf"
	}
	return f.Kind
}

func (f Format) contentType() string {
	switch f.Kind {
	case "png":
		return "image/png"
	case "svg":
		return "image/svg+xml"
	}
	return "application/pdf"
}

// ParseFormat checks a download's kind, size and paper.
func ParseFormat(kind, size, paper string) (Format, error) {
	out := Format{Kind: strings.ToLower(kind)}
	switch out.Kind {
	case "png":
		out.Size = DefaultPNGSize
		if size != "" {
			n := 0
			if _, err := fmt.Sscanf(size, "%d", &n); err != nil || fmt.Sprint(n) != size || n < render.MinSize || n > render.MaxSize {
				return out, errs.Fields([]errs.FieldError{{Field: "size", Message: fmt.Sprintf("图片尺寸应为 %d 至 %d 像素的整数", render.MinSize, render.MaxSize)}})
			}
			out.Size = n
		}
	case "svg":
	case "poster", "pdf":
		out.Kind = "poster"
		out.Paper = strings.ToUpper(paper)
		if out.Paper == "" {
			out.Paper = "A4"
		}
		if out.Paper != "A4" && out.Paper != "A5" {
			return out, errs.Fields([]errs.FieldError{{Field: "paper", Message: "纸张规格应为 A4 或 A5"}})
		}
	default:
		return out, errs.Fields([]errs.FieldError{{Field: "format", Message: "下载格式应为 png、svg 或 poster"}})
	}
	return out, nil
}

// Document is a rendered download.
type Document struct {
	Data        []byte
	ContentType string
	FileName    string
	Cached      bool // served from object storage without rendering
}

var errNotDownloadable = errs.New(errs.Conflict, "该二维码未生效或已失效，不能下载")

// Download renders (or fetches from the cache) one active code's document,
// counting it and logging the operation.
func (f *Function) Download(ctx context.Context, token string, fm Format, op Operator) (Document, error) {
	c, err := f.Get(ctx, token)
	if err != nil {
		return Document{}, err
	}
	if !op.Scope.Allows(c.DistrictCode, c.TownshipCode) {
		f.logFailure(ctx, op, "download", &c, errOutOfScope)
		return Document{}, errOutOfScope
	}
	if c.Status != StatusActive {
		f.logFailure(ctx, op, "download", &c, errNotDownloadable)
		return Document{}, errNotDownloadable
	}
	doc, err := f.document(ctx, c, fm)
	if err != nil {
		return doc, err
	}
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if err := f.count(ctx, tx, c.Token, fm.counter(), 1); err != nil {
			return err
		}
		return f.logOp(ctx, tx, op, opEntry{Action: "download", Token: c.Token, CreditCode: c.CreditCode,
			District: c.DistrictCode, Township: c.TownshipCode, Detail: describe(fm)})
	})
	return doc, err
}

func describe(fm Format) string {
	switch fm.Kind {
	case "png":
		return fmt.Sprintf("下载 PNG（%d 像素）", fm.Size)
	case "svg":
		return "下载 SVG"
	}
	return "下载 " + fm.Paper + " 海报 PDF"
}

func (f *Function) count(ctx context.Context, q store.Querier, token, format string, n int) error {
	_, err := q.Exec(ctx, `INSERT INTO qr.downloads (day, token, format, count) VALUES (($1::timestamptz AT TIME ZONE 'Asia/Shanghai')::date, $2, $3, $4)
		ON CONFLICT (day, format, token) DO UPDATE SET count = qr.downloads.count + EXCLUDED.count`, f.now(), token, format, n)
	return err
}

// document returns c's document in fm from object storage, rendering and
// storing it on a miss. The key holds a hash of everything drawn, so a
// renamed entity or a new base URL gets a fresh poster while unchanged
// codes keep hitting the cache. Concurrent misses for one key render once.
func (f *Function) document(ctx context.Context, c Code, fm Format) (Document, error) {
	in := render.PosterInput{Name: c.EntityName, CreditCode: c.CreditCode, URL: c.URL, Paper: fm.Paper, Authority: f.authority}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s", c.URL, fm.Size, fm.Paper)
	if fm.Kind == "poster" {
		fmt.Fprintf(h, "\x00%s\x00%s\x00%s", in.Name, in.CreditCode, in.Authority)
	}
	sum := hex.EncodeToString(h.Sum(nil))[:12]
	var name string
	switch fm.Kind {
	case "png":
		name = fmt.Sprintf("png-%d-%s.png", fm.Size, sum)
	case "svg":
		name = "svg-" + sum + ".svg"
	default:
		name = fmt.Sprintf("poster-%s-%s.pdf", strings.ToLower(fm.Paper), sum)
	}
	key := "qr/" + c.Token + "/" + name
	doc := Document{ContentType: fm.contentType(), FileName: render.ZipName(c.CreditCode, c.EntityName, fm.ext())}
	if r, _, err := f.blob.Get(ctx, key); err == nil {
		data, rerr := io.ReadAll(r)
		r.Close()
		if rerr == nil {
			doc.Data, doc.Cached = data, true
			return doc, nil
		}
	} else if !errors.Is(err, errs.ErrNotFound) {
		f.log.WarnContext(ctx, "download cache unavailable, rendering", "key", key, "err", err)
	}
	v, err, _ := f.renders.Do(key, func() (any, error) {
		var data []byte
		var err error
		switch fm.Kind {
		case "png":
			data, err = f.render.PNG(c.URL, fm.Size)
		case "svg":
			data, err = f.render.SVG(c.URL)
		default:
			in.Date = f.now()
			data, err = f.render.Poster(in)
		}
		if err != nil {
			return nil, errs.Wrap(errs.Internal, "二维码生成失败，请稍后重试", err)
		}
		// A failed cache write costs only a later re-render.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := f.blob.Put(pctx, key, bytes.NewReader(data), fm.contentType()); err != nil {
			f.log.WarnContext(ctx, "download cache write failed", "key", key, "err", err)
		}
		return data, nil
	})
	if err != nil {
		return doc, err
	}
	doc.Data = v.([]byte)
	return doc, nil
}

// ZipRequest selects the codes of a batch download (FP-23).
type ZipRequest struct {
	Tokens       []string `json:"tokens"`
	CreditCodes  []string `json:"credit_codes"`
	DistrictCode string   `json:"district_code"`
	IndustryCode string   `json:"industry_code"`
	Format       string   `json:"format"` // png (default) | svg | poster
	Size         int      `json:"size"`
	Paper        string   `json:"paper"`
}

// Validate checks the selection is present and well-formed.
func (z *ZipRequest) Validate() error {
	if len(z.Tokens) == 0 && len(z.CreditCodes) == 0 && z.DistrictCode == "" && z.IndustryCode == "" {
		return errs.New(errs.Invalid, "请选择要下载的二维码：二维码编号、统一社会信用代码列表，或区县、行业")
	}
	if z.Format == "" {
		z.Format = "png"
	}
	size := ""
	if z.Size != 0 {
		size = fmt.Sprint(z.Size)
	}
	_, err := ParseFormat(z.Format, size, z.Paper)
	return err
}

// ZipCodes lists the active codes of a batch download inside the
// operator's scope; more than the cap is refused before anything renders.
func (f *Function) ZipCodes(ctx context.Context, z ZipRequest, op Operator) ([]Code, error) {
	var args []any
	conds := []string{"status = 'active'"}
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	var sel []string
	if len(z.Tokens) > 0 {
		args = append(args, z.Tokens)
		sel = append(sel, fmt.Sprintf("token = ANY($%d::text[])", len(args)))
	}
	if len(z.CreditCodes) > 0 {
		up := make([]string, len(z.CreditCodes))
		for i, c := range z.CreditCodes {
			up[i] = strings.ToUpper(strings.TrimSpace(c))
		}
		args = append(args, up)
		sel = append(sel, fmt.Sprintf("credit_code = ANY($%d::text[])", len(args)))
	}
	if len(sel) > 0 {
		conds = append(conds, "("+strings.Join(sel, " OR ")+")")
	}
	if z.DistrictCode != "" {
		add("district_code = $%d", z.DistrictCode)
	}
	if z.IndustryCode != "" {
		add("industry_code = $%d", z.IndustryCode)
	}
	conds = append(conds, op.Scope.Filter("district_code", "township_code", &args))
	args = append(args, f.maxZip+1)
	rows, err := f.pool.Query(ctx, `SELECT `+codeColumns+` FROM qr.codes WHERE `+strings.Join(conds, " AND ")+
		fmt.Sprintf(` ORDER BY credit_code LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Code, error) { return f.scanCode(r) })
	if err != nil {
		return nil, store.Classify(err)
	}
	if len(list) > f.maxZip {
		return nil, errs.New(errs.Invalid, fmt.Sprintf("单次批量下载最多 %d 个二维码，所选范围超过上限，请按区县、行业缩小范围后分批下载", f.maxZip))
	}
	if len(list) == 0 {
		return nil, errs.New(errs.NotFound, "所选范围内没有可下载的有效二维码")
	}
	return list, nil
}

// WriteZip streams the documents of list into w as one ZIP, counting and
// logging the batch.
func (f *Function) WriteZip(ctx context.Context, w io.Writer, list []Code, fm Format, op Operator) error {
	items := make([]render.ZipItem, len(list))
	now := f.now()
	for i, c := range list {
		items[i] = render.ZipItem{Name: render.ZipName(c.CreditCode, c.EntityName, fm.ext()), Modified: now,
			Body: func(w io.Writer) error {
				doc, err := f.document(ctx, c, fm)
				if err != nil {
					return err
				}
				_, err = w.Write(doc.Data)
				return err
			}}
	}
	if err := render.Zip(w, items); err != nil {
		return err
	}
	return store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if err := f.count(ctx, tx, "", "zip", 1); err != nil {
			return err
		}
		b := &pgx.Batch{}
		for _, c := range list {
			b.Queue(`INSERT INTO qr.downloads (day, token, format, count) VALUES (($1::timestamptz AT TIME ZONE 'Asia/Shanghai')::date, $2, $3, 1)
				ON CONFLICT (day, format, token) DO UPDATE SET count = qr.downloads.count + 1`, now, c.Token, fm.counter())
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		return f.logOp(ctx, tx, op, opEntry{Action: "download", Detail: fmt.Sprintf("批量下载 ZIP：%d 个，%s", len(list), describe(fm))})
	})
}
