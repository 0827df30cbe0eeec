package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/callscope/callscope/internal/dial"
)

// apiCall sends a JSON request with an API key and decodes the answer.
func apiCall(t *testing.T, base, key, method, path string, body any, want int) map[string]any {
	t.Helper()
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ct = bytes.NewReader(b), "audio/wav"
	default:
		js, _ := json.Marshal(b)
		rd = bytes.NewReader(js)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	if rd != nil {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return out
}

// TestConsoleInBrowser drives the console of a real `callscope serve` on
// SQLite with headless Chromium: sign in, find a call made through the API
// in the list, play its recording with the transcript following, seek by
// clicking a segment, re-run analyzers, and check that a form without its
// CSRF token and another tenant's call are refused.
func TestConsoleInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (Debian package chromium)")
	}
	flite, ok := dial.FliteInstalled()
	if !ok {
		t.Skip("flite is not installed (Debian package flite)")
	}
	shots := os.Getenv("CALLSCOPE_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)

	dir := t.TempDir()
	srv := startServer(t, dir)
	base := "http://" + srv.addr
	env := []string{"CALLSCOPE_DATA_DIR=" + dir}
	out, errOut, code := cli(t, env, "user", "create", "--tenant", "default", "--email", "Ana@Example.org", "--name", "Ana Reviewer", "--role", "supervisor")
	if code != 0 {
		t.Fatalf("user create: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	password := lines[len(lines)-1]

	// A call with a spoken recording and a transcript in three parts.
	ctx := context.Background()
	wav, seconds, err := flite.Speak(ctx, "Hello, this is the help line. I would like a refund for my order please. Thank you, the refund is on its way, goodbye.")
	if err != nil {
		t.Fatal(err)
	}
	apiCall(t, base, srv.adminKey, "POST", "/api/v1/calls", map[string]any{"call_id": "console-1", "direction": "inbound",
		"from": "+15551234567", "to": "+15559876543", "title": "Refund request"}, http.StatusCreated)
	apiCall(t, base, srv.adminKey, "POST", "/api/v1/calls/console-1/recording", wav, http.StatusCreated)
	third := seconds / 3
	apiCall(t, base, srv.adminKey, "POST", "/api/v1/calls/console-1/segments", map[string]any{"segments": []map[string]any{
		{"segment_id": 0, "speaker": "agent", "start_time": 0, "end_time": third, "text": "Hello, this is the help line.", "confidence": 0.9},
		{"segment_id": 1, "speaker": "caller", "start_time": third, "end_time": 2 * third, "text": "I would like a refund for my order please.", "confidence": 0.9},
		{"segment_id": 2, "speaker": "agent", "start_time": 2 * third, "end_time": seconds, "text": "Thank you, the refund is on its way, goodbye.", "confidence": 0.9},
	}}, http.StatusOK)
	apiCall(t, base, srv.adminKey, "POST", "/api/analyzers", map[string]any{"name": "Refund spotter", "kind": "builtin",
		"prompt": "keywords: refund, order", "active": true}, http.StatusCreated)
	apiCall(t, base, srv.adminKey, "POST", "/api/calls/console-1/rerun", nil, http.StatusAccepted)
	waitRuns := func(n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			d := apiCall(t, base, srv.adminKey, "GET", "/api/calls/console-1", nil, http.StatusOK)
			got := 0
			for _, g := range d["analysis_groups"].([]any) {
				got += len(g.(map[string]any)["runs"].([]any))
			}
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d analyzer runs after 30 s, want %d", got, n)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitRuns(1)

	// Another tenant's call.
	if _, errOut, code := cli(t, env, "tenant", "create", "--name", "other"); code != 0 {
		t.Fatalf("tenant create: %s", errOut)
	}
	out, errOut, code = cli(t, env, "apikey", "create", "--tenant", "other")
	if code != 0 {
		t.Fatalf("apikey create: %s", errOut)
	}
	otherKey := strings.TrimSpace(out)
	apiCall(t, base, otherKey, "POST", "/api/v1/calls", map[string]any{"call_id": "other-1", "direction": "inbound", "from": "+1", "to": "+2"}, http.StatusCreated)

	bctx := newBrowser(t, chromium, 3*time.Minute)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
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
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// poll evaluates js until it returns true.
	poll := func(what, js string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			if eval(what, js) == true {
				return
			}
			if time.Now().After(deadline) {
				state := eval("state", `JSON.stringify({t: (document.getElementById("player")||{}).currentTime, cur: (document.querySelector("#transcript li.current")||{}).id, runs: document.querySelectorAll(".run").length})`)
				t.Fatalf("%s: not after 30 s (%v)", what, state)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	location := func() string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	status := func(js string) int {
		t.Helper()
		v, _ := eval(js, js).(float64)
		return int(v)
	}

	t.Run("SignIn", func(t *testing.T) {
		do("open", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`#email`)))
		if loc := location(); !strings.HasPrefix(loc, base+"/login") {
			t.Fatalf("signed-out visit landed on %s, want the sign-in page", loc)
		}
		do("sign in",
			chromedp.SendKeys(chromedp.CSS(`#email`), "ana@example.org"),
			chromedp.SendKeys(chromedp.CSS(`#password`), password),
			chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`table.calls`)))
		if loc := location(); loc != base+"/calls" {
			t.Fatalf("after sign-in at %s", loc)
		}
	})

	t.Run("CallList", func(t *testing.T) {
		list := text(`table.calls`)
		if !strings.Contains(list, "+15551234567 → +15559876543") || !strings.Contains(list, "Refund request") {
			t.Fatalf("the call list does not show the call made through the API:\n%s", list)
		}
		if strings.Contains(list, "+1 → +2") {
			t.Fatal("the list shows another tenant's call")
		}
		// The inline player plays one recording at a time.
		do("play in the list", chromedp.Click(chromedp.CSS(`a.play`)))
		poll("list player playing", `!!document.querySelector("a.play.playing") && document.getElementById("list-player").currentTime > 0`)
		do("pause in the list", chromedp.Click(chromedp.CSS(`a.play`)))
		poll("list player paused", `document.getElementById("list-player").paused && !document.querySelector("a.play.playing")`)
		do("search", chromedp.SetValue(chromedp.CSS(`#q`), "refund"), chromedp.Submit(chromedp.CSS(`#q`)), chromedp.WaitVisible(chromedp.CSS(`table.calls`)))
		do("search nothing", chromedp.SetValue(chromedp.CSS(`#q`), "zebra crossing"), chromedp.Submit(chromedp.CSS(`#q`)),
			chromedp.WaitVisible(chromedp.CSS(`section.empty`)))
		do("back to the list", chromedp.Navigate(base+"/calls"), chromedp.WaitVisible(chromedp.CSS(`table.calls`)))
		shot("calls.png")
	})

	t.Run("CallPlayerFollowsTranscript", func(t *testing.T) {
		do("open the call", chromedp.Click(chromedp.CSS(`a.call-link`)), chromedp.WaitVisible(chromedp.CSS(`#player`)))
		eval("play", `document.getElementById("player").play().then(() => true)`)
		poll("time advances in the first segment", `document.getElementById("player").currentTime > 0.2`)
		poll("the first segment is highlighted", `(document.querySelector("#transcript li.current")||{}).id === "seg-0"`)
		poll("the highlight follows to the second segment", fmt.Sprintf(
			`document.getElementById("player").currentTime > %f && (document.querySelector("#transcript li.current")||{}).id === "seg-1"`, third+0.1))
		shot("call.png")
		do("click the last segment", chromedp.Click(chromedp.CSS(`#seg-2 span`)))
		poll("the player seeks to the last segment", fmt.Sprintf(
			`(t => t >= %f && t < %f)(document.getElementById("player").currentTime) && (document.querySelector("#transcript li.current")||{}).id === "seg-2"`,
			2*third, 2*third+1.5))
		eval("pause", `document.getElementById("player").pause(), true`)
	})

	t.Run("Rerun", func(t *testing.T) {
		if n := status(`document.querySelectorAll(".run").length`); n != 1 {
			t.Fatalf("%d runs shown, want 1", n)
		}
		do("re-run", chromedp.Click(chromedp.CSS(`#rerun`)), chromedp.WaitVisible(chromedp.CSS(`#analysis .notice`)))
		poll("a second run is appended", `document.querySelectorAll(".run").length === 2`)
	})

	t.Run("CSRF", func(t *testing.T) {
		if st := status(`fetch("/calls/console-1/rerun", {method: "POST", body: new URLSearchParams({})}).then(r => r.status)`); st != http.StatusForbidden {
			t.Fatalf("a form without its CSRF token: %d, want 403", st)
		}
		if st := status(`fetch("/calls/console-1/rerun", {method: "POST", body: new URLSearchParams({csrf_token: "forged"})}).then(r => r.status)`); st != http.StatusForbidden {
			t.Fatalf("a form with a forged CSRF token: %d, want 403", st)
		}
		waitRuns(2)
		time.Sleep(500 * time.Millisecond)
		d := apiCall(t, base, srv.adminKey, "GET", "/api/calls/console-1", nil, http.StatusOK)
		if runs := d["analysis_groups"].([]any)[0].(map[string]any)["runs"].([]any); len(runs) != 2 {
			t.Fatalf("%d runs after the refused forms, want 2", len(runs))
		}
	})

	t.Run("OtherTenantIs404", func(t *testing.T) {
		if st := status(`fetch("/calls/other-1").then(r => r.status)`); st != http.StatusNotFound {
			t.Fatalf("another tenant's call: %d, want 404", st)
		}
		do("open", chromedp.Navigate(base+"/calls/other-1"), chromedp.WaitVisible(chromedp.CSS(`h1`)))
		if h1 := text(`h1`); h1 != "Not found" {
			t.Fatalf("another tenant's call page says %q", h1)
		}
		if st := status(`fetch("/calls/other-1/recording").then(r => r.status)`); st != http.StatusNotFound {
			t.Fatalf("another tenant's recording: %d, want 404", st)
		}
	})

	t.Run("LiveTranscriptGrows", func(t *testing.T) {
		// The call is still in progress: the live page lists it, and its
		// page adds lines as they are transcribed.
		do("live page", chromedp.Navigate(base+"/live"), chromedp.WaitVisible(chromedp.CSS(`table.calls`)))
		if list := text(`table.calls`); !strings.Contains(list, "Refund request") {
			t.Fatalf("the live page does not list the call in progress:\n%s", list)
		}
		do("open", chromedp.Navigate(base+"/calls/console-1"), chromedp.WaitVisible(chromedp.CSS(`#transcript`)))
		time.Sleep(time.Second) // the event stream connects
		apiCall(t, base, srv.adminKey, "POST", "/api/v1/calls/console-1/segments", map[string]any{"segments": []map[string]any{
			{"segment_id": 3, "speaker": "caller", "start_time": seconds, "end_time": seconds + 2, "text": "One more thing about the delivery.", "confidence": 0.9},
		}}, http.StatusOK)
		poll("the new line appears", `(document.getElementById("seg-3")||{textContent: ""}).textContent.includes("One more thing about the delivery.")`)
	})

	t.Run("ProcessedCall", func(t *testing.T) {
		// Once the call has ended and been processed, its page shows the
		// results and the processing timeline.
		apiCall(t, base, srv.adminKey, "POST", "/api/v1/calls/console-1/end", nil, http.StatusOK)
		apiCall(t, base, srv.adminKey, "POST", "/api/v1/calls/console-1/trigger-ai-pipeline", nil, http.StatusOK)
		deadline := time.Now().Add(2 * time.Minute)
		for {
			p := apiCall(t, base, srv.adminKey, "GET", "/api/v1/calls/console-1/processing", nil, http.StatusOK)
			if st := p["processing_status"]; st == "completed" {
				break
			} else if st == "failed" || time.Now().After(deadline) {
				t.Fatalf("processing: %v", p)
			}
			time.Sleep(300 * time.Millisecond)
		}
		do("open", chromedp.Navigate(base+"/calls/console-1"), chromedp.WaitVisible(chromedp.CSS(`#timeline table`)))
		if cls := text(`#classification`); strings.Contains(cls, "Not classified yet") {
			t.Fatalf("the processed call's classification: %s", cls)
		}
		shot("call-processed.png")
	})
}
