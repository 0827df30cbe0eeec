package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser is a headless Chromium signed in to a console.
type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
}

// signedIn starts a real `callscope serve` on SQLite with extra
// environment, creates a supervisor and signs them in with headless
// Chromium. It skips the test when chromium is absent.
func signedIn(t *testing.T, extra ...string) (*browser, *server) {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (Debian package chromium)")
	}
	shots := os.Getenv("CALLSCOPE_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	srv := startServer(t, dir, extra...)
	out, errOut, code := cli(t, []string{"CALLSCOPE_DATA_DIR=" + dir}, "user", "create", "--tenant", "default", "--email", "ana@example.org",
		"--name", "Ana Reviewer", "--role", "supervisor")
	if code != 0 {
		t.Fatalf("user create: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	password := lines[len(lines)-1]
	bctx := newBrowser(t, chromium, 3*time.Minute)
	b := &browser{t: t, ctx: bctx, base: "http://" + srv.addr, shots: shots}
	b.do("sign in", chromedp.Navigate(b.base+"/login"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "ana@example.org"),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`h1`)))
	return b, srv
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *browser) eval(what, js string) any {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

func (b *browser) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// TestConsoleCallTodosAndContact shows a call's contact and to-dos on its
// page in headless Chromium, marks a to-do done there, and checks that a
// form without its CSRF token is refused.
func TestConsoleCallTodosAndContact(t *testing.T) {
	b, srv := signedIn(t)
	base, key := b.base, srv.adminKey
	contact := apiCall(t, base, key, "POST", "/api/v1/contacts", map[string]any{"name": "Jane Doe",
		"phone_numbers": []string{"+15551230001", "+15551230002"}, "organization": "Acme"}, 201)
	apiCall(t, base, key, "POST", "/api/v1/calls", map[string]any{"call_id": "todo-1", "direction": "inbound",
		"from": "+15551230001", "to": "+15559870000", "title": "Refund follow-up"}, 201)
	call := apiCall(t, base, key, "GET", "/api/v1/calls/todo-1", nil, 200)
	if call["contact_id"] != contact["id"] {
		t.Fatalf("the call's contact_id is %v, want %v", call["contact_id"], contact["id"])
	}
	todo := apiCall(t, base, key, "POST", "/api/v1/todos", map[string]any{"call_id": "todo-1", "text": "Send the refund form",
		"assignee": "brian", "due_date": "2030-01-15"}, 201)
	apiCall(t, base, key, "POST", "/api/v1/todos", map[string]any{"call_id": "todo-1", "text": "Call back on Monday"}, 201)

	// The calls list filters by contact; the contact's link lands there.
	apiCall(t, base, key, "POST", "/api/v1/calls", map[string]any{"call_id": "todo-0", "direction": "inbound",
		"from": "+15550000000", "to": "+15559870000", "title": "Someone else"}, 201)
	b.do("calls", chromedp.Navigate(base+"/calls"), chromedp.WaitVisible(chromedp.CSS(`#contact`)),
		chromedp.SetValue(chromedp.CSS(`#contact`), contact["id"].(string)), chromedp.Submit(chromedp.CSS(`#contact`)),
		chromedp.WaitVisible(chromedp.CSS(`table.calls`)))
	if list := b.text(`table.calls`); !strings.Contains(list, "Refund follow-up") || strings.Contains(list, "Someone else") {
		t.Fatalf("calls of Jane Doe:\n%s", list)
	}
	b.do("open the call", chromedp.Navigate(base+"/calls/todo-1"), chromedp.WaitVisible(chromedp.CSS(`#todos`)))
	ct := b.text(`#contact`)
	for _, want := range []string{"Jane Doe", "+15551230001, +15551230002", "Acme"} {
		if !strings.Contains(ct, want) {
			t.Fatalf("the contact panel lacks %q:\n%s", want, ct)
		}
	}
	if href := b.eval("link", `document.getElementById("contact-calls").getAttribute("href")`); href != "/calls?contact="+contact["id"].(string) {
		t.Fatalf("contact link %v", href)
	}
	b.do("the contact's calls", chromedp.Click(chromedp.CSS(`#contact-calls`)), chromedp.WaitVisible(chromedp.CSS(`table.calls`)))
	if list := b.text(`table.calls`); !strings.Contains(list, "Refund follow-up") || strings.Contains(list, "Someone else") {
		t.Fatalf("the contact link's list:\n%s", list)
	}
	b.do("back to the call", chromedp.Navigate(base+"/calls/todo-1"), chromedp.WaitVisible(chromedp.CSS(`#todos`)))
	todos := b.text(`#todos`)
	if !strings.Contains(todos, "Send the refund form") || !strings.Contains(todos, "brian") || !strings.Contains(todos, "due 2030-01-15") ||
		!strings.Contains(todos, "Call back on Monday") {
		t.Fatalf("the to-do panel:\n%s", todos)
	}
	// A form without the CSRF token changes nothing.
	if st := b.eval("forged", `fetch("/calls/todo-1/todos/`+todo["id"].(string)+`/done", {method: "POST", body: new URLSearchParams({})}).then(r => r.status)`); st != float64(403) {
		t.Fatalf("a form without its CSRF token: %v, want 403", st)
	}
	b.do("mark done", chromedp.Click(chromedp.CSS(`li[data-todo="`+todo["id"].(string)+`"] button.todo-done`)),
		chromedp.WaitVisible(chromedp.CSS(`li.todo.done[data-todo="`+todo["id"].(string)+`"]`)))
	b.shot("call-todos.png")
	list := apiCall(t, base, key, "GET", "/api/v1/calls/todo-1/todos", nil, 200)
	done := 0
	for _, x := range list["todos"].([]any) {
		m := x.(map[string]any)
		if m["status"] == "done" {
			done++
			if m["id"] != todo["id"] {
				t.Fatalf("the wrong to-do is done: %v", m)
			}
		}
	}
	if done != 1 {
		t.Fatalf("%d to-dos done, want 1: %v", done, list)
	}
	// Another call's to-do is not this call's to mark.
	apiCall(t, base, key, "POST", "/api/v1/calls", map[string]any{"call_id": "todo-2", "direction": "inbound", "from": "+1", "to": "+2"}, 201)
	csrf := b.eval("csrf", `document.querySelector("input[name=csrf_token]").value`).(string)
	if st := b.eval("other call", `fetch("/calls/todo-2/todos/`+todo["id"].(string)+`/done", {method: "POST", body: new URLSearchParams({csrf_token: "`+csrf+`"})}).then(r => r.status)`); st != float64(404) {
		t.Fatalf("another call's to-do: %v, want 404", st)
	}
}
