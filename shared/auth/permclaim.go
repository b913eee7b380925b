package auth

import (
	"slices"
	"strings"
)

// The access token travels as an HttpOnly cookie, and browsers drop a
// cookie over 4 096 bytes: with every function's permissions spelled out
// one by one, the system administrator's token reached 4 485 bytes and the
// console could no longer sign in. In the token the permissions are
// therefore grouped by resource ("registry.entity:create,edit,view"), and
// the resources of one domain share an entry, the domain written once
// ("datahub.quality:view,manage|lineage:view|search:view,export"): with
// 164 permissions, resource groups alone came to about 3 600 bytes.
// Principal.Perms stays one "<resource>:<action>" per entry. Tokens of the
// older forms (one permission, or one resource, per entry) read the same.

// packPerms groups perms by resource, keeping the order they come in.
func packPerms(perms []string) []string {
	if len(perms) == 0 {
		return nil
	}
	byRes := map[string][]string{}
	var order []string
	for _, p := range perms {
		res, act, ok := strings.Cut(p, ":")
		if !ok {
			res, act = p, ""
		}
		if _, seen := byRes[res]; !seen {
			order = append(order, res)
		}
		byRes[res] = append(byRes[res], act)
	}
	var out []string
	at := map[string]int{} // domain → its entry in out
	for _, res := range order {
		var acts []string
		for _, a := range byRes[res] {
			if !slices.Contains(acts, a) {
				acts = append(acts, a)
			}
		}
		group := res + ":" + strings.Join(acts, ",")
		domain, sub, dotted := strings.Cut(res, ".")
		if i, ok := at[domain]; ok && dotted && !strings.ContainsAny(sub, "|") {
			out[i] += "|" + sub + ":" + strings.Join(acts, ",")
			continue
		}
		if dotted {
			at[domain] = len(out)
		}
		out = append(out, group)
	}
	return out
}

// unpackPerms is packPerms' inverse.
func unpackPerms(packed []string) []string {
	if len(packed) == 0 {
		return nil
	}
	var out []string
	for _, entry := range packed {
		parts := strings.Split(entry, "|")
		domain := ""
		for i, p := range parts {
			res, acts, ok := strings.Cut(p, ":")
			if i == 0 {
				domain, _, _ = strings.Cut(res, ".")
			} else {
				res = domain + "." + res
			}
			if !ok {
				out = append(out, res)
				continue
			}
			for _, a := range strings.Split(acts, ",") {
				out = append(out, res+":"+a)
			}
		}
	}
	return out
}
