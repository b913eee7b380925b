package documents

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Content types of the outputs.
const (
	typePDF  = "application/pdf"
	typeDOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
)

func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// outputs are a published version's stored files.
type outputs struct {
	pdfKey, pdfSHA, docxKey, docxSHA string
}

func (f *Function) metaFor(d Document, dv DocumentVersion, code string, at time.Time) Meta {
	m := Meta{EntityName: d.EntityName, CreditCode: d.CreditCode, Version: dv.Version, Authority: f.cfg.Authority, Date: at}
	if code != "" {
		m.Code, m.VerifyURL = code, f.verifyURL(code)
	}
	return m
}

// storeOutputs makes a version's PDF and DOCX for publication and puts
// them into object storage under docs/<document>/.
func (f *Function) storeOutputs(ctx context.Context, d Document, dv DocumentVersion, r Rendered, code string, at time.Time) (outputs, error) {
	m := f.metaFor(d, dv, code, at)
	pdf, err := renderPDF(r, m)
	if err != nil {
		return outputs{}, err
	}
	docx, err := renderDOCX(r, m)
	if err != nil {
		return outputs{}, err
	}
	base := fmt.Sprintf("%s%d/%s-%s", objectPrefix, d.ID, dv.Version, code)
	out := outputs{pdfKey: base + ".pdf", pdfSHA: sha256Hex(pdf), docxKey: base + ".docx", docxSHA: sha256Hex(docx)}
	if _, err := f.blob.Put(ctx, out.pdfKey, bytes.NewReader(pdf), typePDF); err != nil {
		return outputs{}, err
	}
	if _, err := f.blob.Put(ctx, out.docxKey, bytes.NewReader(docx), typeDOCX); err != nil {
		return outputs{}, err
	}
	return out, nil
}

// File is a document's output ready to send.
type File struct {
	Name        string
	ContentType string
	Data        []byte
	SHA256      string
}

// file is version v of d in format: a published version's stored file,
// exactly the bytes whose hash its verification page shows; any other
// version made now, marked unpublished.
func (f *Function) file(ctx context.Context, q store.Querier, d Document, v Version, format string) (File, error) {
	dv, r, err := f.renderVersion(ctx, q, d, v)
	if err != nil {
		return File{}, err
	}
	name := fmt.Sprintf("%s_%s_v%s.%s", d.Title, d.EntityName, dv.Version, format)
	ct := typePDF
	if format == "docx" {
		ct = typeDOCX
	}
	if dv.Publication != "" {
		key, want := dv.pdfKey, dv.PDFSHA256
		if format == "docx" {
			key, want = dv.docxKey, dv.DOCXSHA256
		}
		rc, _, err := f.blob.Get(ctx, key)
		if err != nil {
			return File{}, err
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		if err != nil {
			return File{}, err
		}
		if got := sha256Hex(data); got != want {
			return File{}, fmt.Errorf("documents: stored %s of document %d version %s has SHA-256 %s, want %s", format, d.ID, dv.Version, got, want)
		}
		return File{Name: name, ContentType: ct, Data: data, SHA256: want}, nil
	}
	m := f.metaFor(d, dv, "", f.now())
	var data []byte
	if format == "docx" {
		data, err = renderDOCX(r, m)
	} else {
		data, err = renderPDF(r, m)
	}
	if err != nil {
		return File{}, err
	}
	return File{Name: name, ContentType: ct, Data: data, SHA256: sha256Hex(data)}, nil
}

func parseFormat(s string) (string, error) {
	switch s {
	case "pdf", "docx":
		return s, nil
	}
	return "", errs.Fields([]errs.FieldError{{Field: "format", Message: "格式应为 pdf 或 docx"}})
}

// Download is a version's PDF or DOCX for a caller with print (FP-38,
// FP-42); every download is audited.
func (f *Function) Download(ctx context.Context, p *auth.Principal, a actor, id int64, v *Version, format string) (File, error) {
	d, _, err := f.load(ctx, f.pool, p, id, false)
	if err != nil {
		return File{}, err
	}
	if err := need(d, AccessPrint); err != nil {
		return File{}, err
	}
	ver := d.version
	if v != nil {
		ver = *v
	}
	out, err := f.file(ctx, f.pool, d, ver, format)
	if err != nil {
		return File{}, err
	}
	return out, f.auditRead(ctx, a, "document.download", d, map[string]string{"version": ver.String(), "format": format, "sha256": out.SHA256})
}

// LinkInput asks for a forward link.
type LinkInput struct {
	Version string `json:"version"` // "" for the current one
	Format  string `json:"format"`  // pdf | docx
	Hours   int    `json:"hours"`   // 0 for DOCS_LINK_DEFAULT_HOURS
}

// Link is a forward link: its address is shown once.
type Link struct {
	URL       string    `json:"url"`
	Version   string    `json:"version"`
	Format    string    `json:"format"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CreateLink makes a link that downloads one version's file without
// signing in until it expires (FP-38 转发), for a caller with share.
func (f *Function) CreateLink(ctx context.Context, p *auth.Principal, a actor, id int64, in LinkInput) (Link, error) {
	format, err := parseFormat(in.Format)
	if err != nil {
		return Link{}, err
	}
	hours := in.Hours
	if hours == 0 {
		hours = f.cfg.LinkDefaultHours
	}
	if hours < 1 || hours > f.cfg.LinkMaxHours {
		return Link{}, errs.Fields([]errs.FieldError{{Field: "hours", Message: fmt.Sprintf("有效期应为 1–%d 小时", f.cfg.LinkMaxHours)}})
	}
	var out Link
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		d, _, err := f.load(ctx, tx, p, id, false)
		if err != nil {
			return err
		}
		if err := need(d, AccessShare); err != nil {
			return err
		}
		v := d.version
		if in.Version != "" {
			if v, err = ParseVersion(in.Version); err != nil {
				return err
			}
		}
		if _, err := docVersion(ctx, tx, id, v); err != nil {
			return errs.New(errs.NotFound, "版本 "+v.String()+" 不存在")
		}
		token, err := randomToken(24)
		if err != nil {
			return err
		}
		now := f.now()
		l := link{documentID: id, v: v, format: format, expiresAt: now.Add(time.Duration(hours) * time.Hour)}
		if err := insertLink(ctx, tx, sha256Hex([]byte(token)), l, a.ID, now); err != nil {
			return err
		}
		out = Link{URL: f.cfg.URL() + "/docs/v1/links/" + token, Version: v.String(), Format: format, ExpiresAt: l.expiresAt}
		return f.audit(ctx, tx, a, "document.link", d, nil, map[string]any{"version": v.String(), "format": format, "expires_at": l.expiresAt})
	})
	return out, err
}

// FollowLink is the download behind a forward link; an expired or unknown
// link is refused, and every use is audited with the caller's address.
func (f *Function) FollowLink(ctx context.Context, token, ip string) (File, error) {
	if len(token) > 64 || strings.ContainsAny(token, "/\\") {
		return File{}, errs.New(errs.NotFound, "链接不存在或已失效")
	}
	var out File
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		l, err := useLink(ctx, tx, sha256Hex([]byte(token)))
		if err != nil {
			return err
		}
		if !f.now().Before(l.expiresAt) {
			return errs.New(errs.NotFound, "链接已过期，请联系分享人重新转发")
		}
		d, err := getDocument(ctx, tx, l.documentID, false)
		if err != nil {
			return err
		}
		if out, err = f.file(ctx, tx, d, l.v, l.format); err != nil {
			return err
		}
		return f.audit(ctx, tx, actor{ID: "", Username: "转发链接", IP: ip}, "document.link.download", d, nil,
			map[string]any{"link": l.id, "version": l.v.String(), "format": l.format})
	})
	return out, err
}
