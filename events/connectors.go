package events

import "time"

// Connectors domain event types.
const (
	// ConnectorRecordReceived: a connector pulled a new or changed record
	// from an outside system (the legal-person base, the publicity system,
	// the spot-check platform, 石i企/石i民 or an external database,
	// FP-13–15, 19–21). The registry adds it to the entity's file, or
	// replaces the record of the same source key.
	ConnectorRecordReceived = Prefix + "connectors.record.received.v1"
)

// ConnectorRecordReceivedData is the payload of ConnectorRecordReceived.
type ConnectorRecordReceivedData struct {
	Connector  string         `json:"connector" jsonschema:"description=the connector's name, e.g. publicity"`
	SourceKey  string         `json:"source_key" jsonschema:"description=connector/ext_id: the same key replaces the record it made before"`
	CreditCode string         `json:"credit_code" jsonschema:"pattern=^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"`
	Kind       string         `json:"kind" jsonschema:"enum=licence,enum=penalty,enum=spot_check,enum=complaint,enum=abnormal_list,enum=compliance,enum=person,enum=inspection,enum=random_check,enum=honour"`
	RefNo      string         `json:"ref_no"`
	Title      string         `json:"title" jsonschema:"minLength=2,maxLength=200"`
	Authority  string         `json:"authority"`
	OccurredOn string         `json:"occurred_on" jsonschema:"format=date"`
	Status     string         `json:"status"`
	Public     bool           `json:"public" jsonschema:"description=false keeps it off the public page (persons)"`
	Details    map[string]any `json:"details"`
	ReceivedAt time.Time      `json:"received_at"`
}

// connectorsTypes lists the connectors domain's event types for the catalogue.
func connectorsTypes() []Type {
	return []Type{
		{ConnectorRecordReceived, "数据对接从外部系统拉取到新的或变更的记录", "connectors", "统一社会信用代码", ConnectorRecordReceivedData{}, "connectors.record.received.v1.json"},
	}
}
