package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/llm"
	"github.com/callscope/callscope/internal/llm/llmtest"
	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/pipeline"
)

var (
	_ pipeline.Translator      = (*llm.Translator)(nil)
	_ pipeline.EntityExtractor = (*llm.EntityExtractor)(nil)
	_ pipeline.Classifier      = (*llm.Classifier)(nil)
	_ pipeline.Summarizer      = (*llm.Summarizer)(nil)
	_ pipeline.QAScorer        = (*llm.QAScorer)(nil)
	_ pipeline.TodoExtractor   = (*llm.TodoExtractor)(nil)
	_ pipeline.AnalyzerRunner  = (*llm.AnalyzerRunner)(nil)
	_ pipeline.RetryableError  = (*llm.Error)(nil)
)

// engine is one LLM engine under test: a valid answer for testInput and a
// way to run it.
type engine struct {
	name  string
	valid any
	run   func(ctx context.Context, c *llm.Client) error
}

func engines(t *testing.T) []engine {
	in := testInput()
	return []engine{
		{"Summarizer", summaryAnswer(), func(ctx context.Context, c *llm.Client) error {
			_, _, err := llm.NewSummarizer(c).Summarize(ctx, in)
			return err
		}},
		{"Translator", translationAnswer(), func(ctx context.Context, c *llm.Client) error {
			_, _, err := llm.NewTranslator(c).Translate(ctx, in, "sw")
			return err
		}},
		{"EntityExtractor", map[string]any{"entities": []any{}}, func(ctx context.Context, c *llm.Client) error {
			_, _, err := llm.NewEntityExtractor(c).Entities(ctx, in)
			return err
		}},
		{"Classifier", classAnswer("physical_abuse"), func(ctx context.Context, c *llm.Client) error {
			cl, err := llm.NewClassifier(c, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = cl.Classify(ctx, in)
			return err
		}},
		{"QAScorer", qaAnswer(), func(ctx context.Context, c *llm.Client) error {
			q, err := llm.NewQAScorer(c, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = q.ScoreQA(ctx, in)
			return err
		}},
		{"TodoExtractor", map[string]any{"todos": []any{}}, func(ctx context.Context, c *llm.Client) error {
			_, _, err := llm.NewTodoExtractor(c).Todos(ctx, in)
			return err
		}},
		{"AnalyzerRunner", map[string]any{"sentiment": "negative", "follow_up": true}, func(ctx context.Context, c *llm.Client) error {
			_, _, _, err := llm.NewAnalyzerRunner(c).RunAnalyzer(ctx, sentimentAnalyzer(), in)
			return err
		}},
	}
}

// TestEngineFailures runs every engine through the failures a provider
// can produce and checks each is classified for the durable job.
func TestEngineFailures(t *testing.T) {
	t.Parallel()
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			valid := llmtest.JSON(e.valid)
			cases := []struct {
				name      string
				script    []llmtest.Response
				requests  int
				retryable bool
				after     time.Duration
				code      string
				mention   string
			}{
				{"ValidAnswer", []llmtest.Response{valid}, 1, false, 0, "", ""},
				{"InvalidJSONThenValid", []llmtest.Response{llmtest.InvalidJSON(), valid}, 2, false, 0, "", ""},
				{"InvalidJSONTwice", []llmtest.Response{llmtest.InvalidJSON(), llmtest.InvalidJSON()}, 2, false, 0, callscope.EINVALID, "not valid JSON"},
				{"SchemaViolationThenValid", []llmtest.Response{llmtest.Content(`{"unexpected": 1}`), valid}, 2, false, 0, "", ""},
				{"SchemaViolationTwice", []llmtest.Response{llmtest.Content(`{"unexpected": 1}`), llmtest.Content(`{"unexpected": 1}`)}, 2, false, 0, callscope.EINVALID, "does not match schema"},
				{"RateLimited", []llmtest.Response{llmtest.RateLimited("7")}, 1, true, 7 * time.Second, callscope.ERATELIMIT, "429"},
				{"ServerError", []llmtest.Response{llmtest.ServerError()}, 1, true, 0, callscope.EUNAVAILABLE, "500"},
				{"BadGateway", []llmtest.Response{{Status: http.StatusBadGateway, Body: "<html>bad gateway</html>"}}, 1, true, 0, callscope.EUNAVAILABLE, "502"},
				{"Timeout", []llmtest.Response{llmtest.Slow(10*time.Second, valid)}, 1, true, 0, callscope.EUNAVAILABLE, "no answer within"},
				{"BadRequest", []llmtest.Response{llmtest.Error(http.StatusBadRequest, "invalid_request_error", "context too long")}, 1, false, 0, callscope.EINVALID, "context too long"},
				{"Unauthorized", []llmtest.Response{llmtest.Error(http.StatusUnauthorized, "invalid_api_key", "bad key")}, 1, false, 0, callscope.EINVALID, "401"},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					srv := llmtest.New(t).Script(tc.script...)
					c := MustClient(t, srv, func(c *llm.Config) { c.Timeout = 300 * time.Millisecond })
					start := time.Now()
					err := e.run(context.Background(), c)
					if n := len(srv.Requests()); n != tc.requests {
						t.Errorf("%d requests, want %d (the SDK must not retry on its own)", n, tc.requests)
					}
					if tc.code == "" {
						if err != nil {
							t.Fatalf("err = %v", err)
						}
						return
					}
					if err == nil {
						t.Fatal("no error")
					}
					t.Logf("error: %v", err)
					ok, after := pipeline.IsRetryable(err)
					if ok != tc.retryable || after != tc.after {
						t.Errorf("IsRetryable = %v, %v; want %v, %v (err %v)", ok, after, tc.retryable, tc.after, err)
					}
					if got := callscope.ErrorCode(err); got != tc.code {
						t.Errorf("code = %q, want %q", got, tc.code)
					}
					if !strings.Contains(err.Error(), tc.mention) {
						t.Errorf("err = %q, want it to mention %q", err, tc.mention)
					}
					var le *llm.Error
					if !errors.As(err, &le) {
						t.Errorf("err is %T, want *llm.Error", err)
					}
					if tc.name == "Timeout" && time.Since(start) > 5*time.Second {
						t.Errorf("timed out after %v, configured 300ms", time.Since(start))
					}
				})
			}
		})
	}
}

func summaryAnswer() map[string]any {
	return map[string]any{
		"text":       "A neighbour reported that a boy, John, is beaten by his father. An officer will visit tomorrow.",
		"reason":     "To report physical abuse of a neighbour's child.",
		"agreed":     []string{"An officer will visit", " "},
		"next_steps": []string{"Send an officer tomorrow"},
		"key_segments": []any{
			map[string]any{"segment_id": 1, "role": "reason"},
			map[string]any{"segment_id": 4, "role": "next_step"},
			map[string]any{"segment_id": 77, "role": "detail"},
			map[string]any{"segment_id": 1, "role": "detail"},
		},
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	srv := llmtest.New(t).Script(llmtest.JSON(summaryAnswer()))
	s, u, err := llm.NewSummarizer(MustClient(t, srv, nil)).Summarize(context.Background(), testInput())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Text, "A neighbour reported") || s.Reason == "" {
		t.Errorf("summary = %+v", s)
	}
	if !reflect.DeepEqual(s.Agreed, []string{"An officer will visit"}) || !reflect.DeepEqual(s.NextSteps, []string{"Send an officer tomorrow"}) {
		t.Errorf("agreed %q next steps %q", s.Agreed, s.NextSteps)
	}
	want := []nlp.SummarySentence{
		{SegmentID: 1, Speaker: "caller", Role: "reason", Text: testInput().Segments[1].Text},
		{SegmentID: 4, Speaker: "agent", Role: "next_step", Text: testInput().Segments[4].Text},
	}
	if !reflect.DeepEqual(s.Sentences, want) {
		t.Errorf("sentences = %+v, want %+v (unknown and repeated segments dropped)", s.Sentences, want)
	}
	if u.InputTokens != 100 || u.OutputTokens != 20 {
		t.Errorf("usage = %+v", u)
	}
}

func TestSummarizeEmptyTextIsInvalid(t *testing.T) {
	t.Parallel()
	empty := summaryAnswer()
	empty["text"] = "  "
	srv := llmtest.New(t).Script(llmtest.JSON(empty), llmtest.JSON(summaryAnswer()))
	if _, _, err := llm.NewSummarizer(MustClient(t, srv, nil)).Summarize(context.Background(), testInput()); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("%d requests, want the empty summary asked for again", n)
	}
}

func translationAnswer() map[string]any {
	var segs []any
	for _, s := range testInput().Segments {
		segs = append(segs, map[string]any{"segment_id": s.SegmentID, "text": "sw " + s.Text})
	}
	return map[string]any{"source_language": "en", "segments": segs}
}

func TestTranslate(t *testing.T) {
	t.Parallel()
	srv := llmtest.New(t).Script(llmtest.JSON(translationAnswer()))
	in := testInput()
	tr, _, err := llm.NewTranslator(MustClient(t, srv, nil)).Translate(context.Background(), in, "sw")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(tr.Text, "\n")
	if len(lines) != len(in.Segments) || lines[1] != "caller: sw "+in.Segments[1].Text {
		t.Errorf("text = %q", tr.Text)
	}
	if tr.SourceLanguage != "en" || tr.Language != "sw" || tr.Model != "test-model" {
		t.Errorf("translation = %+v", tr)
	}
	if sys := srv.Requests()[0].System(); !strings.Contains(sys, `"sw"`) || !strings.Contains(sys, "Detect the source language") {
		t.Errorf("system prompt = %q", sys)
	}

	// A known source language is kept, whatever the model says.
	srv = llmtest.New(t).Script(llmtest.JSON(translationAnswer()))
	in.Language = "sw"
	tr, _, err = llm.NewTranslator(MustClient(t, srv, nil)).Translate(context.Background(), in, "en")
	if err != nil || tr.SourceLanguage != "sw" {
		t.Errorf("translation = %+v, %v", tr, err)
	}
}

func TestTranslateMissingSegment(t *testing.T) {
	t.Parallel()
	partial := translationAnswer()
	partial["segments"] = partial["segments"].([]any)[:5]
	srv := llmtest.New(t).Script(llmtest.JSON(partial), llmtest.JSON(partial))
	_, _, err := llm.NewTranslator(MustClient(t, srv, nil)).Translate(context.Background(), testInput(), "sw")
	if err == nil || !strings.Contains(err.Error(), "segment 5 not translated") {
		t.Fatalf("err = %v, want it to name the missing segment", err)
	}
	if _, _, err := llm.NewTranslator(MustClient(t, srv, nil)).Translate(context.Background(), testInput(), ""); callscope.ErrorCode(err) != callscope.EINVALID {
		t.Errorf("empty target: %v", err)
	}
}

func TestEntities(t *testing.T) {
	t.Parallel()
	ent := func(typ, text, value string, seg int) map[string]any {
		return map[string]any{"type": typ, "text": text, "value": value, "segment_id": seg}
	}
	srv := llmtest.New(t).Script(llmtest.JSON(map[string]any{"entities": []any{
		ent("person", "john", "", 1),                     // case differs: the transcript's spelling is kept
		ent("person", "John", "", 1),                     // a second mention the segment does not have: dropped
		ent("person", "John", "", 2),                     // the same name in another segment
		ent("location", "Kibera", "", 1),                 //
		ent("location", "Mombasa", "", 1),                // not in the transcript: dropped
		ent("phone", "0712 345 678", "+254712345678", 2), //
		ent("age", "9", "9", 3),                          // found as a word, not inside a number
		ent("email", "mary@example.com", "", 2),          // wrong segment: found in segment 3
		ent("location", "Nairobi", "", 5),                // after a multi-byte character
		ent("person", "  Grace ", "", 0),                 // padded
		ent("organization", "Red Cross", "", 99),         // unknown segment and text: dropped
	}}))
	in := testInput()
	got, _, err := llm.NewEntityExtractor(MustClient(t, srv, nil)).Entities(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	type placed struct {
		Type, Text, Value string
		Seg, Start, End   int
	}
	want := []placed{
		{"person", "Grace", "", 0, 60, 65},
		{"person", "John", "", 1, 23, 27},
		{"location", "Kibera", "", 1, 61, 67},
		{"person", "John", "", 2, 35, 39},
		{"phone", "0712 345 678", "+254712345678", 2, 61, 73},
		{"age", "9", "9", 3, 6, 7},
		{"email", "mary@example.com", "", 3, 52, 68},
		// Code points, not bytes: "é" is two bytes.
		{"location", "Nairobi", "", 5, 15, 22},
	}
	var gotP []placed
	for _, e := range got {
		gotP = append(gotP, placed{e.Type, e.Text, e.Value, e.SegmentID, e.Start, e.End})
		if r := []rune(in.Segments[e.SegmentID].Text); string(r[e.Start:e.End]) != e.Text {
			t.Errorf("%+v: offsets select %q", e, string(r[e.Start:e.End]))
		}
		if e.Source != "llm" || e.Confidence != llm.EntityConfidence {
			t.Errorf("%+v: source/confidence", e)
		}
	}
	if !reflect.DeepEqual(gotP, want) {
		t.Errorf("entities:\n got %+v\nwant %+v", gotP, want)
	}
}

func TestEntitySchemaEnumeratesTypes(t *testing.T) {
	t.Parallel()
	srv := llmtest.New(t).Script(llmtest.JSON(map[string]any{"entities": []any{}}))
	if _, _, err := llm.NewEntityExtractor(MustClient(t, srv, nil)).Entities(context.Background(), testInput()); err != nil {
		t.Fatal(err)
	}
	var s struct {
		Properties struct {
			Entities struct {
				Items struct {
					Properties struct {
						Type struct {
							Enum []string `json:"enum"`
						} `json:"type"`
					} `json:"properties"`
				} `json:"items"`
			} `json:"entities"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(srv.Requests()[0].ResponseFormat.JSONSchema.Schema, &s); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Properties.Entities.Items.Properties.Type.Enum, nlp.EntityTypes) {
		t.Errorf("type enum = %v", s.Properties.Entities.Items.Properties.Type.Enum)
	}
}

func classAnswer(cat string) map[string]any {
	return map[string]any{
		"category":   cat,
		"confidence": 0.9,
		"runners_up": []any{
			map[string]any{"category": "neglect", "confidence": 0.3},
			map[string]any{"category": "physical_abuse", "confidence": 0.2},
		},
		"risk": "medium",
		"evidence": []any{
			map[string]any{"segment_id": 1, "phrase": "BEING BEATEN"},
			map[string]any{"segment_id": 1, "phrase": "stabbed"},
			map[string]any{"segment_id": 99, "phrase": "beaten"},
		},
		"risk_evidence": []any{map[string]any{"segment_id": 1, "phrase": "beaten by his father", "level": "high"}},
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	srv := llmtest.New(t).Script(llmtest.JSON(classAnswer("physical_abuse")))
	cl, err := llm.NewClassifier(MustClient(t, srv, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := cl.Classify(context.Background(), testInput())
	if err != nil {
		t.Fatal(err)
	}
	want := nlp.Classification{
		Taxonomy: "child_helpline", Category: "physical_abuse", Label: "Physical abuse", Confidence: 0.9,
		RunnersUp: []nlp.CategoryScore{{Category: "neglect", Label: "Neglect", Score: 0.3, Confidence: 0.3}},
		// The model said medium; physical abuse is a high-risk category.
		Risk:         "high",
		RiskEvidence: []nlp.Evidence{{SegmentID: 1, Phrase: "beaten by his father", Term: "beaten by his father", Level: "high", Weight: 1}},
		Evidence:     []nlp.Evidence{{SegmentID: 1, Phrase: "being beaten", Term: "being beaten", Category: "physical_abuse", Weight: 1}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("classification:\n got %+v\nwant %+v", got, want)
	}
	var s struct {
		Properties struct {
			Category struct {
				Enum []string `json:"enum"`
			} `json:"category"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(srv.Requests()[0].ResponseFormat.JSONSchema.Schema, &s); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range nlp.DefaultTaxonomy(nlp.TaxonomyHelpline).Categories {
		ids = append(ids, c.ID)
	}
	if !reflect.DeepEqual(s.Properties.Category.Enum, ids) {
		t.Errorf("category enum = %v, want %v", s.Properties.Category.Enum, ids)
	}
}

func TestClassifyOtherTaxonomy(t *testing.T) {
	t.Parallel()
	srv := llmtest.New(t).Script(
		// physical_abuse is not a contact-centre category: a schema violation.
		llmtest.JSON(classAnswer("physical_abuse")),
		llmtest.JSON(map[string]any{"category": "complaint", "confidence": 1.5, "runners_up": []any{}, "risk": "low", "evidence": []any{}, "risk_evidence": []any{}}),
		llmtest.JSON(map[string]any{"category": "complaint", "confidence": 0.7, "runners_up": []any{}, "risk": "low", "evidence": []any{}, "risk_evidence": []any{}}),
	)
	tax := nlp.DefaultTaxonomy(nlp.TaxonomyContactCentre)
	var complaint *nlp.Category
	for i, c := range tax.Categories {
		if c.ID == "complaint" {
			complaint = &tax.Categories[i]
		}
	}
	if complaint == nil {
		t.Skip("contact-centre taxonomy has no complaint category")
	}
	cl, err := llm.NewClassifier(MustClient(t, srv, nil), tax)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = cl.Classify(context.Background(), testInput())
	if err == nil || !strings.Contains(err.Error(), "does not match schema") {
		t.Fatalf("err = %v, want a schema violation (an unknown category, then a confidence above 1)", err)
	}
	got, _, err := cl.Classify(context.Background(), testInput())
	if err != nil || got.Category != "complaint" || got.Label != complaint.Label || got.Taxonomy != tax.Name {
		t.Errorf("classification = %+v, %v", got, err)
	}
	if _, err := llm.NewClassifier(MustClient(t, srv, nil), &nlp.Taxonomy{Name: "empty"}); callscope.ErrorCode(err) != callscope.EINVALID {
		t.Errorf("empty taxonomy: %v", err)
	}
}

func qaAnswer() map[string]any {
	item := func(id string, score float64, applicable bool, ev ...int) map[string]any {
		if ev == nil {
			ev = []int{}
		}
		return map[string]any{"id": id, "applicable": applicable, "score": score, "evidence": ev, "note": ""}
	}
	return map[string]any{"items": []any{
		item("greeting", 1, true, 0),
		item("identification", 0.5, true, 0, 42),
		item("empathy", 1, true, 2),
		item("active_listening", 0.5, true, 2, 2),
		item("resolution", 1, true, 4),
		item("closing", 1, true, 4),
		item("hold_etiquette", 0, false),
	}}
}

func TestScoreQA(t *testing.T) {
	t.Parallel()
	srv := llmtest.New(t).Script(llmtest.JSON(qaAnswer()))
	q, err := llm.NewQAScorer(MustClient(t, srv, nil), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := q.ScoreQA(context.Background(), testInput())
	if err != nil {
		t.Fatal(err)
	}
	// Weighted mean of the applicable items (hold excluded): greeting 10×1,
	// identification 10×0.5, empathy 15×1, active listening 15×0.5,
	// resolution 20×1, closing 10×1, and the measured timing items, talk
	// ratio 5×1 (half the talk), interruptions 5×1 and silences 5×1 (none):
	// 82.5 / 95 = 86.8.
	if got.Score != 86.8 {
		t.Errorf("score = %v, want 86.8", got.Score)
	}
	if got.Rubric != "default" || len(got.Items) != 10 || got.AgentTalkShare != 0.5 || got.Interruptions != 0 || got.Silences != 0 {
		t.Errorf("result = %+v", got)
	}
	byID := map[string]nlp.QAItem{}
	for _, it := range got.Items {
		byID[it.ID] = it
	}
	if it := byID["identification"]; it.Label != "Identification" || it.Weight != 10 || it.Score != 0.5 || !reflect.DeepEqual(it.Evidence, []int{0}) {
		t.Errorf("identification = %+v (segment 42 does not exist)", it)
	}
	if it := byID["active_listening"]; !reflect.DeepEqual(it.Evidence, []int{2}) {
		t.Errorf("active listening evidence = %v", it.Evidence)
	}
	if it := byID["hold_etiquette"]; it.Applicable {
		t.Errorf("hold = %+v", it)
	}
	if it := byID["talk_ratio"]; !it.Applicable || it.Score != 1 {
		t.Errorf("talk ratio = %+v", it)
	}
	var s struct {
		Properties struct {
			Items struct {
				MinItems int `json:"minItems"`
				Items    struct {
					Properties struct {
						ID struct {
							Enum []string `json:"enum"`
						} `json:"id"`
					} `json:"properties"`
				} `json:"items"`
			} `json:"items"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(srv.Requests()[0].ResponseFormat.JSONSchema.Schema, &s); err != nil {
		t.Fatal(err)
	}
	wantIDs := []string{"greeting", "identification", "empathy", "active_listening", "resolution", "closing", "hold_etiquette"}
	if !reflect.DeepEqual(s.Properties.Items.Items.Properties.ID.Enum, wantIDs) || s.Properties.Items.MinItems != 7 {
		t.Errorf("rubric enum = %v, minItems %d", s.Properties.Items.Items.Properties.ID.Enum, s.Properties.Items.MinItems)
	}
}

func TestScoreQAEveryItemOnce(t *testing.T) {
	t.Parallel()
	dup := qaAnswer()
	items := dup["items"].([]any)
	items[6] = items[0] // greeting twice, hold etiquette missing
	srv := llmtest.New(t).Script(llmtest.JSON(dup), llmtest.JSON(dup))
	q, err := llm.NewQAScorer(MustClient(t, srv, nil), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = q.ScoreQA(context.Background(), testInput())
	if err == nil || !strings.Contains(err.Error(), `"greeting" scored twice`) {
		t.Fatalf("err = %v", err)
	}
}

func TestScoreQATimingOnlyRubricMakesNoRequest(t *testing.T) {
	t.Parallel()
	srv := llmtest.New(t)
	rubric := &nlp.Rubric{Name: "timing", Items: []nlp.RubricItem{{ID: "silences", Label: "Silences", Weight: 1, Check: nlp.CheckSilence, MaxCount: 3}}}
	q, err := llm.NewQAScorer(MustClient(t, srv, nil), rubric, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, u, err := q.ScoreQA(context.Background(), testInput())
	if err != nil || got.Score != 100 || u != (pipeline.Usage{}) || len(srv.Requests()) != 0 {
		t.Errorf("result %+v usage %+v err %v, %d requests", got, u, err, len(srv.Requests()))
	}
	if _, err := llm.NewQAScorer(MustClient(t, srv, nil), &nlp.Rubric{Name: "bad"}, nil); callscope.ErrorCode(err) != callscope.EINVALID {
		t.Errorf("empty rubric: %v", err)
	}
}

func TestTodos(t *testing.T) {
	t.Parallel()
	todo := func(text, owner, kind, due, dueText string, seg int) map[string]any {
		return map[string]any{"text": text, "owner": owner, "kind": kind, "due": due, "due_text": dueText, "segment_id": seg, "confidence": 0.8}
	}
	srv := llmtest.New(t).Script(llmtest.JSON(map[string]any{"todos": []any{
		todo("Send an officer", "agent", "commitment", "2025-03-15", "tomorrow", 4),
		todo("Keep the phone on", "the caller", "request", "", "", 4),          // owner is not a speaker
		todo("Visit tomorrow", "agent", "commitment", "soon", "tomorrow", 4),   // due not ISO: parsed from due_text
		todo("Call back", "agent", "commitment", "2025-03-17T09:30:00", "", 4), // seconds dropped
		todo("Invented", "agent", "commitment", "", "", 99),                    // no such segment
	}}))
	got, _, err := llm.NewTodoExtractor(MustClient(t, srv, nil)).Todos(context.Background(), testInput())
	if err != nil {
		t.Fatal(err)
	}
	want := []nlp.Todo{
		{Text: "Send an officer", Owner: "agent", Kind: "commitment", Due: "2025-03-15", DueText: "tomorrow", SegmentID: 4, Confidence: 0.8},
		{Text: "Keep the phone on", Owner: "caller", Kind: "request", SegmentID: 4, Confidence: 0.8},
		{Text: "Visit tomorrow", Owner: "agent", Kind: "commitment", Due: "2025-03-15", DueText: "tomorrow", SegmentID: 4, Confidence: 0.8},
		{Text: "Call back", Owner: "agent", Kind: "commitment", Due: "2025-03-17T09:30", SegmentID: 4, Confidence: 0.8},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("todos:\n got %+v\nwant %+v", got, want)
	}
}

func sentimentAnalyzer() *callscope.Analyzer {
	return &callscope.Analyzer{
		ID: "a1", Name: "Caller sentiment!", Kind: "llm", Prompt: "Rate the caller's sentiment and whether a follow-up is needed.",
		OutputSchema: json.RawMessage(`{"type":"object","properties":{"sentiment":{"type":"string","enum":["positive","negative"]},"follow_up":{"type":"boolean"}},"required":["sentiment","follow_up"],"additionalProperties":false}`),
	}
}

func TestRunAnalyzer(t *testing.T) {
	t.Parallel()
	t.Run("OutputSchema", func(t *testing.T) {
		t.Parallel()
		srv := llmtest.New(t).Script(llmtest.JSON(map[string]any{"sentiment": "negative", "follow_up": true}))
		a := sentimentAnalyzer()
		text, out, _, err := llm.NewAnalyzerRunner(MustClient(t, srv, nil)).RunAnalyzer(context.Background(), a, testInput())
		if err != nil {
			t.Fatal(err)
		}
		if text != "Follow up: yes\nSentiment: negative" {
			t.Errorf("text = %q", text)
		}
		if string(out) != `{"follow_up":true,"sentiment":"negative"}` && string(out) != `{"sentiment":"negative","follow_up":true}` {
			t.Errorf("output = %s", out)
		}
		r := srv.Requests()[0]
		if r.ResponseFormat.JSONSchema.Name != "Caller_sentiment" || !*r.ResponseFormat.JSONSchema.Strict || !strings.Contains(r.System(), a.Prompt) {
			t.Errorf("request: name %q strict %v system %q", r.ResponseFormat.JSONSchema.Name, *r.ResponseFormat.JSONSchema.Strict, r.System())
		}
	})
	t.Run("LooseSchemaIsNotStrict", func(t *testing.T) {
		t.Parallel()
		srv := llmtest.New(t).Script(llmtest.JSON(map[string]any{"topics": []string{"abuse", "school"}, "details": map[string]any{"urgent": true}}))
		a := &callscope.Analyzer{Name: "topics", Prompt: "List topics.", OutputSchema: json.RawMessage(`{"type":"object","properties":{"topics":{"type":"array","items":{"type":"string"}},"details":{"type":"object"}},"required":["topics"]}`)}
		text, _, _, err := llm.NewAnalyzerRunner(MustClient(t, srv, nil)).RunAnalyzer(context.Background(), a, testInput())
		if err != nil {
			t.Fatal(err)
		}
		if *srv.Requests()[0].ResponseFormat.JSONSchema.Strict {
			t.Error("strict sent for a schema OpenAI's strict mode rejects")
		}
		if text != "Details:\n  Urgent: yes\nTopics:\n  - abuse\n  - school" {
			t.Errorf("text = %q", text)
		}
	})
	t.Run("ArraySchemaIsWrapped", func(t *testing.T) {
		t.Parallel()
		srv := llmtest.New(t).Script(llmtest.JSON(map[string]any{"result": []string{"a", "b"}}))
		a := &callscope.Analyzer{Name: "list", Prompt: "List.", OutputSchema: json.RawMessage(`{"type":"array","items":{"type":"string"}}`)}
		text, out, _, err := llm.NewAnalyzerRunner(MustClient(t, srv, nil)).RunAnalyzer(context.Background(), a, testInput())
		if err != nil || string(out) != `["a","b"]` || text != "- a\n- b" {
			t.Errorf("text %q output %s err %v", text, out, err)
		}
	})
	t.Run("NoSchema", func(t *testing.T) {
		t.Parallel()
		srv := llmtest.New(t).Script(llmtest.JSON(map[string]any{"analysis_text": " The caller was distressed. "}))
		text, out, _, err := llm.NewAnalyzerRunner(MustClient(t, srv, nil)).RunAnalyzer(context.Background(), &callscope.Analyzer{Name: "notes", Prompt: "Describe the caller's mood."}, testInput())
		if err != nil || text != "The caller was distressed." || out != nil {
			t.Errorf("text %q output %s err %v", text, out, err)
		}
		if n := srv.Requests()[0].ResponseFormat.JSONSchema.Name; n != "analysis" {
			t.Errorf("schema name %q", n)
		}
	})
	t.Run("SchemaViolation", func(t *testing.T) {
		t.Parallel()
		bad := llmtest.JSON(map[string]any{"sentiment": "furious", "follow_up": true})
		srv := llmtest.New(t).Script(bad, bad)
		_, _, _, err := llm.NewAnalyzerRunner(MustClient(t, srv, nil)).RunAnalyzer(context.Background(), sentimentAnalyzer(), testInput())
		if err == nil || !strings.Contains(err.Error(), "/sentiment") {
			t.Fatalf("err = %v, want it to name the invalid field", err)
		}
	})
	t.Run("InvalidAnalyzer", func(t *testing.T) {
		t.Parallel()
		srv := llmtest.New(t)
		r := llm.NewAnalyzerRunner(MustClient(t, srv, nil))
		for _, a := range []*callscope.Analyzer{
			{Name: "no prompt"},
			{Name: "ref", Prompt: "p", OutputSchema: json.RawMessage(`{"type":"object","properties":{"x":{"$ref":"https://example.com/x.json"}}}`)},
			{Name: "broken", Prompt: "p", OutputSchema: json.RawMessage(`{"type":"object","properties":{"x":{"type":"strnig"}}}`)},
		} {
			if _, _, _, err := r.RunAnalyzer(context.Background(), a, testInput()); callscope.ErrorCode(err) != callscope.EINVALID {
				t.Errorf("%s: %v, want EINVALID", a.Name, err)
			}
		}
		if n := len(srv.Requests()); n != 0 {
			t.Errorf("%d requests for invalid analyzers", n)
		}
	})
}

func TestNewEngines(t *testing.T) {
	t.Parallel()
	srv := llmtest.New(t)
	e, err := llm.NewEngines(MustClient(t, srv, nil), llm.EngineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e.Translator == nil || e.Entities == nil || e.Classifier == nil || e.Summarizer == nil || e.QA == nil || e.Todos == nil || e.Analyzers == nil {
		t.Errorf("engines = %+v", e)
	}
}
