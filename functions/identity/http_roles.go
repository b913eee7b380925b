package identity

import (
	"net/http"
	"slices"
	"strings"

	"github.com/sjzamr/smartreg/shared/httpx"
)

// Handlers of roles and the permission catalogue (FP-6) and of the
// version changelog (FP-10).

// handleRoles answers every role, narrowed by q (code or name contains)
// and sorted by code or name when asked.
func (f *Function) handleRoles(r *http.Request) (any, error) {
	if _, err := httpx.ParsePage(r); err != nil {
		return nil, err
	}
	q := r.URL.Query()
	sort, err := httpx.ParseSort(q.Get("sort"), httpx.Sort{}, "code", "name")
	if err != nil {
		return nil, err
	}
	roles, err := f.Roles(r.Context())
	if err != nil {
		return nil, err
	}
	if kw := strings.ToLower(strings.TrimSpace(q.Get("q"))); kw != "" {
		roles = slices.DeleteFunc(roles, func(x Role) bool {
			return !strings.Contains(strings.ToLower(x.Code), kw) && !strings.Contains(strings.ToLower(x.Name), kw)
		})
	}
	if sort.Field != "" {
		slices.SortStableFunc(roles, func(a, b Role) int {
			c := strings.Compare(a.Code, b.Code)
			if sort.Field == "name" {
				c = strings.Compare(a.Name, b.Name)
			}
			if sort.Desc {
				return -c
			}
			return c
		})
	}
	if roles == nil {
		roles = []Role{}
	}
	return roles, nil
}

func (f *Function) handleCreateRole(r *http.Request, in RoleInput) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	role, err := f.CreateRole(r.Context(), a, in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(role, ""), nil
}

func (f *Function) handleUpdateRole(r *http.Request) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	var in RoleInput
	type plain RoleInput // validated after the code is filled in
	if err := httpx.Decode(r, (*plain)(&in)); err != nil {
		return nil, err
	}
	return f.UpdateRole(r.Context(), a, r.PathValue("id"), in)
}

func (f *Function) handleDeleteRole(r *http.Request) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	if err := f.DeleteRole(r.Context(), a, r.PathValue("id")); err != nil {
		return nil, err
	}
	return httpx.NoContent(), nil
}

// Catalogue is every grantable menu and permission.
type Catalogue struct {
	Menus []Menu `json:"menus"`
	Perms []Perm `json:"perms"`
}

func (f *Function) handlePermissions(*http.Request) (any, error) {
	return Catalogue{Menus: menuCatalogue, Perms: permCatalogue}, nil
}

func (f *Function) handleChangelog(r *http.Request) (any, error) {
	if _, err := httpx.ParsePage(r); err != nil {
		return nil, err
	}
	return f.Changelog(r.Context())
}

func (f *Function) handlePublishChangelog(r *http.Request, in ChangelogInput) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	e, err := f.PublishChangelog(r.Context(), a, in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(e, ""), nil
}

func (f *Function) handleUnseen(r *http.Request) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	return f.UnseenChangelog(r.Context(), a.UserID)
}

func (f *Function) handleSeen(r *http.Request) (any, error) {
	a, err := actorFrom(r)
	if err != nil {
		return nil, err
	}
	if err := f.MarkChangelogSeen(r.Context(), a.UserID, r.PathValue("id")); err != nil {
		return nil, err
	}
	return httpx.NoContent(), nil
}
