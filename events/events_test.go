package events

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var update = flag.Bool("update", false, "rewrite schemas/*.json from the Go structs")

func TestSchemasMatchStructs(t *testing.T) {
	for _, typ := range Catalogue() {
		want, err := GenerateSchema(typ)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("schemas", typ.Schema)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run go test ./events -update)", typ.Name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go test ./events -update", path)
		}
	}
}

func sample() map[string]any {
	e := Entity{CreditCode: "91350100M000100Y43", Name: "河北恒达建材有限公司", EntityType: "enterprise",
		LegalRep: "张三", EstablishedOn: "2020-01-02", RegisteredCapital: "100.0000", Address: "长安区建设北大街1号",
		DistrictCode: "130102", TownshipCode: "130102001", IndustryCode: "5164", Status: "active", Version: 1}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return map[string]any{
		EntityRegistered:   EntityRegisteredData{Entity: e, RegisteredAt: now},
		EntityUpdated:      EntityUpdatedData{Entity: e, Changed: []string{"name"}, UpdatedAt: now},
		EntityDeregistered: EntityDeregisteredData{CreditCode: e.CreditCode, Status: "revoked", Version: 2, ChangedAt: now},
		Ping:               PingData{"task": "nightly"},
		ConnectorRecordReceived: ConnectorRecordReceivedData{Connector: "publicity", SourceKey: "publicity/penalty/CF2026-001", CreditCode: e.CreditCode,
			Kind: "penalty", RefNo: "石市监罚〔2026〕1号", Title: "行政处罚：罚款", Authority: "石家庄市市场监督管理局", OccurredOn: "2026-01-01",
			Status: "已履行", Public: true, Details: map[string]any{"amount": "5000"}, ReceivedAt: now},
		IdentityNoticeRequested: IdentityNoticeRequestedData{Title: "账号 zhang 连续登录失败", Level: "alert", Kind: "security_alert", Popup: true,
			Target: NoticeTarget{Roles: []string{"secadmin"}}, Producer: "identity", RequestedAt: now},
		NotifyNoticeRequested: NoticeRequestedData{Title: "账号 zhang 连续登录失败", Level: "alert", Kind: "security_alert", Popup: true,
			Link: "/console/#/security/alerts", Target: NoticeTarget{Roles: []string{"secadmin"}}, Producer: "audit", RequestedAt: now},
		AuditOperationRecorded: AuditOperationRecordedData{At: now, UserID: "u1", Username: "admin", IP: "10.0.0.1", Action: "user.create",
			ObjectType: "user", ObjectID: "u2", Before: nil, After: json.RawMessage(`{"username":"zhang"}`), Result: "success"},
		AuditLoginRecorded: AuditLoginRecordedData{At: now, UserID: "u1", Username: "admin", IP: "10.0.0.1", Device: "Chrome / Windows",
			Result: "failure", Reason: "密码错误"},
		AlarmRaised: AlarmRaisedData{AlarmID: "0190b6a4-1f2e-7c3d-8e4f-5a6b7c8d9e0f", Level: "紧急", Text: "现场有人阻挠执法", Lat: 38.04, Lng: 114.51,
			Accuracy: 12, RaisedBy: "u1", District: "130102", RaisedAt: now, ReceivedAt: now},
		PolicyPublished:             PolicyPublishedData{PolicyID: 7, Revision: 1, Title: "关于进一步支持小微企业和个体工商户发展有关税费政策的公告", PublishedAt: now},
		CrawlShardRequested:         CrawlShardRequestedData{JobID: 1, Shard: 3, Shards: 8, Hosts: 120},
		MonitorStreamCheckRequested: MonitorStreamCheckRequestedData{StreamID: 4, Due: "2026-12-03T10:05:00+08:00"},
		PolicyMatched: PolicyMatchedData{PolicyID: 7, Revision: 1, Title: "关于进一步支持小微企业和个体工商户发展有关税费政策的公告",
			ApplyURL: "https://etax.hebei.chinatax.gov.cn/", Reason: "publish", CreditCodes: []string{e.CreditCode}, MatchedAt: now},
		QRIssued: QRIssuedData{Token: "AbCdEfGh12345678", CreditCode: e.CreditCode, URL: "http://localhost:8080/q/AbCdEfGh12345678", IssuedAt: now},
		QRBatchIssued: QRBatchIssuedData{BatchID: "0190b6a4-1f2e-7c3d-8e4f-5a6b7c8d9e0f", BaseURL: "http://localhost:8080/q/", IssuedAt: now,
			Codes: []QRBatchMember{{Token: "AbCdEfGh12345678", CreditCode: e.CreditCode}}},
		QRInvalidated: QRInvalidatedData{Token: "AbCdEfGh12345678", CreditCode: e.CreditCode, Reason: "主体已注销", InvalidatedAt: now},
		QRReactivated: QRReactivatedData{Token: "AbCdEfGh12345678", CreditCode: e.CreditCode, ReactivatedAt: now},
		ScanInspectionRecorded: ScanInspectionRecordedData{InspectionID: "0190b6a4-1f2e-7c3d-8e4f-5a6b7c8d9e0f", CreditCode: e.CreditCode, Token: "AbCdEfGh12", Kind: "inspection",
			Title: "食品经营监督检查", Authority: "长安区市场监管局", InspectedOn: "2026-01-01", Conclusion: "合格", InspectorID: "u1", RecordedAt: now,
			Items: []InspectionItem{{Name: "证照公示", Result: "合格"}, {Name: "冷链记录", Result: "合理缺项", Reason: "不经营冷链食品"}}},
		OcrIDCardRequested: OcrIDCardRequestedData{RecognitionID: "0190b6a4-1f2e-7c3d-8e4f-5a6b7c8d9e0f", FrontKey: "ocr/2026/01/x-front.bin",
			RequestedBy: "u1", RequestedAt: now},
		OcrIDCardRecognized: OcrIDCardRecognizedData{RecognitionID: "0190b6a4-1f2e-7c3d-8e4f-5a6b7c8d9e0f", Status: "done", Flagged: []string{"name"}, RecognizedAt: now},
		MetrologyVerificationCompleted: VerificationCompletedData{VerificationID: 1, CertificateNo: "JD2026-000001", Result: "pass", Class: "合格",
			Institution: Institution{ID: "12130100MB0000000X", Name: "石家庄市计量检定测试所", Authorisation: "(冀)法计(2024)01001号", Version: 1},
			Client:      Client{CreditCode: e.CreditCode, Name: e.Name, DistrictCode: "130102"},
			Instrument:  VerifiedInstrument{ID: 1, Name: "燃油加油机", ItemCode: "03", CategoryCode: "0301"}, VerifiedOn: "2026-01-01",
			Standards: []StandardUsed{{ID: 1, Name: "燃油加油机检定装置", Certificates: []StandardCertificate{{Kind: "assessment", Number: "[2024]冀量标石证字第001号", ValidUntil: "2028-01-01"}}, Instruments: []StandardInstrument{}}},
			Data:      []DataRow{}, Nozzles: []NozzleResult{{Serial: "N1", Result: "pass"}}, CompletedAt: now},
		MetrologyInstitutionUpdated: InstitutionUpdatedData{Institution: Institution{ID: "12130100MB0000000X", Name: "石家庄市计量检定测试所", Version: 2},
			Changed: []string{"name"}, UpdatedAt: now},
		CertificateIssued: CertificateIssuedData{CertificateID: 1, CertificateNo: "JD2026-000001", Version: 1, Kind: "certificate", VerificationID: 1,
			CreditCode: e.CreditCode, DistrictCode: "130102", BlobKey: "certs/1.pdf", IssuedAt: now},
	}
}

func compile(t *testing.T, typ Type) *jsonschema.Schema {
	t.Helper()
	raw, err := Schema(typ)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(typ.Schema, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(typ.Schema)
	if err != nil {
		t.Fatalf("%s: %v", typ.Name, err)
	}
	return s
}

func toJSONValue(t *testing.T, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSamplesValidate(t *testing.T) {
	samples := sample()
	for _, typ := range Catalogue() {
		s := compile(t, typ)
		if err := s.Validate(toJSONValue(t, samples[typ.Name])); err != nil {
			t.Errorf("%s sample rejected: %v", typ.Name, err)
		}
	}
}

func TestSchemaRejectsBadPayload(t *testing.T) {
	s := compile(t, Catalogue()[0])
	bad := EntityRegisteredData{Entity: Entity{CreditCode: "bad", EntityType: "shop", Status: "active", Version: 1}}
	if err := s.Validate(toJSONValue(t, bad)); err == nil {
		t.Fatal("schema accepted an invalid credit code and entity type")
	}
}

func TestKnown(t *testing.T) {
	if !Known(EntityRegistered) || Known(Prefix+"nope.v1") {
		t.Fatal("Known disagrees with the catalogue")
	}
}
