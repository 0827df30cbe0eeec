// Package pipeline runs a call's post-call processing: a fixed order of
// stages, each switchable per tenant, each recording its own timing, usage
// and errors, resumable from the first unfinished stage. The engines behind
// the model-backed stages are small interfaces with an offline built-in
// implementation (internal/nlp) and an OpenAI-compatible one (internal/llm).
package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/nlp"
)

// Input is what a text stage reads: the call and its transcript (already
// redacted when the tenant redacts before anything leaves the machine).
type Input struct {
	Call     *callscope.Call
	Segments []callscope.Segment
	// Language is the transcript's language (ISO 639-1), "" if unknown.
	Language string
	// Start resolves relative dates ("tomorrow at three").
	Start time.Time
}

// Usage is what one stage consumed.
type Usage struct {
	InputTokens  int     `json:"input_tokens,omitempty"`
	OutputTokens int     `json:"output_tokens,omitempty"`
	AudioSeconds float64 `json:"audio_seconds,omitempty"`
	// Cost is in the currency of the provider's configured price, 0 when
	// no price is configured.
	Cost float64 `json:"cost,omitempty"`
}

// Add returns the sum of two usages.
func (u Usage) Add(o Usage) Usage {
	return Usage{u.InputTokens + o.InputTokens, u.OutputTokens + o.OutputTokens, u.AudioSeconds + o.AudioSeconds, u.Cost + o.Cost}
}

// Translation is a transcript in another language.
type Translation struct {
	Text           string `json:"text"`
	SourceLanguage string `json:"source_language"`
	Language       string `json:"language"`
	Model          string `json:"model,omitempty"`
}

// Translator translates a transcript into the target language.
type Translator interface {
	Translate(ctx context.Context, in Input, target string) (Translation, Usage, error)
}

// SkipError is returned by an engine that cannot serve this call (a
// translator without the language pair): the stage is skipped with Reason
// rather than failed.
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return "skipped: " + e.Reason }

// EntityExtractor finds named entities (persons, places, phone numbers,
// dates, money, …) with their positions.
type EntityExtractor interface {
	Entities(ctx context.Context, in Input) ([]nlp.Entity, Usage, error)
}

// Classifier puts a call in a category of the tenant's taxonomy, with a
// risk level.
type Classifier interface {
	Classify(ctx context.Context, in Input) (nlp.Classification, Usage, error)
}

// Summarizer writes a short summary: why the call was made, what was
// agreed, next steps.
type Summarizer interface {
	Summarize(ctx context.Context, in Input) (nlp.Summary, Usage, error)
}

// QAScorer scores the agent's handling of the call against a rubric.
type QAScorer interface {
	ScoreQA(ctx context.Context, in Input) (nlp.QAResult, Usage, error)
}

// TodoExtractor finds commitments and requests with their owners and due
// dates.
type TodoExtractor interface {
	Todos(ctx context.Context, in Input) ([]nlp.Todo, Usage, error)
}

// AnalyzerRunner runs one of a tenant's analyzers (seed 003) on a call:
// a text answer and, for analyzers with an output schema, the structured
// output.
type AnalyzerRunner interface {
	RunAnalyzer(ctx context.Context, a *callscope.Analyzer, in Input) (text string, output json.RawMessage, usage Usage, err error)
}

// Engines are the implementations the stages use. A nil engine skips its
// stage with the reason "not configured".
type Engines struct {
	Translator Translator
	Entities   EntityExtractor
	Classifier Classifier
	Summarizer Summarizer
	QA         QAScorer
	Todos      TodoExtractor
	Analyzers  AnalyzerRunner
}

// RetryableError is implemented by errors worth retrying later (timeouts,
// rate limits, server errors). RetryAfter is 0 when the provider gave no
// hint.
type RetryableError interface {
	error
	Retryable() bool
	RetryAfter() time.Duration
}

// IsRetryable reports whether err (or an error it wraps) is retryable, and
// after how long. Context deadlines count as retryable; everything else is
// permanent.
func IsRetryable(err error) (bool, time.Duration) {
	var r RetryableError
	if errors.As(err, &r) && r.Retryable() {
		return true, r.RetryAfter()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true, 0
	}
	return false, 0
}
