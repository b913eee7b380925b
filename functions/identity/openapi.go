package identity

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/sjzamr/smartreg/functions/identity/oidcprovider"
	"github.com/sjzamr/smartreg/functions/identity/online"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// OpenAPIPath is where the runtime serves identity's document.
const OpenAPIPath = "/identity/v1/openapi.yaml"

// OpenAPI is what the runtime serves at OpenAPIPath: identity's own
// document with the sub-packages' paths and components merged in, so one
// document describes every route under /identity/. Each file stays beside
// its code; the merge is a test too (TestServedOpenAPICoversEveryRoute).
func (f *Function) OpenAPI() (string, []byte) {
	doc, err := mergeOpenAPI(openapi, f.publicRoute, online.OpenAPI(), oidcprovider.OpenAPI())
	if err != nil {
		// The documents are embedded: a clash fails the test at once.
		f.log.Error("identity: merge the OpenAPI documents", "err", err)
		return OpenAPIPath, openapi
	}
	return OpenAPIPath, doc
}

// publicRoute reports whether the route serving method and path is
// public.
func (f *Function) publicRoute(method, path string) bool {
	_, pattern := f.mux.Handler(&http.Request{Method: method, URL: &url.URL{Path: path}})
	for _, rt := range f.mux.Routes() {
		if rt.Pattern == pattern {
			return rt.Access == httpx.AccessPublic
		}
	}
	return false
}

// mergeOpenAPI adds the paths, components and tags of subs to base. A path
// or a differing component defined twice is an error (a test runs this).
// An operation of a document without top-level security gets `security: []`
// when identity serves it without a token (public), so it does not
// inherit the base document's bearer requirement.
func mergeOpenAPI(base []byte, public func(method, path string) bool, subs ...[]byte) ([]byte, error) {
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
					if public(strings.ToUpper(method), samplePath(p)) {
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

// samplePath fills a documented path's parameters, to find its route.
func samplePath(p string) string {
	for {
		i := strings.Index(p, "{")
		j := strings.Index(p, "}")
		if i < 0 || j < i {
			return p
		}
		p = p[:i] + "x1" + p[j+1:]
	}
}

func submap(m map[string]any, key string) map[string]any {
	s, ok := m[key].(map[string]any)
	if !ok {
		s = map[string]any{}
		m[key] = s
	}
	return s
}
