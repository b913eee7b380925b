package identity

import (
	"net/http"

	"github.com/sjzamr/smartreg/shared/httpx"
)

func (f *Function) handleContacts(r *http.Request) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	return f.Contacts(r.Context(), a, r.URL.Query().Get("q"), r.URL.Query().Get("dept_id"))
}

func (f *Function) handleContactPhone(r *http.Request) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	phone, err := f.ContactPhone(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return map[string]string{"phone": phone}, nil
}

func (f *Function) handleFavourite(r *http.Request) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	if err := f.SetFavourite(r.Context(), a, r.PathValue("id"), r.Method == http.MethodPut); err != nil {
		return nil, err
	}
	return httpx.NoContent(), nil
}

func (f *Function) handleSaveGroup(r *http.Request, in GroupInput) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	g, err := f.SaveGroup(r.Context(), a, r.PathValue("id"), in)
	if err != nil {
		return nil, err
	}
	if r.PathValue("id") == "" {
		return httpx.Created(g, ""), nil
	}
	return g, nil
}

func (f *Function) handleDeleteGroup(r *http.Request) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	if err := f.DeleteGroup(r.Context(), a, r.PathValue("id")); err != nil {
		return nil, err
	}
	return httpx.NoContent(), nil
}
