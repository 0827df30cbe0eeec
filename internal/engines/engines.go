// Package engines chooses, per tenant and per stage, which implementation
// runs each model-backed pipeline stage: the offline built-in engines, or a
// chat model on an OpenAI-compatible server for the stages configured to
// use it. The server's own process decides this once, in main.
package engines

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/llm"
	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/pipeline"
)

// LLMStages are the stages a chat model can run.
var LLMStages = []string{pipeline.StageTranslate, pipeline.StageEntities, pipeline.StageClassify, pipeline.StageSummarize,
	pipeline.StageQA, pipeline.StageTodos, pipeline.StageAnalyzers}

// Config says which stages run on a chat model.
type Config struct {
	// LLM configures the OpenAI-compatible server; nil runs everything
	// offline.
	LLM *llm.Config
	// Stages run on the LLM; empty means all of LLMStages.
	Stages []string
	// Translator translates offline (Apertium) when the chat model does
	// not; nil skips the translate stage saying TranslatorDetail.
	Translator pipeline.Translator
	// Learner, when set, blends each tenant's classifier learned from
	// corrections into the offline classification.
	Learner *pipeline.Learner
	// TranslatorDetail describes the offline translator, or why there is
	// none, for /health/models and the skipped stage.
	TranslatorDetail string
}

// noTranslator skips the translate stage with the reason there is no
// offline translator.
type noTranslator struct{ reason string }

func (n noTranslator) Translate(context.Context, pipeline.Input, string) (pipeline.Translation, pipeline.Usage, error) {
	return pipeline.Translation{}, pipeline.Usage{}, &pipeline.SkipError{Reason: n.reason}
}

// Provider hands each tenant its engines.
type Provider struct {
	cfg     Config
	client  *llm.Client
	builtin pipeline.BuiltinEngines

	mu  sync.Mutex
	llm map[string]pipeline.Engines // by taxonomy setting
}

// New checks the configuration and returns a provider.
func New(cfg Config) (*Provider, error) {
	p := &Provider{cfg: cfg, llm: map[string]pipeline.Engines{}}
	p.builtin.Learner = cfg.Learner
	if cfg.LLM == nil {
		return p, nil
	}
	if len(p.cfg.Stages) == 0 {
		p.cfg.Stages = LLMStages
	}
	for _, st := range p.cfg.Stages {
		if !slices.Contains(LLMStages, st) {
			return nil, callscope.Errorf(callscope.EINVALID, "stage %q cannot run on a chat model (stages: %s)", st, strings.Join(LLMStages, ", "))
		}
	}
	c, err := llm.New(*cfg.LLM)
	if err != nil {
		return nil, err
	}
	p.client = c
	return p, nil
}

// For returns the engines for a tenant: built-in, with the configured
// stages on the chat model.
func (p *Provider) For(t *callscope.Tenant) pipeline.Engines {
	e := p.builtin.For(t)
	e.Translator = p.cfg.Translator
	if e.Translator == nil {
		reason := p.cfg.TranslatorDetail
		if reason == "" {
			reason = "no offline translation engine"
		}
		e.Translator = noTranslator{reason: reason + "; configure a model provider or install Apertium pairs"}
	}
	if p.client == nil {
		return e
	}
	b, _ := json.Marshal(t.Settings.Taxonomy)
	name := string(b)
	p.mu.Lock()
	m, ok := p.llm[name]
	if !ok {
		if len(p.llm) >= 1024 {
			clear(p.llm) // taxonomies edited many times: start again
		}
		var err error
		m, err = llm.NewEngines(p.client, llm.EngineOptions{Taxonomy: nlp.TaxonomyOf(t.Settings.Taxonomy)})
		if err != nil {
			p.mu.Unlock()
			return e // a taxonomy the model cannot take: stay offline
		}
		p.llm[name] = m
	}
	p.mu.Unlock()
	for _, st := range p.cfg.Stages {
		switch st {
		case pipeline.StageTranslate:
			e.Translator = m.Translator
		case pipeline.StageEntities:
			e.Entities = m.Entities
		case pipeline.StageClassify:
			e.Classifier = m.Classifier
		case pipeline.StageSummarize:
			e.Summarizer = m.Summarizer
		case pipeline.StageQA:
			e.QA = m.QA
		case pipeline.StageTodos:
			e.Todos = m.Todos
		case pipeline.StageAnalyzers:
			e.Analyzers = analyzers{builtin: e.Analyzers, llm: m.Analyzers}
		}
	}
	return e
}

// analyzers runs built-in analyzers offline and the others on the model.
type analyzers struct{ builtin, llm pipeline.AnalyzerRunner }

func (a analyzers) RunAnalyzer(ctx context.Context, an *callscope.Analyzer, in pipeline.Input) (string, json.RawMessage, pipeline.Usage, error) {
	if an.Kind == "builtin" {
		return a.builtin.RunAnalyzer(ctx, an, in)
	}
	return a.llm.RunAnalyzer(ctx, an, in)
}

// Status describes the engine of one stage, for /health/models.
type Status struct {
	Stage     string
	Provider  string
	Model     string
	Endpoint  string
	Reachable bool
	Detail    string
}

// Health reports each stage's engine, asking the model server (GET
// {base}/models) whether it answers.
func (p *Provider) Health(ctx context.Context) []Status {
	var out []Status
	reachable, detail := true, "offline engine"
	if p.client != nil {
		reachable, detail = p.ping(ctx)
	}
	for _, st := range []string{pipeline.StageTranslate, pipeline.StageEntities, pipeline.StageClassify, pipeline.StageSummarize,
		pipeline.StageQA, pipeline.StageTodos, pipeline.StageAnalyzers} {
		if p.client != nil && slices.Contains(p.cfg.Stages, st) {
			out = append(out, Status{Stage: st, Provider: "openai-compatible", Model: p.cfg.LLM.Model, Endpoint: p.cfg.LLM.BaseURL,
				Reachable: reachable, Detail: detail})
			continue
		}
		s := Status{Stage: st, Provider: "builtin", Reachable: true, Detail: "offline engine"}
		if st == pipeline.StageTranslate {
			s.Provider, s.Detail = "apertium", p.cfg.TranslatorDetail
			if p.cfg.Translator == nil {
				s.Provider = "builtin"
				s.Detail = "no offline translation engine; the stage is skipped"
				if p.cfg.TranslatorDetail != "" {
					s.Detail = p.cfg.TranslatorDetail + "; the stage is skipped"
				}
			}
		}
		out = append(out, s)
	}
	return out
}

func (p *Provider) ping(ctx context.Context) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(p.cfg.LLM.BaseURL, "/")+"/models", nil)
	if err != nil {
		return false, err.Error()
	}
	if p.cfg.LLM.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+p.cfg.LLM.APIKey)
	}
	client := p.cfg.LLM.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		return false, "unreachable: " + err.Error()
	}
	res.Body.Close()
	if res.StatusCode >= 300 {
		return false, fmt.Sprintf("GET /models answered %d", res.StatusCode)
	}
	return true, "answers"
}
