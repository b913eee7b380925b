package metrology

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
)

// ResultInput is a verification result. For fuel and gas dispensers
// (FP-173) the nozzle count comes first, then one serial per nozzle, then
// a pass or fail per nozzle; the whole instrument passes only when every
// nozzle does.
type ResultInput struct {
	Result        string                `json:"result"`
	Class         string                `json:"class"`
	FailureReason string                `json:"failure_reason"`
	VerifiedOn    string                `json:"verified_on"`
	ValidUntil    string                `json:"valid_until"`
	Verifier      string                `json:"verifier"`
	Checker       string                `json:"checker"`
	Approver      string                `json:"approver"`
	Basis         string                `json:"basis"`
	Environment   events.Environment    `json:"environment"`
	Data          []events.DataRow      `json:"data"`
	NozzleCount   int                   `json:"nozzle_count"`
	Nozzles       []events.NozzleResult `json:"nozzles"`
}

// Validate checks what needs no lookup: JJF 1069 asks for three different
// people to verify, check and approve.
func (in *ResultInput) Validate() error {
	for _, p := range []*string{&in.Class, &in.FailureReason, &in.VerifiedOn, &in.ValidUntil, &in.Verifier, &in.Checker, &in.Approver,
		&in.Basis, &in.Environment.Temperature, &in.Environment.Humidity, &in.Environment.Place, &in.Environment.Other} {
		*p = strings.TrimSpace(*p)
	}
	var fe []errs.FieldError
	add := func(field, msg string) { fe = append(fe, errs.FieldError{Field: field, Message: msg}) }
	if in.Result != "pass" && in.Result != "fail" {
		add("result", "检定结论应为 pass（合格）或 fail（不合格）")
	}
	if in.Result == "fail" && utf8.RuneCountInString(in.FailureReason) < 2 {
		add("failure_reason", "不合格时请填写不合格项目或原因")
	}
	for field, name := range map[string]string{"verifier": in.Verifier, "checker": in.Checker, "approver": in.Approver} {
		if n := utf8.RuneCountInString(name); n < 2 || n > 20 {
			add(field, map[string]string{"verifier": "请填写检定员", "checker": "请填写核验员", "approver": "请填写批准人"}[field])
		}
	}
	if in.Verifier != "" && (in.Verifier == in.Checker || in.Verifier == in.Approver) {
		add("checker", "检定员、核验员、批准人应为不同人员")
	}
	if _, err := time.Parse(time.DateOnly, in.VerifiedOn); err != nil {
		add("verified_on", "请填写检定日期（YYYY-MM-DD）")
	}
	if in.ValidUntil != "" && !isDate(in.ValidUntil) {
		add("valid_until", "有效期至格式应为 YYYY-MM-DD")
	}
	if in.ValidUntil != "" && in.ValidUntil <= in.VerifiedOn {
		add("valid_until", "有效期至应晚于检定日期")
	}
	if in.Environment.Temperature == "" || in.Environment.Humidity == "" {
		add("environment", "请填写检定时的环境温度和相对湿度")
	}
	if len(in.Data) > 100 {
		add("data", "检定数据最多 100 行")
	}
	for i := range in.Data {
		d := &in.Data[i]
		d.Name, d.Value = strings.TrimSpace(d.Name), strings.TrimSpace(d.Value)
		if d.Name == "" || d.Value == "" {
			add("data", fmt.Sprintf("第 %d 行检定数据需填写项目和数值", i+1))
			break
		}
	}
	if in.Data == nil {
		in.Data = []events.DataRow{}
	}
	return errs.Fields(fe)
}

// checkNozzles applies FP-173 to a dispenser's result, and refuses
// nozzles on anything else.
func (in *ResultInput) checkNozzles(perNozzle bool) error {
	if !perNozzle {
		if in.NozzleCount != 0 || len(in.Nozzles) > 0 {
			return errs.Fields([]errs.FieldError{{Field: "nozzles", Message: "只有加油机、加气机按枪填写检定结果"}})
		}
		in.Nozzles = []events.NozzleResult{}
		return nil
	}
	if in.NozzleCount < 1 || in.NozzleCount > maxNozzles {
		return errs.Fields([]errs.FieldError{{Field: "nozzle_count", Message: "请先填写枪数（1 至 16）"}})
	}
	if len(in.Nozzles) != in.NozzleCount {
		return errs.Fields([]errs.FieldError{{Field: "nozzles", Message: fmt.Sprintf("枪数为 %d，应逐枪填写 %d 个枪编号和检定结果", in.NozzleCount, in.NozzleCount)}})
	}
	failed := false
	for i := range in.Nozzles {
		n := &in.Nozzles[i]
		n.Serial, n.Error, n.Note = strings.TrimSpace(n.Serial), strings.TrimSpace(n.Error), strings.TrimSpace(n.Note)
		if n.Serial == "" || slices.ContainsFunc(in.Nozzles[:i], func(o events.NozzleResult) bool { return o.Serial == n.Serial }) {
			return errs.Fields([]errs.FieldError{{Field: "nozzles", Message: fmt.Sprintf("第 %d 枪的枪编号为空或重复", i+1)}})
		}
		if n.Result != "pass" && n.Result != "fail" {
			return errs.Fields([]errs.FieldError{{Field: "nozzles", Message: fmt.Sprintf("请填写第 %d 枪（%s）的检定结果：合格或不合格", i+1, n.Serial)}})
		}
		failed = failed || n.Result == "fail"
	}
	if failed && in.Result == "pass" {
		return errs.Fields([]errs.FieldError{{Field: "result", Message: "有枪检定不合格，整机检定结论应为不合格"}})
	}
	return nil
}

// Verification is a recorded verification: the certificate's content
// (as in the verification.completed event) and where it came from.
type Verification struct {
	ID                int64                            `json:"id"`
	ApplicationItemID int64                            `json:"application_item_id"`
	ApplicationID     int64                            `json:"application_id"`
	Certificate       events.VerificationCompletedData `json:"certificate"`
	CreatedAt         time.Time                        `json:"created_at"`

	district, township string
}

// RecordResult records an accepted instrument's verification and emits
// verification.completed with the certificate's content. The
// institution's standards for the instrument's category are drawn
// automatically; an expired one blocks the certificate (FP-174).
func (f *Function) RecordResult(ctx context.Context, v viewer, itemID int64, in ResultInput) (Verification, error) {
	verified, _ := time.Parse(time.DateOnly, in.VerifiedOn)
	if verified.After(f.today()) {
		return Verification{}, errs.Fields([]errs.FieldError{{Field: "verified_on", Message: "检定日期不能晚于今天"}})
	}
	var out Verification
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		appID, err := itemApplication(ctx, tx, itemID)
		if err != nil {
			return err
		}
		a, err := f.loadApplication(ctx, tx, v, appID, true)
		if err != nil {
			return err
		}
		if !v.actsFor(a.InstitutionID) {
			return errs.ErrNotFound
		}
		it, ok := itemOf(a, itemID)
		if !ok || it.Status != "accepted" {
			return errs.New(errs.Conflict, "该器具未受理或已检定，不能录入检定结果")
		}
		if err := in.checkNozzles(it.PerNozzle); err != nil {
			return err
		}
		inst, err := getInstrument(ctx, tx, f.today(), it.InstrumentID, true)
		if err != nil {
			return err
		}
		cat, _ := f.cat.Category(inst.CategoryCode)
		stds, err := drawStandards(ctx, tx, a.InstitutionID, inst.CategoryCode, verified)
		if err != nil {
			return err
		}
		institution, err := getInstitution(ctx, tx, a.InstitutionID, false)
		if err != nil {
			return err
		}
		ent, err := getEnterprise(ctx, tx, f.today(), a.CreditCode, false)
		if err != nil {
			return err
		}
		validUntil := in.ValidUntil
		if in.Result == "pass" && validUntil == "" && cat.CycleMonths > 0 {
			validUntil = verified.AddDate(0, cat.CycleMonths, -1).Format(time.DateOnly)
		}
		if in.Result == "fail" {
			validUntil = ""
		}
		certNo, err := nextCertificateNo(ctx, tx, a.InstitutionID, verified.Year())
		if err != nil {
			return err
		}
		d := events.VerificationCompletedData{CertificateNo: certNo, Result: in.Result, Class: in.Class, FailureReason: in.FailureReason,
			Conclusion: conclusion(in), Institution: institution.event(),
			Client: events.Client{CreditCode: ent.CreditCode, Name: ent.Name, Address: ent.Address, DistrictCode: ent.DistrictCode, TownshipCode: ent.TownshipCode},
			Instrument: events.VerifiedInstrument{ID: inst.ID, Name: inst.Name, Model: inst.Model, SerialNo: inst.SerialNo, Manufacturer: inst.Manufacturer,
				ItemCode: inst.ItemCode, ItemName: inst.ItemName, CategoryCode: inst.CategoryCode, CategoryName: inst.CategoryName,
				Range: inst.Range, Accuracy: inst.Accuracy},
			Verifier: in.Verifier, Checker: in.Checker, Approver: in.Approver, VerifiedOn: in.VerifiedOn, ValidUntil: validUntil,
			Standards: stds, Environment: in.Environment, Data: in.Data, Nozzles: in.Nozzles, Basis: in.Basis, CompletedAt: f.now()}
		if d.Basis == "" {
			d.Basis = "《" + cat.Name + "》检定规程"
		}
		id, err := insertVerification(ctx, tx, itemID, a, d, f.now())
		if err != nil {
			return err
		}
		d.VerificationID = id
		if err := savePayload(ctx, tx, id, d); err != nil {
			return err
		}
		if err := applyResult(ctx, tx, inst, d, f.now()); err != nil {
			return err
		}
		if err := logChange(ctx, tx, inst.ID, "verified", inst.Status, afterResult(inst.Status, in.Result), v.username, f.now()); err != nil {
			return err
		}
		if err := refreshApplicationStatus(ctx, tx, appID, f.now()); err != nil {
			return err
		}
		ev, err := f.newEvent(events.MetrologyVerificationCompleted, itoa(id), d)
		if err != nil {
			return err
		}
		if err := outbox.Record(ctx, tx, ev); err != nil {
			return err
		}
		out = Verification{ID: id, ApplicationItemID: itemID, ApplicationID: appID, Certificate: d, CreatedAt: f.now()}
		return f.audit(ctx, tx, v, "metrology.verification.record", "verification", itoa(id), a.DistrictCode, a.townshipCode, nil, d)
	})
	return out, err
}

func conclusion(in ResultInput) string {
	if in.Result == "pass" {
		if in.Class != "" {
			return "合格（" + in.Class + "）"
		}
		return "合格"
	}
	return "不合格"
}

// afterResult is the status an instrument takes: a failed instrument in
// use must stop (不合格的强检器具不得使用).
func afterResult(status, result string) string {
	if result == "fail" && status == "in_use" {
		return "stopped"
	}
	return status
}

// GetVerification reads one verification the caller sees.
func (f *Function) GetVerification(ctx context.Context, v viewer, id int64) (Verification, error) {
	out, err := getVerification(ctx, f.pool, id)
	if err != nil {
		return Verification{}, err
	}
	if v.kind == kindInstitution && out.Certificate.Institution.ID != v.ref {
		return Verification{}, errs.ErrNotFound
	}
	return out, f.mustSee(ctx, f.pool, v, out.Certificate.Client.CreditCode, out.district, out.township)
}
