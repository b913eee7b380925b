package entitygraph

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// portraitPDF answers the portrait of one entity (FP-125). The rendering
// is recorded in the operation log: a portrait carries a person's name
// and records a regulator chose not to publish.
func (f *Function) portraitPDF(w http.ResponseWriter, r *http.Request) {
	code := codeOf(r)
	p, err := f.Portrait(r.Context(), scopeOf(r), code)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	if pr, ok := auth.FromContext(r.Context()); ok {
		p.GeneratedBy = pr.Username
		if pr.Name != "" {
			p.GeneratedBy = pr.Name
		}
	}
	pdf, err := renderPortrait(p)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	if err := store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		return auditlog.RecordBy(r.Context(), tx, Source, auditlog.ActorOf(r), auditlog.Operation{At: f.now(),
			Action: "entity.portrait.render", ObjectType: "entity", ObjectID: code, DistrictCode: p.Entity.DistrictCode, TownshipCode: p.Entity.TownshipCode,
			After: map[string]any{"bytes": len(pdf), "risks": len(p.Risks), "grade": p.Grade.Grade}})
	}); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	name := fmt.Sprintf("企业数字画像_%s_%s.pdf", p.Entity.Name, p.GeneratedAt.In(time.FixedZone("CST", 8*3600)).Format("20060102"))
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Length", strconv.Itoa(len(pdf)))
	w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(pdf)
}
