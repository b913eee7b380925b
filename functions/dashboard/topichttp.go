package dashboard

import (
	"net/http"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// topicRoutes registers the topic boards (FP-118, FP-119, FP-120); every
// number is counted in the caller's data scope.
func (f *Function) topicRoutes(m *httpx.Mux) {
	// FP-118: 许可备案专版 — licences per category and county, issues per year.
	m.Handle("GET /dashboard/v1/topics/licences", httpx.Endpoint(f.licenceBoard), auth.Requires(PermKPI, "view"), httpx.NoEntity(),
		httpx.Params("category", "district"))
	// FP-118: the licence detail list and the entities holding them, and their export.
	m.Handle("GET /dashboard/v1/topics/licences/items", httpx.Endpoint(f.licenceItems), auth.Requires(PermKPI, "view"),
		httpx.EntityListing(), httpx.Params(append([]string{"category", "status", "q", "district"}, httpx.PageParams...)...))
	m.Handle("GET /dashboard/v1/topics/licences/entities", httpx.Endpoint(f.licenceHolders), auth.Requires(PermKPI, "view"),
		httpx.EntityListing(), httpx.Params(append([]string{"category", "status", "q", "district"}, httpx.PageParams...)...))
	m.Handle("GET /dashboard/v1/topics/licences/export", http.HandlerFunc(f.licenceExport), auth.Requires(PermKPI, "export"),
		httpx.EntityListing(), httpx.Params("what", "format", "category", "status", "q", "district"))
	// FP-119: 行政处罚专版 — cases per county, the five-year trend, case types and fines.
	m.Handle("GET /dashboard/v1/topics/penalties", httpx.Endpoint(f.penaltyBoard), auth.Requires(PermKPI, "view"), httpx.NoEntity(),
		httpx.Params("case_type", "from", "to", "district"))
	// FP-120: 网络监管专题 — online presences by form, county and platform, and their list.
	m.Handle("GET /dashboard/v1/topics/online", httpx.Endpoint(f.onlineBoard), auth.Requires(PermKPI, "view"), httpx.NoEntity(),
		httpx.Params("form", "q", "district"))
	m.Handle("GET /dashboard/v1/topics/online/items", httpx.Endpoint(f.onlineItems), auth.Requires(PermKPI, "view"),
		httpx.EntityListing(), httpx.Params(append([]string{"form", "q", "district"}, httpx.PageParams...)...))
}
