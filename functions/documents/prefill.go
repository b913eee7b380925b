package documents

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Entity is what the registry tells documents about a market entity,
// through its published read function registry.document_prefill.
type Entity struct {
	CreditCode        string `json:"credit_code"`
	Name              string `json:"name"`
	EntityType        string `json:"entity_type"`
	LegalRep          string `json:"legal_rep"`
	EstablishedOn     string `json:"established_on"`
	RegisteredCapital string `json:"registered_capital"` // 万元
	Address           string `json:"address"`
	DistrictCode      string `json:"district_code"`
	TownshipCode      string `json:"township_code"`
	Status            string `json:"status"`
}

// RepairRecord is a record a 信用修复申请书 may ask to repair, with the
// values it fills in.
type RepairRecord struct {
	ID         int64             `json:"id"`
	Kind       string            `json:"kind"`
	KindName   string            `json:"kind_name"`
	RefNo      string            `json:"ref_no"`
	Title      string            `json:"title"`
	Authority  string            `json:"authority"`
	OccurredOn string            `json:"occurred_on"`
	Status     string            `json:"status"`
	Values     map[string]string `json:"values"`
}

// PrefillResult is a template's values filled from the registry (FP-37).
type PrefillResult struct {
	Entity     Entity            `json:"entity"`
	Values     map[string]string `json:"values"`
	Repairable []RepairRecord    `json:"repairable"`
}

// lookupEntity reads an entity from the registry, confined to the
// caller's data scope: outside it the entity does not exist.
func lookupEntity(ctx context.Context, q store.Querier, scope auth.Scope, code string) (Entity, []RepairRecord, error) {
	var e Entity
	var raw []byte
	err := q.QueryRow(ctx, `SELECT credit_code, name, entity_type, legal_rep, established_on, registered_capital, address,
			district_code, township_code, status, repairable
		FROM registry.document_prefill($1)`, code).
		Scan(&e.CreditCode, &e.Name, &e.EntityType, &e.LegalRep, &e.EstablishedOn, &e.RegisteredCapital, &e.Address,
			&e.DistrictCode, &e.TownshipCode, &e.Status, &raw)
	if err != nil {
		if errs.CodeOf(store.Classify(err)) == errs.NotFound {
			return e, nil, errs.New(errs.NotFound, "未找到该统一社会信用代码的市场主体")
		}
		return e, nil, store.Classify(err)
	}
	if !scope.Allows(e.DistrictCode, e.TownshipCode) {
		return Entity{}, nil, errs.New(errs.NotFound, "未找到该统一社会信用代码的市场主体")
	}
	var recs []RepairRecord
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &recs); err != nil {
			return e, nil, err
		}
	}
	for i := range recs {
		recs[i].KindName = repairKinds[recs[i].Kind]
	}
	return e, recs, nil
}

// checkCode normalises and checks a credit code at the edge.
func checkCode(field, s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if err := codes.CheckCreditCode(s); err != nil {
		var e *errs.Error
		msg := "统一社会信用代码无效"
		if asError(err, &e) {
			msg = e.Message
		}
		return "", errs.Fields([]errs.FieldError{{Field: field, Message: msg}})
	}
	return s, nil
}

// prefillValue is the value a registry source gives.
func prefillValue(e Entity, source string) string {
	switch source {
	case "credit_code":
		return e.CreditCode
	case "name":
		return e.Name
	case "legal_rep":
		return e.LegalRep
	case "address":
		return e.Address
	case "established_on":
		return e.EstablishedOn
	case "registered_capital":
		// The registry keeps capital in 万元; a template's amount is yuan.
		if a := parseAmount(trimZeros(e.RegisteredCapital)); a != nil {
			return a.Mul(a, bigTenThousand).FloatString(2)
		}
	}
	return ""
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if i := strings.Index(s, "."); i >= 0 && len(s)-i-1 > 2 {
		s = s[:i+3]
	}
	return s
}

// Prefill fills a template's fields from the registry by credit code
// (FP-37): the entity's own fields directly, and each repairable record as
// a set of values the console applies when the user picks it.
func (f *Function) Prefill(ctx context.Context, p *auth.Principal, code, template string) (PrefillResult, error) {
	code, err := checkCode("code", code)
	if err != nil {
		return PrefillResult{}, err
	}
	t, err := getTemplate(ctx, f.pool, template, false)
	if err != nil {
		return PrefillResult{}, errs.Fields([]errs.FieldError{{Field: "template", Message: "模板不存在"}})
	}
	e, recs, err := lookupEntity(ctx, f.pool, p.Scope, code)
	if err != nil {
		return PrefillResult{}, err
	}
	out := PrefillResult{Entity: e, Values: fillFromEntity(t.Fields, e), Repairable: []RepairRecord{}}
	for _, r := range recs {
		r.Values = map[string]string{}
		for _, fl := range t.Fields {
			var v string
			switch fl.Prefill {
			case "repairable.kind":
				v = r.KindName
			case "repairable.ref_no":
				v = r.RefNo
			case "repairable.authority":
				v = r.Authority
			case "repairable.occurred_on":
				v = r.OccurredOn
			}
			if nv, msg := checkValue(fl, v, f.now()); msg == "" && nv != "" {
				r.Values[fl.Key] = nv
			}
		}
		out.Repairable = append(out.Repairable, r)
	}
	return out, nil
}

// fillFromEntity is the values of the fields whose source is the entity
// itself, where the registry's value fits the field.
func fillFromEntity(fields []Field, e Entity) map[string]string {
	out := map[string]string{}
	for _, fl := range fields {
		if fl.Prefill == "" || strings.HasPrefix(fl.Prefill, "repairable.") {
			continue
		}
		if v, msg := checkValue(fl, prefillValue(e, fl.Prefill), timeZero); msg == "" && v != "" {
			out[fl.Key] = v
		}
	}
	return out
}
