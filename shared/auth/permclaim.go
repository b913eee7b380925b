package auth

import (
	"slices"
	"strings"
)

// The access token travels as an HttpOnly cookie, and browsers drop a
// cookie over 4 096 bytes: with every function's permissions spelled out
// one by one, the system administrator's token reached 4 485 bytes and the
// console could no longer sign in. In the token the permissions are
// therefore grouped by resource ("registry.entity:create,edit,view");
// Principal.Perms stays one "<resource>:<action>" per entry. A token
// written one permission per entry (the older form) reads the same.

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
	out := make([]string, 0, len(order))
	for _, res := range order {
		var acts []string
		for _, a := range byRes[res] {
			if !slices.Contains(acts, a) {
				acts = append(acts, a)
			}
		}
		out = append(out, res+":"+strings.Join(acts, ","))
	}
	return out
}

// unpackPerms is packPerms' inverse.
func unpackPerms(packed []string) []string {
	if len(packed) == 0 {
		return nil
	}
	var out []string
	for _, p := range packed {
		res, acts, ok := strings.Cut(p, ":")
		if !ok {
			out = append(out, p)
			continue
		}
		for _, a := range strings.Split(acts, ",") {
			out = append(out, res+":"+a)
		}
	}
	return out
}
