package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/audio"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/sqlstore"
)

// Stage names, in the order they run.
const (
	StageFetchAudio = "fetch_audio"
	StageDecode     = "decode_audio"
	StageTranscribe = "transcribe"
	StageRedact     = "redact_pii"
	StageTranslate  = "translate"
	StageEntities   = "entities"
	StageContact    = "enrich_contact"
	StageClassify   = "classify"
	StageSummarize  = "summarize"
	StageQA         = "qa_score"
	StageAnalyzers  = "analyzers"
	StageTodos      = "todos"
	StageInsights   = "insights"
	StageDeliver    = "deliver"
)

// Stages lists every stage in order.
var Stages = []string{StageFetchAudio, StageDecode, StageTranscribe, StageRedact, StageTranslate, StageEntities,
	StageContact, StageClassify, StageSummarize, StageQA, StageAnalyzers, StageTodos, StageInsights, StageDeliver}

// aiStages are skipped for empty calls.
var aiStages = []string{StageTranslate, StageEntities, StageContact, StageClassify, StageSummarize, StageQA, StageAnalyzers, StageTodos, StageInsights}

// Switch names the ENABLE_* variable that turns a stage on or off; stages
// without one always run when configured.
var Switch = map[string]string{
	StageRedact:    "ENABLE_PII_REDACTION",
	StageTranslate: "ENABLE_TRANSLATION",
	StageEntities:  "ENABLE_NER",
	StageClassify:  "ENABLE_CLASSIFICATION",
	StageSummarize: "ENABLE_SUMMARIZATION",
	StageQA:        "ENABLE_QA_SCORING",
	StageInsights:  "ENABLE_INSIGHTS_GENERATION",
	StageDeliver:   "NOTIFY_COMPLETION",
}

// Stage outcomes in a StageRun.
const (
	StatusCompleted = "completed"
	StatusSkipped   = "skipped"
	StatusFailed    = "failed"
)

// Runner runs calls' pipelines. Set the fields, then call Run from the
// processing job.
type Runner struct {
	Store *sqlstore.Store
	// Engines returns the engines for a tenant (its taxonomy, rubric,
	// providers).
	Engines func(t *callscope.Tenant) Engines
	// Switches are the ENABLE_* defaults; a tenant's SettingPipeline
	// overrides them.
	Switches map[string]bool
	// Events records an event in a transaction (the queue's RecordEvent).
	Events func(ctx context.Context, tx *sqlstore.Tx, c *callscope.Call, data callscope.EventData) error
	Logger *slog.Logger
	Now    func() time.Time

	// Recordings keeps recording files; Audio downloads recordings kept
	// elsewhere; Speech transcribes. Without them the audio stages are
	// skipped (calls that come with a transcript need none of them).
	Recordings blob.Store
	Audio      AudioSource
	Speech     SpeechTranscriber

	// OnStage, if set, is told of every stage run that ends: its name,
	// status (completed, skipped, failed, retrying) and run time.
	OnStage func(stage, status string, took time.Duration)
}

func (r *Runner) observe(stage, status string, begin time.Time) {
	if r.OnStage != nil {
		r.OnStage(stage, status, time.Since(begin))
	}
}

// ErrPermanent wraps a stage error that retrying will not fix.
var ErrPermanent = errors.New("permanent failure")

// StageError is the error Run returns when a stage fails.
type StageError struct {
	Stage      string
	Err        error
	Retryable  bool
	RetryAfter time.Duration
}

func (e *StageError) Error() string { return fmt.Sprintf("stage %s: %v", e.Stage, e.Err) }
func (e *StageError) Unwrap() error { return e.Err }

func (r *Runner) now() time.Time {
	if r.Now == nil {
		return callscope.Timestamp(time.Now())
	}
	return callscope.Timestamp(r.Now())
}

func (r *Runner) log() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

// enabled reports whether a stage is switched on for the tenant.
func (r *Runner) enabled(t *callscope.Tenant, stage string) bool {
	name, ok := Switch[stage]
	if !ok {
		return true
	}
	return r.switchOn(t, name)
}

// switchOn reports whether an ENABLE_* switch is on for the tenant.
func (r *Runner) switchOn(t *callscope.Tenant, name string) bool {
	if v, ok := t.Settings.Pipeline[name]; ok {
		return v
	}
	if v, ok := r.Switches[name]; ok {
		return v
	}
	return true
}

// Config returns the switches as they apply to the tenant, for the
// processing record's pipeline_config.
func (r *Runner) Config(t *callscope.Tenant) map[string]any {
	cfg := map[string]any{"ENABLE_FULL_PIPELINE": r.switchOn(t, "ENABLE_FULL_PIPELINE")}
	for _, st := range Stages {
		if name, ok := Switch[st]; ok {
			cfg[name] = r.enabled(t, st)
		}
	}
	return cfg
}

// run is one Run's state.
type run struct {
	r      *Runner
	tenant *callscope.Tenant
	call   *callscope.Call
	p      *callscope.Processing
	in     Input
	eng    Engines
	// skipped holds stage records not yet committed: a skipped stage is
	// written with the next stage that does work (redoing a skip is free).
	skipped []callscope.StageRun
	// pcm is the decoded recording, between decode_audio and transcribe.
	pcm *audio.PCM
	// results of this run, for insights.
	classification *nlp.Classification
	summary        *nlp.Summary
	// notify is set by the deliver stage: the run's end records
	// analysis.completed.
	notify   bool
	qa       *nlp.QAResult
	todos    []nlp.Todo
	entities []nlp.Entity
}

// Run processes a call: each stage not yet completed, in order, each stage's
// output and record committed together, so that a run that stops (a crash,
// a timeout, a retryable error) resumes at the first unfinished stage. It
// returns nil when the call is completed (or was already), and a
// *StageError when a stage fails: Retryable says whether running again
// may help. A permanent failure marks the processing failed.
func (r *Runner) Run(ctx context.Context, tenantID, callID string) error {
	tenant, err := r.Store.Tenant(ctx, tenantID)
	if err != nil {
		return err
	}
	call, err := r.Store.Call(ctx, tenantID, callID)
	if err != nil {
		return err
	}
	p, err := r.Store.Processing(ctx, call.ID)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		p = &callscope.Processing{CallID: call.ID, TenantID: tenantID, StagesRemaining: slices.Clone(Stages)}
	} else if err != nil {
		return err
	}
	if p.Status == callscope.ProcessingCompleted {
		return nil
	}
	now := r.now()
	p.Status = callscope.ProcessingInProgress
	if p.StartedAt == nil {
		p.StartedAt = &now
	}
	p.FinishedAt = nil
	p.Attempts++
	p.Config = r.Config(tenant)
	if len(p.StagesRemaining) == 0 {
		for _, st := range Stages {
			if !slices.Contains(p.StagesCompleted, st) {
				p.StagesRemaining = append(p.StagesRemaining, st)
			}
		}
	}
	if err := r.Store.PutProcessing(ctx, p); err != nil {
		return err
	}
	segs, err := r.Store.Segments(ctx, call.ID)
	if err != nil {
		return err
	}
	if call.Language == "" && len(segs) > 0 {
		// The call's language, recorded once; the stages read it.
		call.Language = nlp.DetectLanguage(segs).Language
		if err := r.Store.SetCallResults(ctx, tenantID, call.ID, map[string]any{"language": call.Language}); err != nil {
			return err
		}
	}
	var eng Engines
	if r.Engines != nil {
		eng = r.Engines(tenant)
	}
	start := now
	if call.StartedAt != nil {
		start = *call.StartedAt
	}
	ru := &run{r: r, tenant: tenant, call: call, p: p, eng: eng, in: Input{Call: call, Segments: segs, Language: call.Language, Start: start}}
	ru.loadEarlier()

	for _, stage := range Stages {
		if slices.Contains(p.StagesCompleted, stage) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return &StageError{Stage: stage, Err: err, Retryable: true}
		}
		p.CurrentStage = stage
		begin := time.Now()
		out, err := ru.stage(ctx, stage)
		if err != nil {
			return ru.fail(ctx, stage, begin, err)
		}
		if err := ru.commit(ctx, stage, begin, out); err != nil {
			return err
		}
	}
	return ru.finish(ctx)
}

// outcome is what a stage produced: the call columns to set, analyzer runs
// to append, a skip reason, the usage.
type outcome struct {
	results  map[string]any
	segments []callscope.Segment // a new transcript
	runs     []*callscope.AnalyzerRun
	skipped  string
	// note says what a completed stage did, when its results do not.
	note  string
	usage Usage
}

func skip(reason string) (outcome, error) { return outcome{skipped: reason}, nil }

// empty reports whether a call has nothing to analyse: two segments or
// fewer, or no words at all.
func empty(segs []callscope.Segment) bool {
	if len(segs) <= 2 {
		return true
	}
	for _, s := range segs {
		if strings.TrimSpace(s.Text) != "" {
			return false
		}
	}
	return true
}

func (ru *run) stage(ctx context.Context, stage string) (outcome, error) {
	r, in, eng := ru.r, ru.in, ru.eng
	if slices.Contains(aiStages, stage) {
		if empty(in.Segments) {
			return skip("empty call: two segments or fewer, or no words")
		}
		if !r.switchOn(ru.tenant, "ENABLE_FULL_PIPELINE") {
			return skip("ENABLE_FULL_PIPELINE is off")
		}
	}
	if !r.enabled(ru.tenant, stage) {
		return skip(Switch[stage] + " is off")
	}
	switch stage {
	case StageFetchAudio, StageDecode, StageTranscribe:
		if len(in.Segments) > 0 {
			return skip("the call already has a transcript")
		}
		switch stage {
		case StageFetchAudio:
			return ru.fetchAudio(ctx)
		case StageDecode:
			return ru.decodeAudio(ctx)
		}
		return ru.transcribe(ctx)
	case StageRedact:
		red, spans := nlp.Redact(in.Segments, nlp.Options{CallStart: in.Start})
		ru.in.Segments = red
		out := outcome{results: map[string]any{}}
		if ru.tenant.Settings.RedactStoredTranscript && len(spans) > 0 {
			if err := r.Store.ReplaceSegments(ctx, ru.call.ID, red); err != nil {
				return outcome{}, err
			}
		}
		return out, nil
	case StageTranslate:
		if eng.Translator == nil {
			return skip("not configured")
		}
		target := ru.tenant.Settings.TranslateTo
		if target == "" {
			target = "en"
		}
		lang := in.Language
		if lang == "" {
			lang = nlp.DetectLanguage(in.Segments).Language
		}
		if lang == target {
			return skip("the call is already in " + target)
		}
		ru.in.Language = lang
		tr, u, err := eng.Translator.Translate(ctx, ru.in, target)
		if se := (*SkipError)(nil); errors.As(err, &se) {
			return skip(se.Reason)
		}
		if err != nil {
			return outcome{}, err
		}
		return outcome{results: map[string]any{"translation": tr.Text, "translation_language": tr.Language, "language": lang}, usage: u}, nil
	case StageEntities:
		if eng.Entities == nil {
			return skip("not configured")
		}
		ents, u, err := eng.Entities.Entities(ctx, in)
		if err != nil {
			return outcome{}, err
		}
		if ents == nil {
			ents = []nlp.Entity{}
		}
		ru.entities = ents
		return outcome{results: map[string]any{"entities": ents}, usage: u}, nil
	case StageContact:
		return ru.enrichContact(ctx)
	case StageClassify:
		if eng.Classifier == nil {
			return skip("not configured")
		}
		c, u, err := eng.Classifier.Classify(ctx, in)
		if err != nil {
			return outcome{}, err
		}
		keepCorrection(&c, ru.call.Classification)
		ru.classification = &c
		return outcome{results: map[string]any{"classification": c}, usage: u}, nil
	case StageSummarize:
		if eng.Summarizer == nil {
			return skip("not configured")
		}
		s, u, err := eng.Summarizer.Summarize(ctx, in)
		if err != nil {
			return outcome{}, err
		}
		ru.summary = &s
		return outcome{results: map[string]any{"summary": s}, usage: u}, nil
	case StageQA:
		if eng.QA == nil {
			return skip("not configured")
		}
		q, u, err := eng.QA.ScoreQA(ctx, in)
		if err != nil {
			return outcome{}, err
		}
		ru.qa = &q
		return outcome{results: map[string]any{"qa": q}, usage: u}, nil
	case StageAnalyzers:
		analyzers, err := r.Store.Analyzers(ctx, ru.tenant.ID, true)
		if err != nil {
			return outcome{}, err
		}
		if len(analyzers) == 0 {
			return skip("no active analyzers")
		}
		if eng.Analyzers == nil {
			return skip("not configured")
		}
		out := outcome{}
		for _, a := range analyzers {
			text, output, u, err := eng.Analyzers.RunAnalyzer(ctx, a, in)
			if err != nil {
				return outcome{}, fmt.Errorf("analyzer %q: %w", a.Name, err)
			}
			out.usage = out.usage.Add(u)
			out.runs = append(out.runs, &callscope.AnalyzerRun{TenantID: ru.tenant.ID, CallID: ru.call.ID, AnalyzerID: a.ID,
				AnalyzerName: a.Name, AnalyzerVersion: a.Version, AnalysisText: text, Output: output})
		}
		return out, nil
	case StageTodos:
		if eng.Todos == nil {
			return skip("not configured")
		}
		todos, u, err := eng.Todos.Todos(ctx, in)
		if err != nil {
			return outcome{}, err
		}
		if todos == nil {
			todos = []nlp.Todo{}
		}
		ru.todos = todos
		if err := ru.saveTodos(ctx, todos); err != nil {
			return outcome{}, err
		}
		return outcome{results: map[string]any{"todos": todos}, usage: u}, nil
	case StageInsights:
		return outcome{results: map[string]any{"insights": ru.insights()}}, nil
	case StageDeliver:
		return ru.deliver(ctx)
	}
	return skip("unknown stage")
}

// loadEarlier restores the outputs of stages a previous attempt finished,
// so that insights see them after a resume.
func (ru *run) loadEarlier() {
	c := ru.call
	if len(c.Classification) > 0 {
		var x nlp.Classification
		if json.Unmarshal(c.Classification, &x) == nil {
			ru.classification = &x
		}
	}
	if len(c.Summary) > 0 {
		var x nlp.Summary
		if json.Unmarshal(c.Summary, &x) == nil {
			ru.summary = &x
		}
	}
	if len(c.QA) > 0 {
		var x nlp.QAResult
		if json.Unmarshal(c.QA, &x) == nil {
			ru.qa = &x
		}
	}
	_ = json.Unmarshal(c.Todos, &ru.todos)
	_ = json.Unmarshal(c.Entities, &ru.entities)
	if slices.Contains(ru.p.StagesCompleted, StageRedact) && ru.r.enabled(ru.tenant, StageRedact) {
		ru.in.Segments, _ = nlp.Redact(ru.in.Segments, nlp.Options{CallStart: ru.in.Start})
	}
}

// insights unifies the stages' results into one summary of the call.
func (ru *run) insights() map[string]any {
	in := map[string]any{"language": ru.in.Language, "segment_count": len(ru.in.Segments)}
	if c := ru.classification; c != nil {
		in["category"], in["category_label"], in["category_confidence"], in["risk"] = c.Category, c.Label, c.Confidence, c.Risk
	}
	if s := ru.summary; s != nil {
		in["summary"], in["reason"] = s.Text, s.Reason
	}
	if q := ru.qa; q != nil {
		in["qa_score"] = q.Score
	}
	in["todo_count"] = len(ru.todos)
	byType := map[string][]string{}
	for _, e := range ru.entities {
		v := e.Text
		if !slices.Contains(byType[e.Type], v) {
			byType[e.Type] = append(byType[e.Type], v)
		}
	}
	in["entities"] = byType
	return in
}

// commit stores a stage's output and record together.
func (ru *run) commit(ctx context.Context, stage string, begin time.Time, out outcome) error {
	p := ru.p
	rec := callscope.StageRun{Stage: stage, Status: StatusCompleted, StartedAt: callscope.Timestamp(begin),
		Seconds: time.Since(begin).Seconds(), Tokens: out.usage.InputTokens + out.usage.OutputTokens,
		AudioSeconds: out.usage.AudioSeconds, Cost: out.usage.Cost}
	if out.skipped != "" {
		rec.Status, rec.Reason = StatusSkipped, out.skipped
	} else if out.note != "" {
		rec.Reason = out.note
	}
	ru.r.observe(stage, rec.Status, begin)
	if out.skipped != "" && len(out.results) == 0 && len(out.runs) == 0 && out.segments == nil && stage != Stages[len(Stages)-1] {
		ru.skipped = append(ru.skipped, rec)
		return nil
	}
	for _, sk := range append(ru.skipped, rec) {
		p.Stages = append(p.Stages, sk)
		p.StagesCompleted = append(p.StagesCompleted, sk.Stage)
		p.StagesRemaining = slices.DeleteFunc(p.StagesRemaining, func(s string) bool { return s == sk.Stage })
	}
	ru.skipped = nil
	return ru.r.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		if out.segments != nil {
			if err := tx.ReplaceSegments(ctx, ru.call.ID, out.segments); err != nil {
				return err
			}
			// A transcript made from the recording is news to the call's
			// subscribers (the Auto-Caller app's transcription.ready).
			if ru.r.Events != nil {
				if err := ru.r.Events(ctx, tx, ru.call, callscope.TranscriptionReadyData{CallRefData: callscope.RefOf(ru.call),
					SegmentCount: len(out.segments)}); err != nil {
					return err
				}
			}
		}
		if err := tx.SetCallResults(ctx, ru.tenant.ID, ru.call.ID, out.results); err != nil {
			return err
		}
		for _, run := range out.runs {
			if err := tx.AppendAnalyzerRun(ctx, run); err != nil {
				return err
			}
		}
		return tx.PutProcessing(ctx, p)
	})
}

// fail records a stage's error. A retryable one leaves the processing in
// progress for the next attempt; a permanent one marks it failed.
func (ru *run) fail(ctx context.Context, stage string, begin time.Time, err error) error {
	retry, after := IsRetryable(err)
	if errors.Is(err, ErrPermanent) {
		retry = false
	}
	if ctx.Err() != nil {
		// Stopped from outside (shutdown, timeout): the next attempt resumes.
		retry = true
	}
	p := ru.p
	p.Errors = append(p.Errors, callscope.StageError{Stage: stage, Message: err.Error(), Retryable: retry, At: ru.r.now()})
	if len(p.Errors) > 50 {
		p.Errors = p.Errors[len(p.Errors)-50:]
	}
	serr := &StageError{Stage: stage, Err: err, Retryable: retry, RetryAfter: after}
	if retry {
		ru.r.observe(stage, "retrying", begin)
	} else {
		ru.r.observe(stage, StatusFailed, begin)
	}
	if !retry {
		now := ru.r.now()
		p.Status, p.FinishedAt = callscope.ProcessingFailed, &now
		p.Stages = append(p.Stages, callscope.StageRun{Stage: stage, Status: StatusFailed, Reason: err.Error(),
			StartedAt: callscope.Timestamp(begin), Seconds: time.Since(begin).Seconds()})
	}
	// The record must be written even when ctx has ended.
	wctx := context.WithoutCancel(ctx)
	werr := ru.r.Store.InTx(wctx, func(tx *sqlstore.Tx) error {
		if err := tx.PutProcessing(wctx, p); err != nil {
			return err
		}
		if !retry && ru.r.Events != nil {
			return ru.r.Events(wctx, tx, ru.call, callscope.ProcessingFailedData{CallRefData: callscope.RefOf(ru.call),
				Stage: stage, Error: err.Error()})
		}
		return nil
	})
	ru.r.log().WarnContext(ctx, "pipeline stage failed", "call_id", ru.call.PublicID(), "id", ru.call.ID, "stage", stage, "retryable", retry, "error", err.Error())
	return errors.Join(serr, werr)
}

func (ru *run) finish(ctx context.Context) error {
	now := ru.r.now()
	p := ru.p
	p.Status, p.CurrentStage, p.FinishedAt = callscope.ProcessingCompleted, "", &now
	return ru.r.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.PutProcessing(ctx, p); err != nil {
			return err
		}
		delivered := ru.notify || slices.ContainsFunc(p.Stages, func(s callscope.StageRun) bool {
			return s.Stage == StageDeliver && s.Status == StatusCompleted
		})
		if ru.r.Events == nil || !delivered {
			return nil
		}
		data := callscope.AnalysisCompletedData{CallRefData: callscope.RefOf(ru.call), Stages: p.Stages}
		if ru.summary != nil {
			data.Summary = ru.summary.Text
		}
		return ru.r.Events(ctx, tx, ru.call, data)
	})
}

// deliver is the deliver stage: the call's analysis.completed event is
// recorded when the run finishes, in the same transaction, and the
// tenant's delivery channels take it from the outbox. The stage says which
// channels that is; with NOTIFY_COMPLETION off it is skipped and no event
// is recorded.
func (ru *run) deliver(ctx context.Context) (outcome, error) {
	if ru.r.Events == nil {
		return skip("no outbox: results are only stored")
	}
	ru.notify = true
	var to []string
	eps, err := ru.r.Store.WebhookEndpoints(ctx, ru.tenant.ID, true)
	if err != nil {
		return outcome{}, err
	}
	n := 0
	for _, ep := range eps {
		if ep.Wants(callscope.EventAnalysisCompleted) {
			n++
		}
	}
	if n > 0 {
		to = append(to, fmt.Sprintf("%d webhook endpoint(s)", n))
	}
	set := ru.tenant.Settings
	if set.EmailReport != nil && len(set.EmailReport.Recipients) > 0 {
		to = append(to, "the e-mail report")
	}
	if set.AgentService != nil {
		to = append(to, "the agent service")
	}
	if len(to) == 0 {
		return outcome{note: "analysis.completed recorded; no delivery channel is configured for it"}, nil
	}
	return outcome{note: "analysis.completed recorded for " + strings.Join(to, ", ")}, nil
}
