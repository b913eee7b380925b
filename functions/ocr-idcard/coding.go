package ocridcard

// FP-51–53: photo coding. A photo of a business licence is read (credit
// code with GB 32100 repair, name); the reading is matched against the
// registry through its published read functions (exact code, else fuzzy
// name within the district), within the caller's data scope. The console
// then shows the entity's code from qr-generate's API or issues one there
// (POST /qr/v1/batches): this function never writes another's data.

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/sjzamr/smartreg/functions/ocr-idcard/recognize"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
)

// LicenceReading is what a licence photo says, and whether a person must
// look before it is used.
type LicenceReading struct {
	CreditCode recognize.Field `json:"credit_code"`
	Name       recognize.Field `json:"name"`
	// District is the registering district in the code (positions 3–8),
	// the fuzzy match's area even when the check character failed.
	District string `json:"district,omitempty"`
	// Uncertain asks for the correction step: the code failed its check,
	// was repaired, or the name was read with low confidence.
	Uncertain bool `json:"uncertain"`
}

// nameConfidence (0–1) below which the name is shown for correction.
const nameConfidence = 0.8

func (f *Function) readLicence(r *http.Request) (any, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, f.maxUpload()+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, errs.New(errs.Invalid, "请以 multipart/form-data 上传营业执照照片（photo）")
	}
	var raw []byte
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, errs.New(errs.Invalid, "上传内容不完整或超过大小限制")
		}
		if p.FormName() != "photo" {
			p.Close()
			return nil, errs.Fields([]errs.FieldError{{Field: p.FormName(), Message: "未知的上传字段，只接受 photo"}})
		}
		raw, err = io.ReadAll(io.LimitReader(p, f.maxUpload()+1))
		p.Close()
		if err != nil {
			return nil, errs.New(errs.Invalid, "上传内容不完整或超过大小限制")
		}
		if int64(len(raw)) > f.maxUpload() {
			return nil, errs.Fields([]errs.FieldError{{Field: "photo", Message: "照片超过大小限制"}})
		}
	}
	if raw == nil {
		return nil, errs.Fields([]errs.FieldError{{Field: "photo", Message: "请上传营业执照照片"}})
	}
	in, err := f.decodeSide(raw, "photo")
	if err != nil {
		return nil, err
	}
	l, err := f.engines.ReadLicence(r.Context(), in.img)
	if errors.Is(err, recognize.ErrNoCard) {
		return nil, errs.Fields([]errs.FieldError{{Field: "photo", Message: "照片中未找到营业执照，请将执照完整拍入画面后重试，或手工输入统一社会信用代码与名称"}})
	}
	if err != nil {
		return nil, sideError(err, "photo")
	}
	out := LicenceReading{CreditCode: l.CreditCode, Name: l.Name}
	if len(l.CreditCode.Value) == 18 {
		out.District = l.CreditCode.Value[2:8]
	}
	out.Uncertain = l.CreditCode.Flagged || l.CreditCode.Repaired || l.Name.Flagged || l.Name.Value == "" ||
		l.Name.Confidence < nameConfidence
	return out, nil
}

// Match is a registry entity a reading may name.
type Match struct {
	CreditCode string  `json:"credit_code"`
	Name       string  `json:"name"`
	EntityType string  `json:"entity_type"`
	LegalRep   string  `json:"legal_rep"`
	Address    string  `json:"address"`
	District   string  `json:"district_code"`
	Township   string  `json:"township_code"`
	Status     string  `json:"status"`
	Similarity float32 `json:"similarity"`
}

// Matches answers a reading's registry match: by the exact code when it
// is a valid one on the register (within the scope), else the fuzzy
// candidates by name within the district.
type Matches struct {
	By         string  `json:"by"` // credit_code, name, none
	Candidates []Match `json:"candidates"`
}

func (f *Function) codingMatches(r *http.Request) (any, error) {
	q := r.URL.Query()
	code := strings.ToUpper(strings.TrimSpace(q.Get("credit_code")))
	name := strings.TrimSpace(q.Get("name"))
	district := strings.TrimSpace(q.Get("district"))
	if code == "" && name == "" {
		return nil, errs.Fields([]errs.FieldError{{Field: "name", Message: "请提供统一社会信用代码或名称"}})
	}
	if district != "" {
		if err := codes.CheckDistrict(district); err != nil {
			return nil, errs.Fields([]errs.FieldError{{Field: "district", Message: "区县代码无效"}})
		}
	}
	if len([]rune(name)) > 100 {
		return nil, errs.Fields([]errs.FieldError{{Field: "name", Message: "名称过长"}})
	}
	p, _ := auth.FromContext(r.Context())
	if code != "" && codes.CheckCreditCode(code) == nil {
		m, ok, err := entityByCode(r.Context(), f.pool, code, p.Scope)
		if err != nil {
			return nil, err
		}
		if ok {
			return Matches{By: "credit_code", Candidates: []Match{m}}, nil
		}
	}
	if name == "" {
		return Matches{By: "none", Candidates: []Match{}}, nil
	}
	ms, err := entitiesByName(r.Context(), f.pool, name, district, p.Scope, 10)
	if err != nil {
		return nil, err
	}
	by := "name"
	if len(ms) == 0 {
		by = "none"
	}
	return Matches{By: by, Candidates: ms}, nil
}
