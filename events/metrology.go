package events

import "time"

// Metrology event types (owners: metrology, certificate-print; FP-165–180).
const (
	// MetrologyVerificationCompleted: a verification institution recorded
	// the result of a mandatory verification (强制检定). It carries every
	// field of the certificate (JJF 1069-2012), so certificate-print renders
	// it without calling metrology back, and provincial-sync reports it.
	MetrologyVerificationCompleted = Prefix + "metrology.verification.completed.v1"
	// MetrologyInstitutionUpdated: a verification institution's data that
	// certificates print changed (name, authorisation number, address…);
	// certificate-print issues new versions of its certificates (FP-175).
	MetrologyInstitutionUpdated = Prefix + "metrology.institution.updated.v1"
	// CertificateIssued: certificate-print stored a certificate (or a
	// notice of failure) PDF, first or new version; provincial-sync
	// uploads it to the provincial platform.
	CertificateIssued = Prefix + "certs.certificate.issued.v1"
)

// Institution is a verification institution (检定机构) as certificates
// print it.
type Institution struct {
	ID              string `json:"id" jsonschema:"description=the institution's unified social credit code"`
	Name            string `json:"name" jsonschema:"minLength=1"`
	Authorisation   string `json:"authorisation_no" jsonschema:"description=计量授权证书编号"`
	Address         string `json:"address"`
	Phone           string `json:"phone"`
	Postcode        string `json:"postcode,omitempty"`
	Version         int    `json:"version" jsonschema:"minimum=1"`
	AuthorisedUntil string `json:"authorised_until,omitempty" jsonschema:"format=date"`
}

// StandardInstrument is a main standard instrument (主要标准器) of a
// measurement standard, with the certificate that traces it.
type StandardInstrument struct {
	Name          string `json:"name"`
	Model         string `json:"model"`
	SerialNo      string `json:"serial_no"`
	Accuracy      string `json:"accuracy"`
	CertificateNo string `json:"certificate_no"`
	ValidUntil    string `json:"valid_until" jsonschema:"format=date"`
}

// StandardCertificate is one certificate of a measurement standard:
// authorisation (计量授权证书), social public standard (社会公用计量标准证书)
// or assessment (计量标准考核证书).
type StandardCertificate struct {
	Kind       string `json:"kind" jsonschema:"enum=authorisation,enum=social_public,enum=assessment"`
	Number     string `json:"number"`
	ValidUntil string `json:"valid_until" jsonschema:"format=date"`
}

// StandardUsed is a measurement standard (计量标准装置) drawn for a
// verification through the instrument's item and category.
type StandardUsed struct {
	ID           int64                 `json:"id"`
	Name         string                `json:"name"`
	Range        string                `json:"range"`
	Accuracy     string                `json:"accuracy"`
	Certificates []StandardCertificate `json:"certificates"`
	Instruments  []StandardInstrument  `json:"instruments"`
}

// NozzleResult is one nozzle of a fuel or gas dispenser (FP-173).
type NozzleResult struct {
	Serial string `json:"serial" jsonschema:"minLength=1"`
	Result string `json:"result" jsonschema:"enum=pass,enum=fail"`
	Error  string `json:"error,omitempty" jsonschema:"description=示值误差, as measured"`
	Note   string `json:"note,omitempty"`
}

// DataRow is one line of verification data.
type DataRow struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Limit  string `json:"limit,omitempty"`
	Result string `json:"result,omitempty"`
}

// Environment is where and in which conditions a verification was done.
type Environment struct {
	Temperature string `json:"temperature"`
	Humidity    string `json:"humidity"`
	Place       string `json:"place"`
	Other       string `json:"other,omitempty"`
}

// VerifiedInstrument is the instrument of a verification.
type VerifiedInstrument struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Model        string `json:"model"`
	SerialNo     string `json:"serial_no"`
	Manufacturer string `json:"manufacturer"`
	ItemCode     string `json:"item_code"`
	ItemName     string `json:"item_name"`
	CategoryCode string `json:"category_code"`
	CategoryName string `json:"category_name"`
	Range        string `json:"range,omitempty"`
	Accuracy     string `json:"accuracy,omitempty"`
}

// Client is the instrument user a certificate is issued to (委托方).
type Client struct {
	CreditCode   string `json:"credit_code" jsonschema:"pattern=^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"`
	Name         string `json:"name"`
	Address      string `json:"address"`
	DistrictCode string `json:"district_code" jsonschema:"pattern=^[0-9]{6}$"`
	TownshipCode string `json:"township_code,omitempty"`
}

// VerificationCompletedData is the payload of MetrologyVerificationCompleted.
type VerificationCompletedData struct {
	VerificationID int64              `json:"verification_id"`
	CertificateNo  string             `json:"certificate_no" jsonschema:"minLength=1"`
	Result         string             `json:"result" jsonschema:"enum=pass,enum=fail"`
	Class          string             `json:"class" jsonschema:"description=准确度等级 or 合格 / the grade found"`
	Conclusion     string             `json:"conclusion"`
	FailureReason  string             `json:"failure_reason,omitempty"`
	Institution    Institution        `json:"institution"`
	Client         Client             `json:"client"`
	Instrument     VerifiedInstrument `json:"instrument"`
	Verifier       string             `json:"verifier"`
	Checker        string             `json:"checker"`
	Approver       string             `json:"approver"`
	VerifiedOn     string             `json:"verified_on" jsonschema:"format=date"`
	ValidUntil     string             `json:"valid_until,omitempty" jsonschema:"format=date"`
	Standards      []StandardUsed     `json:"standards"`
	Environment    Environment        `json:"environment"`
	Data           []DataRow          `json:"data"`
	Nozzles        []NozzleResult     `json:"nozzles,omitempty"`
	Basis          string             `json:"basis" jsonschema:"description=检定依据 (the regulation verified against)"`
	CompletedAt    time.Time          `json:"completed_at"`
}

// InstitutionUpdatedData is the payload of MetrologyInstitutionUpdated.
type InstitutionUpdatedData struct {
	Institution Institution `json:"institution"`
	Changed     []string    `json:"changed"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

// CertificateIssuedData is the payload of CertificateIssued.
type CertificateIssuedData struct {
	CertificateID  int64     `json:"certificate_id"`
	CertificateNo  string    `json:"certificate_no"`
	Version        int       `json:"version" jsonschema:"minimum=1"`
	Kind           string    `json:"kind" jsonschema:"enum=certificate,enum=notice"`
	VerificationID int64     `json:"verification_id"`
	InstitutionID  string    `json:"institution_id"`
	CreditCode     string    `json:"credit_code"`
	DistrictCode   string    `json:"district_code"`
	BlobKey        string    `json:"blob_key"`
	SHA256         string    `json:"sha256"`
	VerifyURL      string    `json:"verify_url"`
	Supersedes     int64     `json:"supersedes,omitempty" jsonschema:"description=the certificate id of the version this one replaces"`
	IssuedAt       time.Time `json:"issued_at"`
}

// metrologyTypes lists the metrology domain's event types for the catalogue.
func metrologyTypes() []Type {
	return []Type{
		{MetrologyVerificationCompleted, "强检计量器具检定完成（含证书全部内容）", "metrology", "检定记录编号", VerificationCompletedData{}, "metrology.verification.completed.v1.json"},
		{MetrologyInstitutionUpdated, "检定机构信息变更（证书需换版）", "metrology", "检定机构统一社会信用代码", InstitutionUpdatedData{}, "metrology.institution.updated.v1.json"},
		{CertificateIssued, "检定证书或检定结果通知书已生成（含换版）", "certificate-print", "证书编号", CertificateIssuedData{}, "certs.certificate.issued.v1.json"},
	}
}
