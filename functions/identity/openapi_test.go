package identity

import (
	"net/http"
	"testing"

	"github.com/sjzamr/smartreg/shared/openapitest"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	mux := http.NewServeMux()
	(&Function{}).routes(mux)
	openapitest.CheckRoutes(t, openapitest.Load(t, openapi), openapitest.Routes{Name: Name, Mux: mux,
		Source: openapitest.SourceRoutes(t, "http.go"), Prefixes: []string{"/identity/"}, Sample: "x1"})
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, openapi) }

// TestOpenAPISchemasMatchStructs keeps the documented fields equal to the
// JSON the Go types produce.
func TestOpenAPISchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"User": User{}, "Tokens": Tokens{}, "Role": Role{}, "RoleInput": RoleInput{}, "Department": Department{}, "DeptInput": DeptInput{},
		"Registration": Registration{}, "RegistrationInput": RegistrationInput{}, "ChangelogEntry": ChangelogEntry{},
		"ChangelogInput": ChangelogInput{}, "Me": Me{}, "UserInput": UserInput{}, "Menu": Menu{}, "Perm": Perm{},
		"ResetInput": ResetInput{}, "ResetRequest": ResetRequest{}, "PasswordChange": PasswordChange{}, "Created": Created{},
	})
}
