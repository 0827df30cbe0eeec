package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/audio"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/config"
	"github.com/callscope/callscope/internal/feed"
	cshttp "github.com/callscope/callscope/internal/http"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
	"github.com/callscope/callscope/internal/stream"
	"github.com/callscope/callscope/internal/stt"
)

// fastEngine is a transcription engine that answers at once: the live
// path is measured, not a recogniser.
type fastEngine struct{}

func (fastEngine) Transcribe(_ context.Context, a stt.Audio) (stt.Result, error) {
	return stt.Result{Segments: []stt.Segment{{Start: 0, End: a.Seconds(), Text: "words of one utterance", Confidence: 0.9}}}, nil
}

// benchEnv reads an integer setting of the live benchmark.
func benchEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// utteranceWAV writes a call of n utterances: 1 s of line noise, then 1.5 s
// of syllable-like sound, n times, then 1 s of noise, at 8 kHz.
func utteranceWAV(t testing.TB, n int) (path string, seconds float64) {
	r := rand.New(rand.NewPCG(1, 1))
	var x []float32
	noise := func(d float64) {
		for range int(d * 8000) {
			x = append(x, float32(0.002*r.NormFloat64()))
		}
	}
	for range n {
		noise(1)
		for i := range 12000 {
			tt := float64(i) / 8000
			env := math.Pow(math.Abs(math.Sin(2*math.Pi*2*tt)), 2)
			x = append(x, float32(0.15*env*math.Sin(2*math.Pi*220*tt)+0.002*r.NormFloat64()))
		}
	}
	noise(1)
	return write8kWAV(t, "utterances.wav", x), float64(len(x)) / 8000
}

// segmentSeen is a transcript.segment event as the SSE subscriber got it.
type segmentSeen struct {
	callID string
	end    float64
	at     time.Time
}

// BenchmarkLiveAudioSocket runs CALLSCOPE_BENCH_STREAMS (default 1,000)
// AudioSocket calls at once at real-time pace into the live path as serve
// wires it — listener, sessions, recording spool, streaming voice activity
// detection, live transcription, SQLite, the live feed and an SSE
// subscriber — with a transcription engine that answers at once (or
// pocketsphinx on a flite dialogue, with CALLSCOPE_BENCH_ENGINE=pocketsphinx).
// The calls come from `callscope stream` in a child process, so the CPU and
// memory measured are the server's (CPU including its recognisers'). Reported: frames lost, utterances not
// stored, memory per live session, CPU per stream, and the delay from the
// end of an utterance's speech to its segment on the event stream (p50,
// p95; it includes the 600 ms of silence that ends an utterance).
func BenchmarkLiveAudioSocket(b *testing.B) {
	streams := benchEnv("CALLSCOPE_BENCH_STREAMS", 1000)
	engine := os.Getenv("CALLSCOPE_BENCH_ENGINE")
	for b.Loop() {
		benchLive(b, streams, engine)
	}
}

func benchLive(b *testing.B, streams int, engine string) {
	ctx := context.Background()
	s := sqlstoretest.Open(b, sqlstore.SQLite)
	if err := job.Migrate(ctx, s); err != nil {
		b.Fatal(err)
	}
	tn := &callscope.Tenant{Name: callscope.DefaultTenantName, Settings: callscope.Settings{ProcessingMode: callscope.ModeRealtime}}
	if err := s.CreateTenant(ctx, tn); err != nil {
		b.Fatal(err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, job.NewPendingWorker(s, nil, "not worked in this benchmark",
		func(a pipeline.ProcessCallArgs) (string, string) { return a.TenantID, a.CallID }))
	q, err := job.New(s, workers, job.Config{})
	if err != nil {
		b.Fatal(err)
	}
	hub := &feed.Hub{Source: s}
	q.OnFeed(hub.Wake)
	hubCtx, stopHub := context.WithCancel(ctx)
	defer stopHub()
	go hub.Run(hubCtx)

	dir := b.TempDir()
	cfg := &config.Config{DataDir: dir, AudioSocketAddr: "127.0.0.1:0"}
	calls := &call.Service{Store: s, Queue: q, Stages: pipeline.Stages}
	var logTo io.Writer = io.Discard
	if f := os.Getenv("CALLSCOPE_BENCH_LOG"); f != "" {
		lf, err := os.Create(f)
		if err != nil {
			b.Fatal(err)
		}
		defer lf.Close()
		logTo = lf
	}
	log := slog.New(slog.NewTextHandler(logTo, nil))
	lv := newLiveStreams(cfg, calls, blob.Dir{Root: filepath.Join(dir, "recordings")}, log)
	file, seconds := utteranceWAV(b, 8)
	perCall := 8
	switch engine {
	case "pocketsphinx":
		eng, err := stt.New(stt.Config{Engine: stt.ProviderPocketSphinx})
		if err != nil {
			b.Fatal(err)
		}
		lv.sessions.Speech = eng
		file, seconds, perCall = dialogueWAV(b)
	default:
		lv.sessions.Speech = fastEngine{}
	}
	if err := lv.Start(ctx, log); err != nil {
		b.Fatal(err)
	}
	srv := &cshttp.Server{Store: s, Calls: calls, Live: lv.sessions, Logger: log, Feed: hub,
		TrustedNetworks: stream.Loopback, RateLimitGet: 0}
	if err := srv.Open("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	defer srv.Close(ctx)

	// The subscriber.
	var mu sync.Mutex
	var seen []segmentSeen
	sseCtx, stopSSE := context.WithCancel(ctx)
	defer stopSSE()
	req, _ := http.NewRequestWithContext(sseCtx, "GET", "http://"+srv.Addr()+"/api/v1/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "data: ") || !strings.Contains(line, `"transcript.segment"`) {
				continue
			}
			at := time.Now()
			var d struct {
				Data callscope.SegmentFeedData `json:"data"`
			}
			if json.Unmarshal([]byte(line[6:]), &d) != nil {
				continue
			}
			mu.Lock()
			for _, sg := range d.Data.Segments {
				seen = append(seen, segmentSeen{callID: d.Data.ID, end: sg.EndTime, at: at})
			}
			mu.Unlock()
		}
	}()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := selfCPU()
	// CALLSCOPE_BENCH_STAGGER (e.g. 2.5s) spreads the calls' starts, so
	// that their utterances end at independent moments, as real calls'
	// do; without it every call speaks in step, the worst case.
	stagger := os.Getenv("CALLSCOPE_BENCH_STAGGER")
	if stagger == "" {
		stagger = "0s"
	}
	peer := exec.Command(binary, "stream", "--protocol", "audiosocket", "--addr", lv.audiosocket.ListenAddr().String(),
		"--calls", strconv.Itoa(streams), "--speed", "1", "--stagger", stagger, file)
	out, err := peer.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	peer.Stderr = os.Stderr
	if err := peer.Start(); err != nil {
		b.Fatal(err)
	}
	// Memory with every call open, half way through.
	time.Sleep(time.Duration(seconds / 2 * float64(time.Second)))
	runtime.GC()
	var during runtime.MemStats
	runtime.ReadMemStats(&during)
	open := lv.sessions.Live()
	peerOut, _ := io.ReadAll(out)
	if err := peer.Wait(); err != nil {
		b.Fatalf("stream: %v\n%s", err, peerOut)
	}
	for deadline := time.Now().Add(2 * time.Minute); lv.sessions.Live() > 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	// This process and the recognisers it ran, not the peer.
	cpu := selfCPU() - cpu0 - peer.ProcessState.UserTime() - peer.ProcessState.SystemTime()
	lv.Stop()
	time.Sleep(time.Second) // the last feed items reach the subscriber

	// What was stored.
	var list []*callscope.Call
	for {
		page, err := s.SearchCalls(ctx, callscope.CallQuery{CallFilter: callscope.CallFilter{TenantID: tn.ID,
			Limit: callscope.MaxPageSize}, Offset: len(list)})
		if err != nil {
			b.Fatal(err)
		}
		list = append(list, page...)
		if len(page) < callscope.MaxPageSize {
			break
		}
	}
	var lostFrames, missing int
	started := map[string]time.Time{}
	for _, c := range list {
		if c.StartedAt != nil {
			started[c.ID] = *c.StartedAt
		}
		recs, err := s.Recordings(ctx, c.ID)
		if err != nil || len(recs) != 1 {
			b.Fatalf("call %s: %d recordings (%v)", c.ID, len(recs), err)
		}
		lostFrames += int(math.Round((seconds - recs[0].DurationSeconds) / stream.FrameDuration.Seconds()))
		segs, err := s.Segments(ctx, c.ID)
		if err != nil {
			b.Fatal(err)
		}
		missing += max(0, perCall-len(segs))
	}
	mu.Lock()
	var delays []float64
	for _, sg := range seen {
		if st, ok := started[sg.callID]; ok {
			// The segment ends 100 ms (padding) after the last speech.
			delays = append(delays, sg.at.Sub(st).Seconds()-(sg.end-0.1))
		}
	}
	mu.Unlock()
	slices.Sort(delays)
	pct := func(p float64) float64 {
		if len(delays) == 0 {
			return math.NaN()
		}
		return delays[min(len(delays)-1, int(p*float64(len(delays))))]
	}
	inUse := func(m *runtime.MemStats) float64 { return float64(m.HeapInuse + m.StackInuse) }
	b.ReportMetric(float64(len(list)), "calls")
	b.ReportMetric(float64(lostFrames), "frames_lost")
	b.ReportMetric(float64(missing), "utterances_missing")
	b.ReportMetric((inUse(&during)-inUse(&before))/float64(max(1, open))/1024, "KiB/session")
	b.ReportMetric(100*cpu.Seconds()/(seconds*float64(streams)), "cpu%/stream")
	b.ReportMetric(pct(0.5)*1000, "ms_p50_speech_end_to_sse")
	b.ReportMetric(pct(0.95)*1000, "ms_p95_speech_end_to_sse")
	// Less the 600 ms of silence that closes an utterance.
	b.ReportMetric((pct(0.95)-0.6)*1000, "ms_p95_close_to_sse")
	b.Logf("%d calls of %.1f s (%d open at half time), started over %s, %d segments on the event stream; engine %q; stream: %s",
		len(list), seconds, open, stagger, len(seen), orDefault(engine, "instant"), strings.TrimSpace(lastLine(string(peerOut))))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// dialogueWAV is a flite dialogue at 8 kHz: four sentences with pauses,
// and how many utterances it holds.
func dialogueWAV(b *testing.B) (string, float64, int) {
	lines := []string{"hello, thank you for calling the helpline.", "my name is Amina and I need some help.",
		"are you safe right now?", "yes, I am at my sister's house today."}
	var x []float32
	for _, l := range lines {
		wav := filepath.Join(b.TempDir(), "l.wav")
		if out, err := exec.Command("flite", "-voice", "slt", "-t", l, "-o", wav).CombinedOutput(); err != nil {
			b.Fatalf("flite: %v\n%s", err, out)
		}
		data, _ := os.ReadFile(wav)
		pcm, err := audio.DecodeBytes(data, audio.Format{})
		if err != nil {
			b.Fatal(err)
		}
		y, _ := audio.Resample(pcm.Channels[0], pcm.SampleRate, 8000)
		x = append(x, make([]float32, 8000)...)
		x = append(x, y...)
	}
	x = append(x, make([]float32, 8000)...)
	return write8kWAV(b, "dialogue.wav", x), float64(len(x)) / 8000, len(lines)
}

// write8kWAV writes 8 kHz mono audio to a WAV file in a temporary directory.
func write8kWAV(t testing.TB, name string, x []float32) string {
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, (&audio.PCM{SampleRate: 8000, Channels: [][]float32{x}}).WAV(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// selfCPU is the user and system CPU time of this process and of its
// children that have ended.
func selfCPU() time.Duration {
	var self, children syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	return time.Duration(self.Utime.Nano() + self.Stime.Nano() + children.Utime.Nano() + children.Stime.Nano())
}
