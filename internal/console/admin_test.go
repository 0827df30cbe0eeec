package console_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// addUser stores a user of the fixture's tenant with the role and signs
// them in.
func (f *fixture) addUser(tb testing.TB, email string, role callscope.Role) (*callscope.User, *http.Cookie, string) {
	tb.Helper()
	u := &callscope.User{TenantID: f.tenant.ID, Email: email, Role: role, PasswordHash: f.user.PasswordHash}
	if err := f.store.CreateUser(context.Background(), u); err != nil {
		tb.Fatal(err)
	}
	token := "token-" + callscope.NewID()
	sum := sha256.Sum256([]byte(token))
	s := &callscope.UserSession{UserID: u.ID, TokenHash: hex.EncodeToString(sum[:]), CSRFToken: "csrf-" + callscope.NewID(), ExpiresAt: f.now.Add(time.Hour)}
	if err := f.store.CreateUserSession(context.Background(), s); err != nil {
		tb.Fatal(err)
	}
	return u, &http.Cookie{Name: "callscope_session", Value: token}, s.CSRFToken
}

// apiCalls records what the console asked of the API and answers a GET
// with an empty list (a tenant with its settings for the tenant), and
// anything else with a fixed status and body.
type apiCalls struct {
	got    []string
	status int
	body   string
}

func (a *apiCalls) api(ctx context.Context, tenantID, method, target string, body []byte) (int, []byte) {
	a.got = append(a.got, tenantID+" "+method+" "+target+" "+string(body))
	if method == "GET" {
		if target == "/api/v1/tenants/"+tenantID {
			return 200, []byte(`{"name":"t","settings":{}}`)
		}
		switch {
		case strings.HasSuffix(target, "/api-keys"):
			return 200, []byte(`{"api_keys":[]}`)
		case target == "/api/v1/webhooks":
			return 200, []byte(`{"webhooks":[]}`)
		}
		return 200, []byte(`[]`)
	}
	return a.status, []byte(a.body)
}

func TestRoles(t *testing.T) {
	f := newFixture(t)
	api := &apiCalls{status: 200, body: `[]`}
	f.c.API = api.api
	adminCk, adminCSRF := f.signIn(t)
	_, supCk, supCSRF := f.addUser(t, "sam@example.org", callscope.RoleSupervisor)
	_, agentCk, agentCSRF := f.addUser(t, "alex@example.org", callscope.RoleAgent)
	pages := []string{"/admin/analyzers", "/admin/webhooks", "/admin/api-keys", "/admin/users", "/admin/settings"}
	for _, p := range pages {
		if w := f.do("GET", p, nil, adminCk); w.Code != 200 {
			t.Errorf("admin GET %s: %d %s", p, w.Code, w.Body)
		}
		for _, who := range []struct {
			ck   *http.Cookie
			csrf string
		}{{supCk, supCSRF}, {agentCk, agentCSRF}} {
			if w := f.do("GET", p, nil, who.ck); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "Admins only") {
				t.Errorf("GET %s by a non-admin: %d", p, w.Code)
			}
			if w := f.do("POST", p, url.Values{"csrf_token": {who.csrf}, "name": {"x"}}, who.ck); w.Code != http.StatusForbidden {
				t.Errorf("POST %s by a non-admin: %d", p, w.Code)
			}
		}
	}
	// The flash message comes from a fixed set, never from the address.
	if w := f.do("GET", "/admin/settings?done=Call+0900+now", nil, adminCk); strings.Contains(w.Body.String(), "0900") {
		t.Fatal("the page shows text from its address")
	}
	if w := f.do("GET", "/admin/settings?done=settings-saved", nil, adminCk); !strings.Contains(w.Body.String(), "Settings saved.") {
		t.Fatal("no flash message")
	}
	// A non-admin's refused POSTs reached nothing.
	n := len(api.got)
	f.do("POST", "/admin/api-keys", url.Values{"csrf_token": {agentCSRF}, "name": {"x"}}, agentCk)
	if len(api.got) != n {
		t.Fatalf("a refused request reached the API: %v", api.got[n:])
	}
	// The navigation shows Configuration to admins only.
	if w := f.do("GET", "/account", nil, adminCk); !strings.Contains(w.Body.String(), `href="/admin"`) {
		t.Error("admins see no Configuration link")
	}
	if w := f.do("GET", "/account", nil, agentCk); strings.Contains(w.Body.String(), `href="/admin"`) {
		t.Error("agents see the Configuration link")
	}
	// An admin's key is created for the admin's own tenant, never as an
	// installation admin key.
	api.status, api.body = 201, `{"id":"k1","name":"ci","key":"cs_secret_once"}`
	w := f.do("POST", "/admin/api-keys", url.Values{"csrf_token": {adminCSRF}, "name": {"ci"}}, adminCk)
	if w.Code != http.StatusCreated || !strings.Contains(w.Body.String(), "cs_secret_once") {
		t.Fatalf("create key: %d", w.Code)
	}
	want := f.tenant.ID + " POST /api/v1/tenants/" + f.tenant.ID + `/api-keys {"name":"ci"}`
	if got := api.got[len(api.got)-2]; got != want {
		t.Fatalf("API call %q, want %q", got, want)
	}
}

func TestConfigErrors(t *testing.T) {
	f := newFixture(t)
	api := &apiCalls{status: 422, body: `{"detail":[{"loc":["body","settings","pipeline","bogus"],"msg":"Extra inputs are not permitted","type":"extra_forbidden"}]}`}
	f.c.API = api.api
	ck, csrf := f.signIn(t)
	w := f.do("POST", "/admin/settings", url.Values{"csrf_token": {csrf}, "settings": {`{"pipeline":{"bogus":true}}`}}, ck)
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "Extra inputs are not permitted") ||
		!strings.Contains(w.Body.String(), `id="settings-error"`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	w = f.do("POST", "/admin/settings", url.Values{"csrf_token": {csrf}, "settings": {`{`}}, ck)
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "not valid JSON") {
		t.Fatalf("%d", w.Code)
	}
	api.body = `{"detail":[{"loc":["body","url"],"msg":"The address is not allowed","type":"value_error"}]}`
	w = f.do("POST", "/admin/webhooks", url.Values{"csrf_token": {csrf}, "url": {"http://127.0.0.1/"}}, ck)
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), `<p class="field-error" id="url-error">The address is not allowed</p>`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

func TestUsersPage(t *testing.T) {
	f := newFixture(t)
	f.c.API = (&apiCalls{status: 200, body: `[]`}).api
	ck, csrf := f.signIn(t)
	w := f.do("POST", "/admin/users", url.Values{"csrf_token": {csrf}, "email": {"new@example.org"}, "role": {"boss"}, "password": {"short"}}, ck)
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "Choose admin, supervisor or agent.") {
		t.Fatalf("%d", w.Code)
	}
	w = f.do("POST", "/admin/users", url.Values{"csrf_token": {csrf}, "email": {"new@example.org"}, "role": {"agent"}, "password": {password}}, ck)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	u, err := f.store.UserByEmail(context.Background(), "new@example.org")
	if err != nil || u.Role != callscope.RoleAgent || u.TenantID != f.tenant.ID {
		t.Fatal(u, err)
	}
	if w := f.do("POST", "/admin/users/"+u.ID+"/disable", url.Values{"csrf_token": {csrf}, "disabled": {"true"}}, ck); w.Code != http.StatusSeeOther {
		t.Fatalf("%d", w.Code)
	}
	if u, _ = f.store.UserByEmail(context.Background(), "new@example.org"); !u.Disabled {
		t.Fatal("not disabled")
	}
	if w := f.do("POST", "/admin/users/"+f.user.ID+"/disable", url.Values{"csrf_token": {csrf}}, ck); w.Code != http.StatusConflict {
		t.Fatalf("disabling oneself: %d", w.Code)
	}
	// Another tenant's user is not found.
	other := &callscope.User{TenantID: sqlstoretest.MustTenant(t, f.store).ID, Email: "o@example.org", Role: callscope.RoleAgent, PasswordHash: f.user.PasswordHash}
	if err := f.store.CreateUser(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if w := f.do("POST", "/admin/users/"+other.ID+"/disable", url.Values{"csrf_token": {csrf}}, ck); w.Code != http.StatusNotFound {
		t.Fatalf("another tenant's user: %d", w.Code)
	}
	if w := f.do("GET", "/admin/users", nil, ck); strings.Contains(w.Body.String(), "o@example.org") {
		t.Fatal("the users page lists another tenant's user")
	}
	if u, _ := f.store.UserByEmail(context.Background(), "o@example.org"); u.Disabled {
		t.Fatal("another tenant's user was disabled")
	}
}
