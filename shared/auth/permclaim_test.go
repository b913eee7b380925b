package auth

import (
	"slices"
	"strings"
	"testing"
)

func TestPermsArePackedByResourceInTheToken(t *testing.T) {
	perms := []string{"registry.entity:view", "qr.code:view", "registry.entity:create", "registry.entity:edit", "qr.code:*", "registry.entity:view"}
	packed := packPerms(perms)
	if want := []string{"registry.entity:view,create,edit", "qr.code:view,*"}; !slices.Equal(packed, want) {
		t.Fatalf("packed %v, want %v", packed, want)
	}
	got := unpackPerms(packed)
	want := []string{"registry.entity:view", "registry.entity:create", "registry.entity:edit", "qr.code:view", "qr.code:*"}
	if !slices.Equal(got, want) {
		t.Fatalf("unpacked %v, want %v", got, want)
	}
	// A token of the older form, one permission per entry, reads the same.
	if old := unpackPerms([]string{"qr.code:view", "registry.entity:edit"}); !slices.Equal(old, []string{"qr.code:view", "registry.entity:edit"}) {
		t.Fatalf("old form: %v", old)
	}
}

// The resources of one domain share an entry, the domain written once;
// a resource without a domain stands alone; all of it unpacks as it was.
func TestPermsOfADomainShareAnEntry(t *testing.T) {
	perms := []string{"datahub.quality:view", "qr.code:view", "datahub.lineage:edit", "datahub.quality:manage", "audit:view", "datahub.search:view", "qr.batch:create"}
	packed := packPerms(perms)
	if want := []string{"datahub.quality:view,manage|lineage:edit|search:view", "qr.code:view|batch:create", "audit:view"}; !slices.Equal(packed, want) {
		t.Fatalf("packed %v, want %v", packed, want)
	}
	got := unpackPerms(packed)
	want := []string{"datahub.quality:view", "datahub.quality:manage", "datahub.lineage:edit", "datahub.search:view", "qr.code:view", "qr.batch:create", "audit:view"}
	if !slices.Equal(got, want) {
		t.Fatalf("unpacked %v, want %v", got, want)
	}
}

// Every permission of the catalogue in one token stays well under the
// 4 096 bytes a browser keeps in a cookie.
func TestTokenWithTheWholeCatalogueFitsACookie(t *testing.T) {
	var all []string
	for _, p := range Catalogue() {
		all = append(all, Perm(p.Resource, p.Action))
	}
	size := len(strings.Join(packPerms(all), `","`))
	// base64 grows the claim by 4/3; the other claims take about 700 bytes.
	if est := size*4/3 + 700; est > 3500 {
		t.Errorf("a token holding all %d permissions would be about %d bytes, too close to the cookie limit", len(all), est)
	}
}
