package registry

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/sjzamr/smartreg/shared/errs"
)

// recordKinds are the records of the one-household-one-file profile, with
// the labels the public page and console show.
var recordKinds = map[string]string{
	"licence":         "许可备案",
	"annual_report":   "年度报告",
	"penalty":         "行政处罚",
	"inspection":      "监督检查",
	"random_check":    "双随机抽查",
	"spot_check":      "抽查检查",
	"complaint":       "投诉举报",
	"abnormal_list":   "经营异常名录",
	"serious_illegal": "严重违法失信名单",
	"honour":          "荣誉信息",
	"blacklist":       "黑名单",
	"compliance":      "合规记录",
	"person":          "涉市场经营人员",
}

// recordKindOrder fixes the order of sections in a profile.
var recordKindOrder = []string{"licence", "annual_report", "honour", "blacklist", "inspection", "random_check",
	"spot_check", "compliance", "penalty", "complaint", "abnormal_list", "serious_illegal", "person"}

// Record is one entry of an entity's file.
type Record struct {
	ID         int64           `json:"id"`
	CreditCode string          `json:"credit_code"`
	Kind       string          `json:"kind"`
	KindName   string          `json:"kind_name"`
	RefNo      string          `json:"ref_no"`
	Title      string          `json:"title"`
	Authority  string          `json:"authority"`
	OccurredOn string          `json:"occurred_on"`
	ValidUntil *string         `json:"valid_until,omitempty"`
	Status     string          `json:"status"`
	Public     bool            `json:"public"`
	Details    json.RawMessage `json:"details"`
	CreatedAt  time.Time       `json:"created_at"`
}

// RecordInput adds a record to an entity.
type RecordInput struct {
	Kind       string          `json:"kind"`
	RefNo      string          `json:"ref_no"`
	Title      string          `json:"title"`
	Authority  string          `json:"authority"`
	OccurredOn string          `json:"occurred_on"`
	ValidUntil string          `json:"valid_until"`
	Status     string          `json:"status"`
	Public     *bool           `json:"public"`
	Details    json.RawMessage `json:"details"`
}

// annualReportDetails is the shape annual reports must carry: each item
// says whether the entity chose to publish it (企业年报公示 rules).
type annualReportDetails struct {
	Year  int `json:"year"`
	Items []struct {
		Name   string `json:"name"`
		Value  string `json:"value"`
		Public *bool  `json:"public"`
	} `json:"items"`
}

func (in *RecordInput) Validate() error {
	var fe []errs.FieldError
	add := func(f, m string) { fe = append(fe, errs.FieldError{Field: f, Message: m}) }
	if _, ok := recordKinds[in.Kind]; !ok {
		add("kind", "记录类型不正确")
	}
	if n := utf8.RuneCountInString(in.Title); n < 2 || n > 200 {
		add("title", "标题长度应为 2 至 200 个字符")
	}
	if utf8.RuneCountInString(in.RefNo) > 100 || utf8.RuneCountInString(in.Authority) > 100 || utf8.RuneCountInString(in.Status) > 50 {
		add("ref_no", "文号、机关或状态过长")
	}
	occurred, err := time.Parse(time.DateOnly, in.OccurredOn)
	if err != nil {
		add("occurred_on", "发生日期格式应为 YYYY-MM-DD")
	} else if occurred.After(time.Now().AddDate(0, 0, 1)) {
		add("occurred_on", "发生日期不能晚于今天")
	}
	if in.ValidUntil != "" {
		if until, err := time.Parse(time.DateOnly, in.ValidUntil); err != nil {
			add("valid_until", "有效期至格式应为 YYYY-MM-DD")
		} else if err == nil && !occurred.IsZero() && until.Before(occurred) {
			add("valid_until", "有效期至不能早于发生日期")
		}
	}
	if len(in.Details) == 0 {
		in.Details = json.RawMessage(`{}`)
	}
	var obj map[string]any
	if err := json.Unmarshal(in.Details, &obj); err != nil {
		add("details", "详情应为 JSON 对象")
	} else if in.Kind == "annual_report" {
		if msg := checkAnnualReport(in.Details); msg != "" {
			add("details", msg)
		}
	}
	return errs.Fields(fe)
}

func checkAnnualReport(raw json.RawMessage) string {
	var d annualReportDetails
	if err := json.Unmarshal(raw, &d); err != nil {
		return "年度报告详情格式不正确"
	}
	if d.Year < 1990 || d.Year > time.Now().Year() {
		return "年度报告年份不正确"
	}
	for i, it := range d.Items {
		if it.Name == "" || it.Public == nil {
			return fmt.Sprintf("年度报告第 %d 项须填写名称并注明是否公示", i+1)
		}
	}
	return ""
}
