package dispatch

import (
	"context"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/notify"
	"github.com/sjzamr/smartreg/shared/store"
)

// UpdateInput is one message on an event's timeline (FP-159): a field
// report from the phone (应急速报, kind "report") or an instruction from the
// centre (指令下达, kind "instruction"), which is also a notice to its
// recipients — by default everyone holding a task of the event.
type UpdateInput struct {
	Kind        string   `json:"kind"`
	Text        string   `json:"text"`
	Attachments []string `json:"attachments"`
	Recipients  []string `json:"recipients"`
}

// EventUpdate is what an update became: its step, and whom an
// instruction went to.
type EventUpdate struct {
	Step       Step     `json:"step"`
	Recipients []string `json:"recipients"`
}

func (in *UpdateInput) check() error {
	in.Text = strings.TrimSpace(in.Text)
	switch {
	case in.Kind != "report" && in.Kind != "instruction":
		return fieldErr("kind", "类型只能是现场速报（report）或指令（instruction）")
	case in.Text == "" || utf8.RuneCountInString(in.Text) > 1000:
		return fieldErr("text", "请填写内容（不超过 1000 字）")
	case len(in.Recipients) > 200:
		return fieldErr("recipients", "一次最多下达给 200 人")
	}
	return checkAttachments(in.Attachments)
}

var updateActions = map[string]string{"report": "field_report", "instruction": "instruction"}

// AddEventUpdate puts a report or an instruction on an open event inside
// the caller's scope; the centre's feed shows it at once, and an
// instruction reaches its recipients' message centre in the same
// transaction.
func (f *Function) AddEventUpdate(ctx context.Context, p *auth.Principal, id string, in UpdateInput) (EventUpdate, error) {
	var out EventUpdate
	now := f.now()
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		e, err := scopedEvent(ctx, tx, p.Scope, id)
		if err != nil {
			return err
		}
		if e.Status == "closed" {
			return errs.New(errs.Conflict, "事件已关闭，不能再添加速报或指令")
		}
		att := in.Attachments
		if att == nil {
			att = []string{}
		}
		out.Recipients = []string{}
		if in.Kind == "instruction" {
			if out.Recipients = dedupe(in.Recipients); len(out.Recipients) == 0 {
				rows, err := tx.Query(ctx, `SELECT DISTINCT assignee FROM dispatch.tasks WHERE event_id = $1 ORDER BY assignee`, e.ID)
				if err != nil {
					return err
				}
				if out.Recipients, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
					return err
				}
			}
			if len(out.Recipients) == 0 {
				return fieldErr("recipients", "该事件还没有派发任务，请选择指令的接收人")
			}
			if err := notify.Post(ctx, tx, Source, notify.Notice{Title: "指挥中心指令：" + e.Title, Body: in.Text, Level: notify.LevelWarning,
				Kind: "dispatch_instruction", Link: "/console/#/mobile/inspector", Popup: true, UserIDs: out.Recipients, Subject: e.ID, At: now}); err != nil {
				return err
			}
		}
		detail := map[string]any{"text": in.Text, "attachments": att, "by_name": p.Name, "recipients": out.Recipients}
		if err := step(ctx, tx, e.ID, p.UserID, updateActions[in.Kind], detail, now); err != nil {
			return err
		}
		out.Step = Step{At: now, Actor: p.UserID, Action: updateActions[in.Kind]}
		if out.Step.Detail, err = json.Marshal(detail); err != nil {
			return err
		}
		return addFeed(ctx, tx, "event_update", e.District, e.Township,
			map[string]any{"event_id": e.ID, "title": e.Title, "kind": in.Kind, "text": in.Text, "by_name": p.Name}, now)
	})
	return out, store.Classify(err)
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
