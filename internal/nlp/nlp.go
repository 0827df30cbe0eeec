package nlp

import (
	"embed"
	"encoding/json"
	"sync"
	"time"

	"github.com/callscope/callscope"
)

//go:embed data/*.json
var dataFS embed.FS

// Gazetteer lists the names the entity extractor recognises without a cue.
type Gazetteer struct {
	Locations     []string `json:"locations"`
	Organizations []string `json:"organizations"`
	// OrgSuffixes end organisation names ("Kibera Primary School").
	OrgSuffixes []string `json:"org_suffixes"`
	PersonNames []string `json:"person_names"`
}

// Config is one tenant's analyzer configuration. Nil fields take the
// embedded defaults.
type Config struct {
	Taxonomy  *Taxonomy  `json:"taxonomy,omitempty"`
	Rubric    *Rubric    `json:"rubric,omitempty"`
	Gazetteer *Gazetteer `json:"gazetteer,omitempty"`
	// ExtraGazetteer is added to the gazetteer rather than replacing it.
	ExtraGazetteer *Gazetteer  `json:"extra_gazetteer,omitempty"`
	IDPatterns     []IDPattern `json:"id_patterns,omitempty"`
	// CountryCode is the calling code national phone numbers belong to
	// (default "254", Kenya).
	CountryCode string `json:"country_code,omitempty"`
	// ShortCodes are service numbers (116, 999, 112, …) reported as phone
	// numbers when a cue says they are numbers to call; none by default.
	ShortCodes []string `json:"short_codes,omitempty"`
	// AgentSpeakers are the speaker labels of the organisation's side.
	AgentSpeakers []string `json:"agent_speakers,omitempty"`
}

// Options are the per-call inputs of the analyzers.
type Options struct {
	// CallStart resolves relative dates ("tomorrow"); zero leaves them
	// unresolved.
	CallStart time.Time
	// Language is the call's language ("en", "sw"); empty detects it.
	Language string
	// RedactPersons also masks person names in Redact.
	RedactPersons bool
}

// Result is every built-in analysis of one call.
type Result struct {
	Language       LanguageResult `json:"language"`
	Entities       []Entity       `json:"entities"`
	Classification Classification `json:"classification"`
	Summary        Summary        `json:"summary"`
	QA             QAResult       `json:"qa"`
	Todos          []Todo         `json:"todos"`
}

// Engine runs the built-in analyzers with one tenant's configuration. It is
// safe for concurrent use.
type Engine struct {
	x      *extractor
	tax    *compiledTaxonomy
	rubric *Rubric
	agents []string
}

// New compiles cfg into an Engine. Returns EINVALID if a pattern, taxonomy
// or rubric is malformed.
func New(cfg Config) (*Engine, error) {
	g := cfg.Gazetteer
	if g == nil {
		g = DefaultGazetteer()
	}
	if cfg.ExtraGazetteer != nil {
		merged := *g
		merged.Locations = append(append([]string(nil), g.Locations...), cfg.ExtraGazetteer.Locations...)
		merged.Organizations = append(append([]string(nil), g.Organizations...), cfg.ExtraGazetteer.Organizations...)
		merged.OrgSuffixes = append(append([]string(nil), g.OrgSuffixes...), cfg.ExtraGazetteer.OrgSuffixes...)
		merged.PersonNames = append(append([]string(nil), g.PersonNames...), cfg.ExtraGazetteer.PersonNames...)
		g = &merged
	}
	ids := cfg.IDPatterns
	if ids == nil {
		ids = DefaultIDPatterns
	}
	x, err := newExtractor(g, ids)
	if err != nil {
		return nil, err
	}
	if cfg.CountryCode != "" {
		if !allDigits(cfg.CountryCode) {
			return nil, callscope.Errorf(callscope.EINVALID, "country code %q is not digits", cfg.CountryCode)
		}
		x.countryCC = cfg.CountryCode
	}
	for _, c := range cfg.ShortCodes {
		if !allDigits(c) || len(c) < 2 || len(c) > 6 {
			return nil, callscope.Errorf(callscope.EINVALID, "short code %q is not 2 to 6 digits", c)
		}
		if x.shortCodes == nil {
			x.shortCodes = map[string]bool{}
		}
		x.shortCodes[c] = true
	}
	tx := cfg.Taxonomy
	if tx == nil {
		tx = DefaultTaxonomy(TaxonomyHelpline)
	}
	ct, err := compileTaxonomy(tx)
	if err != nil {
		return nil, err
	}
	r := cfg.Rubric
	if r == nil {
		r = DefaultRubric()
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return &Engine{x: x, tax: ct, rubric: r, agents: cfg.AgentSpeakers}, nil
}

// MustNew is New for configurations known to be valid; it panics on error.
func MustNew(cfg Config) *Engine {
	e, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return e
}

// TaxonomyName is the name of the engine's taxonomy.
func (e *Engine) TaxonomyName() string { return e.tax.t.Name }

// Categories lists the ids of the engine's taxonomy's categories.
func (e *Engine) Categories() []string {
	out := make([]string, len(e.tax.t.Categories))
	for i, c := range e.tax.t.Categories {
		out[i] = c.ID
	}
	return out
}

// Analyze runs every analyzer on one call, tokenising the transcript once.
func (e *Engine) Analyze(segs []callscope.Segment, opts Options) Result {
	d := newDoc(segs, e.agents)
	var r Result
	r.Language = detectLanguage(d)
	ents := e.x.extract(d, dateCtx{base: opts.CallStart})
	r.Entities = ents
	r.Classification = e.tax.classify(d)
	r.Todos = extractTodos(d, ents)
	r.Summary = summarize(d, r.Todos, &r.Classification)
	r.QA = scoreQA(d, e.rubric)
	return r
}

// ExtractEntities finds phones, e-mails, dates, money, ages, ids, cards,
// URLs, people, places and organisations in the transcript.
func (e *Engine) ExtractEntities(segs []callscope.Segment, opts Options) []Entity {
	return e.x.extract(newDoc(segs, e.agents), dateCtx{base: opts.CallStart})
}

// Classify assigns the call a category of the engine's taxonomy and a risk level.
func (e *Engine) Classify(segs []callscope.Segment, opts Options) Classification {
	return e.tax.classify(newDoc(segs, e.agents))
}

// Summarize picks 3–5 transcript sentences: the reason for the call, what
// was agreed and the next steps.
func (e *Engine) Summarize(segs []callscope.Segment, opts Options) Summary {
	d := newDoc(segs, e.agents)
	ents := e.x.extract(d, dateCtx{base: opts.CallStart})
	todos := extractTodos(d, ents)
	c := e.tax.classify(d)
	return summarize(d, todos, &c)
}

// ScoreQA scores the agent's handling of the call against the engine's rubric.
func (e *Engine) ScoreQA(segs []callscope.Segment, opts Options) QAResult {
	return scoreQA(newDoc(segs, e.agents), e.rubric)
}

// ExtractTodos finds commitments and requests with their owner and due date.
func (e *Engine) ExtractTodos(segs []callscope.Segment, opts Options) []Todo {
	d := newDoc(segs, e.agents)
	return extractTodos(d, e.x.extract(d, dateCtx{base: opts.CallStart}))
}

// DetectLanguage reports whether the call is in English or Swahili.
func (e *Engine) DetectLanguage(segs []callscope.Segment) LanguageResult {
	return detectLanguage(newDoc(segs, e.agents))
}

var defaultEngine = sync.OnceValue(func() *Engine { return MustNew(Config{}) })

// Default returns an Engine with the embedded defaults (helpline taxonomy).
func Default() *Engine { return defaultEngine() }

// ExtractEntities runs Default().ExtractEntities.
func ExtractEntities(segs []callscope.Segment, opts Options) []Entity {
	return Default().ExtractEntities(segs, opts)
}

// Classify runs Default().Classify.
func Classify(segs []callscope.Segment, opts Options) Classification {
	return Default().Classify(segs, opts)
}

// Summarize runs Default().Summarize.
func Summarize(segs []callscope.Segment, opts Options) Summary {
	return Default().Summarize(segs, opts)
}

// ScoreQA runs Default().ScoreQA.
func ScoreQA(segs []callscope.Segment, opts Options) QAResult {
	return Default().ScoreQA(segs, opts)
}

// ExtractTodos runs Default().ExtractTodos.
func ExtractTodos(segs []callscope.Segment, opts Options) []Todo {
	return Default().ExtractTodos(segs, opts)
}

// Redact runs Default().Redact.
func Redact(segs []callscope.Segment, opts Options) ([]callscope.Segment, []RedactedSpan) {
	return Default().Redact(segs, opts)
}

// DetectLanguage reports whether the call is in English or Swahili.
func DetectLanguage(segs []callscope.Segment) LanguageResult {
	return detectLanguage(newDoc(segs, nil))
}

// DefaultGazetteer returns a copy of the embedded gazetteer: Kenyan counties,
// towns and Nairobi estates, East-African and world cities, organisations
// and common first names.
func DefaultGazetteer() *Gazetteer {
	var g Gazetteer
	mustLoad("data/gazetteer.json", &g)
	return &g
}

// mustLoad decodes an embedded JSON file; the files are part of the build,
// so a failure is a bug.
func mustLoad(name string, v any) {
	b, err := dataFS.ReadFile(name)
	if err != nil {
		panic("nlp: " + err.Error())
	}
	if err := json.Unmarshal(b, v); err != nil {
		panic("nlp: " + name + ": " + err.Error())
	}
}
