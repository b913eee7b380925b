package provincialsync

import (
	"context"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Upload sends an issued certificate (and each new version) to the
// province, once: the PDF certificate-print stored, with its checksum and
// the authenticity address. A failure is returned, so the broker retries
// the event; the province dedupes on number and version too.
func (f *Function) Upload(ctx context.Context, d events.CertificateIssuedData) error {
	var done bool
	if err := f.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM province.uploads WHERE certificate_id = $1)`, d.CertificateID).Scan(&done); err != nil {
		return store.Classify(err)
	}
	if done {
		return nil
	}
	rc, _, err := f.blob.Get(ctx, d.BlobKey)
	if err != nil {
		if errs.CodeOf(err) == errs.NotFound {
			return errs.Wrap(errs.Invalid, "证书文件不存在，无法上传省平台", err) // never succeeds: dead-letter it
		}
		return err
	}
	pdf, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return err
	}
	id, err := f.client.Upload(ctx, CertificateUpload{CertificateNo: d.CertificateNo, Version: d.Version, Kind: d.Kind, CreditCode: d.CreditCode,
		DistrictCode: d.DistrictCode, SHA256: d.SHA256, VerifyURL: d.VerifyURL, PDF: pdf, Source: f.cfg.SourceName})
	if err != nil {
		return err
	}
	return store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO province.uploads (certificate_id, certificate_no, version, remote_id, district_code, uploaded_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, d.CertificateID, d.CertificateNo, d.Version, id, d.DistrictCode, f.now())
		if err != nil || tag.RowsAffected() == 0 {
			return store.Classify(err)
		}
		if err := writeLog(ctx, tx, 0, []logEntry{{Resource: "certificates", SourceID: d.CertificateNo, District: d.DistrictCode, Action: "upload",
			Message: "证书已上传省平台（第 " + itoa(d.Version) + " 版，省平台编号 " + id + "）"}}, f.now()); err != nil {
			return err
		}
		// FP-8: the upload changes what the province holds, so it is an
		// operation of this function's own, made by no person.
		return auditlog.RecordBy(ctx, tx, Source, auditlog.System(Name), auditlog.Operation{At: f.now(),
			Action: "province.certificate.upload", ObjectType: "certificate", ObjectID: d.CertificateNo, DistrictCode: d.DistrictCode,
			Before: map[string]any{"uploaded": false, "version": d.Version},
			After:  map[string]any{"uploaded": true, "version": d.Version, "remote_id": id, "sha256": d.SHA256}})
	})
}
