package identity

import (
	"net/http"

	"github.com/sjzamr/smartreg/shared/httpx"
)

// Handlers of departments (FP-1).

func (f *Function) handlePublicDepartments(r *http.Request) (any, error) {
	return f.publicDepartments(r.Context())
}

func (f *Function) handleDepartments(r *http.Request) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	return f.Departments(r.Context(), a, r.URL.Query().Get("tree") == "1")
}

func (f *Function) handleCreateDept(r *http.Request, in DeptInput) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	d, err := f.CreateDepartment(r.Context(), a, in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(d, ""), nil
}

func (f *Function) handleUpdateDept(r *http.Request) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	// Validated by the command, after it has filled the fixed fields
	// (parent, level) from the stored row.
	var in DeptInput
	type plain DeptInput
	if err := httpx.Decode(r, (*plain)(&in)); err != nil {
		return nil, err
	}
	return f.UpdateDepartment(r.Context(), a, r.PathValue("id"), in)
}

func (f *Function) handleDeleteDept(r *http.Request) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	if err := f.DeleteDepartment(r.Context(), a, r.PathValue("id")); err != nil {
		return nil, err
	}
	return httpx.NoContent(), nil
}
