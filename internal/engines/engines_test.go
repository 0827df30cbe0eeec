package engines_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/config"
	"github.com/callscope/callscope/internal/engines"
	"github.com/callscope/callscope/internal/llm"
	"github.com/callscope/callscope/internal/llm/llmtest"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

var call = []callscope.Segment{
	{SegmentID: 1, Speaker: "agent", StartTime: 0.5, EndTime: 4, Text: "Child helpline 116, my name is Grace, how can I help?"},
	{SegmentID: 2, Speaker: "caller", StartTime: 4.5, EndTime: 11, Text: "My name is Wanjiru, my neighbour beats his daughter every day, she is nine years old."},
	{SegmentID: 3, Speaker: "caller", StartTime: 11.5, EndTime: 16, Text: "Call me on 0712 345 678 or write to wanjiru.k@example.com, we live in Kibera."},
	{SegmentID: 4, Speaker: "agent", StartTime: 16.5, EndTime: 22, Text: "Thank you Wanjiru, I will call you back tomorrow and send an officer."},
}

// enumOf finds the enum of a property anywhere in a JSON schema.
func enumOf(schema json.RawMessage, prop string) []string {
	var walk func(v any) []string
	walk = func(v any) []string {
		switch x := v.(type) {
		case map[string]any:
			if props, ok := x["properties"].(map[string]any); ok {
				if p, ok := props[prop].(map[string]any); ok {
					if e, ok := p["enum"].([]any); ok {
						var out []string
						for _, s := range e {
							out = append(out, s.(string))
						}
						return out
					}
				}
			}
			for _, y := range x {
				if r := walk(y); r != nil {
					return r
				}
			}
		case []any:
			for _, y := range x {
				if r := walk(y); r != nil {
					return r
				}
			}
		}
		return nil
	}
	var v any
	json.Unmarshal(schema, &v)
	return walk(v)
}

// answer plays a model that answers every stage correctly.
func answer(r llmtest.Request) llmtest.Response {
	switch r.ResponseFormat.JSONSchema.Name {
	case "call_translation":
		return llmtest.JSON(map[string]any{"source_language": "en", "segments": []map[string]any{
			{"segment_id": 1, "text": "Simu ya watoto 116"}, {"segment_id": 2, "text": "Jirani yangu anampiga binti yake"},
			{"segment_id": 3, "text": "Nipigie"}, {"segment_id": 4, "text": "Asante"}}})
	case "call_entities":
		return llmtest.JSON(map[string]any{"entities": []map[string]any{
			{"type": "person", "text": "Wanjiru", "value": "", "segment_id": 2},
			{"type": "location", "text": "Kibera", "value": "", "segment_id": 3}}})
	case "call_classification":
		cats := enumOf(r.ResponseFormat.JSONSchema.Schema, "category")
		cat := cats[0]
		for _, c := range cats {
			if c == "physical_abuse" {
				cat = c
			}
		}
		return llmtest.JSON(map[string]any{"category": cat, "confidence": 0.9, "runners_up": []any{}, "risk": "high",
			"evidence":      []map[string]any{{"segment_id": 2, "phrase": "beats his daughter"}},
			"risk_evidence": []map[string]any{{"segment_id": 2, "phrase": "beats his daughter", "level": "high"}}})
	case "call_summary":
		return llmtest.JSON(map[string]any{"text": "A neighbour reported a nine-year-old beaten daily; an officer will be sent.",
			"reason": "Report of a child beaten at home.", "agreed": []string{"An officer will visit."},
			"next_steps": []string{"Call back tomorrow."}, "key_segments": []map[string]any{{"segment_id": 2, "role": "reason"}}})
	case "call_qa":
		var items []map[string]any
		for _, id := range enumOf(r.ResponseFormat.JSONSchema.Schema, "id") {
			items = append(items, map[string]any{"id": id, "applicable": true, "score": 1, "evidence": []int{1}, "note": ""})
		}
		return llmtest.JSON(map[string]any{"items": items})
	case "call_todos":
		return llmtest.JSON(map[string]any{"todos": []map[string]any{{"text": "Call the caller back", "owner": "agent",
			"kind": "commitment", "due": "2025-10-25", "due_text": "tomorrow", "segment_id": 4, "confidence": 0.9}}})
	case "analysis":
		return llmtest.JSON(map[string]any{"analysis_text": "The caller sounds worried."})
	}
	return llmtest.Error(400, "unknown_schema", r.ResponseFormat.JSONSchema.Name)
}

func setup(t *testing.T, s *sqlstore.Store, fake *llmtest.Server, settings map[string]any) (*pipeline.Runner, *callscope.Tenant, string) {
	t.Helper()
	ctx := context.Background()
	p, err := engines.New(engines.Config{LLM: &llm.Config{BaseURL: fake.URL, Model: "test-model", Timeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	tn := &callscope.Tenant{Name: "t-" + callscope.NewID(), Settings: callscope.SettingsOf(settings)}
	if err := s.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, 10, 24, 8, 43, 35, 0, time.UTC)
	c := &callscope.Call{TenantID: tn.ID, StartedAt: &start, Language: "en"}
	if err := s.CreateCall(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSegments(ctx, c.ID, call); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAnalyzer(ctx, &callscope.Analyzer{TenantID: tn.ID, Name: "Tone", Kind: "llm", Prompt: "How does the caller sound?", Active: true}); err != nil {
		t.Fatal(err)
	}
	r := &pipeline.Runner{Store: s, Engines: p.For, Switches: config.Switches}
	return r, tn, c.ID
}

// TestLLMPipeline drives every language stage through an OpenAI-compatible
// server and checks what was stored, the tokens counted, and — with
// redaction on — that no phone number or e-mail address left the machine.
func TestLLMPipeline(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		fake := llmtest.New(t).Handle(answer)
		r, tn, id := setup(t, s, fake, map[string]any{"translate_to": "sw",
			callscope.SettingPipeline: map[string]any{"ENABLE_PII_REDACTION": true}})
		if err := r.Run(ctx, tn.ID, id); err != nil {
			t.Fatal(err)
		}
		c, err := s.Call(ctx, tn.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(c.Translation, "Jirani yangu") || c.TranslationLanguage != "sw" {
			t.Errorf("translation = %q (%s)", c.Translation, c.TranslationLanguage)
		}
		var cls struct{ Category, Risk string }
		json.Unmarshal(c.Classification, &cls)
		var sum struct{ Text string }
		json.Unmarshal(c.Summary, &sum)
		var qa struct{ Score float64 }
		json.Unmarshal(c.QA, &qa)
		var todos []struct{ Due string }
		json.Unmarshal(c.Todos, &todos)
		var ents []struct{ Type, Text string }
		json.Unmarshal(c.Entities, &ents)
		if cls.Category != "physical_abuse" || cls.Risk != "high" || !strings.Contains(sum.Text, "officer") || qa.Score != 100 ||
			len(todos) != 1 || todos[0].Due != "2025-10-25" || len(ents) != 2 {
			t.Errorf("results: class %+v summary %q qa %v todos %+v entities %+v", cls, sum.Text, qa.Score, todos, ents)
		}
		runs, _ := s.AnalyzerRuns(ctx, id)
		if len(runs) != 1 || runs[0].AnalysisText != "The caller sounds worried." {
			t.Errorf("analyzer runs = %+v", runs)
		}
		p, _ := s.Processing(ctx, id)
		tokens := 0
		for _, st := range p.Stages {
			tokens += st.Tokens
		}
		if p.Status != callscope.ProcessingCompleted || tokens == 0 {
			t.Errorf("processing %s, %d tokens counted", p.Status, tokens)
		}
		reqs := fake.Requests()
		if len(reqs) != 7 {
			t.Errorf("%d requests to the model, want one per stage (7)", len(reqs))
		}
		phone := regexp.MustCompile(`0712|345 ?678|712345678|wanjiru\.k|example\.com`)
		for _, req := range reqs {
			if m := phone.Find(req.Body); m != nil {
				t.Fatalf("a %s request carried personal data %q:\n%s", req.ResponseFormat.JSONSchema.Name, m, req.User())
			}
			if !strings.Contains(req.User(), "[PHONE]") {
				t.Fatalf("a %s request lacks the redacted transcript:\n%s", req.ResponseFormat.JSONSchema.Name, req.User())
			}
		}
	})
}

// TestLLMRateLimitIsRetried sees a 429 surface as a retryable stage error
// with the server's Retry-After, and the next run finish the call without
// redoing the stages before.
func TestLLMRateLimitIsRetried(t *testing.T) {
	s := sqlstoretest.Open(t, sqlstore.SQLite)
	ctx := context.Background()
	var limited atomic.Bool
	fake := llmtest.New(t).Handle(func(r llmtest.Request) llmtest.Response {
		if r.ResponseFormat.JSONSchema.Name == "call_summary" && !limited.Swap(true) {
			return llmtest.RateLimited("7")
		}
		return answer(r)
	})
	r, tn, id := setup(t, s, fake, nil)
	err := r.Run(ctx, tn.ID, id)
	retry, after := pipeline.IsRetryable(err)
	if !retry || after != 7*time.Second {
		t.Fatalf("error %v: retryable %v after %v, want 7s", err, retry, after)
	}
	before := len(fake.Requests())
	if err := r.Run(ctx, tn.ID, id); err != nil {
		t.Fatal(err)
	}
	var again []string
	for _, req := range fake.Requests()[before:] {
		again = append(again, req.ResponseFormat.JSONSchema.Name)
	}
	if strings.Join(again, ",") != "call_summary,call_qa,analysis,call_todos" {
		t.Fatalf("the second run asked for %v; the stages before summarize must not run again", again)
	}
}

// TestInvalidAnswersFailTheCall sees a model that never answers in the
// schema fail the call permanently, naming the stage.
func TestInvalidAnswersFailTheCall(t *testing.T) {
	s := sqlstoretest.Open(t, sqlstore.SQLite)
	ctx := context.Background()
	fake := llmtest.New(t).Handle(func(r llmtest.Request) llmtest.Response {
		if r.ResponseFormat.JSONSchema.Name == "call_classification" {
			return llmtest.InvalidJSON()
		}
		return answer(r)
	})
	r, tn, id := setup(t, s, fake, nil)
	err := r.Run(ctx, tn.ID, id)
	if retry, _ := pipeline.IsRetryable(err); err == nil || retry || !strings.Contains(err.Error(), "classify") {
		t.Fatalf("error %v (retryable %v), want a permanent failure of classify", err, retry)
	}
	p, _ := s.Processing(ctx, id)
	if p.Status != callscope.ProcessingFailed || len(p.Errors) == 0 || p.Errors[0].Stage != "classify" {
		t.Fatalf("processing = %s %+v", p.Status, p.Errors)
	}
}
