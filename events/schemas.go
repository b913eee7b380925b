package events

import (
	"embed"
	"encoding/json"
	"fmt"

	"github.com/invopop/jsonschema"
)

//go:embed schemas/*.json
var schemaFiles embed.FS

// Schema returns the checked-in JSON Schema of an event type.
func Schema(t Type) ([]byte, error) {
	return schemaFiles.ReadFile("schemas/" + t.Schema)
}

// GenerateSchema derives the JSON Schema from the payload struct. The
// checked-in files must equal this output (a test enforces it), so the Go
// struct is the single source of truth.
func GenerateSchema(t Type) ([]byte, error) {
	r := jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true}
	s := r.Reflect(t.Payload)
	s.ID = jsonschema.ID("https://smartreg.sjzamr.gov.cn/events/" + t.Schema)
	s.Title = t.Name
	s.Description = t.Summary
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal schema %s: %w", t.Name, err)
	}
	return append(b, '\n'), nil
}
