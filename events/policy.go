package events

import "time"

// Policy events (owner: policy-match).
const (
	// PolicyPublished: a policy was published (or republished after an
	// edit); policy-match fans it out to its matching entities.
	PolicyPublished = Prefix + "policy.published.v1"
	// PolicyMatched: entities a published policy applies to, found by the
	// fan-out (up to 1000 per event) or by rematching one entity after it
	// was registered or changed.
	PolicyMatched = Prefix + "policy.matched.v1"
)

// PolicyPublishedData is the payload of PolicyPublished. After is the
// fan-out's position: the last credit code already announced ("" at the
// start); policy-match emits the event again with the next position until
// every match is announced, one batch per delivery.
type PolicyPublishedData struct {
	PolicyID    int64     `json:"policy_id"`
	Revision    int       `json:"revision"`
	Title       string    `json:"title"`
	After       string    `json:"after" jsonschema:"description=fan-out position: the last credit code already announced"`
	PublishedAt time.Time `json:"published_at"`
}

// PolicyMatchedData is the payload of PolicyMatched.
type PolicyMatchedData struct {
	PolicyID    int64     `json:"policy_id"`
	Revision    int       `json:"revision"`
	Title       string    `json:"title"`
	ApplyURL    string    `json:"apply_url" jsonschema:"description=the application platform's address (FP-64), empty when none"`
	Reason      string    `json:"reason" jsonschema:"description=why, e.g. entity.registered, entity.updated or publish"`
	CreditCodes []string  `json:"credit_codes" jsonschema:"minItems=1,maxItems=1000"`
	MatchedAt   time.Time `json:"matched_at"`
}

// policyTypes lists the policy domain's event types for the catalogue.
func policyTypes() []Type {
	return []Type{
		{PolicyPublished, "政策发布（政策匹配按批推送匹配主体）", "policy-match", "政策编号", PolicyPublishedData{}, "policy.published.v1.json"},
		{PolicyMatched, "政策匹配到市场主体（每个事件最多 1000 个主体）", "policy-match", "政策编号", PolicyMatchedData{}, "policy.matched.v1.json"},
	}
}
