package evidencecapture

import (
	"bytes"
	_ "embed"
	"errors"
	"io"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/sjzamr/smartreg/functions/evidence-capture/seal"
	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the function's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/evidence/v1/openapi.yaml", openapi }

// PermBundle is the permission resource of evidence bundles (actions view,
// create), listed in shared/auth's catalogue.
const PermBundle = "evidence.bundle"

// Handler serves the API behind token verification. Every route declares
// who may call it and what entity data it touches (the conformance tests
// read these declarations).
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	// FP-90: seal uploaded files as a bundle; read it, its receipt, the zip.
	m.Handle("POST /evidence/v1/bundles", httpx.Endpoint(f.createBundle), auth.Requires(PermBundle, "create"), httpx.NoEntity())
	// FP-90 一键取证: capture a web page in headless Chromium and seal it.
	m.Handle("POST /evidence/v1/captures", httpx.Body(f.createCapture), auth.Requires(PermBundle, "create"), httpx.NoEntity())
	m.Handle("GET /evidence/v1/bundles/{id}", httpx.Endpoint(f.getBundle), auth.Requires(PermBundle, "view"), httpx.NoEntity())
	m.HandleFunc("GET /evidence/v1/bundles/{id}/receipt", f.getReceipt, auth.Requires(PermBundle, "view"), httpx.NoEntity())
	m.HandleFunc("GET /evidence/v1/bundles/{id}/bundle.zip", f.getZip, auth.Requires(PermBundle, "view"), httpx.NoEntity())
	// FP-90 出证: the certificate PDF (hashes, index, checkpoint, QR to the
	// public page, the receipt printed and embedded).
	m.HandleFunc("GET /evidence/v1/bundles/{id}/certificate.pdf", f.getCertificate, auth.Requires(PermBundle, "view"), httpx.NoEntity())
	// FP-90: the log as plain files (C2SP tlog-checkpoint, tlog-tiles) and
	// its public key, for verifiers, mirrors and witnesses.
	m.HandleFunc("GET /evidence/v1/log/checkpoint", f.getCheckpoint, httpx.Public(), httpx.NoEntity())
	m.HandleFunc("GET /evidence/v1/log/key", f.getKey, httpx.Public(), httpx.NoEntity())
	m.HandleFunc("GET /evidence/v1/log/tile/{rest...}", f.getTile, httpx.Public(), httpx.NoEntity())
	// FP-90: the public verification: a file's or manifest's hash → bundle, time, proof.
	m.Handle("GET /evidence/v1/public/lookup", httpx.Endpoint(f.lookup), httpx.Public(), httpx.NoEntity(), httpx.Params("sha256"))
	return m
}

func (f *Function) createBundle(r *http.Request) (any, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, f.cfg.MaxUpload)
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		return nil, errs.New(errs.Invalid, "请以 multipart/form-data 上传文件（或文件过大）")
	}
	defer r.MultipartForm.RemoveAll()
	title := strings.TrimSpace(r.FormValue("title"))
	switch n := utf8.RuneCountInString(title); {
	case n == 0:
		return nil, errs.Fields([]errs.FieldError{{Field: "title", Message: "请填写证据名称"}})
	case n > 200:
		return nil, errs.Fields([]errs.FieldError{{Field: "title", Message: "证据名称过长"}})
	}
	files := map[string][]byte{}
	for _, fh := range r.MultipartForm.File["file"] {
		name := path.Base(strings.ReplaceAll(fh.Filename, "\\", "/"))
		if err := seal.CleanPath(name); err != nil {
			return nil, errs.Fields([]errs.FieldError{{Field: "file", Message: err.Error()}})
		}
		if _, dup := files[name]; dup {
			return nil, errs.Fields([]errs.FieldError{{Field: "file", Message: "文件名重复: " + name}})
		}
		rd, err := fh.Open()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(rd)
		rd.Close()
		if err != nil {
			return nil, err
		}
		files[name] = b
	}
	if len(files) == 0 {
		return nil, errs.Fields([]errs.FieldError{{Field: "file", Message: "请至少上传一个文件"}})
	}
	b, err := f.SealAs(r.Context(), auditlog.ActorOf(r), title, "upload", nil, files)
	if err != nil {
		return nil, err
	}
	return httpx.Created(b, "/evidence/v1/bundles/"+b.ID), nil
}

func (f *Function) getBundle(r *http.Request) (any, error) {
	return f.Bundle(r.Context(), r.PathValue("id"))
}

func (f *Function) getReceipt(w http.ResponseWriter, r *http.Request) {
	b, err := f.Bundle(r.Context(), r.PathValue("id"))
	var rec []byte
	if err == nil {
		rec, err = f.Receipt(r.Context(), b)
	}
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(rec)
}

func (f *Function) getZip(w http.ResponseWriter, r *http.Request) {
	b, err := f.Bundle(r.Context(), r.PathValue("id"))
	var buf bytes.Buffer
	if err == nil {
		err = f.WriteZip(r.Context(), &buf, b)
	}
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="evidence-`+b.ID+`.zip"`)
	w.Write(buf.Bytes())
}

func (f *Function) getCertificate(w http.ResponseWriter, r *http.Request) {
	b, err := f.Bundle(r.Context(), r.PathValue("id"))
	var pdf []byte
	if err == nil {
		pdf, err = f.Certificate(r.Context(), b)
	}
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="evidence-certificate-`+b.ID+`.pdf"`)
	w.Write(pdf)
}

func (f *Function) getCheckpoint(w http.ResponseWriter, r *http.Request) {
	cp, err := f.tlog.Checkpoint(r.Context())
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(cp)
}

func (f *Function) getKey(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, f.tlog.PublicKey()+"\n")
}

// getTile serves a tile from object storage: tiles are immutable once
// written, so they are cached for good.
func (f *Function) getTile(w http.ResponseWriter, r *http.Request) {
	rest := r.PathValue("rest")
	if path.Clean(rest) != rest || strings.Contains(rest, "..") {
		httpx.Fail(w, r, errs.ErrNotFound)
		return
	}
	rc, _, err := f.blob.Get(r.Context(), logPrefix+"tile/"+rest)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	io.Copy(w, rc)
}

// Lookup is what the public page shows for a hash.
type Lookup struct {
	Found   bool          `json:"found"`
	Bundles []LookupEntry `json:"bundles"`
}

// LookupEntry is one bundle that holds the hash.
type LookupEntry struct {
	Bundle  Bundle `json:"bundle"`
	Receipt string `json:"receipt,omitempty"`
	Pending bool   `json:"pending"`
}

func (f *Function) lookup(r *http.Request) (any, error) {
	sha := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("sha256")))
	if len(sha) != 64 || strings.Trim(sha, "0123456789abcdef") != "" {
		return nil, errs.Fields([]errs.FieldError{{Field: "sha256", Message: "请提供 64 位十六进制的 SHA-256 值"}})
	}
	ids, err := findByHash(r.Context(), f.pool, sha)
	if err != nil {
		return nil, err
	}
	out := Lookup{Found: len(ids) > 0, Bundles: []LookupEntry{}}
	for _, id := range ids {
		b, err := f.Bundle(r.Context(), id)
		if err != nil {
			return nil, err
		}
		e := LookupEntry{Bundle: b}
		rec, err := f.Receipt(r.Context(), b)
		switch {
		case errors.Is(err, ErrPending):
			e.Pending = true
		case err != nil:
			return nil, err
		default:
			e.Receipt = string(rec)
		}
		out.Bundles = append(out.Bundles, e)
	}
	return out, nil
}

func (f *Function) createCapture(r *http.Request, in CaptureInput) (any, error) {
	p, _ := auth.FromContext(r.Context())
	in.operator, in.actor = p.Name, auditlog.ActorOf(r)
	b, err := f.Capture(r.Context(), p.UserID, in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(b, "/evidence/v1/bundles/"+b.ID), nil
}
