package identity

import (
	"slices"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/functions/identity/oidcprovider"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

// TestOpenAPIDocumentsEveryRoute: the document the runtime serves names
// every route identity serves (its own, the OIDC provider's and the online
// list's), and every documented operation is served; the OIDC protocol endpoints are served by the
// library behind the /identity/oidc/ route.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	path, raw := e.f.OpenAPI()
	if path != "/identity/v1/openapi.yaml" {
		t.Fatalf("document path %q", path)
	}
	doc := openapitest.Load(t, raw)
	var source []string
	for _, rt := range e.f.mux.Routes() {
		if rt.Method() != "" {
			source = append(source, rt.Pattern)
		}
	}
	aliases := map[string]string{}
	for _, op := range openapitest.Ops(t, doc) {
		if _, p, _ := strings.Cut(op, " "); strings.HasPrefix(p, oidcprovider.IssuerPath+"/") && !slices.Contains(source, op) {
			aliases[op] = "/identity/oidc/"
		}
	}
	openapitest.CheckRoutes(t, doc, openapitest.Routes{Name: Name, Fn: e.f, Source: source, Prefixes: []string{"/identity/"}, Sample: "x1",
		Aliases: aliases})
	openapitest.CheckRefs(t, raw)
}

func TestOpenAPIRefsResolve(t *testing.T) { openapitest.CheckRefs(t, openapi) }

// TestOpenAPISchemasMatchStructs keeps the documented fields equal to the
// JSON the Go types produce.
func TestOpenAPISchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"User": User{}, "Tokens": Tokens{}, "Role": Role{}, "RoleInput": RoleInput{}, "Department": Department{}, "DeptInput": DeptInput{},
		"RegistrationInput": RegistrationInput{}, "Registration": Registration{}, "ChangelogEntry": ChangelogEntry{},
		"ChangelogInput": ChangelogInput{}, "Me": Me{}, "UserInput": UserInput{}, "Menu": Menu{}, "Perm": Perm{},
		"ResetInput": ResetInput{}, "ResetRequest": ResetRequest{}, "PasswordChange": PasswordChange{}, "Created": Created{},
		"LoginInput": LoginInput{}, "Captcha": CaptchaAnswer{}, "Message": messageAnswer{}, "PublicDepartment": publicDept{},
		"UserPage": httpx.PageOf[User]{}, "Contact": Contact{}, "ContactGroup": ContactGroup{}, "GroupInput": GroupInput{}, "Directory": Directory{}, "RegistrationPage": httpx.PageOf[Registration]{},
	})
}
