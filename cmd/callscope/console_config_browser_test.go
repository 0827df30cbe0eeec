package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleConfigInBrowser drives the console's admin pages, the
// outbound page and the call page's webhook replay of a real `callscope
// serve` on SQLite with headless Chromium, and checks that an agent is
// refused the admin pages.
//
// The webhook receiver follows the Standard Webhooks specification
// (https://www.standardwebhooks.com/, "webhook-id" names a message, the
// same on every attempt and replay) and answers 204.
func TestConsoleConfigInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (Debian package chromium)")
	}
	var mu sync.Mutex
	hits := map[string]int{} // webhook-id → requests
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		hits[r.Header.Get("webhook-id")]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	total := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, v := range hits {
			n += v
		}
		return n
	}

	dir := t.TempDir()
	srv := startServer(t, dir, "CALLSCOPE_ALLOW_PRIVATE_URLS=true")
	base := "http://" + srv.addr
	env := []string{"CALLSCOPE_DATA_DIR=" + dir}
	passwords := map[string]string{}
	for _, u := range []struct{ email, role string }{{"admin@example.org", "admin"}, {"agent@example.org", "agent"}} {
		out, errOut, code := cli(t, env, "user", "create", "--tenant", "default", "--email", u.email, "--role", u.role)
		if code != 0 {
			t.Fatalf("user create: %d %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		passwords[u.email] = lines[len(lines)-1]
	}

	bctx := newBrowser(t, chromium, 4*time.Minute)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(bctx, 45*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(what, js string) any {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[any](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	status := func(js string) int {
		t.Helper()
		v, _ := eval(js, js).(float64)
		return int(v)
	}
	signIn := func(email string) {
		t.Helper()
		do("sign in as "+email, chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.CSS(`#email`)),
			chromedp.SendKeys(chromedp.CSS(`#email`), email),
			chromedp.SendKeys(chromedp.CSS(`#password`), passwords[email]),
			chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`nav[aria-label=Main]`)))
	}
	// reloadUntil reloads the page until js is true.
	reloadUntil := func(what, js string, limit time.Duration) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for eval(what, js) != true {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after %s", what, limit)
			}
			time.Sleep(300 * time.Millisecond)
			do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`main`)))
		}
	}

	// waitFor evaluates js until it is true, without reloading.
	waitFor := func(what, js string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			if v, err := chromedp.Run(bctx, chromedp.Evaluate[any](js)); err == nil && v == true {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after 30 s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	flash := func(what, substr string) {
		t.Helper()
		waitFor(what, `(document.getElementById("flash")||{textContent: ""}).textContent.includes(`+jsString(substr)+`)`)
	}

	signIn("admin@example.org")

	t.Run("Settings", func(t *testing.T) {
		do("open", chromedp.Navigate(base+"/admin/settings"), chromedp.WaitVisible(chromedp.CSS(`#settings`)))
		do("save an unknown setting", chromedp.SetValue(chromedp.CSS(`#settings`), `{"no_such_setting": 1}`),
			chromedp.Click(chromedp.CSS(`#save-settings`)), chromedp.WaitVisible(chromedp.CSS(`#settings-error`)))
		if msg := text(`#settings-error`); !strings.Contains(msg, "no_such_setting") {
			t.Fatalf("the error next to the field does not name the setting: %q", msg)
		}
		do("save a valid change", chromedp.SetValue(chromedp.CSS(`#settings`), `{"processing_mode": "postcall_only"}`),
			chromedp.Click(chromedp.CSS(`#save-settings`)))
		flash("settings saved", "Settings saved.")
		if got, _ := eval("settings", `document.getElementById("settings").value`).(string); !strings.Contains(got, `"postcall_only"`) {
			t.Fatalf("the saved settings do not read back: %s", got)
		}
		d := apiCall(t, base, srv.adminKey, "GET", "/api/v1/tenants", nil, http.StatusOK)
		raw, _ := json.Marshal(d)
		if !strings.Contains(string(raw), `"processing_mode":"postcall_only"`) {
			t.Fatalf("the API does not show the saved setting: %s", raw)
		}
	})

	t.Run("Analyzers", func(t *testing.T) {
		do("open", chromedp.Navigate(base+"/admin/analyzers"), chromedp.WaitVisible(chromedp.CSS(`#name`)))
		do("create without a name", chromedp.SetValue(chromedp.CSS(`#kind`), "builtin"), chromedp.Click(chromedp.CSS(`#create-analyzer`)),
			chromedp.WaitVisible(chromedp.CSS(`#name-error`)))
		do("create", chromedp.SetValue(chromedp.CSS(`#name`), "Refund spotter"), chromedp.SetValue(chromedp.CSS(`#kind`), "builtin"),
			chromedp.SetValue(chromedp.CSS(`#prompt`), "keywords: refund, order"),
			chromedp.Click(chromedp.CSS(`#create-analyzer`)))
		flash("created", "Analyzer created.")
		if list := text(`#analyzers`); !strings.Contains(list, "Refund spotter") || !strings.Contains(list, "active") {
			t.Fatalf("the list: %s", list)
		}
		do("deactivate", chromedp.Click(chromedp.CSS(`#analyzers button`)))
		flash("deactivated", "deactivated")
		if list := text(`#analyzers`); !strings.Contains(list, "inactive") {
			t.Fatalf("after deactivating: %s", list)
		}
		do("edit", chromedp.Click(chromedp.CSS(`#analyzers a`)), chromedp.WaitVisible(chromedp.CSS(`#save-analyzer`)),
			chromedp.SetValue(chromedp.CSS(`#name`), "Refund finder"), chromedp.Click(chromedp.CSS(`#save-analyzer`)))
		flash("saved", "Analyzer saved.")
		if h := text(`h1`); !strings.Contains(h, "Refund finder") {
			t.Fatalf("after editing: %s", h)
		}
		do("start a backfill", chromedp.Click(chromedp.CSS(`#start-backfill`)))
		flash("backfill", "Backfill started.")
		reloadUntil("the backfill finishes", `[...document.querySelectorAll(".backfill")].some(e => e.dataset.status === "completed")`, 30*time.Second)
	})

	t.Run("APIKeys", func(t *testing.T) {
		do("open", chromedp.Navigate(base+"/admin/api-keys"), chromedp.WaitVisible(chromedp.CSS(`#create-key`)))
		do("create", chromedp.SetValue(chromedp.CSS(`#name`), "ci"), chromedp.Click(chromedp.CSS(`#create-key`)),
			chromedp.WaitVisible(chromedp.CSS(`#new-key`)))
		key := strings.TrimSpace(text(`#new-key`))
		apiCall(t, base, key, "GET", "/api/v1/calls", nil, http.StatusOK)
		// The key is shown once: the list does not carry it.
		do("reload", chromedp.Navigate(base+"/admin/api-keys"), chromedp.WaitVisible(chromedp.CSS(`#keys`)))
		if strings.Contains(eval("html", `document.body.innerHTML`).(string), key) {
			t.Fatal("the key is shown again")
		}
		do("revoke", chromedp.Click(chromedp.CSS(`#keys tr:last-child button`)))
		flash("revoked", "API key revoked.")
		apiCall(t, base, key, "GET", "/api/v1/calls", nil, http.StatusUnauthorized)
	})

	t.Run("Webhooks", func(t *testing.T) {
		do("open", chromedp.Navigate(base+"/admin/webhooks"), chromedp.WaitVisible(chromedp.CSS(`#create-webhook`)))
		do("create", chromedp.SetValue(chromedp.CSS(`#url`), receiver.URL+"/hook"), chromedp.Click(chromedp.CSS(`#create-webhook`)),
			chromedp.WaitVisible(chromedp.CSS(`#created-secret`)))
		if list := text(`#webhooks`); !strings.Contains(list, receiver.URL+"/hook") {
			t.Fatalf("the list: %s", list)
		}
	})

	var callPath string
	t.Run("Outbound", func(t *testing.T) {
		do("open", chromedp.Navigate(base+"/outbound"), chromedp.WaitVisible(chromedp.CSS(`#schedule-call`)))
		do("a bad phone number", chromedp.SetValue(chromedp.CSS(`#contact_name`), "Bea Buyer"), chromedp.SetValue(chromedp.CSS(`#contact_phone`), "555"),
			chromedp.Click(chromedp.CSS(`#schedule-call`)), chromedp.WaitVisible(chromedp.CSS(`#contact_phone-error`)))
		do("schedule", chromedp.SetValue(chromedp.CSS(`#contact_phone`), "+15550100"), chromedp.SetValue(chromedp.CSS(`#scheduled_time`), ""),
			chromedp.SetValue(chromedp.CSS(`#script`), "Hello {{contactName}}, this is a test call."),
			chromedp.SetValue(chromedp.CSS(`#outcome`), "answer"), chromedp.SetValue(chromedp.CSS(`#ring_seconds`), "1"),
			chromedp.SetValue(chromedp.CSS(`#talk_seconds`), "2"),
			chromedp.Click(chromedp.CSS(`#schedule-call`)), chromedp.WaitVisible(chromedp.CSS(`#scheduled`)))
		reloadUntil("the call completes", `(document.querySelector("#outbound-calls tbody tr .status")||{}).textContent === "completed"`, 90*time.Second)
		if row := text(`#outbound-calls tbody tr`); !strings.Contains(row, "Bea Buyer") || !strings.Contains(row, "+15550100") {
			t.Fatalf("the row: %s", row)
		}
		callPath = eval("link", `document.querySelector("#outbound-calls tbody tr a").getAttribute("href")`).(string)
	})

	t.Run("CallPageReplay", func(t *testing.T) {
		if callPath == "" {
			t.Skip("no call")
		}
		do("open", chromedp.Navigate(base+callPath), chromedp.WaitVisible(chromedp.CSS(`#deliveries`)))
		reloadUntil("a webhook delivery is sent", `[...document.querySelectorAll("#deliveries .delivery")].some(e => e.querySelector("button"))`, 30*time.Second)
		id := eval("id", `[...document.querySelectorAll("#deliveries .delivery")].find(e => e.querySelector("button")).dataset.delivery`).(string)
		before := total()
		do("replay", chromedp.Click(chromedp.CSS(`#deliveries tr[data-delivery="`+id+`"] button`)),
			chromedp.WaitVisible(chromedp.CSS(`#deliveries .notice`)))
		deadline := time.Now().Add(30 * time.Second)
		for total() <= before {
			if time.Now().After(deadline) {
				t.Fatal("the replayed delivery did not reach the receiver")
			}
			time.Sleep(100 * time.Millisecond)
		}
		if st := status(`fetch("` + callPath + `/deliveries/` + id + `/replay", {method: "POST", body: new URLSearchParams({})}).then(r => r.status)`); st != http.StatusForbidden {
			t.Fatalf("a replay without its CSRF token: %d, want 403", st)
		}
	})

	t.Run("DeliveryLog", func(t *testing.T) {
		do("open", chromedp.Navigate(base+"/admin/webhooks"), chromedp.WaitVisible(chromedp.CSS(`#webhooks`)),
			chromedp.Click(chromedp.CSS(`#webhooks a`)), chromedp.WaitVisible(chromedp.CSS(`#delivery-log`)))
		reloadUntil("a delivery is done", `[...document.querySelectorAll("#delivery-log .delivery")].some(e => !e.textContent.includes("pending"))`, 30*time.Second)
		before := total()
		do("replay", chromedp.Click(chromedp.CSS(`#delivery-log .delivery button`)))
		flash("queued again", "Delivery queued again.")
		deadline := time.Now().Add(30 * time.Second)
		for total() <= before {
			if time.Now().After(deadline) {
				t.Fatal("the replayed delivery did not reach the receiver")
			}
			time.Sleep(100 * time.Millisecond)
		}
		do("delete", chromedp.Navigate(base+"/admin/webhooks"), chromedp.WaitVisible(chromedp.CSS(`#webhooks`)),
			chromedp.Click(chromedp.CSS(`#webhooks button`)))
		flash("deleted", "Webhook endpoint deleted.")
	})

	t.Run("AgentIsRefused", func(t *testing.T) {
		do("sign out", chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.CSS(`form.logout`)),
			chromedp.Click(chromedp.CSS(`form.logout button`)), chromedp.WaitVisible(chromedp.CSS(`#email`)))
		signIn("agent@example.org")
		if nav := text(`nav[aria-label=Main]`); strings.Contains(nav, "Configuration") {
			t.Fatalf("an agent's navigation: %s", nav)
		}
		for _, p := range []string{"/admin/analyzers", "/admin/webhooks", "/admin/api-keys", "/admin/users", "/admin/settings"} {
			if st := status(`fetch("` + p + `").then(r => r.status)`); st != http.StatusForbidden {
				t.Fatalf("an agent GET %s: %d, want 403", p, st)
			}
		}
		do("open", chromedp.Navigate(base+"/admin/settings"), chromedp.WaitVisible(chromedp.CSS(`h1`)))
		if h := text(`h1`); h != "Admins only" {
			t.Fatalf("an agent's settings page says %q", h)
		}
	})
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
