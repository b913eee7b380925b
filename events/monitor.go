package events

// Monitor events (owner: monitor).
const (
	// MonitorStreamCheckRequested: a livestream or video under watch is due
	// for a check (its captions sampled, its title and captions run
	// through the rules). The schedule asks; the check may take minutes,
	// so it runs in its own delivery and Knative scales monitor with them.
	MonitorStreamCheckRequested = Prefix + "monitor.stream.check.requested.v1"
)

// MonitorStreamCheckRequestedData is the payload of MonitorStreamCheckRequested.
type MonitorStreamCheckRequestedData struct {
	StreamID int64 `json:"stream_id"`
	// Due is the check's scheduled time: a redelivery of the same request
	// checks again, which adds no clue twice.
	Due string `json:"due" jsonschema:"format=date-time"`
}

func monitorTypes() []Type {
	return []Type{
		{MonitorStreamCheckRequested, "直播或短视频到期待检查（按监测间隔）", "monitor", "直播流编号", MonitorStreamCheckRequestedData{}, "monitor.stream.check.requested.v1.json"},
	}
}
