package online

import _ "embed"

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the document of the online routes, for identity to serve
// merged into its own.
func OpenAPI() []byte { return openapi }
