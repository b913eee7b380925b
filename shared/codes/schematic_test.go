package codes

import (
	"encoding/json"
	"testing"
)

// Every feature of the schematic map is a county of the division table,
// named as the table names it, so a map coloured by district code finds
// each district.
func TestSchematicMapMatchesDivisions(t *testing.T) {
	var doc struct {
		Features []struct {
			Properties struct{ Code, Name string } `json:"properties"`
			Geometry   struct{ Type string }       `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(SchematicMap(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Features) < 20 {
		t.Fatalf("%d features", len(doc.Features))
	}
	for _, f := range doc.Features {
		d, ok := Divisions().Lookup(f.Properties.Code)
		if !ok || d.Level != LevelCounty || d.Name != f.Properties.Name || f.Geometry.Type != "Polygon" {
			t.Errorf("feature %s %s (%s): table has %+v", f.Properties.Code, f.Properties.Name, f.Geometry.Type, d)
		}
	}
}
