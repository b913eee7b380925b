package comms

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/tests/sim/telecom"
)

var noticePerms = []string{PermNotice + ":send", PermNotice + ":view", PermConsult + ":view"}

func (h harness) notice(t *testing.T, channel string, nodes ...Node) Notice {
	t.Helper()
	ev := h.event(t, "130102")
	rec := h.do(t, h.iss.Bearer(person("centre-1", "调度员甲", noticePerms...)), "POST", "/comms/v1/notices",
		NoticeInput{EventID: ev, Channel: channel, Title: "紧急通知", Body: "请立即赶赴现场处置", Nodes: nodes})
	if rec.Code != http.StatusCreated {
		t.Fatalf("send %s: %d %s", channel, rec.Code, rec.Body)
	}
	return decode[Notice](t, rec.Body.Bytes())
}

var (
	inspector = Node{Kind: "member", ID: "insp-1", Name: "检查员乙", Phone: "13800000001"}
	station   = Node{Kind: "contact", ID: "c-7", Name: "长安所", Phone: "13800000002", Fax: "0311-85550001"}
)

// FP-152: a one-key call goes through the telephony gateway, its TTS
// prompt is kept as the call's recording (WAV), and the log says sent.
func TestOneKeyCall(t *testing.T) {
	h := newHarness(t)
	n := h.notice(t, "call", inspector, station)
	if len(n.Deliveries) != 2 || n.Deliveries[0].State != "sent" || n.Deliveries[0].Channel != "call" ||
		!strings.HasPrefix(n.Deliveries[0].ProviderID, "call-") || n.Deliveries[0].Address != "138****0001" {
		t.Fatalf("deliveries %+v", n.Deliveries)
	}
	if calls := h.telecom.Calls(); len(calls) != 2 || calls[0].To != "13800000001" || !strings.Contains(calls[0].Text, "请立即赶赴现场处置") {
		t.Fatalf("the gateway placed %+v", calls)
	}
	recs := decode[struct{ Items []Recording }](t, h.do(t, h.iss.Bearer(person("centre-1", "调度员甲", noticePerms...)),
		"GET", "/comms/v1/events/"+n.EventID+"/recordings", nil).Body.Bytes())
	if len(recs.Items) != 1 || recs.Items[0].Kind != "call" || recs.Items[0].ContentType != "audio/wav" || recs.Items[0].Status != "stored" ||
		recs.Items[0].DurationMS < 1000 || *recs.Items[0].NoticeID != n.ID {
		t.Fatalf("the call's recording %+v", recs.Items)
	}
	if len(h.sms.Messages()) != 0 {
		t.Errorf("SMS sent while the call went through: %+v", h.sms.Messages())
	}
}

// FP-152: the telephony gateway down (its listener closed) leads to the
// SMS fallback, and the log says so.
func TestCallFallsBackToSMSWhenTelephonyIsDown(t *testing.T) {
	h := newHarness(t)
	h.tel.Close()
	n := h.notice(t, "call", inspector)
	if len(n.Deliveries) != 2 {
		t.Fatalf("deliveries %+v", n.Deliveries)
	}
	call, text := n.Deliveries[0], n.Deliveries[1]
	if call.Channel != "call" || call.State != "fallback" || call.Error != "语音呼叫网关不可用" {
		t.Errorf("the call's row %+v", call)
	}
	if text.Channel != "sms" || text.State != "sent" || text.FallbackOf == nil || *text.FallbackOf != call.ID || text.Address != "138****0001" {
		t.Errorf("the fallback's row %+v", text)
	}
	m, ok := h.sms.Last("13800000001")
	if !ok || m.Template != tplNotice || m.Params["text"] != "请立即赶赴现场处置" || m.SignName == "" {
		t.Fatalf("the fallback SMS %+v", m)
	}
	// The log is what the console shows later, not only the reply.
	again := decode[Notice](t, h.do(t, h.iss.Bearer(person("centre-1", "调度员甲", noticePerms...)), "GET", "/comms/v1/notices/"+n.ID, nil).Body.Bytes())
	if len(again.Deliveries) != 2 || again.Deliveries[0].State != "fallback" || again.Deliveries[1].State != "sent" {
		t.Errorf("the stored log %+v", again.Deliveries)
	}
}

// FP-152: the fax gateway down leads to an SMS with a link to the notice;
// a node with no fax number goes the same way.
func TestFaxFallsBackToSMSWithALink(t *testing.T) {
	h := newHarness(t)
	n := h.notice(t, "fax", station)
	if d := n.Deliveries; len(d) != 1 || d[0].State != "sent" || d[0].Channel != "fax" || d[0].Address != "031****0001" {
		t.Fatalf("fax up: %+v", d)
	}
	if f := h.telecom.Faxes(); len(f) != 1 || f[0].Subject != "紧急通知" {
		t.Fatalf("the gateway's faxes %+v", f)
	}
	h.telecom.SetDown(telecom.Fax, true)
	n = h.notice(t, "fax", station, inspector)
	if d := n.Deliveries; len(d) != 4 || d[0].State != "fallback" || d[0].Error != "传真网关不可用" || d[1].Channel != "sms" ||
		d[1].State != "sent" || *d[1].FallbackOf != d[0].ID || d[2].State != "fallback" || d[2].Error != "未登记传真号码" || d[3].State != "sent" {
		t.Fatalf("fax down: %+v", d)
	}
	m, ok := h.sms.Last("13800000002")
	if !ok || m.Template != tplFaxLink || !strings.HasSuffix(m.Params["link"], "/console/#/comms/notify?notice="+n.ID) {
		t.Fatalf("the fallback SMS %+v", m)
	}
}

// The TTS service down does not stop a call (the gateway speaks the text);
// the notice says no recording was kept.
func TestCallWithTTSDown(t *testing.T) {
	h := newHarness(t)
	h.telecom.SetDown(telecom.TTS, true)
	n := h.notice(t, "call", inspector)
	if n.Deliveries[0].State != "sent" || !strings.Contains(n.Note, "语音合成服务不可用") {
		t.Fatalf("notice %+v", n)
	}
	if h.telecom.Syntheses() != 0 || len(h.telecom.Calls()) != 1 {
		t.Errorf("syntheses %d, calls %d", h.telecom.Syntheses(), len(h.telecom.Calls()))
	}
}

// A failing SMS gateway is logged as failed; a call whose fallback fails
// too ends failed with both rows in the log.
func TestSMSGatewayFailures(t *testing.T) {
	h := newHarness(t)
	h.sms.FailNext("SYSTEM_ERROR", 1)
	n := h.notice(t, "sms", inspector)
	if d := n.Deliveries; len(d) != 1 || d[0].State != "failed" || d[0].Error != "短信发送失败，请稍后重试" {
		t.Fatalf("sms failed: %+v", d)
	}
	h.telecom.SetDown(telecom.Telephony, true)
	h.sms.FailNext("HTTP_500", 1)
	n = h.notice(t, "call", inspector)
	if d := n.Deliveries; len(d) != 2 || d[0].State != "fallback" || d[1].State != "failed" || d[1].Channel != "sms" {
		t.Fatalf("call and fallback failed: %+v", d)
	}
	h.telecom.SetDown(telecom.Telephony, false)
	h.telecom.FailNext(telecom.Telephony, "SYSTEM_ERROR", 1)
	n = h.notice(t, "call", inspector)
	if d := n.Deliveries; len(d) != 2 || d[0].State != "fallback" || d[1].State != "sent" {
		t.Fatalf("gateway error then SMS: %+v", d)
	}
}

func TestNoticeValidation(t *testing.T) {
	h := newHarness(t)
	ev := h.event(t, "130102")
	bearer := h.iss.Bearer(person("centre-1", "调度员甲", noticePerms...))
	for name, c := range map[string]struct {
		in   NoticeInput
		code int
		msg  string
	}{
		"channel-400":  {NoticeInput{EventID: ev, Channel: "pager", Body: "x", Nodes: []Node{inspector}}, 400, "发送方式只能是"},
		"body-400":     {NoticeInput{EventID: ev, Channel: "sms", Body: " ", Nodes: []Node{inspector}}, 400, "请输入通知内容"},
		"nodes-400":    {NoticeInput{EventID: ev, Channel: "sms", Body: "x"}, 400, "请选择接收的节点"},
		"phone-400":    {NoticeInput{EventID: ev, Channel: "call", Body: "x", Nodes: []Node{{Kind: "contact", Name: "甲", Phone: "12345"}}}, 400, "电话号码格式不正确"},
		"landline-sms": {NoticeInput{EventID: ev, Channel: "sms", Body: "x", Nodes: []Node{{Kind: "contact", Name: "乙", Phone: "0311-85550002"}}}, 400, "没有可接收短信的手机号码"},
		"kind-400":     {NoticeInput{EventID: ev, Channel: "sms", Body: "x", Nodes: []Node{{Kind: "boss", Name: "丙", Phone: "13800000003"}}}, 400, "节点类型"},
		"event-404":    {NoticeInput{EventID: h.event(t, "130104"), Channel: "sms", Body: "x", Nodes: []Node{inspector}}, 404, "事件不存在"},
	} {
		rec := h.do(t, bearer, "POST", "/comms/v1/notices", c.in)
		if rec.Code != c.code || !strings.Contains(rec.Body.String(), c.msg) {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	if rec := h.do(t, h.iss.Bearer(person("insp-1", "检查员", PermConsult+":join")), "POST", "/comms/v1/notices",
		NoticeInput{EventID: ev, Channel: "sms", Body: "x", Nodes: []Node{inspector}}); rec.Code != http.StatusForbidden {
		t.Errorf("send without the permission: %d", rec.Code)
	}
	if len(h.sms.Messages())+len(h.telecom.Calls()) != 0 {
		t.Error("a refused notice was sent")
	}
}
