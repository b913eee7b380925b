package certificateprint

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/functions/certificate-print/render"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
)

// Certificate is one version of a certificate or notice.
type Certificate struct {
	ID              int64      `json:"id"`
	VerificationID  int64      `json:"verification_id"`
	Version         int        `json:"version"`
	Kind            string     `json:"kind"` // certificate | notice
	KindName        string     `json:"kind_name"`
	CertificateNo   string     `json:"certificate_no"`
	InstitutionID   string     `json:"institution_id"`
	InstitutionName string     `json:"institution_name"`
	CreditCode      string     `json:"credit_code"`
	ClientName      string     `json:"client_name"`
	DistrictCode    string     `json:"district_code"`
	DistrictName    string     `json:"district_name"`
	InstrumentName  string     `json:"instrument_name"`
	SerialNo        string     `json:"serial_no"`
	Result          string     `json:"result"`
	VerifiedOn      string     `json:"verified_on"`
	ValidUntil      *string    `json:"valid_until"`
	Pages           int        `json:"pages"`
	Size            int        `json:"size"`
	SHA256          string     `json:"sha256"`
	Status          string     `json:"status"` // valid | superseded
	StatusName      string     `json:"status_name"`
	SupersededBy    *int64     `json:"superseded_by"`
	SupersededAt    *time.Time `json:"superseded_at"`
	VerifyURL       string     `json:"verify_url"`
	IssuedAt        time.Time  `json:"issued_at"`

	token, townshipCode, blobKey string
	payload                      events.VerificationCompletedData
}

func (c *Certificate) label(f *Function) {
	c.KindName = map[string]string{"certificate": render.TitleCertificate, "notice": render.TitleNotice}[c.Kind]
	c.StatusName = map[string]string{"valid": "有效", "superseded": "已换版（作废）"}[c.Status]
	if d, ok := codes.Divisions().Lookup(c.DistrictCode); ok {
		c.DistrictName = d.Name
	}
	c.InstitutionName = c.payload.Institution.Name
	c.VerifyURL = f.verifyURL(c.token)
}

func newToken() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return base32.StdEncoding.EncodeToString(b)
}

// Issue renders and stores the first version of a verification's
// certificate (a notice when it failed) and records certificate.issued in
// tx. A verification that already has one changes nothing. The
// institution's newest known data is printed, even if it changed after
// the verification was recorded.
func (f *Function) Issue(ctx context.Context, tx pgx.Tx, d events.VerificationCompletedData) (Certificate, error) {
	if old, err := currentOf(ctx, tx, d.VerificationID); err == nil {
		old.label(f)
		return old, nil
	} else if errs.CodeOf(err) != errs.NotFound {
		return Certificate{}, err
	}
	if inst, ok, err := institutionData(ctx, tx, d.Institution.ID); err != nil {
		return Certificate{}, err
	} else if ok && inst.Version > d.Institution.Version {
		d.Institution = inst
	}
	return f.issue(ctx, tx, d, 1, 0)
}

// issue renders version v of d, stores the PDF and the row, and records
// certificate.issued; supersedes is the id of the version it replaces.
func (f *Function) issue(ctx context.Context, tx pgx.Tx, d events.VerificationCompletedData, version int, supersedes int64) (Certificate, error) {
	now := f.now()
	token := newToken()
	pdf, pages, err := f.render.Render(render.Doc{Data: d, Version: version, VerifyURL: f.verifyURL(token), IssuedAt: now})
	if err != nil {
		// Never succeeds on retry: answer 400 so the broker dead-letters it.
		return Certificate{}, errs.Wrap(errs.Invalid, "检定证书内容不完整，无法生成", err)
	}
	sum := sha256.Sum256(pdf)
	key := fmt.Sprintf("certs/%d/v%d.pdf", d.VerificationID, version)
	if _, err := f.blob.Put(ctx, key, bytes.NewReader(pdf), "application/pdf"); err != nil {
		return Certificate{}, errs.Wrap(errs.Unavailable, "证书文件保存失败，请稍后重试", err)
	}
	kind := "certificate"
	if d.Result != "pass" {
		kind = "notice"
	}
	c := Certificate{VerificationID: d.VerificationID, Version: version, Kind: kind, CertificateNo: d.CertificateNo,
		InstitutionID: d.Institution.ID, CreditCode: d.Client.CreditCode, ClientName: d.Client.Name, DistrictCode: d.Client.DistrictCode,
		InstrumentName: d.Instrument.Name, SerialNo: d.Instrument.SerialNo, Result: d.Result, VerifiedOn: d.VerifiedOn, Pages: pages,
		Size: len(pdf), SHA256: hex.EncodeToString(sum[:]), Status: "valid", IssuedAt: now,
		token: token, townshipCode: d.Client.TownshipCode, blobKey: key, payload: d}
	if d.ValidUntil != "" {
		c.ValidUntil = &d.ValidUntil
	}
	if supersedes != 0 {
		if err := supersede(ctx, tx, supersedes, now); err != nil {
			return Certificate{}, err
		}
	}
	if c.ID, err = insertCertificate(ctx, tx, c); err != nil {
		return Certificate{}, err
	}
	if supersedes != 0 {
		if err := linkSuperseded(ctx, tx, supersedes, c.ID); err != nil {
			return Certificate{}, err
		}
	}
	c.label(f)
	ev, err := outbox.NewEvent(Source, events.CertificateIssued, c.CertificateNo, events.CertificateIssuedData{CertificateID: c.ID,
		CertificateNo: c.CertificateNo, Version: version, Kind: kind, VerificationID: c.VerificationID, InstitutionID: c.InstitutionID,
		CreditCode: c.CreditCode, DistrictCode: c.DistrictCode, BlobKey: key, SHA256: c.SHA256, VerifyURL: c.VerifyURL,
		Supersedes: supersedes, IssuedAt: now}, now)
	if err != nil {
		return Certificate{}, err
	}
	return c, outbox.Record(ctx, tx, ev)
}

// Regenerate issues a new version of every current certificate of the
// institution printed with older data than the newest known (FP-175), a
// batch per transaction, and reports how many. It is safe to run again: a
// certificate already on the newest data is left alone, so a crash mid-way
// is finished by the next run (the event's redelivery).
func (f *Function) Regenerate(ctx context.Context, institution string) (int, error) {
	total := 0
	for {
		n := 0
		err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
			inst, ok, err := institutionData(ctx, tx, institution)
			if err != nil || !ok {
				return err
			}
			olds, err := outdated(ctx, tx, institution, inst.Version, f.cfg.RegenerateBatch)
			if err != nil {
				return err
			}
			for _, old := range olds {
				d := old.payload
				d.Institution = inst
				if _, err := f.issue(ctx, tx, d, old.Version+1, old.ID); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		total += n
		if err != nil || n < f.cfg.RegenerateBatch {
			return total, err
		}
	}
}
