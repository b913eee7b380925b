package events

import (
	"encoding/json"
	"time"
)

// Audit domain event types. Every function records them through
// shared/auditlog in the transaction of the change (or of the login
// attempt), so the log row exists exactly when the change does; the audit
// function stores each once per event id.
const (
	// AuditOperationRecorded is one operation log row (FP-8): who changed
	// what, with the object's state before and after.
	AuditOperationRecorded = Prefix + "audit.operation.recorded.v1"
	// AuditLoginRecorded is one login attempt (FP-7), successful or not.
	AuditLoginRecorded = Prefix + "audit.login.recorded.v1"
)

// AuditOperationRecordedData is the payload of AuditOperationRecorded.
// Before and After are the object's state around the change with
// personal data already masked by the producer; audit masks again by key
// and shape when it shows them.
type AuditOperationRecordedData struct {
	At         time.Time `json:"at"`
	UserID     string    `json:"user_id,omitempty" jsonschema:"maxLength=100"`
	Username   string    `json:"username,omitempty" jsonschema:"maxLength=200"`
	IP         string    `json:"ip,omitempty" jsonschema:"maxLength=100"`
	Action     string    `json:"action" jsonschema:"minLength=1,maxLength=200,description=what was done: user.create or role.edit or registry.entity.update"`
	ObjectType string    `json:"object_type,omitempty" jsonschema:"maxLength=100"`
	ObjectID   string    `json:"object_id,omitempty" jsonschema:"maxLength=200"`
	// DistrictCode and TownshipCode place an operation on a market entity
	// in the administrative divisions, so an auditor's data scope applies.
	DistrictCode string          `json:"district_code,omitempty" jsonschema:"pattern=^[0-9]{6}$"`
	TownshipCode string          `json:"township_code,omitempty" jsonschema:"pattern=^[0-9]{9}$"`
	Before       json.RawMessage `json:"before,omitempty" jsonschema:"description=the object's state before the change (JSON)"`
	After        json.RawMessage `json:"after,omitempty" jsonschema:"description=the object's state after the change (JSON)"`
	Result       string          `json:"result" jsonschema:"minLength=1,maxLength=100,description=success or failure or a producer's word"`
}

// AuditLoginRecordedData is the payload of AuditLoginRecorded.
type AuditLoginRecordedData struct {
	At       time.Time `json:"at"`
	UserID   string    `json:"user_id,omitempty" jsonschema:"maxLength=100"`
	Username string    `json:"username,omitempty" jsonschema:"maxLength=200,description=what was typed: may name no account"`
	IP       string    `json:"ip,omitempty" jsonschema:"maxLength=100"`
	Device   string    `json:"device,omitempty" jsonschema:"maxLength=500"`
	Result   string    `json:"result" jsonschema:"enum=success,enum=failure"`
	Reason   string    `json:"reason,omitempty" jsonschema:"maxLength=500"`
}

// auditTypes lists the audit domain's event types for the catalogue.
func auditTypes() []Type {
	return []Type{
		{AuditOperationRecorded, "记录一条操作日志（含操作前后状态）", "every function (shared/auditlog)", "对象类型/对象 id", AuditOperationRecordedData{}, "audit.operation.recorded.v1.json"},
		{AuditLoginRecorded, "记录一次登录尝试（成功或失败）", "identity (shared/auditlog)", "用户 id（可空）", AuditLoginRecordedData{}, "audit.login.recorded.v1.json"},
	}
}
