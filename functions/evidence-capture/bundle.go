package evidencecapture

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/functions/evidence-capture/seal"
	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// bundlePrefix is where bundle files live: evidence/bundles/<id>/<path>.
const bundlePrefix = "evidence/bundles/"

// Seal makes a bundle of files, stores it, appends its manifest's entry to
// the log and records it. The entry is acknowledged (committed with its
// index) before the bundle row, so a recorded bundle is always in the log.
func (f *Function) Seal(ctx context.Context, by, title, kind string, meta map[string]string, files map[string][]byte) (Bundle, error) {
	return f.SealAs(ctx, auditlog.Actor{UserID: by}, title, kind, meta, files)
}

// SealAs is Seal by a named actor: the bundle's row and its operation-log
// row (FP-8: who, from where, the bundle as sealed) commit together.
func (f *Function) SealAs(ctx context.Context, a auditlog.Actor, title, kind string, meta map[string]string, files map[string][]byte) (Bundle, error) {
	by := a.UserID
	if len(files) == 0 {
		return Bundle{}, errs.New(errs.Invalid, "证据包至少需要一个文件")
	}
	id := uuid.NewString()
	at := f.now().UTC()
	m, err := seal.NewManifest(id, at, title, meta, files)
	if err != nil {
		return Bundle{}, errs.New(errs.Invalid, err.Error())
	}
	mb := m.Marshal()
	for name, b := range files {
		if _, err := f.blob.Put(ctx, bundlePrefix+id+"/"+name, bytes.NewReader(b), "application/octet-stream"); err != nil {
			return Bundle{}, fmt.Errorf("store %s: %w", name, err)
		}
	}
	if _, err := f.blob.Put(ctx, bundlePrefix+id+"/"+seal.ManifestName, bytes.NewReader(mb), "application/json"); err != nil {
		return Bundle{}, err
	}
	idx, err := f.tlog.Append(ctx, seal.Entry(mb))
	if err != nil {
		return Bundle{}, err
	}
	d := seal.Sum(mb)
	b := Bundle{ID: id, Title: title, Kind: kind, SHA256: d.SHA256, SM3: d.SM3, LogIndex: idx, CreatedBy: by, CreatedAt: at,
		Files: m.Files, manifest: mb}
	return b, store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if err := insertBundle(ctx, tx, b); err != nil {
			return err
		}
		return auditlog.RecordBy(ctx, tx, Source, a, auditlog.Operation{Action: "evidence.bundle.seal", ObjectType: "evidence_bundle",
			ObjectID: b.ID, After: b})
	})
}

// Bundle reads a recorded bundle.
func (f *Function) Bundle(ctx context.Context, id string) (Bundle, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Bundle{}, errs.ErrNotFound
	}
	return getBundle(ctx, f.pool, id)
}

// Receipt is the bundle's tlog-proof (ErrPending until integrated).
func (f *Function) Receipt(ctx context.Context, b Bundle) ([]byte, error) {
	r, err := f.tlog.Receipt(ctx, b.LogIndex, nil)
	if err != nil {
		return nil, err
	}
	return r.Marshal(), nil
}

// WriteZip writes the whole bundle (files, manifest, receipt) as a zip,
// the form `smartreg evidence verify` checks offline.
func (f *Function) WriteZip(ctx context.Context, w io.Writer, b Bundle) error {
	receipt, err := f.Receipt(ctx, b)
	if err != nil {
		return err
	}
	z := zip.NewWriter(w)
	add := func(name string, r io.Reader) error {
		zw, err := z.Create(name)
		if err != nil {
			return err
		}
		_, err = io.Copy(zw, r)
		return err
	}
	for _, file := range b.Files {
		rc, _, err := f.blob.Get(ctx, bundlePrefix+b.ID+"/"+file.Path)
		if err != nil {
			return err
		}
		err = add(file.Path, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	if err := add(seal.ManifestName, bytes.NewReader(b.manifest)); err != nil {
		return err
	}
	if err := add(seal.ReceiptName, bytes.NewReader(receipt)); err != nil {
		return err
	}
	return z.Close()
}
