package ocridcard

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/codes"
)

// FP-8: recognising a card and correcting its confirmation leave
// operation-log rows naming the person, the recognition and the corrected
// field before and after, with the ID number masked throughout.
func TestOpLogRecognizeAndConfirm(t *testing.T) {
	h := newHarness(t)
	s := card()
	got, _ := h.recognize(t, s)
	conf := Confirmation{Name: s.Person.Name, Sex: s.Person.Sex, Birth: s.Person.Birth.Format("2006-01-02"), Address: "河北省石家庄市长安区旧址 1 号", IDNumber: s.Person.IDNumber}
	for _, addr := range []string{conf.Address, "河北省石家庄市长安区新址 2 号"} {
		conf.Address = addr
		b, _ := json.Marshal(conf)
		if rec := h.do(t, h.all(), httptest.NewRequest("PUT", "/ocr/v1/idcards/"+got.ID+"/confirmation", bytes.NewReader(b))); rec.Code != 200 {
			t.Fatalf("confirm: %d %s", rec.Code, rec.Body)
		}
	}
	ops := auditlogtest.Ops(t, h.pool, got.ID)
	if len(ops) != 3 {
		t.Fatalf("want recognize and two confirms; got %+v", ops)
	}
	c, e := ops[0], ops[2]
	masked := codes.MaskIDNumber(s.Person.IDNumber)
	if c.Action != "ocr.idcard.recognize" || c.ObjectType != "ocr.recognition" || c.UserID != "city-user" || c.Before != nil ||
		auditlogtest.Field(c.After, "id_number") != masked {
		t.Errorf("recognize: %+v %s", c, c.After)
	}
	if e.Action != "ocr.idcard.confirm" || e.ObjectID != got.ID || e.UserID != "city-user" ||
		auditlogtest.Field(e.Before, "address") != "河北省石家庄市长安区旧址 1 号" || auditlogtest.Field(e.After, "address") != "河北省石家庄市长安区新址 2 号" ||
		auditlogtest.Field(e.After, "id_number") != masked {
		t.Errorf("confirm: %+v %s %s", e, e.Before, e.After)
	}
	for _, o := range ops {
		if strings.Contains(string(o.Before)+string(o.After), s.Person.IDNumber) {
			t.Errorf("%s: the ID number is not masked: %s %s", o.Action, o.Before, o.After)
		}
	}
}
