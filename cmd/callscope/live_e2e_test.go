package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/callscope/callscope/internal/audio"
	"github.com/callscope/callscope/internal/stream/audiosocket"
	"github.com/callscope/callscope/internal/stream/openchs"
	"github.com/callscope/callscope/internal/stream/twilio"
)

// The two sides of the dialogue every protocol plays: a caller at risk
// and a counsellor. flite speaks them; pocketsphinx hears them.
const (
	callerLine     = "hello. my husband hits me every day. he said he will kill me. please help me."
	counsellorLine = "thank you for calling the helpline. are you safe right now?"
)

// agentService is a fake agent notification service (seed 001 §3.13): an
// OAuth2 token endpoint and a notification endpoint that keeps what it got.
type agentService struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []map[string]any
}

func newAgentService(t *testing.T) *agentService {
	a := &agentService{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/token":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"access_token":"agent-token","token_type":"Bearer","expires_in":3600}`)
		case "/notify":
			if r.Header.Get("Authorization") != "Bearer agent-token" {
				http.Error(w, "no token", http.StatusUnauthorized)
				return
			}
			var n map[string]any
			_ = json.NewDecoder(r.Body).Decode(&n)
			a.mu.Lock()
			a.got = append(a.got, n)
			a.mu.Unlock()
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// riskRaised returns the call.risk_raised notification of callID, or nil.
func (a *agentService) riskRaised(callID string) map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, n := range a.got {
		if n["event"] == "call.risk_raised" && n["call_id"] == callID {
			return n
		}
	}
	return nil
}

// speak returns flite's rendering of text at 16 kHz, with half a second of
// silence before it.
func speak(t *testing.T, text string) []int16 {
	t.Helper()
	wav := filepath.Join(t.TempDir(), "line.wav")
	if out, err := exec.Command("flite", "-voice", "slt", "-t", text, "-o", wav).CombinedOutput(); err != nil {
		t.Fatalf("flite: %v\n%s", err, out)
	}
	data, err := os.ReadFile(wav)
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := audio.DecodeBytes(data, audio.Format{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := audio.Resample(pcm.Channels[0], pcm.SampleRate, 16000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int16, 8000, len(x)+8000)
	for _, v := range x {
		out = append(out, int16(max(-1, min(1, v))*32767))
	}
	return out
}

// downsample halves 16 kHz to 8 kHz (the players send what they are given).
func downsample(t *testing.T, x []int16) []int16 {
	f := make([]float32, len(x))
	for i, v := range x {
		f[i] = float32(v) / 32768
	}
	y, err := audio.Resample(f, 16000, 8000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int16, len(y))
	for i, v := range y {
		out[i] = int16(max(-1, min(1, v)) * 32767)
	}
	return out
}

// sseReader collects a Server-Sent Events stream's events by type and call.
type sseReader struct {
	mu     sync.Mutex
	events []map[string]any // data objects, in order, with "event" added
}

func readSSE(t *testing.T, url, key string) *sseReader {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	r := &sseReader{}
	go func() {
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var typ string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				var d map[string]any
				if json.Unmarshal([]byte(line[6:]), &d) == nil {
					d["event"] = typ
					r.mu.Lock()
					r.events = append(r.events, d)
					r.mu.Unlock()
				}
			}
		}
	}()
	return r
}

// first returns the index of the first event of typ for callID, or -1.
func (r *sseReader) first(typ, callID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, d := range r.events {
		if d["event"] == typ && d["call_id"] == callID {
			return i
		}
	}
	return -1
}

// TestLiveEndToEnd plays a flite dialogue in real time into a real
// `callscope serve` over each protocol, on each database, with a hybrid
// tenant, pocketsphinx and an agent service: each call is active with the
// seed's connection_info while it plays, its segments reach an SSE
// subscriber before it ends, it ends on hangup with its recording served,
// post-call processing completes, and its progressive analysis leaves
// evolution snapshots and a risk notification at the agent service.
func TestLiveEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("plays three calls in real time")
	}
	for _, tool := range []string{"flite", "pocketsphinx_continuous", "pocketsphinx_batch"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install flite pocketsphinx pocketsphinx-en-us)", tool)
		}
	}
	caller, counsellor := speak(t, callerLine), speak(t, counsellorLine)
	dbs := map[string][]string{"sqlite": nil}
	if url := os.Getenv("CALLSCOPE_TEST_DATABASE_URL"); url != "" {
		dbs["postgres"] = postgresSchema(t, url)
	}
	for name, dbEnv := range dbs {
		t.Run(name, func(t *testing.T) { liveEndToEnd(t, dbEnv, caller, counsellor) })
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func liveEndToEnd(t *testing.T, dbEnv []string, caller, counsellor []int16) {
	agent := newAgentService(t)
	asAddr, chsAddr := freeAddr(t), freeAddr(t)
	const token = "twilio-token-e2e"
	env := append([]string{"CALLSCOPE_AUDIOSOCKET_ADDR=" + asAddr, "CALLSCOPE_OPENCHS_ADDR=" + chsAddr,
		"CALLSCOPE_TWILIO_AUTH_TOKEN=" + token, "CALLSCOPE_STT_ENGINE=pocketsphinx",
		"CALLSCOPE_ALLOW_PRIVATE_URLS=true", "CALLSCOPE_SHUTDOWN_DELAY=0s", "CALLSCOPE_TRUSTED_NETWORKS=127.0.0.1/32",
		"CALLSCOPE_PROGRESSIVE_MIN_CHARS=20", "CALLSCOPE_PROGRESSIVE_INTERVAL=1s",
		"CALLSCOPE_SECRET_KEY=" + strings.Repeat("ab", 32)}, dbEnv...)
	srv := startServer(t, t.TempDir(), env...)
	base := "http://" + srv.addr
	key := srv.adminKey
	api := func(method, path string, body any) (int, map[string]any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	// The default tenant: hybrid mode, an agent service.
	code, tenants := api("GET", "/api/v1/tenants", nil)
	if code != 200 {
		t.Fatalf("tenants: %d %v", code, tenants)
	}
	tenantID := tenants["tenants"].([]any)[0].(map[string]any)["id"].(string)
	if code, body := api("PATCH", "/api/v1/tenants/"+tenantID, map[string]any{"settings": map[string]any{
		"processing_mode": "hybrid",
		"agent_service": map[string]any{"url": agent.srv.URL + "/notify", "token_url": agent.srv.URL + "/token",
			"client_id": "callscope", "client_secret": "s3cret"}}}); code != 200 {
		t.Fatalf("tenant settings: %d %v", code, body)
	}
	feed := readSSE(t, base+"/api/v1/events", key)

	// One call per protocol, all at once, in real time.
	asID := uuid.New()
	ids := map[string]string{"audiosocket": asID.String(), "openchs": "1761295415.777", "twilio": twilio.NewSid("CA")}
	mixed := append(append(append([]int16{}, caller...), counsellor...), make([]int16, 8000)...)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	play := func(fn func() error) {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- fn() }()
	}
	play(func() error {
		_, err := audiosocket.Player{Addr: asAddr, Speed: 1}.Play(ctx, asID, downsample(t, mixed))
		return err
	})
	play(func() error {
		_, err := openchs.Player{Addr: chsAddr, Speed: 1}.Play(ctx, ids["openchs"], mixed)
		return err
	})
	play(func() error {
		// The caller on the inbound track, the counsellor after them on
		// the outbound one.
		in := append(append([]int16{}, caller...), make([]int16, len(counsellor)+8000)...)
		out := append(make([]int16, len(caller)), counsellor...)
		out = append(out, make([]int16, 8000)...)
		_, err := twilio.Player{URL: "ws://" + srv.addr + "/twilio/stream", AuthToken: token, Speed: 1,
			Params: map[string]string{"campaign": "e2e"}}.Play(ctx, ids["twilio"], downsample(t, in), downsample(t, out))
		return err
	})

	f := &liveFixture{base: base}
	for _, id := range ids {
		c := f.waitActive(t, id)
		checkConnectionInfo(t, c, "hybrid")
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	deadline := time.Now().Add(4 * time.Minute)
	for proto, id := range ids {
		var c struct {
			Status             string         `json:"status"`
			ProcessingStatus   string         `json:"processing_status"`
			Metadata           map[string]any `json:"metadata"`
			TranscriptSegments []struct {
				Speaker string `json:"speaker"`
				Text    string `json:"text"`
			} `json:"transcript_segments"`
		}
		for {
			c.ProcessingStatus = ""
			f.get(t, "/api/v1/calls/"+id, &c)
			if c.ProcessingStatus == "completed" || c.ProcessingStatus == "failed" || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if c.Status != "completed" || c.ProcessingStatus != "completed" {
			t.Fatalf("%s call %s: status %q, processing %q (end_reason %v)\n%s", proto, id, c.Status, c.ProcessingStatus,
				c.Metadata["end_reason"], srv.stderr)
		}
		// Segments reached the subscriber while the call was live.
		seg, ended := feed.first("transcript.segment", id), feed.first("call.completed", id)
		if seg < 0 || ended < 0 || seg > ended {
			t.Errorf("%s call: first segment event at %d, call.completed at %d on the event stream", proto, seg, ended)
		}
		if feed.first("analysis.snapshot", id) < 0 {
			t.Errorf("%s call: no analysis.snapshot on the event stream", proto)
		}
		// The recording is served.
		var recs struct {
			Recordings []struct {
				URL      string `json:"url"`
				Channels int    `json:"channels"`
			} `json:"recordings"`
		}
		f.get(t, "/api/v1/calls/"+id+"/recordings", &recs)
		if len(recs.Recordings) != 1 {
			t.Fatalf("%s call recordings: %+v", proto, recs)
		}
		wantChannels := 1
		if proto == "twilio" {
			wantChannels = 2
		}
		u := recs.Recordings[0].URL
		if strings.HasPrefix(u, "/") {
			u = base + u
		}
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || recs.Recordings[0].Channels != wantChannels {
			t.Errorf("%s recording: GET %d, %d channels", proto, res.StatusCode, recs.Recordings[0].Channels)
		}
		// Progressive analysis: snapshots of both kinds, the risk raised.
		var ents, cls []map[string]any
		f.get(t, "/api/v1/calls/"+id+"/entity-evolution", &ents)
		f.get(t, "/api/v1/calls/"+id+"/classification-evolution", &cls)
		if len(ents) == 0 || len(cls) == 0 {
			t.Errorf("%s call: %d entity and %d classification windows", proto, len(ents), len(cls))
		}
		var words []string
		for _, sg := range c.TranscriptSegments {
			words = append(words, sg.Speaker+": "+sg.Text)
		}
		last := map[string]any{}
		if len(cls) > 0 {
			last = cls[len(cls)-1]["classification"].(map[string]any)
		}
		t.Logf("%s: %d windows, last classification %v/%v; transcript %q", proto, len(cls), last["category"], last["risk"],
			strings.Join(words, " | "))
	}
	// The risk notifications reach the agent service (a queued job each).
	for proto, id := range ids {
		var n map[string]any
		for wait := time.Now().Add(30 * time.Second); n == nil && time.Now().Before(wait); time.Sleep(200 * time.Millisecond) {
			n = agent.riskRaised(id)
		}
		if n == nil {
			t.Errorf("%s call: the agent service got no call.risk_raised notification", proto)
			continue
		}
		data, _ := n["data"].(map[string]any)
		if data["risk"] != "high" {
			t.Errorf("%s call: risk notification %v", proto, n)
		}
	}
	if t.Failed() {
		t.Logf("server log:\n%s", srv.stderr)
	}
}
