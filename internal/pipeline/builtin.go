package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/nlp"
)

// Builtin runs the offline engines of internal/nlp: no network, no GPU,
// deterministic. It has no translator (there is no offline translation
// model to ship); the translate stage is skipped without a provider.
//
// The engines share one analysis of a transcript (nlp.Engine.Analyze
// tokenises once for all of them): a Builtin made by BuiltinEngines.For
// serves one run and remembers the analysis of the transcript it saw last.
type Builtin struct {
	E    *nlp.Engine
	memo *analysisMemo
	// Learn returns the tenant's learned classifier and its weight, or
	// nil; the classification then blends it with the keywords.
	Learn func(ctx context.Context) (*nlp.LearnedModel, float64, error)
}

// analysisMemo keeps the last analysis, keyed by the transcript it is of.
type analysisMemo struct {
	mu     sync.Mutex
	first  *callscope.Segment
	n      int
	start  time.Time
	result nlp.Result
}

// analysis returns the full analysis of in, computing it once per
// transcript.
func (b Builtin) analysis(in Input) (nlp.Result, bool) {
	if b.memo == nil || len(in.Segments) == 0 {
		return nlp.Result{}, false
	}
	b.memo.mu.Lock()
	defer b.memo.mu.Unlock()
	if b.memo.first != &in.Segments[0] || b.memo.n != len(in.Segments) || !b.memo.start.Equal(in.Start) {
		b.memo.result = b.E.Analyze(in.Segments, b.opts(in))
		b.memo.first, b.memo.n, b.memo.start = &in.Segments[0], len(in.Segments), in.Start
	}
	return b.memo.result, true
}

var (
	_ EntityExtractor = Builtin{}
	_ Classifier      = Builtin{}
	_ Summarizer      = Builtin{}
	_ QAScorer        = Builtin{}
	_ TodoExtractor   = Builtin{}
	_ AnalyzerRunner  = Builtin{}
)

func (b Builtin) opts(in Input) nlp.Options {
	return nlp.Options{CallStart: in.Start, Language: in.Language}
}

// Entities implements EntityExtractor.
func (b Builtin) Entities(_ context.Context, in Input) ([]nlp.Entity, Usage, error) {
	if r, ok := b.analysis(in); ok {
		return r.Entities, Usage{}, nil
	}
	return b.E.ExtractEntities(in.Segments, b.opts(in)), Usage{}, nil
}

// Classify implements Classifier.
func (b Builtin) Classify(ctx context.Context, in Input) (nlp.Classification, Usage, error) {
	if b.Learn != nil {
		m, w, err := b.Learn(ctx)
		if err != nil {
			return nlp.Classification{}, Usage{}, err
		}
		if m != nil {
			return b.E.ClassifyLearned(in.Segments, b.opts(in), m, w), Usage{}, nil
		}
	}
	if r, ok := b.analysis(in); ok {
		return r.Classification, Usage{}, nil
	}
	return b.E.Classify(in.Segments, b.opts(in)), Usage{}, nil
}

// Summarize implements Summarizer.
func (b Builtin) Summarize(_ context.Context, in Input) (nlp.Summary, Usage, error) {
	if r, ok := b.analysis(in); ok {
		return r.Summary, Usage{}, nil
	}
	return b.E.Summarize(in.Segments, b.opts(in)), Usage{}, nil
}

// ScoreQA implements QAScorer.
func (b Builtin) ScoreQA(_ context.Context, in Input) (nlp.QAResult, Usage, error) {
	if r, ok := b.analysis(in); ok {
		return r.QA, Usage{}, nil
	}
	return b.E.ScoreQA(in.Segments, b.opts(in)), Usage{}, nil
}

// Todos implements TodoExtractor.
func (b Builtin) Todos(_ context.Context, in Input) ([]nlp.Todo, Usage, error) {
	if r, ok := b.analysis(in); ok {
		return r.Todos, Usage{}, nil
	}
	return b.E.ExtractTodos(in.Segments, b.opts(in)), Usage{}, nil
}

// Built-in analyzer rule sets: an analyzer of kind "builtin" names one in
// its prompt.
const (
	RuleSummary        = "summary"        // the extractive summary
	RuleClassification = "classification" // category and risk with evidence
	RuleQA             = "qa"             // rubric score per item
	RuleTodos          = "todos"          // commitments and requests
	RuleEntities       = "entities"       // entities by type
	RuleKeywords       = "keywords:"      // "keywords: refund, cancel" counts each keyword
)

// RunAnalyzer implements AnalyzerRunner for analyzers of kind "builtin".
// Returns a permanent error for other kinds (they need a model provider).
func (b Builtin) RunAnalyzer(_ context.Context, a *callscope.Analyzer, in Input) (string, json.RawMessage, Usage, error) {
	if a.Kind != "builtin" {
		return "", nil, Usage{}, fmt.Errorf("analyzer kind %q needs a model provider, and none is configured", a.Kind)
	}
	rule := strings.TrimSpace(strings.ToLower(a.Prompt))
	var text string
	var out any
	switch {
	case rule == RuleSummary:
		s := b.E.Summarize(in.Segments, b.opts(in))
		text, out = s.Text, s
	case rule == RuleClassification:
		c := b.E.Classify(in.Segments, b.opts(in))
		text = fmt.Sprintf("Category: %s (%.0f%% confidence). Risk: %s.", c.Label, 100*c.Confidence, c.Risk)
		out = c
	case rule == RuleQA:
		q := b.E.ScoreQA(in.Segments, b.opts(in))
		var parts []string
		for _, it := range q.Items {
			if it.Applicable {
				parts = append(parts, fmt.Sprintf("%s %.0f%%", it.Label, 100*it.Score))
			}
		}
		text = fmt.Sprintf("QA score %.0f/100. %s.", q.Score, strings.Join(parts, ", "))
		out = q
	case rule == RuleTodos:
		todos := b.E.ExtractTodos(in.Segments, b.opts(in))
		var parts []string
		for _, t := range todos {
			parts = append(parts, fmt.Sprintf("%s: %s", t.Owner, t.Text))
		}
		text = fmt.Sprintf("%d to-dos. %s", len(todos), strings.Join(parts, "; "))
		out = todos
	case rule == RuleEntities:
		ents := b.E.ExtractEntities(in.Segments, b.opts(in))
		byType := map[string][]string{}
		for _, e := range ents {
			byType[e.Type] = append(byType[e.Type], e.Text)
		}
		var parts []string
		for _, typ := range []string{"person", "location", "organization", "phone", "email", "date", "money", "age"} {
			if len(byType[typ]) > 0 {
				parts = append(parts, typ+": "+strings.Join(byType[typ], ", "))
			}
		}
		text, out = strings.Join(parts, "; "), byType
	case strings.HasPrefix(rule, RuleKeywords):
		counts := map[string]int{}
		var words []string
		for _, k := range strings.Split(strings.TrimPrefix(rule, RuleKeywords), ",") {
			if k = strings.TrimSpace(k); k != "" {
				words = append(words, k)
			}
		}
		for _, s := range in.Segments {
			low := strings.ToLower(s.Text)
			for _, k := range words {
				counts[k] += strings.Count(low, k)
			}
		}
		var parts []string
		for _, k := range words {
			parts = append(parts, fmt.Sprintf("%s: %d", k, counts[k]))
		}
		text, out = strings.Join(parts, ", "), counts
	default:
		return "", nil, Usage{}, fmt.Errorf("unknown built-in rule set %q (want summary, classification, qa, todos, entities or keywords: a, b)", a.Prompt)
	}
	b2, err := json.Marshal(out)
	return text, b2, Usage{}, err
}

// BuiltinEngines returns the offline engines configured by the tenant's
// settings (the taxonomy, the service short codes), built once per tenant
// configuration.
type BuiltinEngines struct {
	// Learner, when set, blends each tenant's learned classifier into the
	// classification.
	Learner *Learner

	mu    sync.Mutex
	cache map[string]*nlp.Engine
}

// NLPConfig is the offline engines' configuration from a tenant's
// settings: its taxonomy and service short codes.
func NLPConfig(s *callscope.Settings) nlp.Config {
	return nlp.Config{ShortCodes: s.ShortCodes, Taxonomy: nlp.TaxonomyOf(s.Taxonomy)}
}

// configKey identifies a tenant's offline engine configuration: the same
// key, the same engines.
func configKey(s *callscope.Settings) string {
	b, _ := json.Marshal([]any{s.Taxonomy, s.ShortCodes})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// For returns the engines for a tenant.
func (b *BuiltinEngines) For(t *callscope.Tenant) Engines {
	cfg := NLPConfig(&t.Settings)
	key := configKey(&t.Settings)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cache == nil {
		b.cache = map[string]*nlp.Engine{}
	}
	e, ok := b.cache[key]
	if !ok {
		if len(b.cache) >= 1024 {
			clear(b.cache) // taxonomies edited many times: start again
		}
		var err error
		if e, err = nlp.New(cfg); err != nil {
			e = nlp.Default()
		}
		b.cache[key] = e
	}
	bi := Builtin{E: e, memo: &analysisMemo{}}
	if l := b.Learner; l != nil {
		bi.Learn = func(ctx context.Context) (*nlp.LearnedModel, float64, error) { return l.Model(ctx, t, e) }
	}
	return Engines{Entities: bi, Classifier: bi, Summarizer: bi, QA: bi, Todos: bi, Analyzers: bi}
}
