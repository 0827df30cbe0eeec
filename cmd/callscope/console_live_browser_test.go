package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleLiveInBrowser plays a flite dialogue in real time with
// `callscope stream` into the AudioSocket listener of a real `callscope
// serve` (pocketsphinx transcribing, a hybrid tenant) and watches it in
// headless Chromium: the live page lists the call, and the call's page,
// opened while it plays, grows its transcript, shows the progressive
// analysis and raises the risk banner from its event stream, without a
// reload; the live page, open before the call started, lists it without
// one too.
func TestConsoleLiveInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (Debian package chromium)")
	}
	for _, tool := range []string{"flite", "pocketsphinx_continuous", "pocketsphinx_batch"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install flite pocketsphinx pocketsphinx-en-us)", tool)
		}
	}
	shots := os.Getenv("CALLSCOPE_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	// The caller, the counsellor, then silence enough to watch the call
	// while it is still connected.
	caller, counsellor := speak(t, callerLine), speak(t, counsellorLine)
	dialogue := append(append(append([]int16{}, caller...), counsellor...), make([]int16, 16000*15)...)
	wav := writeWAV(t, 8000, downsample(t, dialogue))

	dir := t.TempDir()
	asAddr := freeAddr(t)
	srv := startServer(t, dir, "CALLSCOPE_AUDIOSOCKET_ADDR="+asAddr, "CALLSCOPE_STT_ENGINE=pocketsphinx",
		"CALLSCOPE_SHUTDOWN_DELAY=0s", "CALLSCOPE_PROGRESSIVE_MIN_CHARS=20", "CALLSCOPE_PROGRESSIVE_INTERVAL=1s",
		"CALLSCOPE_SECRET_KEY="+strings.Repeat("ab", 32))
	base := "http://" + srv.addr
	tenants := apiCall(t, base, srv.adminKey, "GET", "/api/v1/tenants", nil, 200)
	tenantID := tenants["tenants"].([]any)[0].(map[string]any)["id"].(string)
	apiCall(t, base, srv.adminKey, "PATCH", "/api/v1/tenants/"+tenantID, map[string]any{"settings": map[string]any{
		"processing_mode": "hybrid"}}, 200)
	env := []string{"CALLSCOPE_DATA_DIR=" + dir}
	out, errOut, code := cli(t, env, "user", "create", "--tenant", "default", "--email", "ana@example.org", "--name", "Ana Reviewer", "--role", "supervisor")
	if code != 0 {
		t.Fatalf("user create: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	password := lines[len(lines)-1]

	bctx := newBrowser(t, chromium, 3*time.Minute)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(what, js string) any {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[any](js))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	poll := func(what, js string, limit time.Duration) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for eval(what, js) != true {
			if time.Now().After(deadline) {
				st := eval("state", `JSON.stringify({lines: document.querySelectorAll("#transcript li[data-start]").length,
					live: (document.getElementById("progressive")||{}).textContent, alert: (document.getElementById("risk-alert")||{}).textContent})`)
				t.Fatalf("%s: not after %s (%v)\n%s", what, limit, st, srv.stderr)
			}
			time.Sleep(200 * time.Millisecond)
		}
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

	do("sign in", chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "ana@example.org"),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`h1`)))

	// The live page, open before the call starts, lists it when it is
	// connected, without a reload.
	do("live page", chromedp.Navigate(base+"/live"), chromedp.WaitVisible(chromedp.CSS(`#live-calls`)))
	eval("mark", `window.notReloaded = true`)
	played := make(chan error, 1)
	go func() {
		var o, e strings.Builder
		err := run(context.Background(), []string{"stream", "--protocol", "audiosocket", "--addr", asAddr, "--speed", "1", wav}, &o, &e)
		if err != nil {
			err = &streamError{err, o.String() + e.String()}
		}
		played <- err
	}()

	poll("the live page lists the streamed call", `!!document.querySelector("table.calls a[href^='/calls/']") && window.notReloaded === true`, 30*time.Second)
	do("open the live call", chromedp.Click(chromedp.CSS(`table.calls a[href^='/calls/']`)), chromedp.WaitVisible(chromedp.CSS(`#progressive`)))
	// A mark on the page's window: a reload would lose it.
	loaded := eval("mark", `window.notReloaded = true, document.querySelectorAll("#transcript li[data-start]").length`).(float64)
	poll("the transcript grows", fmt.Sprintf(`document.querySelectorAll("#transcript li[data-start]").length > %d && window.notReloaded === true`, int(loaded)), 60*time.Second)
	poll("the live analysis shows a classification", `document.getElementById("live-category").textContent !== "—" && window.notReloaded === true`, 60*time.Second)
	poll("the risk banner is raised", `!document.getElementById("risk-alert").hidden && window.notReloaded === true`, 60*time.Second)
	if a := eval("alert", `document.getElementById("risk-alert").textContent`).(string); !strings.Contains(a, "Risk raised to high") {
		t.Fatalf("risk banner says %q", a)
	}
	t.Logf("transcript: %v", eval("transcript", `document.getElementById("transcript").innerText`))
	t.Logf("live analysis: %v; banner: %v", eval("panel", `document.getElementById("progressive").innerText`),
		eval("banner", `document.getElementById("risk-alert").textContent`))
	shot("live-call.png")
	// The live page shows the call's risk from its progressive analysis.
	do("live page", chromedp.Navigate(base+"/live"), chromedp.WaitVisible(chromedp.CSS(`table.calls`)))
	if row := eval("row", `document.querySelector("table.calls tbody tr").innerText`).(string); !strings.Contains(row, "high") {
		t.Fatalf("the live page's row does not show the raised risk: %q", row)
	}
	shot("live.png")
	if err := <-played; err != nil {
		t.Fatal(err)
	}
}

// streamError is a failed `callscope stream` with what it printed.
type streamError struct {
	err    error
	output string
}

func (e *streamError) Error() string { return "stream: " + e.err.Error() + "\n" + e.output }
