package stt_test

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/audio"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/stt"
)

// request is what the fake server received in one transcription request.
type request struct {
	Path   string
	Auth   string
	Fields map[string][]string
	Audio  *audio.PCM
}

// fakeServer behaves like an OpenAI-compatible transcription server (or
// whisper.cpp's, on another path): it checks the multipart request as the
// real servers parse it and answers what reply returns.
type fakeServer struct {
	t     *testing.T
	path  string
	reply func(r request) (status int, header http.Header, body string)

	mu   sync.Mutex
	reqs []request
}

func newFakeServer(t *testing.T, path string, reply func(request) (int, http.Header, string)) (*fakeServer, *httptest.Server) {
	t.Helper()
	f := &fakeServer{t: t, path: path, reply: reply}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+path, f.transcribe)
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"object":"list","data":[{"id":"whisper-1","object":"model"}]}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeServer) transcribe(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		http.Error(w, `{"error":{"message":"not multipart"}}`, http.StatusBadRequest)
		return
	}
	req := request{Path: r.URL.Path, Auth: r.Header.Get("Authorization"), Fields: r.MultipartForm.Value}
	if fh := r.MultipartForm.File["file"]; len(fh) == 1 {
		fd, err := fh[0].Open()
		if err == nil {
			data, _ := io.ReadAll(fd)
			fd.Close()
			if audio.Detect(data, audio.Format{}) == audio.CodecWAV {
				req.Audio, _ = audio.DecodeBytes(data, audio.Format{})
			}
		}
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	if req.Audio == nil {
		http.Error(w, `{"error":{"message":"file is missing or not audio"}}`, http.StatusBadRequest)
		return
	}
	status, header, body := f.reply(req)
	for k, v := range header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func (f *fakeServer) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

func ok(body string) func(request) (int, http.Header, string) {
	return func(request) (int, http.Header, string) { return 200, nil, body }
}

// tone is a clip of a 440 Hz tone, enough for the server to have audio.
func tone(seconds float64, level float32) stt.Audio {
	n := int(seconds * stt.SampleRate)
	x := make([]float32, n)
	for i := range x {
		x[i] = level * float32(math.Sin(2*math.Pi*440*float64(i)/stt.SampleRate))
	}
	return stt.Audio{Samples: x, SampleRate: stt.SampleRate}
}

func MustOpenAI(tb testing.TB, srv *httptest.Server, cfg stt.HTTPConfig) *stt.HTTPClient {
	tb.Helper()
	cfg.BaseURL = srv.URL + "/v1"
	if cfg.Model == "" {
		cfg.Model = "whisper-1"
	}
	c, err := stt.NewOpenAI(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestOpenAI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("Request", func(t *testing.T) {
		f, srv := newFakeServer(t, "/v1/audio/transcriptions", ok(`{"text":"hello","segments":[]}`))
		c := MustOpenAI(t, srv, stt.HTTPConfig{APIKey: "sk-test", Model: "Systran/faster-whisper-small"})
		a := tone(1.5, 0.3)
		a.Language = "en-US"
		if _, err := c.Transcribe(ctx, a); err != nil {
			t.Fatal(err)
		}
		reqs := f.requests()
		if len(reqs) != 1 {
			t.Fatalf("got %d requests, want 1", len(reqs))
		}
		r := reqs[0]
		want := map[string]string{"model": "Systran/faster-whisper-small", "language": "en", "response_format": "verbose_json", "timestamp_granularities[]": "segment"}
		for k, v := range want {
			if got := r.Fields[k]; len(got) != 1 || got[0] != v {
				t.Errorf("field %s = %q, want %q", k, got, v)
			}
		}
		if r.Auth != "Bearer sk-test" {
			t.Errorf("Authorization = %q", r.Auth)
		}
		if r.Audio.SampleRate != 16000 || len(r.Audio.Channels) != 1 || r.Audio.Len() != 24000 {
			t.Errorf("file is %d Hz, %d channels, %d samples; want a 16 kHz mono WAV of 24000 samples", r.Audio.SampleRate, len(r.Audio.Channels), r.Audio.Len())
		}
	})

	t.Run("ResamplesTo16kHz", func(t *testing.T) {
		f, srv := newFakeServer(t, "/v1/audio/transcriptions", ok(`{"text":""}`))
		c := MustOpenAI(t, srv, stt.HTTPConfig{})
		a := stt.Audio{Samples: make([]float32, 8000), SampleRate: 8000}
		if _, err := c.Transcribe(ctx, a); err != nil {
			t.Fatal(err)
		}
		if r := f.requests()[0]; r.Audio.SampleRate != 16000 || r.Audio.Len() != 16000 {
			t.Errorf("file is %d Hz with %d samples, want 16000 Hz with 16000", r.Audio.SampleRate, r.Audio.Len())
		}
		if _, ok := f.requests()[0].Fields["language"]; ok {
			t.Errorf("language sent without a hint; OpenAI detects it when it is absent")
		}
	})

	t.Run("VerboseJSON", func(t *testing.T) {
		_, srv := newFakeServer(t, "/v1/audio/transcriptions", ok(`{"task":"transcribe","language":"english","duration":4.0,"text":"Hello. My card was stolen.",
			"segments":[{"id":0,"seek":0,"start":0.0,"end":1.2,"text":" Hello.","tokens":[1],"temperature":0.0,"avg_logprob":-0.2,"compression_ratio":1.1,"no_speech_prob":0.01},
			{"id":1,"seek":0,"start":1.5,"end":3.9,"text":" My card was stolen.","tokens":[2],"temperature":0.0,"avg_logprob":-0.5,"compression_ratio":1.2,"no_speech_prob":0.02}]}`))
		res, err := MustOpenAI(t, srv, stt.HTTPConfig{}).Transcribe(ctx, tone(4, 0.3))
		if err != nil {
			t.Fatal(err)
		}
		want := []stt.Segment{
			{Start: 0, End: 1.2, Text: "Hello.", Confidence: math.Exp(-0.2)},
			{Start: 1.5, End: 3.9, Text: "My card was stolen.", Confidence: math.Exp(-0.5)},
		}
		assertSegments(t, res.Segments, want)
		if res.Language != "en" {
			t.Errorf("language = %q, want en", res.Language)
		}
		if res.EngineTime <= 0 {
			t.Errorf("engine time not measured")
		}
	})

	t.Run("VLLMNulls", func(t *testing.T) {
		_, srv := newFakeServer(t, "/v1/audio/transcriptions", ok(`{"text":"Hello there.","language":"en","duration":2.0,
			"segments":[{"id":0,"seek":0,"start":0.1,"end":1.8,"text":"Hello there.","tokens":[1],"temperature":0.0,"avg_logprob":null,"compression_ratio":null,"no_speech_prob":null}]}`))
		res, err := MustOpenAI(t, srv, stt.HTTPConfig{}).Transcribe(ctx, tone(2, 0.3))
		if err != nil {
			t.Fatal(err)
		}
		assertSegments(t, res.Segments, []stt.Segment{{Start: 0.1, End: 1.8, Text: "Hello there.", Confidence: 0}})
	})

	t.Run("LocalAINanoseconds", func(t *testing.T) {
		_, srv := newFakeServer(t, "/v1/audio/transcriptions", ok(`{"text":"Good morning. How can I help?",
			"segments":[{"id":0,"start":0,"end":1640000000,"text":" Good morning.","tokens":[1]},
			{"id":1,"start":2000000000,"end":9640000000,"text":" How can I help?","tokens":[2]}]}`))
		res, err := MustOpenAI(t, srv, stt.HTTPConfig{}).Transcribe(ctx, tone(10, 0.3))
		if err != nil {
			t.Fatal(err)
		}
		assertSegments(t, res.Segments, []stt.Segment{
			{Start: 0, End: 1.64, Text: "Good morning."},
			{Start: 2, End: 9.64, Text: "How can I help?"},
		})
	})

	t.Run("SecondsPastTheClipAreClamped", func(t *testing.T) {
		// Whisper sometimes ends the last segment a little after the audio.
		_, srv := newFakeServer(t, "/v1/audio/transcriptions", ok(`{"text":"Yes.","segments":[{"start":0.5,"end":2.4,"text":"Yes.","avg_logprob":-0.1,"no_speech_prob":0.1}]}`))
		res, err := MustOpenAI(t, srv, stt.HTTPConfig{}).Transcribe(ctx, tone(2, 0.3))
		if err != nil {
			t.Fatal(err)
		}
		assertSegments(t, res.Segments, []stt.Segment{{Start: 0.5, End: 2, Text: "Yes.", Confidence: math.Exp(-0.1)}})
	})

	t.Run("HallucinationOnNearSilence", func(t *testing.T) {
		_, srv := newFakeServer(t, "/v1/audio/transcriptions", func(r request) (int, http.Header, string) {
			var peak float32
			for _, v := range r.Audio.Channels[0] {
				peak = max(peak, float32(math.Abs(float64(v))))
			}
			if peak > 0.01 {
				t.Errorf("expected a near-silent clip, peak %v", peak)
			}
			return 200, nil, `{"text":" Thank you for watching!","language":"english","duration":3.0,"segments":[
				{"id":0,"start":0.0,"end":2.0,"text":" Thank you for watching!","avg_logprob":-0.4,"no_speech_prob":0.3},
				{"id":1,"start":2.0,"end":2.5,"text":" Subtitles by the Amara.org community","avg_logprob":-0.6,"no_speech_prob":0.4},
				{"id":2,"start":2.5,"end":2.9,"text":" I'm here.","avg_logprob":-1.6,"no_speech_prob":0.7},
				{"id":3,"start":2.9,"end":3.0,"text":" ...","avg_logprob":-0.3,"no_speech_prob":0.1}]}`
		})
		res, err := MustOpenAI(t, srv, stt.HTTPConfig{}).Transcribe(ctx, tone(3, 0.001))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Segments) != 0 {
			t.Errorf("segments %+v kept from a near-silent clip, want none", res.Segments)
		}
	})

	t.Run("ConfidentSpeechWithHighNoSpeechProbIsKept", func(t *testing.T) {
		_, srv := newFakeServer(t, "/v1/audio/transcriptions", ok(`{"segments":[{"start":0,"end":1,"text":"Hello?","avg_logprob":-0.2,"no_speech_prob":0.7}]}`))
		res, err := MustOpenAI(t, srv, stt.HTTPConfig{}).Transcribe(ctx, tone(1, 0.3))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Segments) != 1 {
			t.Errorf("got %d segments, want the confident one kept", len(res.Segments))
		}
	})

	t.Run("PlainJSON", func(t *testing.T) {
		// gpt-4o-transcribe answers json only.
		_, srv := newFakeServer(t, "/v1/audio/transcriptions", ok(`{"text":"I need help with my account."}`))
		res, err := MustOpenAI(t, srv, stt.HTTPConfig{}).Transcribe(ctx, tone(2.5, 0.3))
		if err != nil {
			t.Fatal(err)
		}
		assertSegments(t, res.Segments, []stt.Segment{{Start: 0, End: 2.5, Text: "I need help with my account."}})
	})
}

func TestOpenAIErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		status    int
		header    http.Header
		code      string
		retryable bool
		after     time.Duration
	}{
		{"RateLimitedWithRetryAfter", 429, http.Header{"Retry-After": {"7"}}, callscope.ERATELIMIT, true, 7 * time.Second},
		{"RateLimitedWithoutHint", 429, nil, callscope.ERATELIMIT, true, 0},
		{"ServerError", 500, nil, callscope.EUNAVAILABLE, true, 0},
		{"Overloaded", 503, http.Header{"Retry-After": {"30"}}, callscope.EUNAVAILABLE, true, 30 * time.Second},
		{"BadRequest", 400, nil, callscope.EINVALID, false, 0},
		{"Unauthorized", 401, nil, callscope.EINVALID, false, 0},
		{"UnknownModel", 404, nil, callscope.EINVALID, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := newFakeServer(t, "/v1/audio/transcriptions", func(request) (int, http.Header, string) {
				return tc.status, tc.header, `{"error":{"message":"nope","type":"x"}}`
			})
			_, err := MustOpenAI(t, srv, stt.HTTPConfig{}).Transcribe(ctx, tone(1, 0.3))
			assertError(t, err, tc.code, tc.retryable, tc.after)
			if !strings.Contains(err.Error(), "nope") {
				t.Errorf("error %q does not carry the server's message", err)
			}
		})
	}

	t.Run("Timeout", func(t *testing.T) {
		release := make(chan struct{})
		_, srv := newFakeServer(t, "/v1/audio/transcriptions", func(request) (int, http.Header, string) {
			<-release
			return 200, nil, `{"text":""}`
		})
		defer close(release)
		_, err := MustOpenAI(t, srv, stt.HTTPConfig{Timeout: 100 * time.Millisecond}).Transcribe(ctx, tone(1, 0.3))
		assertError(t, err, callscope.EUNAVAILABLE, true, 0)
	})

	t.Run("ConnectionRefused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		_, err := MustOpenAI(t, srv, stt.HTTPConfig{}).Transcribe(ctx, tone(1, 0.3))
		assertError(t, err, callscope.EUNAVAILABLE, true, 0)
	})

	t.Run("NotJSON", func(t *testing.T) {
		_, srv := newFakeServer(t, "/v1/audio/transcriptions", ok(`<html>bad gateway</html>`))
		_, err := MustOpenAI(t, srv, stt.HTTPConfig{}).Transcribe(ctx, tone(1, 0.3))
		assertError(t, err, callscope.EUNAVAILABLE, true, 0)
	})

	t.Run("CallerCancelled", func(t *testing.T) {
		_, srv := newFakeServer(t, "/v1/audio/transcriptions", func(request) (int, http.Header, string) {
			time.Sleep(200 * time.Millisecond)
			return 200, nil, `{"text":""}`
		})
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err := MustOpenAI(t, srv, stt.HTTPConfig{}).Transcribe(cctx, tone(1, 0.3))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want the caller's context error", err)
		}
	})
}

func TestWhisperCpp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// whisper-server's verbose_json: no seek or compression_ratio, words
	// with probabilities, times in seconds.
	const answer = `{"task":"transcribe","language":"swahili","duration":3.0,"text":"Habari yako","segments":[
		{"id":0,"text":" Habari yako","start":0.32,"end":2.1,"tokens":[50364],"words":[
			{"word":" Habari","start":0.32,"end":0.9,"t_dtw":-1,"probability":0.9},
			{"word":" yako","start":0.95,"end":2.1,"t_dtw":-1,"probability":0.7}],
		"temperature":0.0,"avg_logprob":-0.3,"no_speech_prob":0.01}]}`
	f, srv := newFakeServer(t, "/inference", ok(answer))
	c, err := stt.NewWhisperCpp(stt.HTTPConfig{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("LanguageAlwaysSent", func(t *testing.T) {
		a := tone(3, 0.3)
		a.Language = "sw"
		if _, err := c.Transcribe(ctx, a); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Transcribe(ctx, tone(3, 0.3)); err != nil {
			t.Fatal(err)
		}
		reqs := f.requests()
		if len(reqs) != 2 {
			t.Fatalf("got %d requests, want 2", len(reqs))
		}
		for i, want := range []string{"sw", "auto"} {
			r := reqs[i]
			if r.Path != "/inference" {
				t.Errorf("path = %s", r.Path)
			}
			if got := r.Fields["language"]; len(got) != 1 || got[0] != want {
				t.Errorf("request %d: language = %q, want %q (whisper-server assumes en without it)", i, got, want)
			}
			if got := r.Fields["response_format"]; len(got) != 1 || got[0] != "verbose_json" {
				t.Errorf("response_format = %q", got)
			}
		}
	})

	t.Run("Words", func(t *testing.T) {
		res, err := c.Transcribe(ctx, tone(3, 0.3))
		if err != nil {
			t.Fatal(err)
		}
		assertSegments(t, res.Segments, []stt.Segment{{Start: 0.32, End: 2.1, Text: "Habari yako", Confidence: math.Exp(-0.3)}})
		if w := res.Segments[0].Words; len(w) != 2 || w[1].Text != "yako" || w[1].Confidence != 0.7 || w[1].Start != 0.95 {
			t.Errorf("words = %+v", w)
		}
		if res.Language != "sw" {
			t.Errorf("language = %q, want sw", res.Language)
		}
	})

	t.Run("InferencePathConfigurable", func(t *testing.T) {
		f2, srv2 := newFakeServer(t, "/v1/audio/transcriptions", ok(answer))
		c2, err := stt.NewWhisperCpp(stt.HTTPConfig{BaseURL: srv2.URL, Path: "/v1/audio/transcriptions"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c2.Transcribe(ctx, tone(1, 0.3)); err != nil {
			t.Fatal(err)
		}
		if len(f2.requests()) != 1 {
			t.Errorf("request not sent to the configured path")
		}
	})
}

func TestHealth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, srv := newFakeServer(t, "/v1/audio/transcriptions", ok(`{}`))
	c := MustOpenAI(t, srv, stt.HTTPConfig{})
	if err := c.Health(ctx); err != nil {
		t.Errorf("Health of a live server: %v", err)
	}
	d := c.Describe()
	if d.Provider != stt.ProviderOpenAI || d.Model != "whisper-1" || d.Endpoint != srv.URL+"/v1/audio/transcriptions" {
		t.Errorf("Describe = %+v", d)
	}
	srv.Close()
	if err := c.Health(ctx); callscope.ErrorCode(err) != callscope.EUNAVAILABLE {
		t.Errorf("Health of a stopped server = %v, want EUNAVAILABLE", err)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg      stt.Config
		provider string
		code     string
	}{
		{stt.Config{}, stt.ProviderPocketSphinx, ""},
		{stt.Config{Engine: "openai", BaseURL: "http://asr:8000/v1", Model: "whisper-large-v3"}, stt.ProviderOpenAI, ""},
		{stt.Config{Engine: "vllm", BaseURL: "http://asr:8000/v1", Model: "openai/whisper-large-v3"}, stt.ProviderOpenAI, ""},
		{stt.Config{Engine: "whisper.cpp", BaseURL: "http://asr:8080"}, stt.ProviderWhisperCpp, ""},
		{stt.Config{Engine: "openai", BaseURL: "http://asr:8000/v1"}, "", callscope.EINVALID},
		{stt.Config{Engine: "whisper.cpp"}, "", callscope.EINVALID},
		{stt.Config{Engine: "kaldi"}, "", callscope.EINVALID},
	} {
		e, err := stt.New(tc.cfg)
		if code := callscope.ErrorCode(err); code != tc.code {
			t.Errorf("New(%+v): error %v, want code %q", tc.cfg, err, tc.code)
			continue
		}
		if err == nil && e.Describe().Provider != tc.provider {
			t.Errorf("New(%+v) is %s, want %s", tc.cfg, e.Describe().Provider, tc.provider)
		}
	}
}

func TestHallucination(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]bool{
		"Thank you for watching!":                             true,
		" Thanks for watching!":                               true,
		"Please subscribe.":                                   true,
		"Subtitles by the Amara.org community":                true,
		"Sous-titres réalisés para la communauté d'Amara.org": true,
		"[BLANK_AUDIO]":                                       true,
		"...":                                                 true,
		"you":                                                 true,
		"Thank you.":                                          false,
		"Thank you for calling, how can I help?":              false,
		"I watched the video and want to subscribe":           false,
		"Bye.": false,
	} {
		if got := stt.Hallucination(text); got != want {
			t.Errorf("Hallucination(%q) = %v, want %v", text, got, want)
		}
	}
}

func assertSegments(t *testing.T, got, want []stt.Segment) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d segments %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Text != w.Text || !near(g.Start, w.Start) || !near(g.End, w.End) || !near(g.Confidence, w.Confidence) {
			t.Errorf("segment %d = {%v %v %q %v}, want {%v %v %q %v}", i, g.Start, g.End, g.Text, g.Confidence, w.Start, w.End, w.Text, w.Confidence)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func assertError(t *testing.T, err error, code string, retry bool, after time.Duration) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if got := callscope.ErrorCode(err); got != code {
		t.Errorf("code = %s, want %s (%v)", got, code, err)
	}
	gotRetry, gotAfter := pipeline.IsRetryable(err)
	if gotRetry != retry || gotAfter != after {
		t.Errorf("retryable = %v after %s, want %v after %s (%v)", gotRetry, gotAfter, retry, after, err)
	}
	var se *stt.Error
	if !errors.As(err, &se) {
		t.Errorf("%v is not an *stt.Error", err)
	}
}
