package qrgenerate

import (
	"bytes"
	"cmp"
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
		if err := countDownloads(ctx, tx, f.now(), fm.counter(), []string{c.Token}); err != nil {
			return err
		}
		return f.logOp(ctx, tx, op, entryOf("download", c, describe(fm)))
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

// document returns c's document in fm from object storage, rendering and
// storing it on a miss. The key holds a hash of everything drawn, so a
// renamed entity or a new base URL gets a fresh poster while unchanged
// codes keep hitting the cache. Concurrent misses for one key render once.
func (f *Function) document(ctx context.Context, c Code, fm Format) (Document, error) {
	in := render.PosterInput{Name: c.EntityName, CreditCode: c.CreditCode, URL: c.URL, Paper: fm.Paper, Authority: f.cfg.Authority}
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
	for i, c := range z.CreditCodes {
		z.CreditCodes[i] = strings.ToUpper(strings.TrimSpace(c))
	}
	_, err := z.format()
	return err
}

// format is the kind of document the batch holds.
func (z ZipRequest) format() (Format, error) {
	size := ""
	if z.Size != 0 {
		size = fmt.Sprint(z.Size)
	}
	return ParseFormat(z.Format, size, z.Paper)
}

// ZipCodes lists the active codes of a batch download inside the
// operator's scope; more than the cap is refused before anything renders.
func (f *Function) ZipCodes(ctx context.Context, z ZipRequest, op Operator) ([]Code, error) {
	list, err := zipCodes(ctx, f.pool, z, op.Scope, f.cfg.MaxZipItems+1)
	if err != nil {
		return nil, err
	}
	if len(list) > f.cfg.MaxZipItems {
		return nil, errs.New(errs.Invalid, fmt.Sprintf("单次批量下载最多 %d 个二维码，所选范围超过上限，请按区县、行业缩小范围后分批下载", f.cfg.MaxZipItems))
	}
	if len(list) == 0 {
		return nil, errs.New(errs.NotFound, "所选范围内没有可下载的有效二维码")
	}
	return f.links(list), nil
}

// WriteZip streams the documents of list into w as one ZIP (FP-23),
// counting and logging the batch. An item that cannot be made is left out
// and named in the archive's render.ZipReportName; it is logged here,
// once for the batch, and not counted as downloaded.
func (f *Function) WriteZip(ctx context.Context, w io.Writer, list []Code, fm Format, op Operator) error {
	items := make([]render.ZipItem, len(list))
	failed := make([]error, len(list))
	now := f.now()
	for i, c := range list {
		items[i] = render.ZipItem{Name: render.ZipName(c.CreditCode, c.EntityName, fm.ext()), Modified: now,
			Body: func(w io.Writer) error {
				doc, err := f.document(ctx, c, fm)
				if err != nil {
					failed[i] = err
					return err
				}
				_, err = w.Write(doc.Data)
				return err
			}}
	}
	if err := render.Zip(w, items); err != nil {
		return err
	}
	var done []string
	var left []string
	var first error
	for i, c := range list {
		if failed[i] != nil {
			left = append(left, c.Token)
			first = cmp.Or(first, failed[i])
			continue
		}
		done = append(done, c.Token)
	}
	detail := fmt.Sprintf("批量下载 ZIP：%d 个，%s", len(done), describe(fm))
	if len(left) > 0 {
		f.log.WarnContext(ctx, "zip download: items left out and listed in "+render.ZipReportName,
			"failed", len(left), "of", len(list), "tokens", left, "err", first)
		detail += fmt.Sprintf("；%d 个生成失败，未放入（见%s）", len(left), render.ZipReportName)
	}
	return store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if err := countDownloads(ctx, tx, now, "zip", []string{""}); err != nil {
			return err
		}
		if err := countDownloads(ctx, tx, now, fm.counter(), done); err != nil {
			return err
		}
		return f.logOp(ctx, tx, op, opEntry{Action: "download", Detail: detail})
	})
}
