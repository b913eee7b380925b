package events

import "time"

// OCR domain event types (ocr-idcard, FP-11).
const (
	// OcrIDCardRequested: photos of an ID card were stored (encrypted) and
	// wait to be read; an OCR worker reads them, apart from the upload API.
	OcrIDCardRequested = Prefix + "ocr.idcard.requested.v1"
	// OcrIDCardRecognized: a requested card was read (or could not be).
	// The payload carries no personal data: readers fetch the result from
	// ocr-idcard's API, which masks and audits it.
	OcrIDCardRecognized = Prefix + "ocr.idcard.recognized.v1"
)

// OcrIDCardRequestedData is the payload of OcrIDCardRequested.
type OcrIDCardRequestedData struct {
	RecognitionID string    `json:"recognition_id" jsonschema:"format=uuid"`
	FrontKey      string    `json:"front_key,omitempty" jsonschema:"description=object key of the encrypted front photo"`
	BackKey       string    `json:"back_key,omitempty" jsonschema:"description=object key of the encrypted back photo"`
	RequestedBy   string    `json:"requested_by"`
	RequestedAt   time.Time `json:"requested_at"`
}

// OcrIDCardRecognizedData is the payload of OcrIDCardRecognized.
type OcrIDCardRecognizedData struct {
	RecognitionID string    `json:"recognition_id" jsonschema:"format=uuid"`
	Status        string    `json:"status" jsonschema:"enum=done,enum=failed"`
	Flagged       []string  `json:"flagged,omitempty" jsonschema:"description=fields a person must check"`
	RecognizedAt  time.Time `json:"recognized_at"`
}

func ocrTypes() []Type {
	return []Type{
		{OcrIDCardRequested, "身份证照片已加密存储，等待识别", "ocr-idcard", "识别记录 id", OcrIDCardRequestedData{}, "ocr.idcard.requested.v1.json"},
		{OcrIDCardRecognized, "身份证识别完成（或失败），不含个人信息", "ocr-idcard", "识别记录 id", OcrIDCardRecognizedData{}, "ocr.idcard.recognized.v1.json"},
	}
}
