// Package events is the contract between SmartReg functions: every CloudEvent
// type, its payload struct, and its JSON Schema. It imports nothing of ours,
// so producers and consumers can depend on it without depending on each other.
package events

import "time"

// Prefix is the reverse-DNS root of every SmartReg event type.
const Prefix = "cn.gov.sjz.amr."

// Event types. The version suffix changes only on incompatible payload changes;
// a new version is published beside the old one until consumers move.
const (
	EntityRegistered   = Prefix + "entity.registered.v1"
	EntityUpdated      = Prefix + "entity.updated.v1"
	EntityDeregistered = Prefix + "entity.deregistered.v1"

	// Ping is what a Knative PingSource emits; locally the scheduler emits the
	// same type so functions cannot tell which platform they run on.
	Ping = "dev.knative.sources.ping"
)

// Entity is the snapshot of a market entity carried by entity events, so a
// consumer rarely needs to call the registry back.
type Entity struct {
	CreditCode        string  `json:"credit_code" jsonschema:"pattern=^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"`
	Name              string  `json:"name" jsonschema:"minLength=1"`
	EntityType        string  `json:"entity_type" jsonschema:"enum=enterprise,enum=individual,enum=cooperative,enum=institution,enum=non_enterprise"`
	LegalRep          string  `json:"legal_rep"`
	EstablishedOn     string  `json:"established_on" jsonschema:"format=date"`
	RegisteredCapital string  `json:"registered_capital" jsonschema:"description=万元, decimal string"`
	Address           string  `json:"address"`
	DistrictCode      string  `json:"district_code" jsonschema:"pattern=^[0-9]{6}$"`
	TownshipCode      string  `json:"township_code,omitempty" jsonschema:"pattern=^[0-9]{9}$"`
	IndustryCode      string  `json:"industry_code" jsonschema:"pattern=^[0-9]{4}$"`
	Status            string  `json:"status" jsonschema:"enum=active,enum=revoked,enum=deregistered"`
	Longitude         float64 `json:"longitude,omitempty"`
	Latitude          float64 `json:"latitude,omitempty"`
	Version           int     `json:"version" jsonschema:"minimum=1"`
}

// EntityRegisteredData is the payload of EntityRegistered.
type EntityRegisteredData struct {
	Entity       Entity    `json:"entity"`
	RegisteredAt time.Time `json:"registered_at"`
}

// EntityUpdatedData is the payload of EntityUpdated.
type EntityUpdatedData struct {
	Entity    Entity    `json:"entity"`
	Changed   []string  `json:"changed" jsonschema:"description=names of the fields that changed"`
	UpdatedAt time.Time `json:"updated_at"`
}

// EntityDeregisteredData is the payload of EntityDeregistered: the entity
// left the active state (revoked 吊销 or deregistered 注销).
type EntityDeregisteredData struct {
	CreditCode string    `json:"credit_code"`
	Status     string    `json:"status" jsonschema:"enum=revoked,enum=deregistered"`
	Reason     string    `json:"reason,omitempty"`
	Version    int       `json:"version"`
	ChangedAt  time.Time `json:"changed_at"`
}

// PingData is the payload the scheduler sends with a Ping: whatever the
// PingSource's data field holds, parsed as JSON.
type PingData map[string]any

// DecodeError is an event whose data does not fit its type's payload: it
// will never succeed, so the runtime answers 400 and the broker does not
// retry it.
type DecodeError struct {
	Type string
	Err  error
}

func (e *DecodeError) Error() string { return "decode " + e.Type + " data: " + e.Err.Error() }
func (e *DecodeError) Unwrap() error { return e.Err }

// DataAser is a CloudEvent's data decoder (event.Event from
// github.com/cloudevents/sdk-go/v2 satisfies it); events stays free of
// the SDK.
type DataAser interface {
	DataAs(obj any) error
	Type() string
}

// Decode reads e's data as a T.
func Decode[T any](e DataAser) (T, error) {
	var v T
	if err := e.DataAs(&v); err != nil {
		return v, &DecodeError{Type: e.Type(), Err: err}
	}
	return v, nil
}
