package events

import "time"

// Scan domain event types.
const (
	// ScanInspectionRecorded: an inspector scanned an entity's code and
	// recorded a supervision inspection (监督检查) or spot check (抽查检查)
	// on the spot (FP-30, FP-32). The registry adds it to the entity's file.
	ScanInspectionRecorded = Prefix + "scan.inspection.recorded.v1"
)

// InspectionItem is one checked item of an on-the-spot inspection.
type InspectionItem struct {
	Name   string `json:"name" jsonschema:"minLength=1,maxLength=100"`
	Result string `json:"result" jsonschema:"enum=合格,enum=不合格,enum=合理缺项"`
	// Reason is required when Result is 合理缺项 (an item legitimately left
	// blank) and optional otherwise (e.g. what was wrong).
	Reason string `json:"reason,omitempty" jsonschema:"maxLength=500"`
}

// ScanInspectionRecordedData is the payload of ScanInspectionRecorded.
type ScanInspectionRecordedData struct {
	InspectionID string           `json:"inspection_id" jsonschema:"format=uuid"`
	CreditCode   string           `json:"credit_code" jsonschema:"pattern=^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"`
	Token        string           `json:"token" jsonschema:"description=the QR token scanned"`
	Kind         string           `json:"kind" jsonschema:"enum=inspection,enum=spot_check"`
	Title        string           `json:"title" jsonschema:"minLength=2,maxLength=200"`
	Authority    string           `json:"authority" jsonschema:"description=the inspector's department"`
	InspectedOn  string           `json:"inspected_on" jsonschema:"format=date"`
	Items        []InspectionItem `json:"items"`
	Conclusion   string           `json:"conclusion" jsonschema:"description=合格 when no item failed, else 不合格, or the inspector's wording"`
	Remarks      string           `json:"remarks,omitempty" jsonschema:"maxLength=2000"`
	Photos       []string         `json:"photos,omitempty" jsonschema:"description=object-storage keys of the photo attachments"`
	InspectorID  string           `json:"inspector_id"`
	RecordedAt   time.Time        `json:"recorded_at"`
}

// scanTypes lists the scan domain's event types for the catalogue.
func scanTypes() []Type {
	return []Type{
		{ScanInspectionRecorded, "检查人员扫码现场记录监督检查或抽查检查", "scan-resolve", "统一社会信用代码", ScanInspectionRecordedData{}, "scan.inspection.recorded.v1.json"},
	}
}
