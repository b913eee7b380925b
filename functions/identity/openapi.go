package identity

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"

	"sigs.k8s.io/yaml"

	"github.com/sjzamr/smartreg/functions/identity/oidcprovider"
	"github.com/sjzamr/smartreg/functions/identity/online"
)

// combinedOpenAPI is what GET /identity/v1/openapi.yaml serves: identity's
// own document with the sub-packages' paths and components merged in, so
// one document describes every route under /identity/. Each file stays
// beside its code (and its own route test); the merge is computed once.
var combinedOpenAPI = sync.OnceValues(func() ([]byte, error) {
	return mergeOpenAPI(openapi, online.OpenAPI(), oidcprovider.OpenAPI())
})

// mergeOpenAPI adds the paths, components and tags of subs to base. A path
// or a differing component defined twice is an error (a test runs this).
// An operation of a document without top-level security gets `security: []`
// when identity serves it without a token (isPublic), so it does not
// inherit the base document's bearer requirement.
func mergeOpenAPI(base []byte, subs ...[]byte) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(base, &doc); err != nil {
		return nil, fmt.Errorf("identity openapi.yaml: %w", err)
	}
	paths := submap(doc, "paths")
	comps := submap(doc, "components")
	tags, _ := doc["tags"].([]any)
	for i, raw := range subs {
		var sub map[string]any
		if err := yaml.Unmarshal(raw, &sub); err != nil {
			return nil, fmt.Errorf("sub-document %d: %w", i, err)
		}
		_, secured := sub["security"]
		subPaths, _ := sub["paths"].(map[string]any)
		for _, p := range slices.Sorted(maps.Keys(subPaths)) {
			if _, dup := paths[p]; dup {
				return nil, fmt.Errorf("path %s documented twice", p)
			}
			item, _ := subPaths[p].(map[string]any)
			if !secured {
				for method, op := range item {
					o, ok := op.(map[string]any)
					if _, has := o["security"]; !ok || has {
						continue
					}
					if isPublic(&http.Request{Method: strings.ToUpper(method), URL: &url.URL{Path: p}}) {
						o["security"] = []any{}
					}
				}
			}
			paths[p] = item
		}
		subComps, _ := sub["components"].(map[string]any)
		for kind, v := range subComps {
			dst := submap(comps, kind)
			src, _ := v.(map[string]any)
			for name, c := range src {
				if old, dup := dst[name]; dup && !reflect.DeepEqual(old, c) {
					return nil, fmt.Errorf("component %s/%s defined differently in two documents", kind, name)
				}
				dst[name] = c
			}
		}
		subTags, _ := sub["tags"].([]any)
		for _, t := range subTags {
			if !slices.ContainsFunc(tags, func(o any) bool { return reflect.DeepEqual(o, t) }) {
				tags = append(tags, t)
			}
		}
	}
	if len(tags) > 0 {
		doc["tags"] = tags
	}
	return yaml.Marshal(doc)
}

func submap(m map[string]any, key string) map[string]any {
	s, ok := m[key].(map[string]any)
	if !ok {
		s = map[string]any{}
		m[key] = s
	}
	return s
}
