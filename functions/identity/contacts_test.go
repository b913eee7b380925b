package identity

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// FP-157: the directory shows each active person with their organisation
// and a masked phone, the caller's favourites first; the full number is
// one audited read; favourites and groups are the caller's own, and a
// group holds only active people.
func TestContactsDirectory(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	city := e.cityID(t)
	changan := e.dept(t, city, "长安区市场监督管理局", "district", []string{"130102"}, nil)
	station := e.dept(t, changan.ID, "建北市场监管所", "station", []string{"130102"}, []string{"130102001"})
	me, meTok := e.user(t, "zhang_insp", "13811110001", station.ID, RoleInspector)
	wang, _ := e.user(t, "wang_insp", "13811110002", station.ID, RoleInspector)
	li, liTok := e.user(t, "li_insp", "13811110003", changan.ID, RoleInspector)

	dir := func(tok, query string) Directory {
		t.Helper()
		resp, body := e.do(t, "GET", "/identity/v1/contacts"+query, tok, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET contacts%s: %d %s", query, resp.StatusCode, body)
		}
		if strings.Contains(body, "13811110002") {
			t.Fatalf("a full phone number in the directory: %s", body)
		}
		var d Directory
		if err := json.Unmarshal([]byte(body), &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := dir(meTok.AccessToken, "?q=wang")
	if len(d.People) != 1 || d.People[0].ID != wang.UserID || d.People[0].DeptName != "建北市场监管所" ||
		!strings.Contains(d.People[0].DeptPath, "长安区市场监督管理局 / 建北市场监管所") || !d.People[0].HasPhone || d.People[0].Favourite {
		t.Fatalf("search wang: %+v", d.People)
	}
	if d := dir(meTok.AccessToken, "?dept_id="+station.ID); len(d.People) != 2 {
		t.Fatalf("the station's people: %+v", d.People)
	}

	if resp, body := e.do(t, "PUT", "/identity/v1/contacts/"+li.UserID+"/favourite", meTok.AccessToken, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("favourite: %d %s", resp.StatusCode, body)
	}
	if d := dir(meTok.AccessToken, "?q=_insp"); d.People[0].ID != li.UserID || !d.People[0].Favourite {
		t.Fatalf("favourites first: %+v", d.People)
	}
	if d := dir(liTok.AccessToken, "?q=_insp"); d.People[0].Favourite || len(d.Groups) != 0 {
		t.Fatalf("someone else's favourites leak: %+v", d)
	}
	if resp, _ := e.do(t, "PUT", "/identity/v1/contacts/nobody/favourite", meTok.AccessToken, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("favourite nobody: %d", resp.StatusCode)
	}

	resp, body := e.do(t, "POST", "/identity/v1/contact-groups", meTok.AccessToken,
		`{"name":"建北应急小组","members":["`+wang.UserID+`","`+li.UserID+`","`+li.UserID+`"]}`)
	var g ContactGroup
	if resp.StatusCode != http.StatusCreated || json.Unmarshal([]byte(body), &g) != nil || len(g.Members) != 2 {
		t.Fatalf("create group: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.do(t, "POST", "/identity/v1/contact-groups", meTok.AccessToken, `{"name":"建北应急小组","members":["`+wang.UserID+`"]}`); resp.StatusCode != 400 ||
		!strings.Contains(body, "已有同名群组") {
		t.Fatalf("same name again: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.do(t, "POST", "/identity/v1/contact-groups", meTok.AccessToken, `{"name":"x","members":["nobody"]}`); resp.StatusCode != 400 ||
		!strings.Contains(body, "不存在或已冻结") {
		t.Fatalf("unknown member: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, "DELETE", "/identity/v1/contact-groups/"+g.ID, liTok.AccessToken, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("someone else deletes my group: %d", resp.StatusCode)
	}
	// A frozen member leaves the group's call list.
	if _, err := e.f.Freeze(ctx, e.adminActor(t), wang.UserID, "调离"); err != nil {
		t.Fatal(err)
	}
	if d := dir(meTok.AccessToken, ""); len(d.Groups) != 1 || len(d.Groups[0].Members) != 1 || d.Groups[0].Members[0].ID != li.UserID {
		t.Fatalf("groups after a member was frozen: %+v", d.Groups)
	}

	// The full number, for a call, is in the operation log.
	resp, body = e.do(t, "GET", "/identity/v1/contacts/"+li.UserID+"/phone", meTok.AccessToken, "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "13811110003") {
		t.Fatalf("phone: %d %s", resp.StatusCode, body)
	}
	var who, masked string
	if err := e.f.pool.QueryRow(ctx, `SELECT user_id, after->>'phone' FROM recorded.op_log WHERE action = 'contact.phone.view' AND object_id = $1`,
		li.UserID).Scan(&who, &masked); err != nil || who != me.UserID || strings.Contains(masked, "13811110003") {
		t.Fatalf("the phone read's log: %q %q %v", who, masked, err)
	}
	if resp, _ := e.do(t, "GET", "/identity/v1/contacts/"+wang.UserID+"/phone", meTok.AccessToken, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a frozen user's phone: %d", resp.StatusCode)
	}
}

// Only roles working with dispatch hold the directory: a reviewer does not.
func TestContactsNeedThePermission(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	_, tok := e.user(t, "rev_user", "13811110009", e.cityID(t), RoleReviewer)
	if resp, _ := e.do(t, "GET", "/identity/v1/contacts", tok.AccessToken, ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a reviewer reads the directory: %d", resp.StatusCode)
	}
}

// identity.contact_phones is the published read other functions use.
func TestContactPhonesIsPublished(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a, _ := e.user(t, "pub_user", "13811110010", e.cityID(t), RoleInspector)
	var name, phone string
	if err := e.f.pool.QueryRow(context.Background(), `SELECT name, phone FROM identity.contact_phones(ARRAY[$1])`, a.UserID).Scan(&name, &phone); err != nil ||
		phone != "13811110010" {
		t.Fatalf("contact_phones: %q %q %v", name, phone, err)
	}
}
