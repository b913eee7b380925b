package events

import "time"

// Alarm domain event types (alarm-intake, FP-146, FP-163).
const (
	// AlarmRaised: an inspector's one-key alarm was stored durably; the
	// command centre (dispatch) puts it on the map and the live feed.
	AlarmRaised = Prefix + "alarm.raised.v1"
)

// AlarmRaisedData is the payload of AlarmRaised.
type AlarmRaisedData struct {
	AlarmID     string    `json:"alarm_id" jsonschema:"format=uuid"`
	Level       string    `json:"level" jsonschema:"enum=紧急,enum=重要紧急"`
	Text        string    `json:"text,omitempty" jsonschema:"maxLength=500"`
	Lat         float64   `json:"lat" jsonschema:"minimum=-90,maximum=90"`
	Lng         float64   `json:"lng" jsonschema:"minimum=-180,maximum=180"`
	Accuracy    float64   `json:"accuracy" jsonschema:"description=metres,minimum=0"`
	Attachments []string  `json:"attachments,omitempty" jsonschema:"description=object-storage keys of photos and voice notes"`
	RaisedBy    string    `json:"raised_by"`
	RaisedName  string    `json:"raised_name,omitempty"`
	DeptID      string    `json:"dept_id,omitempty"`
	District    string    `json:"district,omitempty" jsonschema:"description=county-level division code of the raiser's jurisdiction"`
	Township    string    `json:"township,omitempty"`
	RaisedAt    time.Time `json:"raised_at" jsonschema:"description=when the phone raised it (it may have been queued offline)"`
	ReceivedAt  time.Time `json:"received_at"`
}

func alarmTypes() []Type {
	return []Type{
		{AlarmRaised, "检查人员一键报警已持久保存，指挥中心地图显示", "alarm-intake", "报警 id", AlarmRaisedData{}, "alarm.raised.v1.json"},
	}
}
