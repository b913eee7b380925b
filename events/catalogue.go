package events

import "slices"

// Type describes one event type for the catalogue in docs/events.md.
// Consumers are not listed here: they are read from the Trigger manifests,
// which are what really routes events, so the catalogue cannot drift.
type Type struct {
	Name     string
	Summary  string // Chinese, one line
	Producer string // function name, or "PingSource" for schedules
	Subject  string // what the CloudEvent subject holds
	Payload  any    // a zero value of the payload struct
	Schema   string // file name under schemas/
}

// Catalogue lists every event type, in a stable order.
// Each domain keeps its list in its own file (qr.go, scan.go, notify.go, audit.go, identity.go),
// so adding a domain's events touches only that file and this line.
func Catalogue() []Type {
	return slices.Concat(entityTypes(), qrTypes(), scanTypes(), notifyTypes(), auditTypes(), identityTypes(), ocrTypes(), metrologyTypes(), policyTypes(), alarmTypes(), crawlTypes(), monitorTypes(), connectorsTypes())
}

func entityTypes() []Type {
	return []Type{
		{EntityRegistered, "市场主体登记入库", "registry", "统一社会信用代码", EntityRegisteredData{}, "entity.registered.v1.json"},
		{EntityUpdated, "市场主体信息变更", "registry", "统一社会信用代码", EntityUpdatedData{}, "entity.updated.v1.json"},
		{EntityDeregistered, "市场主体吊销或注销", "registry", "统一社会信用代码", EntityDeregisteredData{}, "entity.deregistered.v1.json"},
		{Ping, "定时任务触发（PingSource）", "PingSource", "", PingData{}, "ping.json"},
	}
}

// Known reports whether name is a catalogued event type.
func Known(name string) bool {
	return slices.ContainsFunc(Catalogue(), func(t Type) bool { return t.Name == name })
}
