package events

import "time"

// Notify domain event types.
const (
	// NotifyNoticeRequested asks the message centre (notify) to deliver a
	// notice (FP-128, FP-129). Any function emits it through
	// shared/notify.Post, in the transaction of the change that caused it;
	// notify stores the notice once per event id and pushes it to the open
	// consoles it targets.
	NotifyNoticeRequested = Prefix + "notify.notice.requested.v1"
)

// NoticeTarget names who receives a notice. A user receives it when any
// listed user id, department id or role code matches the claims of the
// user's access token; All reaches everyone.
type NoticeTarget struct {
	All     bool     `json:"all,omitempty"`
	UserIDs []string `json:"user_ids,omitempty"`
	DeptIDs []string `json:"dept_ids,omitempty" jsonschema:"description=departments; users of sub-departments are not included"`
	Roles   []string `json:"roles,omitempty" jsonschema:"description=role codes such as secadmin or auditor"`
}

// NoticeRequestedData is the payload of NotifyNoticeRequested (and of the
// deprecated IdentityNoticeRequested).
type NoticeRequestedData struct {
	Title  string       `json:"title" jsonschema:"minLength=1,maxLength=200"`
	Body   string       `json:"body,omitempty" jsonschema:"maxLength=4000"`
	Level  string       `json:"level" jsonschema:"enum=info,enum=warning,enum=alert"`
	Kind   string       `json:"kind,omitempty" jsonschema:"description=producer-defined category: security_alert or task or announcement"`
	Link   string       `json:"link,omitempty" jsonschema:"description=console path to open: a relative path such as /console/#/security/alerts or an address on notify's allow-list"`
	Popup  bool         `json:"popup,omitempty" jsonschema:"description=show in the side pop-up after login until read"`
	Target NoticeTarget `json:"target"`
	// WarningLevel makes the notice a warning (预警信息, FP-129) on the
	// warning board instead of the message centre: red, orange, yellow or
	// blue (红/橙/黄/蓝 预警). Absent in every event recorded before it
	// existed, which stay notices.
	WarningLevel string `json:"warning_level,omitempty" jsonschema:"enum=red,enum=orange,enum=yellow,enum=blue,description=set for a warning (预警信息): red or orange or yellow or blue; absent for a notice"`
	// WarningKind is the warning's category as readers filter it, e.g.
	// 食品安全 or 特种设备 (optional, only with WarningLevel).
	WarningKind string `json:"warning_kind,omitempty" jsonschema:"maxLength=50,description=the warning's category for readers such as 食品安全 (only with warning_level)"`
	// Producer is the function that asked, e.g. identity or audit.
	Producer    string    `json:"producer"`
	RequestedAt time.Time `json:"requested_at"`
}

// notifyTypes lists the notify domain's event types for the catalogue.
func notifyTypes() []Type {
	return []Type{
		{NotifyNoticeRequested, "请求向用户、部门、角色或全体发送站内消息；带 warning_level 时为预警信息（红/橙/黄/蓝），进入预警信息看板", "any function (shared/notify)", "通知 id（可空）", NoticeRequestedData{}, "notify.notice.requested.v1.json"},
	}
}
