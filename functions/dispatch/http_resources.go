package dispatch

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// ResourceInput adds or changes a resource on the map (FP-143).
type ResourceInput struct {
	Kind     string   `json:"kind"`
	Name     string   `json:"name"`
	Code     string   `json:"code"`
	Status   string   `json:"status"`
	Phone    string   `json:"phone"`
	Note     string   `json:"note"`
	Lat      *float64 `json:"lat"`
	Lng      *float64 `json:"lng"`
	District string   `json:"district"`
	Township string   `json:"township"`
}

var resourceStatuses = map[string]bool{"online": true, "offline": true, "busy": true}

func (in *ResourceInput) check() error {
	in.Name, in.Code, in.Phone = strings.TrimSpace(in.Name), strings.TrimSpace(in.Code), strings.TrimSpace(in.Phone)
	if in.Status == "" {
		in.Status = "online"
	}
	switch {
	case ResourceKinds[in.Kind] == "":
		return fieldErr("kind", "资源类型只能是监管所（station）、监控摄像头（camera）、执法设备（device）或执法车辆（vehicle）")
	case in.Name == "" || utf8.RuneCountInString(in.Name) > 100:
		return fieldErr("name", "请填写资源名称（不超过 100 字）")
	case utf8.RuneCountInString(in.Code) > 64:
		return fieldErr("code", "资源编号不超过 64 个字符")
	case !resourceStatuses[in.Status]:
		return fieldErr("status", "状态只能是在线（online）、离线（offline）或忙碌（busy）")
	case utf8.RuneCountInString(in.Phone) > 32 || strings.IndexFunc(in.Phone, func(r rune) bool { return !strings.ContainsRune("0123456789-+ ", r) }) >= 0:
		return fieldErr("phone", "联系电话只能包含数字、空格、+ 和 -")
	case utf8.RuneCountInString(in.Note) > 500:
		return fieldErr("note", "备注不超过 500 字")
	}
	if in.District != "" {
		if err := codes.Divisions().CheckDistrict(in.District); err != nil {
			return err
		}
		if in.Township != "" {
			if err := codes.Divisions().CheckTownship(in.District, in.Township); err != nil {
				return err
			}
		}
	}
	return checkPoint(in.Lat, in.Lng)
}

func (f *Function) listResources(r *http.Request) (any, error) {
	sel, err := f.parseSelection(r)
	if err != nil {
		return nil, err
	}
	var kinds []string
	for _, k := range r.URL.Query()["kind"] {
		for _, k := range strings.Split(k, ",") {
			if ResourceKinds[k] == "" {
				return nil, fieldErr("kind", "未知的资源类型："+k)
			}
			kinds = append(kinds, k)
		}
	}
	return f.Resources(r.Context(), principal(r).Scope, kinds, sel)
}

func (f *Function) createResource(r *http.Request, in ResourceInput) (any, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	res, err := f.SaveResource(r.Context(), auditlog.ActorOf(r), principal(r).Scope, "", in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(res, ""), nil
}

func (f *Function) updateResource(r *http.Request, in ResourceInput) (any, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	return f.SaveResource(r.Context(), auditlog.ActorOf(r), principal(r).Scope, r.PathValue("id"), in)
}

func (f *Function) deleteResource(r *http.Request) (any, error) {
	if err := f.DeleteResource(r.Context(), auditlog.ActorOf(r), principal(r).Scope, r.PathValue("id")); err != nil {
		return nil, err
	}
	return httpx.NoContent(), nil
}
