package identity

import (
	"net/http"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// Handlers of users and registrations (FP-1, FP-2).

func (f *Function) handleRegister(r *http.Request, in RegistrationInput) (any, error) {
	if err := f.Register(r.Context(), in, httpx.ClientIP(r)); err != nil {
		return nil, err
	}
	return httpx.Accepted(messageAnswer{MsgRegistrationAccepted}), nil
}

func (f *Function) handleRegistrations(r *http.Request) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	sort, err := httpx.ParseSort(r.URL.Query().Get("sort"), httpx.Sort{Field: "created_at", Desc: true}, "created_at")
	if err != nil {
		return nil, err
	}
	return f.Registrations(r.Context(), a, RegistrationFilter{Status: r.URL.Query().Get("status"), Q: r.URL.Query().Get("q"), Sort: sort}, page)
}

type approveInput struct {
	RoleIDs []string `json:"role_ids"`
}

type reasonInput struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func (f *Function) handleApprove(r *http.Request, in approveInput) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	return f.Approve(r.Context(), a, r.PathValue("id"), in.RoleIDs)
}

func (f *Function) handleReject(r *http.Request, in reasonInput) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	return f.Reject(r.Context(), a, r.PathValue("id"), in.Reason)
}

func (f *Function) handleRequestInfo(r *http.Request, in reasonInput) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	return f.RequestInfo(r.Context(), a, r.PathValue("id"), in.Message)
}

func (f *Function) handleUsers(r *http.Request) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	flt := UserFilter{Q: q.Get("q"), DeptID: q.Get("dept_id"), Status: q.Get("status"), RoleID: q.Get("role_id"), Sort: q.Get("sort")}
	if flt.Status != "" && flt.Status != "active" && flt.Status != "frozen" {
		return nil, errs.Fields([]errs.FieldError{{Field: "status", Message: "状态应为 active 或 frozen"}})
	}
	return f.Users(r.Context(), a, flt, page)
}

func (f *Function) handleCreateUser(r *http.Request, in UserInput) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	c, err := f.CreateUser(r.Context(), a, in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(c, "/identity/v1/users/"+c.User.ID), nil
}

func (f *Function) handleUser(r *http.Request) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	return f.User(r.Context(), a, r.PathValue("id"))
}

func (f *Function) handleUpdateUser(r *http.Request, in UserInput) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	return f.UpdateUser(r.Context(), a, r.PathValue("id"), in)
}

func (f *Function) handleFreeze(r *http.Request, in reasonInput) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	return f.Freeze(r.Context(), a, r.PathValue("id"), in.Reason)
}

func (f *Function) handleUnfreeze(r *http.Request) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	return f.Unfreeze(r.Context(), a, r.PathValue("id"))
}
