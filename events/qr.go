package events

import "time"

// QR code events (owner: qr-generate).
const (
	QRIssued      = Prefix + "qr.issued.v1"
	QRBatchIssued = Prefix + "qr.batch-issued.v1"
	QRInvalidated = Prefix + "qr.invalidated.v1"
	QRReactivated = Prefix + "qr.reactivated.v1"
)

// QRIssuedData is the payload of QRIssued: a code became active (issued
// directly, or approved after review for institutions and 民非).
type QRIssuedData struct {
	Token      string    `json:"token" jsonschema:"minLength=1,maxLength=16"`
	CreditCode string    `json:"credit_code"`
	URL        string    `json:"url" jsonschema:"description=the QR content: PUBLIC_BASE_URL/q/{token}"`
	IssuedAt   time.Time `json:"issued_at"`
}

// QRBatchIssuedData is the payload of QRBatchIssued: bulk issuance
// announces up to 1000 codes per event instead of one qr.issued each, so
// 1.5 M codes are 1,500 events the broker drains in seconds.
type QRBatchIssuedData struct {
	BatchID  string          `json:"batch_id"`
	BaseURL  string          `json:"base_url" jsonschema:"description=each code's URL is base_url + token"`
	IssuedAt time.Time       `json:"issued_at"`
	Codes    []QRBatchMember `json:"codes" jsonschema:"minItems=1,maxItems=1000"`
}

// QRBatchMember is one code of a QRBatchIssued event.
type QRBatchMember struct {
	Token      string `json:"token"`
	CreditCode string `json:"credit_code"`
}

// QRInvalidatedData is the payload of QRInvalidated.
type QRInvalidatedData struct {
	Token         string    `json:"token"`
	CreditCode    string    `json:"credit_code"`
	Reason        string    `json:"reason"`
	InvalidatedAt time.Time `json:"invalidated_at"`
}

// QRReactivatedData is the payload of QRReactivated.
type QRReactivatedData struct {
	Token         string    `json:"token"`
	CreditCode    string    `json:"credit_code"`
	ReactivatedAt time.Time `json:"reactivated_at"`
}

// qrTypes lists the qr domain's event types for the catalogue.
func qrTypes() []Type {
	return []Type{
		{QRIssued, "经营主体二维码赋码生效", "qr-generate", "统一社会信用代码", QRIssuedData{}, "qr.issued.v1.json"},
		{QRBatchIssued, "批量赋码生效（每个事件最多 1000 个码）", "qr-generate", "批次号", QRBatchIssuedData{}, "qr.batch-issued.v1.json"},
		{QRInvalidated, "经营主体二维码失效", "qr-generate", "统一社会信用代码", QRInvalidatedData{}, "qr.invalidated.v1.json"},
		{QRReactivated, "经营主体二维码恢复有效", "qr-generate", "统一社会信用代码", QRReactivatedData{}, "qr.reactivated.v1.json"},
	}
}
