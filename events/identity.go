package events

// Identity domain event types.
const (
	// IdentityNoticeRequested is the notice request of the time when the
	// message centre lived in identity. Producers now emit
	// NotifyNoticeRequested (the same payload); notify still accepts this
	// type so that events recorded before the upgrade, still waiting in an
	// outbox or the Broker, are delivered.
	//
	// Deprecated: emit NotifyNoticeRequested.
	IdentityNoticeRequested = Prefix + "identity.notice.requested.v1"
)

// IdentityNoticeRequestedData is the payload of IdentityNoticeRequested.
//
// Deprecated: use NoticeRequestedData, which it is.
type IdentityNoticeRequestedData = NoticeRequestedData

// identityTypes lists the identity domain's event types for the catalogue.
func identityTypes() []Type {
	return []Type{
		{IdentityNoticeRequested, "（已停用，仍被接收）升级前记录的站内消息请求，载荷同 notify.notice.requested", "any function (before the notify split)", "通知 id（可空）", NoticeRequestedData{}, "identity.notice.requested.v1.json"},
	}
}
