package nlp

import (
	"encoding/json"
	"math"
	"sort"
	"strings"

	"github.com/callscope/callscope"
)

// Names of the embedded default taxonomies.
const (
	TaxonomyHelpline      = "child_helpline"
	TaxonomyContactCentre = "contact_centre"
)

// Risk levels, in rising order.
const (
	RiskLow    = "low"
	RiskMedium = "medium"
	RiskHigh   = "high"
)

// Taxonomy is a set of call categories with weighted keywords
// (callscope.Taxonomy, where its term syntax is described).
type Taxonomy = callscope.Taxonomy

// Category is one class of call with its keywords and base risk.
type Category = callscope.Category

// TermGroup is a list of terms sharing one weight.
type TermGroup = callscope.TermGroup

// Escalation lists terms that raise a call's risk to Level.
type Escalation = callscope.Escalation

// Classification is the category and risk of one call.
type Classification struct {
	Taxonomy     string          `json:"taxonomy"`
	Category     string          `json:"category"`
	Label        string          `json:"label"`
	Confidence   float64         `json:"confidence"`
	RunnersUp    []CategoryScore `json:"runners_up"`
	Risk         string          `json:"risk"`
	RiskEvidence []Evidence      `json:"risk_evidence"`
	Evidence     []Evidence      `json:"evidence"`
	// Learned is what the tenant's learned model added, when it was used.
	Learned *LearnedEvidence `json:"learned,omitempty"`
	// Corrected says who set the category by hand, when and why (the
	// call service writes it); a new classification of the call keeps it.
	Corrected json.RawMessage `json:"corrected,omitempty"`
}

// CategoryScore is a category's share of the keyword evidence.
type CategoryScore struct {
	Category   string  `json:"category"`
	Label      string  `json:"label"`
	Score      float64 `json:"score"`
	Confidence float64 `json:"confidence"`
}

// Evidence is one keyword match in the transcript.
type Evidence struct {
	SegmentID int     `json:"segment_id"`
	Phrase    string  `json:"phrase"`
	Term      string  `json:"term"`
	Category  string  `json:"category,omitempty"`
	Level     string  `json:"level,omitempty"`
	Weight    float64 `json:"weight"`
	Negated   bool    `json:"negated,omitempty"`
}

// DefaultTaxonomy returns a copy of an embedded taxonomy by name
// (TaxonomyHelpline or TaxonomyContactCentre), or nil.
func DefaultTaxonomy(name string) *Taxonomy {
	file := map[string]string{
		TaxonomyHelpline:           "data/taxonomy_child_helpline.json",
		callscope.TaxonomyHelpline: "data/taxonomy_child_helpline.json",
		TaxonomyContactCentre:      "data/taxonomy_contact_centre.json",
	}[name]
	if file == "" {
		return nil
	}
	var t Taxonomy
	mustLoad(file, &t)
	return &t
}

// TaxonomyOf returns the taxonomy a tenant's setting names or holds, or
// nil for the default (the child helpline taxonomy).
func TaxonomyOf(s *callscope.TaxonomySetting) *Taxonomy {
	switch {
	case s == nil:
		return nil
	case s.Custom != nil:
		return s.Custom
	}
	return DefaultTaxonomy(s.Builtin)
}

// termWord is one word of a compiled term.
type termWord struct {
	w      string
	prefix bool
	infix  bool
}

func (tw termWord) matches(s string) bool {
	switch {
	case tw.infix:
		return strings.Contains(s, tw.w)
	case tw.prefix:
		return strings.HasPrefix(s, tw.w)
	}
	return s == tw.w
}

// term is a compiled keyword: its words, weight and owner.
type term struct {
	src    string
	words  []termWord
	weight float64
	cat    int    // category index, -1 for escalation terms
	level  string // escalation level
}

// termIndex finds the terms that can start at a token.
type termIndex struct {
	exact  map[string][]*term
	prefix map[string][]*term // keyed by the first three letters
	short  []*term            // prefixes shorter than three letters
	infix  []*term
}

func (ix *termIndex) add(t *term) {
	f := t.words[0]
	switch {
	case f.infix:
		ix.infix = append(ix.infix, t)
	case f.prefix && len(f.w) >= 3:
		ix.prefix[f.w[:3]] = append(ix.prefix[f.w[:3]], t)
	case f.prefix:
		ix.short = append(ix.short, t)
	default:
		ix.exact[f.w] = append(ix.exact[f.w], t)
	}
}

// candidates calls fn for every term whose first word matches w.
func (ix *termIndex) candidates(w string, fn func(*term)) {
	for _, t := range ix.exact[w] {
		fn(t)
	}
	if len(w) >= 3 {
		for _, t := range ix.prefix[w[:3]] {
			if t.words[0].matches(w) {
				fn(t)
			}
		}
	}
	for _, t := range ix.short {
		if t.words[0].matches(w) {
			fn(t)
		}
	}
	for _, t := range ix.infix {
		if t.words[0].matches(w) {
			fn(t)
		}
	}
}

// compiledTaxonomy is a Taxonomy ready to classify.
type compiledTaxonomy struct {
	t     *Taxonomy
	index termIndex
	// negators are the taxonomy's own negations, added to the built-in ones.
	negators map[string]bool
}

func compileTaxonomy(t *Taxonomy) (*compiledTaxonomy, error) {
	if t == nil || len(t.Categories) == 0 {
		return nil, callscope.Errorf(callscope.EINVALID, "taxonomy has no categories")
	}
	if f := t.Validate("taxonomy"); len(f) > 0 {
		return nil, callscope.ValidationError(f...)
	}
	ct := &compiledTaxonomy{t: t, index: termIndex{exact: map[string][]*term{}, prefix: map[string][]*term{}}}
	for _, w := range t.Negations {
		if ct.negators == nil {
			ct.negators = map[string]bool{}
		}
		ct.negators[strings.ToLower(strings.TrimSpace(w))] = true
	}
	seen := map[string]bool{}
	for ci, c := range t.Categories {
		if c.ID == "" || seen[c.ID] {
			return nil, callscope.Errorf(callscope.EINVALID, "taxonomy %q: category id %q is empty or repeated", t.Name, c.ID)
		}
		seen[c.ID] = true
		if riskRank(c.Risk) < 0 {
			return nil, callscope.Errorf(callscope.EINVALID, "taxonomy %q: category %q: risk %q is not low, medium or high", t.Name, c.ID, c.Risk)
		}
		for _, g := range c.Keywords {
			for _, s := range g.Terms {
				tm, err := compileTerm(s)
				if err != nil {
					return nil, err
				}
				tm.weight, tm.cat = g.Weight, ci
				if tm.weight == 0 {
					tm.weight = 1
				}
				ct.index.add(tm)
			}
		}
	}
	if t.Fallback != "" && !seen[t.Fallback] {
		return nil, callscope.Errorf(callscope.EINVALID, "taxonomy %q: fallback %q is not a category", t.Name, t.Fallback)
	}
	for _, e := range t.Escalation {
		if riskRank(e.Level) < 0 {
			return nil, callscope.Errorf(callscope.EINVALID, "taxonomy %q: escalation level %q is not low, medium or high", t.Name, e.Level)
		}
		for _, s := range e.Terms {
			tm, err := compileTerm(s)
			if err != nil {
				return nil, err
			}
			tm.cat, tm.level, tm.weight = -1, e.Level, 1
			ct.index.add(tm)
		}
	}
	return ct, nil
}

func compileTerm(s string) (*term, error) {
	t := &term{src: s}
	for _, w := range strings.Fields(strings.ToLower(s)) {
		tw := termWord{w: w}
		if strings.HasPrefix(w, "*") {
			tw.infix, tw.w = true, strings.Trim(w, "*")
		} else if strings.HasSuffix(w, "*") {
			tw.prefix, tw.w = true, strings.TrimSuffix(w, "*")
		}
		if tw.w == "" {
			return nil, callscope.Errorf(callscope.EINVALID, "taxonomy term %q has an empty word", s)
		}
		t.words = append(t.words, tw)
	}
	if len(t.words) == 0 {
		return nil, callscope.Errorf(callscope.EINVALID, "empty taxonomy term")
	}
	return t, nil
}

func riskRank(r string) int {
	switch r {
	case RiskLow, "":
		return 0
	case RiskMedium:
		return 1
	case RiskHigh:
		return 2
	}
	return -1
}

// negators turn a following keyword into its negation ("never hit her").
var negators = map[string]bool{
	"not": true, "no": true, "never": true, "without": true, "nobody": true, "none": true,
	"neither": true, "nor": true, "nothing": true, "hakuna": true, "hajawahi": true,
	"sijawahi": true, "hapana": true, "sio": true, "siyo": true, "hakuwahi": true, "denies": true, "denied": true,
}

// clauseBreaks end the reach of a negation.
var clauseBreaks = map[string]bool{
	",": true, ";": true, ":": true, "but": true, "and": true, "because": true,
	"although": true, "however": true, "lakini": true, "then": true, "so": true,
	"when": true, "if": true, "until": true, "after": true, "-": true, "—": true,
}

// negatedAt reports whether the match starting at toks[i] is negated.
func negatedAt(toks []token, from, i int, t *term, extra map[string]bool) bool {
	w := toks[i].lower
	// Swahili negative verb forms: "hakumpiga", "hajampiga", "sikupigwa",
	// unless the term itself is negative ("hakuna chakula").
	for _, p := range []string{"hakum", "hakun", "hakuw", "hakuk", "hajam", "hajan", "hawaku", "hatam", "hatak", "sikum", "sijam", "hatumw"} {
		if strings.HasPrefix(w, p) && !strings.HasPrefix(t.words[0].w, p) {
			return true
		}
	}
	for k := i - 1; k >= from && k >= i-4; k-- {
		t := toks[k].lower
		if clauseBreaks[t] {
			return false
		}
		if negators[t] || extra[t] || strings.HasSuffix(t, "n't") || strings.HasSuffix(t, "n’t") || t == "cannot" {
			return true
		}
	}
	return false
}

// match is one term found in a sentence.
type match struct {
	t        *term
	seg      int
	from, to int
	negated  bool
	question bool
}

// findTerms returns every term match in the document, longest first at
// each position.
func (ix *termIndex) findTerms(d *doc, extra map[string]bool) []match {
	var out []match
	for _, sn := range d.sents {
		toks := d.toks[sn.seg]
		for i := sn.from; i < sn.to; i++ {
			if toks[i].kind == tPunct {
				continue
			}
			ix.candidates(toks[i].lower, func(t *term) {
				if i+len(t.words) > sn.to {
					return
				}
				for k := 1; k < len(t.words); k++ {
					if !t.words[k].matches(toks[i+k].lower) {
						return
					}
				}
				out = append(out, match{t: t, seg: sn.seg, from: i, to: i + len(t.words), negated: negatedAt(toks, sn.from, i, t, extra), question: sn.question})
			})
		}
	}
	return out
}

// classify scores every category from the keyword matches.
func (ct *compiledTaxonomy) classify(d *doc) Classification {
	res, _ := ct.classifyScores(d)
	return res
}

// classifyScores is classify, also returning every category's keyword
// score.
func (ct *compiledTaxonomy) classifyScores(d *doc) (Classification, []float64) {
	cats := ct.t.Categories
	scores := make([]float64, len(cats))
	seen := map[*term]int{}
	res := Classification{Taxonomy: ct.t.Name, Risk: RiskLow, Evidence: []Evidence{}, RiskEvidence: []Evidence{}, RunnersUp: []CategoryScore{}}
	risk := 0
	matches := ct.index.findTerms(d, ct.negators)
	// At one position keep only the longest term per category, so "sexual
	// abuse" does not also count "abuse".
	sort.SliceStable(matches, func(a, b int) bool {
		if matches[a].seg != matches[b].seg {
			return matches[a].seg < matches[b].seg
		}
		return matches[a].from < matches[b].from
	})
	covered := map[[3]int]int{}
	for _, m := range matches {
		key := [3]int{m.seg, m.from, m.t.cat}
		if end, ok := covered[key]; ok && end >= m.to {
			continue
		}
		covered[key] = m.to
		for k := m.from + 1; k < m.to; k++ {
			covered[[3]int{m.seg, k, m.t.cat}] = m.to
		}
		seg := d.segs[m.seg]
		ev := Evidence{SegmentID: seg.SegmentID, Phrase: seg.Text[d.toks[m.seg][m.from].start:d.toks[m.seg][m.to-1].end], Term: m.t.src, Negated: m.negated}
		if m.t.cat < 0 {
			ev.Level = m.t.level
			if !m.negated && riskRank(m.t.level) > risk {
				risk = riskRank(m.t.level)
			}
			if !m.negated {
				res.RiskEvidence = append(res.RiskEvidence, ev)
			}
			continue
		}
		w := m.t.weight
		if d.roles[m.seg] == roleAgent {
			w *= 0.6
		}
		if m.question {
			w *= 0.5
		}
		// Repeating a word adds less each time.
		n := seen[m.t]
		seen[m.t] = n + 1
		w *= math.Pow(0.5, float64(n))
		ev.Category, ev.Weight = cats[m.t.cat].ID, round2(w)
		if m.negated {
			ev.Weight = 0
		} else {
			scores[m.t.cat] += w
		}
		res.Evidence = append(res.Evidence, ev)
	}
	total := 0.0
	order := make([]int, len(cats))
	for i := range cats {
		order[i] = i
		total += scores[i]
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
	top := order[0]
	if scores[top] == 0 {
		fb := ct.t.Fallback
		for i, c := range cats {
			if c.ID == fb {
				res.Category, res.Label = c.ID, c.Label
				_ = i
			}
		}
		if res.Category == "" {
			res.Category, res.Label = "unknown", "Unknown"
		}
	} else {
		res.Category, res.Label = cats[top].ID, cats[top].Label
		res.Confidence = confidence(scores[top], total)
		for _, i := range order[1:] {
			if scores[i] == 0 || len(res.RunnersUp) == 3 {
				break
			}
			res.RunnersUp = append(res.RunnersUp, CategoryScore{Category: cats[i].ID, Label: cats[i].Label, Score: round2(scores[i]), Confidence: confidence(scores[i], total)})
		}
		// Risk from every category carrying a real share of the evidence.
		for i := range cats {
			if scores[i] >= 2 && scores[i] >= 0.4*scores[top] && riskRank(cats[i].Risk) > risk {
				risk = riskRank(cats[i].Risk)
			}
		}
	}
	res.Risk = []string{RiskLow, RiskMedium, RiskHigh}[risk]
	return res, scores
}

// confidence turns a score and the total into 0..1: its share of the
// evidence, damped while the evidence is thin.
func confidence(score, total float64) float64 {
	if total == 0 {
		return 0
	}
	return round2(score / total * (1 - math.Exp(-score/2.5)))
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
