package console_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/console"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// fixture is a console on a real SQLite store with one user.
type fixture struct {
	store  *sqlstore.Store
	c      *console.Console
	tenant *callscope.Tenant
	user   *callscope.User
	now    time.Time
}

const password = "correct horse battery"

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	s := sqlstoretest.Open(tb, sqlstore.SQLite)
	f := &fixture{store: s, tenant: sqlstoretest.MustTenant(tb, s), now: time.Now().UTC().Truncate(time.Second)}
	hash, err := console.HashPassword(password)
	if err != nil {
		tb.Fatal(err)
	}
	f.user = &callscope.User{TenantID: f.tenant.ID, Email: "ana@example.org", Name: "Ana", Role: callscope.RoleAdmin, PasswordHash: hash}
	if err := s.CreateUser(context.Background(), f.user); err != nil {
		tb.Fatal(err)
	}
	f.c = &console.Console{Store: s, Now: func() time.Time { return f.now }}
	return f
}

// signIn stores a session for the user directly and returns its cookie
// and CSRF token.
func (f *fixture) signIn(tb testing.TB) (*http.Cookie, string) {
	tb.Helper()
	token := "token-" + callscope.NewID()
	sum := sha256.Sum256([]byte(token))
	s := &callscope.UserSession{UserID: f.user.ID, TokenHash: hex.EncodeToString(sum[:]), CSRFToken: "csrf-" + callscope.NewID(), ExpiresAt: f.now.Add(time.Hour)}
	if err := f.store.CreateUserSession(context.Background(), s); err != nil {
		tb.Fatal(err)
	}
	return &http.Cookie{Name: "callscope_session", Value: token}, s.CSRFToken
}

func (f *fixture) do(method, target string, form url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	r.RemoteAddr = "192.0.2.7:5000"
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	f.c.ServeHTTP(w, r)
	return w
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// loginForm opens the sign-in page and returns its cookie and token.
func (f *fixture) loginForm(t *testing.T) (*http.Cookie, string) {
	t.Helper()
	w := f.do("GET", "/login", nil)
	m := csrfRe.FindStringSubmatch(w.Body.String())
	if w.Code != 200 || m == nil {
		t.Fatalf("sign-in page: %d", w.Code)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == "callscope_login" {
			return c, m[1]
		}
	}
	t.Fatal("the sign-in page sets no form cookie")
	return nil, ""
}

func cookie(w *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestSignIn(t *testing.T) {
	f := newFixture(t)
	t.Run("SignedOutGoesToSignIn", func(t *testing.T) {
		w := f.do("GET", "/calls?q=x", nil)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?next="+url.QueryEscape("/calls?q=x") {
			t.Fatalf("%d %s", w.Code, w.Header().Get("Location"))
		}
	})
	t.Run("Success", func(t *testing.T) {
		ck, token := f.loginForm(t)
		w := f.do("POST", "/login", url.Values{"email": {"ANA@example.org"}, "password": {password}, "csrf_token": {token}, "next": {"/calls?q=x"}}, ck)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/calls?q=x" {
			t.Fatalf("%d %s %s", w.Code, w.Header().Get("Location"), w.Body)
		}
		s := cookie(w, "callscope_session")
		if s == nil || !s.HttpOnly || s.SameSite != http.SameSiteLaxMode || s.Secure {
			t.Fatalf("session cookie %+v", s)
		}
		if w := f.do("GET", "/calls", nil, s); w.Code != 200 || !strings.Contains(w.Body.String(), "No calls yet") {
			t.Fatalf("calls after sign-in: %d", w.Code)
		}
	})
	t.Run("SecureBehindTLSProxy", func(t *testing.T) {
		ck, token := f.loginForm(t)
		r := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"email": {"ana@example.org"}, "password": {password}, "csrf_token": {token}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Forwarded-Proto", "https")
		r.AddCookie(ck)
		w := httptest.NewRecorder()
		f.c.ServeHTTP(w, r)
		if s := cookie(w, "callscope_session"); s == nil || !s.Secure {
			t.Fatalf("session cookie behind a TLS proxy: %+v", s)
		}
	})
	t.Run("OffSiteNextIsIgnored", func(t *testing.T) {
		ck, token := f.loginForm(t)
		w := f.do("POST", "/login", url.Values{"email": {"ana@example.org"}, "password": {password}, "csrf_token": {token}, "next": {"//evil.example/"}}, ck)
		if w.Header().Get("Location") != "/calls" {
			t.Fatalf("redirected to %q", w.Header().Get("Location"))
		}
	})
	t.Run("LoginFormWithoutCSRFIs403", func(t *testing.T) {
		ck, _ := f.loginForm(t)
		w := f.do("POST", "/login", url.Values{"email": {"ana@example.org"}, "password": {password}}, ck)
		if w.Code != http.StatusForbidden {
			t.Fatalf("%d", w.Code)
		}
	})
	t.Run("WrongPasswordNextToTheForm", func(t *testing.T) {
		ck, token := f.loginForm(t)
		w := f.do("POST", "/login", url.Values{"email": {"nobody@example.org"}, "password": {"whatever"}, "csrf_token": {token}}, ck)
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "do not match") || cookie(w, "callscope_session") != nil {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	})
}

func TestSignInThrottle(t *testing.T) {
	f := newFixture(t)
	try := func(email, pw string) int {
		ck, token := f.loginForm(t)
		return f.do("POST", "/login", url.Values{"email": {email}, "password": {pw}, "csrf_token": {token}}, ck).Code
	}
	for i := 0; i < 5; i++ {
		if code := try("ana@example.org", "wrong"); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	// The right password waits too, until the window has passed.
	if code := try("ana@example.org", password); code != http.StatusTooManyRequests {
		t.Fatalf("sixth attempt: %d, want 429", code)
	}
	f.now = f.now.Add(16 * time.Minute)
	if code := try("ana@example.org", password); code != http.StatusSeeOther {
		t.Fatalf("after the window: %d", code)
	}
	t.Run("PerIP", func(t *testing.T) {
		for i := 0; i < 20; i++ {
			try(fmt.Sprintf("spray-%d@example.org", i), "wrong")
		}
		if code := try("ana@example.org", password); code != http.StatusTooManyRequests {
			t.Fatalf("after 20 failures from one address: %d, want 429", code)
		}
	})
}

func TestCSRFAndLogout(t *testing.T) {
	f := newFixture(t)
	ck, token := f.signIn(t)
	if w := f.do("POST", "/logout", url.Values{}, ck); w.Code != http.StatusForbidden {
		t.Fatalf("logout without the token: %d", w.Code)
	}
	if w := f.do("POST", "/logout", url.Values{"csrf_token": {"forged"}}, ck); w.Code != http.StatusForbidden {
		t.Fatalf("logout with a forged token: %d", w.Code)
	}
	if w := f.do("POST", "/logout", url.Values{"csrf_token": {token}}, ck); w.Code != http.StatusSeeOther {
		t.Fatalf("logout: %d", w.Code)
	}
	if w := f.do("GET", "/calls", nil, ck); w.Code != http.StatusSeeOther {
		t.Fatalf("the session still works after sign-out: %d", w.Code)
	}
}

func TestPasswordChange(t *testing.T) {
	f := newFixture(t)
	ck, token := f.signIn(t)
	other, _ := f.signIn(t)
	w := f.do("POST", "/account/password", url.Values{"csrf_token": {token}, "current_password": {"nope"}, "new_password": {"short"}, "confirm_password": {"short"}}, ck)
	body := w.Body.String()
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="current_password-error"`) || !strings.Contains(body, `id="new_password-error"`) {
		t.Fatalf("%d %s", w.Code, body)
	}
	w = f.do("POST", "/account/password", url.Values{"csrf_token": {token}, "current_password": {password}, "new_password": {"a much longer one"}, "confirm_password": {"a much longer one"}}, ck)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if w := f.do("GET", "/calls", nil, other); w.Code != http.StatusSeeOther {
		t.Fatalf("another session survived the password change: %d", w.Code)
	}
	if w := f.do("GET", "/calls", nil, ck); w.Code != http.StatusOK {
		t.Fatalf("the session that changed it ended: %d", w.Code)
	}
	u, _ := f.store.UserByEmail(context.Background(), "ana@example.org")
	if ok, _ := console.CheckPassword(u.PasswordHash, "a much longer one"); !ok {
		t.Fatal("the new password does not check")
	}
}

func TestCallPages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ck, _ := f.signIn(t)
	c := &callscope.Call{TenantID: f.tenant.ID, Direction: callscope.Inbound, From: "+15550001", To: "+15550002", Status: callscope.CallCompleted,
		Title: `<script>alert(1)</script>`, Entities: json.RawMessage(`[{"type":"LOCATION","text":"Kibera","segment_id":0,"start":11,"end":17}]`),
		Classification: json.RawMessage(`{"category":"missing_child","label":"Missing child","risk":"high","confidence":0.8,"evidence":[{"segment_id":0,"phrase":"not come home"}]}`)}
	if err := f.store.CreateCall(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutSegments(ctx, c.ID, []callscope.Segment{{SegmentID: 0, Speaker: "caller", StartTime: 0, EndTime: 2, Text: "We live in Kibera <b>now</b>"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutProcessing(ctx, &callscope.Processing{CallID: c.ID, TenantID: f.tenant.ID, Status: callscope.ProcessingCompleted,
		Stages: []callscope.StageRun{{Stage: "transcribe", Status: "completed", StartedAt: time.Now(), Seconds: 2.5, AudioSeconds: 61.2},
			{Stage: "summarize", Status: "completed", StartedAt: time.Now(), Seconds: 1.25, Tokens: 812, Cost: 0.0012}}}); err != nil {
		t.Fatal(err)
	}
	other := sqlstoretest.MustTenant(t, f.store)
	oc := &callscope.Call{TenantID: other.ID, Direction: callscope.Inbound, From: "+1", To: "+2", Status: callscope.CallCompleted}
	if err := f.store.CreateCall(ctx, oc); err != nil {
		t.Fatal(err)
	}
	t.Run("Detail", func(t *testing.T) {
		w := f.do("GET", "/calls/"+c.ID, nil, ck)
		body := w.Body.String()
		if w.Code != 200 {
			t.Fatalf("%d", w.Code)
		}
		for _, want := range []string{`We live in <mark class="entity" data-type="LOCATION" title="LOCATION">Kibera</mark> &lt;b&gt;now&lt;/b&gt;`,
			`&lt;script&gt;alert(1)&lt;/script&gt;`, "Missing child", `<span class="risk risk-high">high</span>`, "not come home",
			"61.2 s audio", "812 tokens", "$0.0012"} {
			if !strings.Contains(body, want) {
				t.Errorf("the call page lacks %q", want)
			}
		}
		if strings.Contains(body, "<script>alert") {
			t.Error("the title is not escaped")
		}
	})
	t.Run("OtherTenantIs404", func(t *testing.T) {
		for _, p := range []string{"/calls/" + oc.ID, "/calls/" + oc.ID + "/recording", "/calls/no-such-call"} {
			if w := f.do("GET", p, nil, ck); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "Not found") && !strings.Contains(w.Body.String(), "No recording") {
				t.Errorf("%s: %d", p, w.Code)
			}
		}
	})
	t.Run("ListFilters", func(t *testing.T) {
		for q, want := range map[string]bool{"?risk=high": true, "?risk=low": false, "?category=missing_child": true, "?q=kibera": true, "?q=zebra": false, "?status=completed&direction=inbound": true} {
			w := f.do("GET", "/calls"+q, nil, ck)
			if w.Code != 200 || strings.Contains(w.Body.String(), "/calls/"+c.ID) != want {
				t.Errorf("%s: %d, shows the call: %v", q, w.Code, !want)
			}
			if strings.Contains(w.Body.String(), oc.ID) {
				t.Errorf("%s shows another tenant's call", q)
			}
		}
	})
	t.Run("BadFilterNextToTheField", func(t *testing.T) {
		w := f.do("GET", "/calls?from=yesterday&risk=extreme", nil, ck)
		body := w.Body.String()
		if w.Code != http.StatusUnprocessableEntity || !strings.Contains(body, "Give a date as YYYY-MM-DD.") || !strings.Contains(body, "Choose a risk level") {
			t.Fatalf("%d %s", w.Code, body)
		}
	})
}

func TestCursorPages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ck, _ := f.signIn(t)
	for i := 0; i < 120; i++ {
		c := &callscope.Call{TenantID: f.tenant.ID, Direction: callscope.Outbound, From: fmt.Sprintf("+1555%04d", i), To: "+1", Status: callscope.CallCompleted}
		if err := f.store.CreateCall(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	next := regexp.MustCompile(`href="(/calls\?[^"]*)" rel="next"`)
	seen := map[string]bool{}
	link := regexp.MustCompile(`class="num">(&#43;1555\d{4}) →`)
	path, pages := "/calls?direction=outbound", 0
	for path != "" {
		w := f.do("GET", strings.ReplaceAll(path, "&amp;", "&"), nil, ck)
		if w.Code != 200 {
			t.Fatalf("%s: %d", path, w.Code)
		}
		for _, m := range link.FindAllStringSubmatch(w.Body.String(), -1) {
			if seen[m[1]] {
				t.Fatalf("%s shown twice", m[1])
			}
			seen[m[1]] = true
		}
		path = ""
		if m := next.FindStringSubmatch(w.Body.String()); m != nil {
			path = m[1]
		}
		pages++
	}
	if len(seen) != 120 || pages != 3 {
		t.Fatalf("%d calls over %d pages, want 120 over 3", len(seen), pages)
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := console.HashPassword("s3cret password")
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("%q %v", h, err)
	}
	if ok, err := console.CheckPassword(h, "s3cret password"); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, _ := console.CheckPassword(h, "s3cret passworD"); ok {
		t.Fatal("a wrong password checks")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=0,t=1,p=1$AAAA$AAAA", "$bcrypt$x", "$argon2id$v=19$m=4294967295,t=1,p=1$AAAA$AAAA"} {
		if ok, err := console.CheckPassword(bad, "x"); ok || err == nil {
			t.Errorf("%q: %v %v", bad, ok, err)
		}
	}
}
