package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/llm"
	"github.com/callscope/callscope/internal/llm/llmtest"
	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/pipeline"
)

// callStart is a Friday.
var callStart = time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)

// testInput is a five-second-per-turn helpline call with no gaps or
// overlaps, half of the talk time the agent's.
func testInput() pipeline.Input {
	texts := []struct{ speaker, text string }{
		{"agent", "Hello, thank you for calling the child helpline. My name is Grace."},
		{"caller", "Hi, my neighbour's son John is being beaten by his father in Kibera."},
		{"agent", "I'm sorry to hear that. How old is John? You can reach me on 0712 345 678."},
		{"caller", "He is 9 years old. Call me at 0722 111 222 or email mary@example.com."},
		{"agent", "We will send an officer tomorrow. Please keep your phone on. Is there anything else? Goodbye."},
		{"caller", "Café Nyota iko Nairobi."},
	}
	in := pipeline.Input{Call: &callscope.Call{ID: "c1", TenantID: "t1"}, Start: callStart}
	for i, t := range texts {
		in.Segments = append(in.Segments, callscope.Segment{
			CallID: "c1", SegmentID: i, Speaker: t.speaker, Text: t.text,
			StartTime: float64(i * 5), EndTime: float64(i*5 + 5), Confidence: 0.9,
		})
	}
	return in
}

// MustClient returns a client of srv with a short timeout.
func MustClient(tb testing.TB, srv *llmtest.Server, mod func(*llm.Config)) *llm.Client {
	tb.Helper()
	cfg := llm.Config{BaseURL: srv.URL, Model: "test-model", Timeout: 2 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	c, err := llm.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestNewRequiresBaseURLAndModel(t *testing.T) {
	t.Parallel()
	for _, cfg := range []llm.Config{{Model: "m"}, {BaseURL: "http://x/v1"}, {BaseURL: "http://x/v1", Model: "m", Temperature: 3}} {
		if _, err := llm.New(cfg); callscope.ErrorCode(err) != callscope.EINVALID {
			t.Errorf("New(%+v) = %v, want EINVALID", cfg, err)
		}
	}
}

func TestRequestShape(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-from-the-environment")
	srv := llmtest.New(t).Script(llmtest.JSON(map[string]any{
		"text": "A neighbour reported abuse.", "reason": "", "agreed": []string{}, "next_steps": []string{}, "key_segments": []any{},
	}))
	c := MustClient(t, srv, func(c *llm.Config) { c.MaxTokens = 500 })
	if _, _, err := llm.NewSummarizer(c).Summarize(context.Background(), testInput()); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &raw); err != nil {
		t.Fatal(err)
	}
	if string(raw["temperature"]) != "0" {
		t.Errorf("temperature = %s, want an explicit 0", raw["temperature"])
	}
	if r.Model != "test-model" || r.MaxTokens == nil || *r.MaxTokens != 500 || r.MaxCompletionTokens != nil {
		t.Errorf("model %q, max_tokens %v, max_completion_tokens %v", r.Model, r.MaxTokens, r.MaxCompletionTokens)
	}
	js := r.ResponseFormat.JSONSchema
	if r.ResponseFormat.Type != "json_schema" || js.Name != "call_summary" || js.Strict == nil || !*js.Strict || len(js.Schema) == 0 {
		t.Errorf("response_format = %s", raw["response_format"])
	}
	if got := r.Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q with no configured key; the environment's key leaked", got)
	}
	if len(r.Messages) != 2 || r.Messages[0].Role != "system" || r.Messages[1].Role != "user" {
		t.Fatalf("messages = %+v", r.Messages)
	}
	for _, line := range []string{"[0] agent: Hello, thank you for calling the child helpline. My name is Grace.", "[5] caller: Café Nyota iko Nairobi."} {
		if !strings.Contains(r.User(), line) {
			t.Errorf("user message lacks %q:\n%s", line, r.User())
		}
	}
	if !strings.Contains(r.User(), "2025-03-14") {
		t.Errorf("user message lacks the call date:\n%s", r.User())
	}
}

func TestAPIKeyAndMaxCompletionTokens(t *testing.T) {
	t.Parallel()
	srv := llmtest.New(t).Script(llmtest.JSON(map[string]any{"analysis_text": "ok"}))
	c := MustClient(t, srv, func(c *llm.Config) { c.APIKey = "sk-test"; c.MaxTokens = 64; c.MaxCompletionTokens = true })
	if _, _, _, err := llm.NewAnalyzerRunner(c).RunAnalyzer(context.Background(), &callscope.Analyzer{Name: "a", Prompt: "p"}, testInput()); err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()[0]
	if got := r.Header.Get("Authorization"); got != "Bearer sk-test" {
		t.Errorf("Authorization = %q", got)
	}
	if r.MaxCompletionTokens == nil || *r.MaxCompletionTokens != 64 || r.MaxTokens != nil {
		t.Errorf("max_completion_tokens %v, max_tokens %v", r.MaxCompletionTokens, r.MaxTokens)
	}
}

func TestUsageCountsEveryAttempt(t *testing.T) {
	t.Parallel()
	srv := llmtest.New(t)
	bad := llmtest.InvalidJSON()
	bad.PromptTokens, bad.CompletionTokens = 1000, 10
	good := llmtest.JSON(map[string]any{"analysis_text": "fine"})
	good.PromptTokens, good.CompletionTokens = 1000, 490
	srv.Script(bad, good)
	c := MustClient(t, srv, func(c *llm.Config) { c.InputPricePer1K = 0.5; c.OutputPricePer1K = 2 })
	text, out, u, err := llm.NewAnalyzerRunner(c).RunAnalyzer(context.Background(), &callscope.Analyzer{Name: "a", Prompt: "p"}, testInput())
	if err != nil {
		t.Fatal(err)
	}
	if text != "fine" || out != nil {
		t.Errorf("text %q output %s", text, out)
	}
	want := pipeline.Usage{InputTokens: 2000, OutputTokens: 500, Cost: 2000.0/1000*0.5 + 500.0/1000*2}
	if u != want {
		t.Errorf("usage = %+v, want %+v", u, want)
	}
}

func TestTruncatedAnswerIsRetried(t *testing.T) {
	t.Parallel()
	cut := llmtest.Content(`{"analysis_text": "The call`)
	cut.FinishReason = "length"
	srv := llmtest.New(t).Script(cut, cut)
	_, _, _, err := llm.NewAnalyzerRunner(MustClient(t, srv, nil)).RunAnalyzer(context.Background(), &callscope.Analyzer{Name: "a", Prompt: "p"}, testInput())
	if err == nil || !strings.Contains(err.Error(), "token limit") {
		t.Fatalf("err = %v, want a permanent error about the token limit", err)
	}
	if ok, _ := pipeline.IsRetryable(err); ok {
		t.Error("a twice-truncated answer is retryable")
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestConnectionErrorIsRetryable(t *testing.T) {
	t.Parallel()
	srv := llmtest.New(t)
	c := MustClient(t, srv, nil)
	srv.Close()
	_, _, err := llm.NewSummarizer(c).Summarize(context.Background(), testInput())
	if ok, _ := pipeline.IsRetryable(err); !ok {
		t.Fatalf("err = %v, want retryable", err)
	}
	if callscope.ErrorCode(err) != callscope.EUNAVAILABLE {
		t.Errorf("code = %q", callscope.ErrorCode(err))
	}
}

func TestCancelledCallerIsNotTheProvidersFault(t *testing.T) {
	t.Parallel()
	srv := llmtest.New(t).Script(llmtest.Slow(5*time.Second, llmtest.JSON(map[string]any{})))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, _, err := llm.NewSummarizer(MustClient(t, srv, nil)).Summarize(ctx, testInput())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var le *llm.Error
	if errors.As(err, &le) {
		t.Errorf("a cancelled caller was reported as a provider error: %v", err)
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	t.Parallel()
	at := time.Now().Add(90 * time.Second).UTC().Format(httpTime)
	srv := llmtest.New(t).Script(llmtest.RateLimited(at))
	_, _, err := llm.NewSummarizer(MustClient(t, srv, nil)).Summarize(context.Background(), testInput())
	ok, after := pipeline.IsRetryable(err)
	if !ok || after < 85*time.Second || after > 91*time.Second {
		t.Fatalf("IsRetryable = %v, %v; want true, about 90s (err %v)", ok, after, err)
	}
}

const httpTime = "Mon, 02 Jan 2006 15:04:05 GMT"

func TestSchemaRules(t *testing.T) {
	t.Parallel()
	strict := `{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}`
	loose := `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"required":["a"]}`
	s, err := llm.NewSchema("ok", json.RawMessage(strict))
	if err != nil || !s.Strict {
		t.Errorf("strict schema: %v, strict %v", err, s != nil && s.Strict)
	}
	s, err = llm.NewSchema("ok", json.RawMessage(loose))
	if err != nil || s.Strict {
		t.Errorf("loose schema: %v, strict %v", err, s != nil && s.Strict)
	}
	for name, doc := range map[string]string{
		"bad name!": strict,
		"ref":       `{"$ref":"file:///etc/passwd"}`,
		"notjson":   `{`,
		"array":     `[]`,
	} {
		if _, err := llm.NewSchema(name, json.RawMessage(doc)); callscope.ErrorCode(err) != callscope.EINVALID {
			t.Errorf("NewSchema(%q, %s) = %v, want EINVALID", name, doc, err)
		}
	}
}

func TestRedactedTranscriptStaysRedacted(t *testing.T) {
	t.Parallel()
	in := testInput()
	in.Segments, _ = nlp.Redact(in.Segments, nlp.Options{})
	srv := llmtest.New(t).Script(llmtest.JSON(map[string]any{
		"text": "A report of abuse.", "reason": "", "agreed": []string{}, "next_steps": []string{}, "key_segments": []any{},
	}))
	if _, _, err := llm.NewSummarizer(MustClient(t, srv, nil)).Summarize(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"0712 345 678", "0722 111 222", "mary@example.com"} {
		for _, r := range srv.Requests() {
			if strings.Contains(string(r.Body), secret) {
				t.Errorf("%q left the machine", secret)
			}
		}
	}
}
