package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/callscope/callscope/internal/sqlstore"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "callscope-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "callscope")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cli runs the binary with env added to a clean environment.
func cli(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestInvalidConfigNamesVariable(t *testing.T) {
	for _, env := range []string{"CALLSCOPE_ADDR=nowhere", "API_PORT=http", "MAX_CONCURRENT_PROCESSING=0", "CALLSCOPE_LOG_FORMAT=yaml"} {
		name, _, _ := strings.Cut(env, "=")
		_, errOut, code := cli(t, []string{env, "CALLSCOPE_DATA_DIR=" + t.TempDir()}, "serve")
		if code == 0 || !strings.Contains(errOut, name) {
			t.Fatalf("%s: exit %d, stderr %q", env, code, errOut)
		}
	}
}

func TestTenantAndKeyCommands(t *testing.T) {
	dir := t.TempDir()
	env := []string{"CALLSCOPE_DATA_DIR=" + dir}
	// Away from a data directory, a command says where it looked and
	// creates nothing.
	_, errOut, code := cli(t, env, "tenant", "list")
	if code == 0 || !strings.Contains(errOut, filepath.Join(dir, "callscope.db")) || !strings.Contains(errOut, "CALLSCOPE_DATA_DIR") {
		t.Fatalf("tenant list without a database: exit %d, %q", code, errOut)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("tenant list without a database created %v", entries)
	}
	if _, errOut, code := cli(t, env, "migrate"); code != 0 {
		t.Fatalf("migrate: %d %s", code, errOut)
	}
	out, errOut, code := cli(t, env, "tenant", "create", "--name", "acme", "--results-secret", "0123456789abcdef0123")
	if code != 0 {
		t.Fatalf("tenant create: %d %s", code, errOut)
	}
	var tn map[string]any
	if err := json.Unmarshal([]byte(out), &tn); err != nil || tn["id"] == "" || tn["name"] != "acme" || tn["has_results_secret"] != true {
		t.Fatalf("tenant create printed %q (%v)", out, err)
	}
	_, errOut, code = cli(t, env, "tenant", "create", "--name", "acme")
	if code != 1 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("duplicate tenant: %d %q", code, errOut)
	}
	out, _, code = cli(t, env, "apikey", "create", "--tenant", "acme", "--name", "ci")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	if code != 0 || !regexp.MustCompile(`^cs_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$`).MatchString(key) {
		t.Fatalf("apikey create: %d %q", code, out)
	}
	out, _, _ = cli(t, env, "apikey", "list", "--tenant", tn["id"].(string))
	var keys []map[string]any
	if err := json.Unmarshal([]byte(out), &keys); err != nil || len(keys) != 1 || strings.Contains(out, key[16:]) {
		t.Fatalf("apikey list: %q %v", out, err)
	}
	out, _, code = cli(t, env, "apikey", "revoke", keys[0]["id"].(string))
	if code != 0 || !strings.Contains(out, "revoked_at") {
		t.Fatalf("revoke: %d %q", code, out)
	}
	out, _, _ = cli(t, env, "tenant", "list")
	if !strings.Contains(out, `"acme"`) {
		t.Fatalf("tenant list: %q", out)
	}
	_, errOut, code = cli(t, env, "apikey", "create", "--tenant", "nobody")
	if code != 1 || !strings.Contains(errOut, "nobody") {
		t.Fatalf("unknown tenant: %d %q", code, errOut)
	}
}

// server is a running `callscope serve`.
type server struct {
	cmd      *exec.Cmd
	addr     string
	adminKey string
	exited   chan error
	stderr   *bytes.Buffer
}

var addrRe = regexp.MustCompile(`"msg":"callscope serving","addr":"([^"]+)"`)

func startServer(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "CALLSCOPE_DATA_DIR=" + dataDir, "CALLSCOPE_LOG_FORMAT=json",
		"CALLSCOPE_RATE_LIMIT_GET=0", "CALLSCOPE_RATE_LIMIT_POST=0"}, extra...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	s := &server{cmd: cmd, exited: make(chan error, 1), stderr: &bytes.Buffer{}}
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	var mu sync.Mutex
	keyc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "cs_") {
				keyc <- sc.Text()
			}
		}
	}()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			s.stderr.WriteString(line + "\n")
			mu.Unlock()
			if m := addrRe.FindStringSubmatch(line); m != nil {
				found <- m[1]
			}
		}
	}()
	go func() { s.exited <- cmd.Wait(); pw.Close() }()
	select {
	case s.addr = <-found:
	case err := <-s.exited:
		t.Fatalf("server exited: %v\n%s", err, s.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start:\n%s", s.stderr)
	}
	select {
	case s.adminKey = <-keyc:
	case <-time.After(100 * time.Millisecond):
		// Not a first start: no key is printed.
	}
	return s
}

// TestSIGTERMUnderLoad sends SIGTERM while clients create calls. Clients
// behave like a load balancer: they watch /health and stop sending new
// requests once it reports draining. Requests sent before then — including
// slow uploads still in flight when the listener closes — must all be
// answered (no connection reset), and after a restart every created call is
// there with its event dispatched by the queue (no job lost).
func TestSIGTERMUnderLoad(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, "CALLSCOPE_SHUTDOWN_TIMEOUT=15s", "CALLSCOPE_SHUTDOWN_DELAY=700ms")
	// The first start prints the admin key once.
	key := s.adminKey
	if !strings.HasPrefix(key, "cs_") {
		t.Fatalf("no admin key printed: %q", key)
	}
	var (
		created  sync.Map
		nCreated atomic.Int64
		draining atomic.Bool
		badMu    sync.Mutex
		bad      []string
		wg       sync.WaitGroup
	)
	fail := func(msg string) {
		badMu.Lock()
		bad = append(bad, msg)
		badMu.Unlock()
	}
	client := &http.Client{Timeout: 20 * time.Second}
	post := func(id string, body io.Reader) {
		req, _ := http.NewRequest("POST", "http://"+s.addr+"/api/v1/calls", body)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := client.Do(req)
		if err != nil {
			fail(id + ": " + err.Error())
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 201 {
			fail(fmt.Sprintf("%s: status %d", id, res.StatusCode))
			return
		}
		created.Store(id, true)
		nCreated.Add(1)
	}
	// The health watcher, as a load balancer runs it.
	healthDone := make(chan struct{})
	go func() {
		defer close(healthDone)
		for !draining.Load() {
			res, err := client.Get("http://" + s.addr + "/health")
			if err != nil || res.StatusCode == http.StatusServiceUnavailable {
				draining.Store(true)
			}
			if err == nil {
				res.Body.Close()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; !draining.Load(); i++ {
				id := fmt.Sprintf("load-%d-%d", w, i)
				post(id, strings.NewReader(`{"call_id":"`+id+`"}`))
			}
		}(w)
	}
	time.Sleep(500 * time.Millisecond)
	// Slow uploads: sent before SIGTERM, their bodies finish only after the
	// listener has closed.
	for i := 0; i < 3; i++ {
		wg.Add(1)
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte(`{"call_id": "slow-` + fmt.Sprint(i) + `"`))
			time.Sleep(1500 * time.Millisecond)
			pw.Write([]byte(`}`))
			pw.Close()
		}()
		go func(i int) { defer wg.Done(); post(fmt.Sprintf("slow-%d", i), pr) }(i)
	}
	time.Sleep(100 * time.Millisecond)
	before := nCreated.Load()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.exited:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM:\n%s", err, s.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit after SIGTERM")
	}
	wg.Wait()
	<-healthDone
	t.Logf("created %d calls, %d of them before SIGTERM", nCreated.Load(), before)
	if len(bad) > 0 {
		t.Fatalf("%d requests were not answered, e.g. %v", len(bad), bad[0])
	}
	for i := 0; i < 3; i++ {
		if _, ok := created.Load(fmt.Sprintf("slow-%d", i)); !ok {
			t.Fatalf("slow request %d in flight at shutdown was not served", i)
		}
	}
	if nCreated.Load() <= before {
		t.Fatal("no request was served after SIGTERM")
	}

	// Restart on the same data: every call is there, every event is
	// dispatched by the queue.
	s2 := startServer(t, dir)
	n := 0
	created.Range(func(k, _ any) bool {
		n++
		if n%25 != 0 && !strings.HasPrefix(k.(string), "slow-") {
			return true
		}
		req, _ := http.NewRequest("GET", "http://"+s2.addr+"/api/v1/calls/"+k.(string), nil)
		req.Header.Set("X-API-Key", key)
		res, err := client.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("call %s after restart: %v %v", k, err, res)
		}
		res.Body.Close()
		return true
	})
	if s2.adminKey != "" {
		t.Fatal("a restart printed a new admin key")
	}
	// Wait for the queue to drain, stop the server, and check the database:
	// every created call's event was dispatched — no job was lost.
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := client.Get("http://" + s2.addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		pending := 0
		for _, x := range regexp.MustCompile(`callscope_queue_jobs\{state="(available|running|retryable|scheduled)"\} (\d+)`).FindAllStringSubmatch(string(b), -1) {
			var v int
			fmt.Sscan(x[2], &v)
			pending += v
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs still pending", pending)
		}
		time.Sleep(100 * time.Millisecond)
	}
	s2.cmd.Process.Signal(syscall.SIGTERM)
	<-s2.exited
	st, err := sqlstore.Open(context.Background(), sqlstore.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := st.UndispatchedEvents(context.Background(), ""); err != nil || n != 0 {
		t.Fatalf("%d events never dispatched (%v)", n, err)
	}
	tn, err := st.TenantByName(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	created.Range(func(k, _ any) bool {
		c, err := st.Call(context.Background(), tn.ID, k.(string))
		if err != nil {
			missing++
			return true
		}
		evs, _ := st.Events(context.Background(), tn.ID, c.ID)
		if len(evs) != 1 || evs[0].Type != "call.created" {
			missing++
		}
		return true
	})
	if missing > 0 {
		t.Fatalf("%d of %d created calls lack their call or event", missing, nCreated.Load())
	}
}

// BenchmarkIdleRSS starts `callscope serve` on an empty SQLite data
// directory, lets it settle with its queue polling, and reports its resident
// memory.
func BenchmarkIdleRSS(b *testing.B) {
	dir := b.TempDir()
	cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "CALLSCOPE_DATA_DIR=" + dir, "CALLSCOPE_LOG_FORMAT=json"}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	time.Sleep(3 * time.Second)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(status)
	if m == nil {
		b.Fatalf("no VmRSS in %s", status)
	}
	var kb float64
	fmt.Sscan(string(m[1]), &kb)
	b.ReportMetric(kb/1024, "RSS-MB")
}

// TestCLIWhileServing creates a tenant and a key with the command while a
// server runs on the same SQLite database, and uses the key at once.
func TestCLIWhileServing(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	if _, err := os.Stat(filepath.Join(dir, "recordings")); err != nil {
		t.Fatalf("no recordings folder: %v", err)
	}
	env := []string{"CALLSCOPE_DATA_DIR=" + dir}
	if _, errOut, code := cli(t, env, "tenant", "create", "--name", "live"); code != 0 {
		t.Fatalf("tenant create while serving: %d %s", code, errOut)
	}
	out, errOut, code := cli(t, env, "apikey", "create", "--tenant", "live")
	if code != 0 {
		t.Fatalf("apikey create while serving: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	req, _ := http.NewRequest("POST", "http://"+s.addr+"/api/v1/calls", strings.NewReader(`{"call_id":"cli-1"}`))
	req.Header.Set("X-API-Key", lines[len(lines)-1])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("new key on the running server: %d", res.StatusCode)
	}
}

func TestProcessCommand(t *testing.T) {
	out, errOut, code := cli(t, nil, "process", "../../testdata/transcripts/helpline.txt", "../../testdata/transcripts/billing.json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"=== CALL EXPORT ===", "Call ID: helpline.txt", "--- ORIGINAL TRANSCRIPT (English) ---",
		"Persons: Grace, Wanjiru", "Locations: Kibera", "Call ID: billing.json", "=== END OF EXPORT ==="} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Not a terminal: a line per file, the time left while files
	// remain, no bar.
	if !strings.Contains(errOut, "helpline.txt: ok (1/2, about ") || !strings.Contains(errOut, "billing.json: ok (2/2)") ||
		!strings.Contains(errOut, "2 processed, 0 failed") || strings.ContainsAny(errOut, "\r\033") {
		t.Errorf("progress: %q", errOut)
	}

	dir := t.TempDir()
	_, errOut, code = cli(t, nil, "process", "--format", "json", "--out", dir,
		"../../testdata/transcripts/helpline.txt", "../../testdata/transcripts/bad.txt", "../../testdata/transcripts/missing.json")
	if code != 1 {
		t.Fatalf("exit %d with bad files, want 1: %s", code, errOut)
	}
	if !strings.Contains(errOut, "bad.txt: error: line 1") || !strings.Contains(errOut, "missing.json: error:") || !strings.Contains(errOut, "1 processed, 2 failed") {
		t.Fatalf("per-file errors: %s", errOut)
	}
	b, err := os.ReadFile(filepath.Join(dir, "helpline.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp map[string]any
	if err := json.Unmarshal(b, &exp); err != nil || exp["classification"].(map[string]any)["category"] != "physical_abuse" {
		t.Fatalf("json export: %v %s", err, b)
	}
	if _, _, code := cli(t, nil, "process"); code != 2 {
		t.Fatalf("no files: exit %d, want 2", code)
	}
}

func TestEvalCommand(t *testing.T) {
	out, errOut, code := cli(t, nil, "eval", "../../internal/nlp/testdata/eval")
	if code != 0 || !strings.Contains(out, "category accuracy") || !strings.Contains(out, "phone") {
		t.Fatalf("eval: exit %d\n%s%s", code, out, errOut)
	}
}

func TestProcessAudioFile(t *testing.T) {
	if _, err := exec.LookPath("pocketsphinx_continuous"); err != nil {
		t.Skip("pocketsphinx is not installed (apt-get install pocketsphinx pocketsphinx-en-us)")
	}
	if _, err := exec.LookPath("flite"); err != nil {
		t.Skip("flite is not installed")
	}
	wav := filepath.Join(t.TempDir(), "greeting.wav")
	if out, err := exec.Command("flite", "-voice", "slt", "-t", "Hello, please call me back tomorrow.", "-o", wav).CombinedOutput(); err != nil {
		t.Fatalf("flite: %v %s", err, out)
	}
	out, errOut, code := cli(t, []string{"PATH=" + os.Getenv("PATH")}, "process", wav)
	if code != 0 || !strings.Contains(out, "Call ID: greeting.wav") || !strings.Contains(out, "tomorrow") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}

// TestWebhooksSurviveSIGKILL kills callscope with SIGKILL while the webhook
// receiver is down, then brings both back: every event is delivered, each
// message under one id only.
func TestWebhooksSurviveSIGKILL(t *testing.T) {
	// A port for the receiver, not listening yet: deliveries are refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	receiverAddr := ln.Addr().String()
	ln.Close()

	dir := t.TempDir()
	env := []string{"CALLSCOPE_ALLOW_PRIVATE_URLS=true", "CALLSCOPE_WEBHOOK_RETRY_SCHEDULE=0s,300ms,300ms,1s,1s,1s,1s,2s,2s,2s,2s,2s,2s,2s",
		"PROCESSING_TIMEOUT_SECONDS=5", "CALLSCOPE_SHUTDOWN_DELAY=0s"}
	s := startServer(t, dir, env...)
	key := s.adminKey
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(srv *server, method, path, body string) (int, []byte) {
		req, _ := http.NewRequest(method, "http://"+srv.addr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	if code, b := do(s, "POST", "/api/v1/webhooks", `{"url": "http://`+receiverAddr+`/hook", "event_types": ["call.created"]}`); code != 201 {
		t.Fatalf("create webhook: %d %s", code, b)
	}
	const calls = 20
	for i := 0; i < calls; i++ {
		if code, b := do(s, "POST", "/api/v1/calls", fmt.Sprintf(`{"call_id": "hook-%d"}`, i)); code != 201 {
			t.Fatalf("create call: %d %s", code, b)
		}
	}
	time.Sleep(700 * time.Millisecond) // first attempts fail against the closed port
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.exited

	// The receiver comes up, then callscope.
	var mu sync.Mutex
	idsByCall := map[string]map[string]bool{}
	rec := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Data struct {
				CallID string `json:"call_id"`
			} `json:"data"`
		}
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &body)
		mu.Lock()
		if idsByCall[body.Data.CallID] == nil {
			idsByCall[body.Data.CallID] = map[string]bool{}
		}
		idsByCall[body.Data.CallID][r.Header.Get("webhook-id")] = true
		mu.Unlock()
		w.WriteHeader(204)
	})}
	rln, err := net.Listen("tcp", receiverAddr)
	if err != nil {
		t.Fatalf("receiver port taken meanwhile: %v", err)
	}
	go rec.Serve(rln)
	defer rec.Close()
	s2 := startServer(t, dir, env...)
	defer func() { s2.cmd.Process.Signal(syscall.SIGTERM); <-s2.exited }()

	deadline := time.Now().Add(90 * time.Second)
	for {
		mu.Lock()
		n := len(idsByCall)
		mu.Unlock()
		if n >= calls {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events delivered after the restart", n, calls)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for callID, ids := range idsByCall {
		if len(ids) != 1 {
			t.Errorf("call %s delivered under %d different webhook ids", callID, len(ids))
		}
	}
}
