package llm

import (
	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/pipeline"
)

// EngineOptions are a tenant's settings for the LLM engines.
type EngineOptions struct {
	// Taxonomy is the classification taxonomy (child helpline when nil).
	Taxonomy *nlp.Taxonomy
	// Rubric is the QA rubric (the embedded default when nil).
	Rubric *nlp.Rubric
	// AgentSpeakers are the speaker labels of the organisation's side.
	AgentSpeakers []string
}

// NewEngines returns every pipeline engine backed by c. Returns EINVALID
// if the taxonomy or rubric is malformed.
func NewEngines(c *Client, opts EngineOptions) (pipeline.Engines, error) {
	cl, err := NewClassifier(c, opts.Taxonomy)
	if err != nil {
		return pipeline.Engines{}, err
	}
	qa, err := NewQAScorer(c, opts.Rubric, opts.AgentSpeakers)
	if err != nil {
		return pipeline.Engines{}, err
	}
	return pipeline.Engines{
		Translator: NewTranslator(c),
		Entities:   NewEntityExtractor(c),
		Classifier: cl,
		Summarizer: NewSummarizer(c),
		QA:         qa,
		Todos:      NewTodoExtractor(c),
		Analyzers:  NewAnalyzerRunner(c),
	}, nil
}
