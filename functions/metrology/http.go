package metrology

import (
	_ "embed"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the function's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/metrology/v1/openapi.yaml", openapi }

// The permission resources, listed in shared/auth's catalogue.
const (
	PermEnterprise   = "metrology.enterprise"
	PermInstrument   = "metrology.instrument"
	PermInstitution  = "metrology.institution"
	PermStandard     = "metrology.standard"
	PermApplication  = "metrology.application"
	PermVerification = "metrology.verification"
	PermReview       = "metrology.review"
	PermInspection   = "metrology.inspection"
	PermAlarm        = "metrology.alarm"
	PermPenalty      = "metrology.penalty"
	PermStats        = "metrology.stats"
)

var page = httpx.PageParams

func params(names ...string) httpx.Option { return httpx.Params(append(names, page...)...) }

// Handler serves the API behind token verification. Every route declares
// who may call it and which entity data it touches; the handlers confine
// reads and writes to the caller's data scope and party (viewer.go).
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	// FP-177: registration hints, before anyone has an account.
	m.Handle("GET /metrology/v1/registration-hints", httpx.Endpoint(f.hints), httpx.Public()) // FP-177 partly: identity's own registration form and username rule (a leading letter) are unchanged
	m.Handle("GET /metrology/v1/catalogue", httpx.Endpoint(f.catalogue), auth.SignedIn(), httpx.NoEntity())
	m.Handle("POST /metrology/v1/visits", httpx.Body(f.visit), auth.SignedIn(), httpx.NoEntity()) // FP-179
	// Instrument users (FP-178: the county's view is the scoped list).
	m.Handle("GET /metrology/v1/enterprises", httpx.Endpoint(f.listEnterprises), auth.Requires(PermEnterprise, "view"), httpx.EntityListing(), // FP-178
		params("q", "district", "overdue"))
	m.Handle("POST /metrology/v1/enterprises", httpx.Body(f.createEnterprise), auth.Requires(PermEnterprise, "create"), httpx.EntityInBody("credit_code")) // FP-177
	m.Handle("GET /metrology/v1/enterprises/{code}", httpx.Endpoint(f.getEnterprise), auth.Requires(PermEnterprise, "view"), httpx.EntityIn("code"))
	m.Handle("PUT /metrology/v1/enterprises/{code}", httpx.Endpoint(f.updateEnterprise), auth.Requires(PermEnterprise, "edit"), httpx.EntityIn("code"))
	m.Handle("GET /metrology/v1/enterprises/{code}/locations", httpx.Endpoint(f.locations), auth.Requires(PermInstrument, "view"), httpx.EntityIn("code")) // FP-170
	m.Handle("POST /metrology/v1/enterprises/{code}/locations", httpx.Body(f.addLocation), auth.Requires(PermInstrument, "edit"), httpx.EntityIn("code"))  // FP-170
	m.Handle("GET /metrology/v1/registry/{code}", httpx.Endpoint(f.lookupRegistry), auth.Requires(PermEnterprise, "create"), httpx.EntityIn("code"))
	// Instruments; FP-170 status, FP-176 instrument → enterprise.
	m.Handle("GET /metrology/v1/instruments", httpx.Endpoint(f.listInstruments), auth.Requires(PermInstrument, "view"), httpx.EntityListing(), // FP-178
		params("q", "code", "district", "status", "category", "item", "overdue", "sort"))
	m.Handle("POST /metrology/v1/instruments", httpx.Body(f.createInstrument), auth.Requires(PermInstrument, "create"), httpx.EntityInBody("credit_code"))
	m.Handle("GET /metrology/v1/instruments/{instrument}", httpx.Endpoint(f.getInstrument), auth.Requires(PermInstrument, "view"), httpx.EntityIn("instrument"))
	m.Handle("PUT /metrology/v1/instruments/{instrument}", httpx.Body(f.updateInstrument), auth.Requires(PermInstrument, "edit"), httpx.EntityIn("instrument"))
	m.Handle("POST /metrology/v1/instruments/{instrument}/status", httpx.Body(f.changeStatus), auth.Requires(PermInstrument, "edit"), httpx.EntityIn("instrument")) // FP-170
	m.Handle("GET /metrology/v1/instruments/{instrument}/enterprise", httpx.Endpoint(f.owner), auth.Requires(PermInstrument, "view"), httpx.EntityIn("instrument")) // FP-176
	// Institutions and their standards (FP-174).
	m.Handle("GET /metrology/v1/institutions", httpx.Endpoint(f.listInstitutions), auth.Requires(PermInstitution, "view"), httpx.NoEntity())
	m.Handle("POST /metrology/v1/institutions", httpx.Body(f.createInstitution), auth.Requires(PermInstitution, "create"), httpx.NoEntity())
	m.Handle("PUT /metrology/v1/institutions/{institution}", httpx.Endpoint(f.updateInstitution), auth.Requires(PermInstitution, "edit"), httpx.NoEntity())      // FP-175
	m.Handle("GET /metrology/v1/standards", httpx.Endpoint(f.listStandards), auth.Requires(PermStandard, "view"), httpx.NoEntity(), httpx.Params("institution")) // FP-174
	m.Handle("POST /metrology/v1/standards", httpx.Body(f.createStandard), auth.Requires(PermStandard, "edit"), httpx.NoEntity())                                // FP-174
	m.Handle("PUT /metrology/v1/standards/{standard}", httpx.Body(f.updateStandard), auth.Requires(PermStandard, "edit"), httpx.NoEntity())                      // FP-174
	// Applications: accept, partial or full return, county review (FP-169).
	m.Handle("GET /metrology/v1/applications", httpx.Endpoint(f.listApplications), auth.Requires(PermApplication, "view"), httpx.EntityListing(),
		params("status", "code", "institution"))
	m.Handle("POST /metrology/v1/applications", httpx.Body(f.apply), auth.Requires(PermApplication, "create"), httpx.EntityInBody("credit_code")) // FP-169, 172
	m.Handle("GET /metrology/v1/applications/{application}", httpx.Endpoint(f.getApplication), auth.Requires(PermApplication, "view"),
		httpx.EntityIn("application"))
	m.Handle("POST /metrology/v1/applications/{application}/approval", httpx.Body(f.approve), auth.Requires(PermReview, "approve"), // FP-172
		httpx.EntityIn("application"))
	m.Handle("POST /metrology/v1/applications/{application}/decision", httpx.Body(f.decide), auth.Requires(PermVerification, "create"), // FP-169
		httpx.EntityIn("application"))
	m.Handle("GET /metrology/v1/returns", httpx.Endpoint(f.listReturns), auth.Requires(PermApplication, "view"), httpx.EntityListing(), params("review")) // FP-169
	m.Handle("POST /metrology/v1/returns/{item}/review", httpx.Body(f.review), auth.Requires(PermReview, "approve"), httpx.EntityIn("item"))              // FP-169
	// Results, per nozzle for dispensers (FP-173).
	m.Handle("POST /metrology/v1/items/{item}/result", httpx.Body(f.recordResult), auth.Requires(PermVerification, "create"), httpx.EntityIn("item")) // FP-167, 173, 174
	m.Handle("GET /metrology/v1/verifications", httpx.Endpoint(f.listVerifications), auth.Requires(PermVerification, "view"), httpx.EntityListing(),
		params("code", "result", "instrument"))
	m.Handle("GET /metrology/v1/verifications/{verification}", httpx.Endpoint(f.getVerification), auth.Requires(PermVerification, "view"),
		httpx.EntityIn("verification"))
	// Inspections (FP-168).
	m.Handle("GET /metrology/v1/plans", httpx.Endpoint(f.listPlans), auth.Requires(PermInspection, "view"), httpx.EntityListing(), params())            // FP-168
	m.Handle("POST /metrology/v1/plans", httpx.Body(f.createPlan), auth.Requires(PermInspection, "create"), httpx.EntityInBody("credit_codes"))         // FP-168
	m.Handle("GET /metrology/v1/plans/{plan}", httpx.Endpoint(f.getPlan), auth.Requires(PermInspection, "view"), httpx.EntityIn("plan"))                // FP-168
	m.Handle("POST /metrology/v1/photos", httpx.Endpoint(f.uploadPhoto), auth.Requires(PermInspection, "create"), httpx.NoEntity())                     // FP-168
	m.Handle("POST /metrology/v1/field-records", httpx.Body(f.recordField), auth.Requires(PermInspection, "create"), httpx.EntityInBody("credit_code")) // FP-168
	m.Handle("GET /metrology/v1/field-records", httpx.Endpoint(f.listFieldRecords), auth.Requires(PermInspection, "view"), httpx.EntityListing(),       // FP-168
		params("code", "plan"))
	m.HandleFunc("GET /metrology/v1/field-records/{record}/photos/{n}", f.photo, auth.Requires(PermInspection, "view"), httpx.EntityIn("record"))
	// Overdue alarms (FP-172) and penalty records (FP-171).
	m.Handle("GET /metrology/v1/alarms", httpx.Endpoint(f.listAlarms), auth.Requires(PermAlarm, "view"), httpx.EntityListing(), // FP-172
		params("code", "year", "state"))
	m.Handle("GET /metrology/v1/alarms/stats", httpx.Endpoint(f.alarmStats), auth.Requires(PermAlarm, "view"), httpx.EntityListing(), // FP-172
		httpx.Params("year", "sort"))
	m.Handle("POST /metrology/v1/alarms/open", httpx.Body(f.openAlarms), auth.Requires(PermAlarm, "edit"), httpx.EntityInBody("credit_code"))           // FP-172
	m.Handle("GET /metrology/v1/penalties", httpx.Endpoint(f.listPenalties), auth.Requires(PermPenalty, "view"), httpx.EntityListing(), params("code")) // FP-171
	m.Handle("POST /metrology/v1/penalties", httpx.Body(f.recordPenalty), auth.Requires(PermPenalty, "create"), httpx.EntityInBody("credit_code"))      // FP-171
	// FP-179 statistics; FP-180 the enterprise's mobile query page.
	m.Handle("GET /metrology/v1/stats", httpx.Endpoint(f.stats), auth.Requires(PermStats, "view"), httpx.NoEntity(), httpx.Params("weeks")) // FP-179
	m.Handle("GET /metrology/v1/mine", httpx.Endpoint(f.mine), auth.SignedIn(), httpx.EntityListing())                                      // FP-180
	return m
}

func (f *Function) hints(*http.Request) (any, error) { return RegistrationHints(), nil }

func (f *Function) catalogue(*http.Request) (any, error) { return f.cat.Items, nil }

// VisitInput names the page visited.
type VisitInput struct {
	Page string `json:"page"`
}

func (f *Function) visit(r *http.Request, in VisitInput) (any, error) {
	return f.with(r, func(v viewer) (any, error) {
		if err := f.Visit(r.Context(), v, strings.TrimSpace(in.Page)); err != nil {
			return nil, err
		}
		return httpx.NoContent(), nil
	})
}

func codeOf(r *http.Request) string { return strings.ToUpper(strings.TrimSpace(r.PathValue("code"))) }

// idOf reads a numeric path parameter; a malformed id names nothing, so
// it is not found.
func idOf(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.ErrNotFound
	}
	return id, nil
}

func queryInt(r *http.Request, name string) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errs.Fields([]errs.FieldError{{Field: name, Message: "应为正整数"}})
	}
	return n, nil
}

func queryBool(r *http.Request, name string) (bool, error) {
	switch r.URL.Query().Get(name) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, errs.Fields([]errs.FieldError{{Field: name, Message: "应为 true 或 false"}})
}

// call resolves the viewer and runs fn with it.
func (f *Function) with(r *http.Request, fn func(v viewer) (any, error)) (any, error) {
	v, err := f.viewerOf(r)
	if err != nil {
		return nil, err
	}
	return fn(v)
}

func (f *Function) listEnterprises(r *http.Request) (any, error) {
	p, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	overdue, err := queryBool(r, "overdue")
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	return f.with(r, func(v viewer) (any, error) {
		items, total, err := listEnterprises(r.Context(), f.pool, f.today(), v, EnterpriseFilter{Q: strings.TrimSpace(q.Get("q")),
			District: q.Get("district"), Overdue: overdue}, p)
		return httpx.NewPage(items, total, p), err
	})
}

func (f *Function) createEnterprise(r *http.Request, in EnterpriseInput) (any, error) {
	return f.with(r, func(v viewer) (any, error) {
		e, err := f.CreateEnterprise(r.Context(), v, in)
		if err != nil {
			return nil, err
		}
		return httpx.Created(e, "/metrology/v1/enterprises/"+e.CreditCode), nil
	})
}

func (f *Function) getEnterprise(r *http.Request) (any, error) {
	return f.with(r, func(v viewer) (any, error) { return f.GetEnterprise(r.Context(), v, codeOf(r)) })
}

// updateEnterprise validates after the path's credit code is in the
// input (the body need not repeat it).
func (f *Function) updateEnterprise(r *http.Request) (any, error) {
	var in EnterpriseInput
	if err := httpx.Decode(r, (*rawEnterprise)(&in)); err != nil {
		return nil, err
	}
	in.CreditCode = codeOf(r)
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return f.with(r, func(v viewer) (any, error) { return f.UpdateEnterprise(r.Context(), v, in.CreditCode, in) })
}

// rawEnterprise and rawInstitution decode without validating.
type (
	rawEnterprise  EnterpriseInput
	rawInstitution InstitutionInput
)

func (f *Function) locations(r *http.Request) (any, error) {
	return f.with(r, func(v viewer) (any, error) { return f.Locations(r.Context(), v, codeOf(r)) })
}

func (f *Function) addLocation(r *http.Request, in LocationInput) (any, error) {
	return f.with(r, func(v viewer) (any, error) {
		l, err := f.AddLocation(r.Context(), v, codeOf(r), in)
		if err != nil {
			return nil, err
		}
		return httpx.Created(l, ""), nil
	})
}

func (f *Function) lookupRegistry(r *http.Request) (any, error) {
	return f.with(r, func(v viewer) (any, error) { return f.LookupRegistry(r.Context(), v, codeOf(r)) })
}

func (f *Function) listInstruments(r *http.Request) (any, error) {
	p, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	overdue, err := queryBool(r, "overdue")
	if err != nil {
		return nil, err
	}
	sort, err := httpx.ParseSort(r.URL.Query().Get("sort"), httpx.Sort{}, "valid_until", "created_at", "name", "enterprise")
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	flt := InstrumentFilter{Q: strings.TrimSpace(q.Get("q")), Code: strings.ToUpper(q.Get("code")), District: q.Get("district"),
		Status: q.Get("status"), Category: q.Get("category"), Item: q.Get("item"), Overdue: overdue, Sort: sort}
	if _, ok := statusNames[flt.Status]; flt.Status != "" && !ok {
		return nil, errs.Fields([]errs.FieldError{{Field: "status", Message: "状态不正确"}})
	}
	return f.with(r, func(v viewer) (any, error) {
		items, total, err := listInstruments(r.Context(), f.pool, f.today(), v, flt, p)
		return httpx.NewPage(items, total, p), err
	})
}

func (f *Function) createInstrument(r *http.Request, in InstrumentInput) (any, error) {
	return f.with(r, func(v viewer) (any, error) {
		out, err := f.CreateInstrument(r.Context(), v, in)
		if err != nil {
			return nil, err
		}
		return httpx.Created(out, "/metrology/v1/instruments/"+itoa(out.ID)), nil
	})
}

// InstrumentDetail is an instrument with its history.
type InstrumentDetail struct {
	Instrument Instrument `json:"instrument"`
	Changes    []Change   `json:"changes"`
}

func (f *Function) getInstrument(r *http.Request) (any, error) {
	id, err := idOf(r, "instrument")
	if err != nil {
		return nil, err
	}
	return f.with(r, func(v viewer) (any, error) {
		in, err := f.GetInstrument(r.Context(), v, id)
		if err != nil {
			return nil, err
		}
		ch, err := instrumentChanges(r.Context(), f.pool, id)
		return InstrumentDetail{Instrument: in, Changes: ch}, err
	})
}

func (f *Function) updateInstrument(r *http.Request, in InstrumentInput) (any, error) {
	id, err := idOf(r, "instrument")
	if err != nil {
		return nil, err
	}
	return f.with(r, func(v viewer) (any, error) { return f.UpdateInstrument(r.Context(), v, id, in) })
}

func (f *Function) changeStatus(r *http.Request, in StatusInput) (any, error) {
	id, err := idOf(r, "instrument")
	if err != nil {
		return nil, err
	}
	return f.with(r, func(v viewer) (any, error) { return f.ChangeStatus(r.Context(), v, id, in) })
}

func (f *Function) owner(r *http.Request) (any, error) {
	id, err := idOf(r, "instrument")
	if err != nil {
		return nil, err
	}
	return f.with(r, func(v viewer) (any, error) { return f.Owner(r.Context(), v, id) })
}

func (f *Function) listInstitutions(r *http.Request) (any, error) {
	return listInstitutions(r.Context(), f.pool)
}

func (f *Function) createInstitution(r *http.Request, in InstitutionInput) (any, error) {
	return f.with(r, func(v viewer) (any, error) {
		out, err := f.CreateInstitution(r.Context(), v, in)
		if err != nil {
			return nil, err
		}
		return httpx.Created(out, ""), nil
	})
}

func (f *Function) updateInstitution(r *http.Request) (any, error) {
	var in InstitutionInput
	if err := httpx.Decode(r, (*rawInstitution)(&in)); err != nil {
		return nil, err
	}
	in.ID = strings.ToUpper(r.PathValue("institution"))
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return f.with(r, func(v viewer) (any, error) { return f.UpdateInstitution(r.Context(), v, in.ID, in) })
}

func (f *Function) listStandards(r *http.Request) (any, error) {
	return f.with(r, func(v viewer) (any, error) {
		inst := strings.ToUpper(r.URL.Query().Get("institution"))
		if v.kind == kindInstitution {
			inst = v.ref
			if inst == "" {
				return []Standard{}, nil
			}
		}
		return f.queryStandards(r.Context(), f.pool, inst)
	})
}

func (f *Function) createStandard(r *http.Request, in StandardInput) (any, error) {
	return f.with(r, func(v viewer) (any, error) {
		out, err := f.SaveStandard(r.Context(), v, 0, in)
		if err != nil {
			return nil, err
		}
		return httpx.Created(out, ""), nil
	})
}

func (f *Function) updateStandard(r *http.Request, in StandardInput) (any, error) {
	id, err := idOf(r, "standard")
	if err != nil {
		return nil, err
	}
	return f.with(r, func(v viewer) (any, error) { return f.SaveStandard(r.Context(), v, id, in) })
}

func (f *Function) listApplications(r *http.Request) (any, error) {
	p, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	flt := ApplicationFilter{Status: q.Get("status"), Code: strings.ToUpper(q.Get("code")), Institution: strings.ToUpper(q.Get("institution"))}
	if _, ok := applicationStatusNames[flt.Status]; flt.Status != "" && !ok {
		return nil, errs.Fields([]errs.FieldError{{Field: "status", Message: "申请状态不正确"}})
	}
	return f.with(r, func(v viewer) (any, error) {
		items, total, err := listApplications(r.Context(), f.pool, f.today(), v, flt, p)
		return httpx.NewPage(items, total, p), err
	})
}

func (f *Function) apply(r *http.Request, in ApplicationInput) (any, error) {
	return f.with(r, func(v viewer) (any, error) {
		out, err := f.Apply(r.Context(), v, in)
		if err != nil {
			return nil, err
		}
		return httpx.Created(out, "/metrology/v1/applications/"+itoa(out.ID)), nil
	})
}

func (f *Function) getApplication(r *http.Request) (any, error) {
	id, err := idOf(r, "application")
	if err != nil {
		return nil, err
	}
	return f.with(r, func(v viewer) (any, error) { return f.GetApplication(r.Context(), v, id) })
}

func (f *Function) approve(r *http.Request, in ApprovalInput) (any, error) {
	id, err := idOf(r, "application")
	if err != nil {
		return nil, err
	}
	return f.with(r, func(v viewer) (any, error) { return f.Approve(r.Context(), v, id, in) })
}

func (f *Function) decide(r *http.Request, in DecisionInput) (any, error) {
	id, err := idOf(r, "application")
	if err != nil {
		return nil, err
	}
	return f.with(r, func(v viewer) (any, error) { return f.Decide(r.Context(), v, id, in) })
}

func (f *Function) listReturns(r *http.Request) (any, error) {
	p, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	review := r.URL.Query().Get("review")
	if _, ok := reviewNames[review]; !ok {
		return nil, errs.Fields([]errs.FieldError{{Field: "review", Message: "复核状态应为 pending、upheld 或 overturned"}})
	}
	return f.with(r, func(v viewer) (any, error) {
		items, total, err := listReturns(r.Context(), f.pool, f.today(), v, review, p)
		return httpx.NewPage(items, total, p), err
	})
}

func (f *Function) review(r *http.Request, in ReviewInput) (any, error) {
	id, err := idOf(r, "item")
	if err != nil {
		return nil, err
	}
	return f.with(r, func(v viewer) (any, error) { return f.Review(r.Context(), v, id, in) })
}

func (f *Function) recordResult(r *http.Request, in ResultInput) (any, error) {
	id, err := idOf(r, "item")
	if err != nil {
		return nil, err
	}
	return f.with(r, func(v viewer) (any, error) {
		out, err := f.RecordResult(r.Context(), v, id, in)
		if err != nil {
			return nil, err
		}
		return httpx.Created(out, "/metrology/v1/verifications/"+itoa(out.ID)), nil
	})
}

func (f *Function) listVerifications(r *http.Request) (any, error) {
	p, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	inst, err := queryInt(r, "instrument")
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	flt := VerificationFilter{Code: strings.ToUpper(q.Get("code")), Result: q.Get("result"), Instrument: inst}
	return f.with(r, func(v viewer) (any, error) {
		items, total, err := listVerifications(r.Context(), f.pool, v, flt, p)
		return httpx.NewPage(items, total, p), err
	})
}

func (f *Function) getVerification(r *http.Request) (any, error) {
	id, err := idOf(r, "verification")
	if err != nil {
		return nil, err
	}
	return f.with(r, func(v viewer) (any, error) { return f.GetVerification(r.Context(), v, id) })
}

func (f *Function) listPlans(r *http.Request) (any, error) {
	p, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	return f.with(r, func(v viewer) (any, error) {
		items, total, err := listPlans(r.Context(), f.pool, v, p)
		return httpx.NewPage(items, total, p), err
	})
}

func (f *Function) createPlan(r *http.Request, in PlanInput) (any, error) {
	return f.with(r, func(v viewer) (any, error) {
		out, err := f.CreatePlan(r.Context(), v, in)
		if err != nil {
			return nil, err
		}
		return httpx.Created(out, "/metrology/v1/plans/"+itoa(out.ID)), nil
	})
}

func (f *Function) getPlan(r *http.Request) (any, error) {
	id, err := idOf(r, "plan")
	if err != nil {
		return nil, err
	}
	return f.with(r, func(v viewer) (any, error) { return f.GetPlan(r.Context(), v, id) })
}

// PhotoKey is an uploaded photo's key, to send with the field record.
type PhotoKey struct {
	Key string `json:"key"`
}

// uploadPhoto takes the image as the raw body (image/jpeg or image/png),
// as a phone's camera upload sends it.
func (f *Function) uploadPhoto(r *http.Request) (any, error) {
	return f.with(r, func(v viewer) (any, error) {
		key, err := f.UploadPhoto(r.Context(), v, http.MaxBytesReader(nil, r.Body, int64(f.cfg.MaxPhotoBytes)+1), r.Header.Get("Content-Type"))
		if err != nil {
			return nil, err
		}
		return httpx.Created(PhotoKey{Key: key}, ""), nil
	})
}

func (f *Function) recordField(r *http.Request, in FieldRecordInput) (any, error) {
	return f.with(r, func(v viewer) (any, error) {
		out, err := f.RecordField(r.Context(), v, in)
		if err != nil {
			return nil, err
		}
		return httpx.Created(out, ""), nil
	})
}

func (f *Function) listFieldRecords(r *http.Request) (any, error) {
	p, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	plan, err := queryInt(r, "plan")
	if err != nil {
		return nil, err
	}
	return f.with(r, func(v viewer) (any, error) {
		items, total, err := listFieldRecords(r.Context(), f.pool, v, strings.ToUpper(r.URL.Query().Get("code")), plan, p)
		return httpx.NewPage(items, total, p), err
	})
}

func (f *Function) photo(w http.ResponseWriter, r *http.Request) {
	id, err := idOf(r, "record")
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	n, _ := strconv.Atoi(r.PathValue("n"))
	v, err := f.viewerOf(r)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	rc, ct, err := f.Photo(r.Context(), v, id, n)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = io.Copy(w, rc)
}

func (f *Function) yearOf(r *http.Request) (int, error) {
	s := r.URL.Query().Get("year")
	if s == "" {
		return f.today().Year(), nil
	}
	y, err := strconv.Atoi(s)
	if err != nil || y < 2000 || y > 2100 {
		return 0, errs.Fields([]errs.FieldError{{Field: "year", Message: "年度不正确"}})
	}
	return y, nil
}

func (f *Function) listAlarms(r *http.Request) (any, error) {
	p, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	year := 0
	if q.Get("year") != "" {
		if year, err = f.yearOf(r); err != nil {
			return nil, err
		}
	}
	state := q.Get("state")
	if state != "" && state != "unread" && state != "read" {
		return nil, errs.Fields([]errs.FieldError{{Field: "state", Message: "state 应为 unread 或 read"}})
	}
	return f.with(r, func(v viewer) (any, error) {
		items, total, err := listAlarms(r.Context(), f.pool, v, AlarmFilter{Code: strings.ToUpper(q.Get("code")), Year: year, State: state}, p)
		return httpx.NewPage(items, total, p), err
	})
}

func (f *Function) alarmStats(r *http.Request) (any, error) {
	year, err := f.yearOf(r)
	if err != nil {
		return nil, err
	}
	sort, err := httpx.ParseSort(r.URL.Query().Get("sort"), httpx.Sort{Field: "total"}, alarmSorts...)
	if err != nil {
		return nil, err
	}
	return f.with(r, func(v viewer) (any, error) { return f.AlarmStatistics(r.Context(), v, year, sort) })
}

func (f *Function) openAlarms(r *http.Request, in OpenInput) (any, error) {
	return f.with(r, func(v viewer) (any, error) { return f.OpenAlarms(r.Context(), v, in) })
}

func (f *Function) listPenalties(r *http.Request) (any, error) {
	p, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	return f.with(r, func(v viewer) (any, error) {
		items, total, err := listPenalties(r.Context(), f.pool, v, strings.ToUpper(r.URL.Query().Get("code")), p)
		return httpx.NewPage(items, total, p), err
	})
}

func (f *Function) recordPenalty(r *http.Request, in PenaltyInput) (any, error) {
	return f.with(r, func(v viewer) (any, error) {
		out, err := f.RecordPenalty(r.Context(), v, in)
		if err != nil {
			return nil, err
		}
		return httpx.Created(out, ""), nil
	})
}

func (f *Function) stats(r *http.Request) (any, error) {
	weeks, err := queryInt(r, "weeks")
	if err != nil || weeks > 52 {
		return nil, errs.Fields([]errs.FieldError{{Field: "weeks", Message: "周数应为 1 至 52"}})
	}
	if weeks == 0 {
		weeks = 12
	}
	return f.with(r, func(v viewer) (any, error) { return f.Statistics(r.Context(), v, int(weeks)) })
}

func (f *Function) mine(r *http.Request) (any, error) {
	return f.with(r, func(v viewer) (any, error) { return f.MineOf(r.Context(), v) })
}
