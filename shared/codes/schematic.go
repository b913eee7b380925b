package codes

import _ "embed"

// schematicMap is the schematic district map of Shijiazhuang drawn by
// SmartReg from the districts' seats' rough positions (the same document
// dispatch serves as its base map, FP-142): one hexagon per county-level
// division of the table, so a map needs no online tiles. It makes no
// claim to survey accuracy and carries no 审图号 (properties.note says so).
//
//go:embed data/shijiazhuang-schematic.geojson
var schematicMap []byte

// SchematicMap returns the schematic district map as GeoJSON; features
// carry properties.code (a county code of Divisions) and properties.name.
func SchematicMap() []byte { return append([]byte(nil), schematicMap...) }
