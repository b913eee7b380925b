package events

import "time"

// Identity domain event types.
const (
	// IdentityNoticeRequested asks the identity message centre to deliver a
	// notice. Any function emits it (through shared/notify.Post, in its own
	// transaction); identity stores the notice and pushes it to open consoles.
	IdentityNoticeRequested = Prefix + "identity.notice.requested.v1"
)

// NoticeTarget names who receives a notice. A user receives it when any
// listed user id, department id or role code matches; All reaches everyone.
type NoticeTarget struct {
	All     bool     `json:"all,omitempty"`
	UserIDs []string `json:"user_ids,omitempty"`
	DeptIDs []string `json:"dept_ids,omitempty" jsonschema:"description=departments; users of sub-departments are not included"`
	Roles   []string `json:"roles,omitempty" jsonschema:"description=role codes such as secadmin or auditor"`
}

// IdentityNoticeRequestedData is the payload of IdentityNoticeRequested.
type IdentityNoticeRequestedData struct {
	Title  string       `json:"title" jsonschema:"minLength=1,maxLength=200"`
	Body   string       `json:"body,omitempty" jsonschema:"maxLength=4000"`
	Level  string       `json:"level" jsonschema:"enum=info,enum=warning,enum=alert"`
	Kind   string       `json:"kind,omitempty" jsonschema:"description=producer-defined category, e.g. security_alert or task"`
	Link   string       `json:"link,omitempty" jsonschema:"description=console path to open, e.g. /console/identity/alerts"`
	Popup  bool         `json:"popup,omitempty" jsonschema:"description=show in the side pop-up after login until read"`
	Target NoticeTarget `json:"target"`
	// Producer is the function that asked, e.g. identity or registry.
	Producer    string    `json:"producer"`
	RequestedAt time.Time `json:"requested_at"`
}

// identityTypes lists the identity domain's event types for the catalogue.
func identityTypes() []Type {
	return []Type{
		{IdentityNoticeRequested, "请求向用户、部门或角色发送站内消息", "any function (shared/notify)", "通知 id（可空）", IdentityNoticeRequestedData{}, "identity.notice.requested.v1.json"},
	}
}
