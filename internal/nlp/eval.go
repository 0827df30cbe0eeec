package nlp

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/callscope/callscope"
)

// EvalCall is one labelled call of an evaluation set; testdata/eval/README.md
// documents the file format.
type EvalCall struct {
	ID        string              `json:"id"`
	Domain    string              `json:"domain"`
	Taxonomy  string              `json:"taxonomy"`
	Language  string              `json:"language"`
	CallStart time.Time           `json:"call_start"`
	Segments  []callscope.Segment `json:"segments"`
	Labels    EvalLabels          `json:"labels"`
}

// EvalLabels are the expected outputs for one call.
type EvalLabels struct {
	Entities []EvalEntity `json:"entities"`
	Category string       `json:"category"`
	Risk     string       `json:"risk"`
	Todos    []EvalTodo   `json:"todos"`
	// PII lists the spans Redact must mask; when absent it is every
	// labelled entity of a redacted type.
	PII []EvalEntity `json:"pii,omitempty"`
}

// EvalEntity is a labelled mention: its type and exact text in a segment.
type EvalEntity struct {
	SegmentID int    `json:"segment_id"`
	Type      string `json:"type"`
	Text      string `json:"text"`
	Value     string `json:"value,omitempty"`
}

// EvalTodo is a labelled commitment or request.
type EvalTodo struct {
	SegmentID int    `json:"segment_id"`
	Owner     string `json:"owner"`
	Text      string `json:"text,omitempty"`
	Due       string `json:"due,omitempty"`
}

// Counts are the matches of one entity type.
type Counts struct {
	TP, FP, FN int
	// Overlap counts predictions that overlap a label of the same type
	// without matching its text exactly.
	Overlap int
}

// Precision is TP/(TP+FP), 1 when nothing was predicted.
func (c Counts) Precision() float64 { return ratio(c.TP, c.TP+c.FP) }

// Recall is TP/(TP+FN), 1 when nothing was labelled.
func (c Counts) Recall() float64 { return ratio(c.TP, c.TP+c.FN) }

// F1 is the harmonic mean of precision and recall.
func (c Counts) F1() float64 {
	p, r := c.Precision(), c.Recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// Report is the outcome of an evaluation run.
type Report struct {
	Calls    int
	Entities map[string]*Counts
	// Category, Risk and Language count correct answers out of labelled calls.
	CategoryCorrect, CategoryTotal int
	RiskCorrect, RiskTotal         int
	LanguageCorrect, LanguageTotal int
	// DateValueCorrect counts matched date/time mentions whose resolved
	// value equals the label's value, out of DateValueTotal labelled values.
	DateValueCorrect, DateValueTotal    int
	TodoFound, TodoTotal, TodoPredicted int
	TodoDueCorrect, TodoDueTotal        int
	// PIICovered and PIITotal count labelled PII spans fully masked by
	// Redact, per type.
	PIICovered, PIITotal map[string]int
	// Misses describes every error, for reading when a score drops.
	Misses []string
}

// CategoryAccuracy is the share of calls given the labelled category.
func (r *Report) CategoryAccuracy() float64 { return ratio(r.CategoryCorrect, r.CategoryTotal) }

// RiskAccuracy is the share of calls given the labelled risk level.
func (r *Report) RiskAccuracy() float64 { return ratio(r.RiskCorrect, r.RiskTotal) }

// TodoRecall is the share of labelled to-dos found with the right owner.
func (r *Report) TodoRecall() float64 { return ratio(r.TodoFound, r.TodoTotal) }

// PIIRecall is the share of labelled phone, e-mail, card and identity
// spans that Redact masked.
func (r *Report) PIIRecall() float64 {
	c, t := 0, 0
	for _, typ := range []string{EntityPhone, EntityEmail, EntityCard, EntityNationalID} {
		c += r.PIICovered[typ]
		t += r.PIITotal[typ]
	}
	return ratio(c, t)
}

// EntityF1 returns the F1 of one entity type.
func (r *Report) EntityF1(typ string) float64 {
	if c, ok := r.Entities[typ]; ok {
		return c.F1()
	}
	return 1
}

// EvaluateDir runs the built-in analyzers over every *.json call in dir and
// scores them against their labels. Calls name their taxonomy; the embedded
// ones are always known and extra tenant taxonomies can be passed.
func EvaluateDir(dir string, taxonomies ...*Taxonomy) (*Report, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "no *.json calls in %s", dir)
	}
	sort.Strings(files)
	engines := map[string]*Engine{}
	engineFor := func(name string) (*Engine, error) {
		if name == "" {
			name = TaxonomyHelpline
		}
		if e, ok := engines[name]; ok {
			return e, nil
		}
		t := DefaultTaxonomy(name)
		for _, x := range taxonomies {
			if x != nil && x.Name == name {
				t = x
			}
		}
		if t == nil {
			return nil, callscope.Errorf(callscope.EINVALID, "unknown taxonomy %q", name)
		}
		e, err := New(Config{Taxonomy: t})
		if err != nil {
			return nil, err
		}
		engines[name] = e
		return e, nil
	}
	r := &Report{Entities: map[string]*Counts{}, PIICovered: map[string]int{}, PIITotal: map[string]int{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var c EvalCall
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, callscope.Errorf(callscope.EINVALID, "%s: %v", filepath.Base(f), err)
		}
		if c.ID == "" {
			c.ID = strings.TrimSuffix(filepath.Base(f), ".json")
		}
		e, err := engineFor(c.Taxonomy)
		if err != nil {
			return nil, callscope.Errorf(callscope.EINVALID, "%s: %v", c.ID, err)
		}
		r.add(e, &c)
	}
	return r, nil
}

// normText is how entity texts are compared: case, surrounding punctuation
// and a leading "the" do not matter.
func normText(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.Trim(s, " .,;:!?\"'()")
	s = strings.TrimPrefix(s, "the ")
	return strings.Join(strings.Fields(s), " ")
}

// add scores one call.
func (r *Report) add(e *Engine, c *EvalCall) {
	r.Calls++
	opts := Options{CallStart: c.CallStart}
	res := e.Analyze(c.Segments, opts)
	miss := func(format string, a ...any) {
		r.Misses = append(r.Misses, c.ID+": "+fmt.Sprintf(format, a...))
	}
	segText := map[int]string{}
	for _, s := range c.Segments {
		segText[s.SegmentID] = s.Text
	}
	// Entities, matched per segment and type on normalised text.
	used := make([]bool, len(res.Entities))
	for _, typ := range EntityTypes {
		if r.Entities[typ] == nil {
			r.Entities[typ] = &Counts{}
		}
	}
	for _, g := range c.Labels.Entities {
		cnt := r.Entities[g.Type]
		if cnt == nil {
			cnt = &Counts{}
			r.Entities[g.Type] = cnt
		}
		found := -1
		for i, p := range res.Entities {
			if !used[i] && p.SegmentID == g.SegmentID && p.Type == g.Type && normText(p.Text) == normText(g.Text) {
				found = i
				break
			}
		}
		if found < 0 {
			cnt.FN++
			miss("missed %s %q (segment %d)", g.Type, g.Text, g.SegmentID)
			continue
		}
		used[found] = true
		cnt.TP++
		if g.Value != "" && (g.Type == EntityDate || g.Type == EntityTime) {
			r.DateValueTotal++
			if res.Entities[found].Value == g.Value {
				r.DateValueCorrect++
			} else {
				miss("%s %q resolved to %q, want %q", g.Type, g.Text, res.Entities[found].Value, g.Value)
			}
		}
	}
	for i, p := range res.Entities {
		if used[i] {
			continue
		}
		cnt := r.Entities[p.Type]
		cnt.FP++
		if overlapsLabel(p, c.Labels.Entities, segText) {
			cnt.Overlap++
		}
		miss("spurious %s %q (segment %d)", p.Type, p.Text, p.SegmentID)
	}
	// Category, risk, language.
	if c.Labels.Category != "" {
		r.CategoryTotal++
		if res.Classification.Category == c.Labels.Category {
			r.CategoryCorrect++
		} else {
			miss("category %s, want %s", res.Classification.Category, c.Labels.Category)
		}
	}
	if c.Labels.Risk != "" {
		r.RiskTotal++
		if res.Classification.Risk == c.Labels.Risk {
			r.RiskCorrect++
		} else {
			miss("risk %s, want %s", res.Classification.Risk, c.Labels.Risk)
		}
	}
	if c.Language != "" {
		r.LanguageTotal++
		if res.Language.Language == c.Language {
			r.LanguageCorrect++
		} else {
			miss("language %s, want %s", res.Language.Language, c.Language)
		}
	}
	// To-dos: a label is found by a prediction in its segment with its owner.
	r.TodoPredicted += len(res.Todos)
	tused := make([]bool, len(res.Todos))
	for _, g := range c.Labels.Todos {
		r.TodoTotal++
		// Prefer the prediction with the labelled due date.
		found := -1
		for i, p := range res.Todos {
			if !tused[i] && p.SegmentID == g.SegmentID && strings.EqualFold(p.Owner, g.Owner) {
				if found < 0 || (g.Due != "" && p.Due == g.Due && res.Todos[found].Due != g.Due) {
					found = i
				}
			}
		}
		if found < 0 {
			miss("missed to-do for %s in segment %d: %q", g.Owner, g.SegmentID, g.Text)
			continue
		}
		tused[found] = true
		r.TodoFound++
		if g.Due != "" {
			r.TodoDueTotal++
			if res.Todos[found].Due == g.Due {
				r.TodoDueCorrect++
			} else {
				miss("to-do due %q, want %q (segment %d)", res.Todos[found].Due, g.Due, g.SegmentID)
			}
		}
	}
	for i, p := range res.Todos {
		if !tused[i] {
			miss("spurious to-do for %s in segment %d: %q", p.Owner, p.SegmentID, p.Text)
		}
	}
	// PII: every labelled span must lie inside a masked span.
	pii := c.Labels.PII
	if pii == nil {
		for _, g := range c.Labels.Entities {
			if _, ok := placeholders[g.Type]; ok {
				pii = append(pii, g)
			}
		}
	}
	_, spans := e.Redact(c.Segments, Options{CallStart: c.CallStart, RedactPersons: true})
	for _, g := range pii {
		r.PIITotal[g.Type]++
		text := segText[g.SegmentID]
		bs := strings.Index(text, g.Text)
		if bs < 0 {
			miss("label %s %q not in segment %d", g.Type, g.Text, g.SegmentID)
			continue
		}
		s, en := runeOffset(text, bs), runeOffset(text, bs+len(g.Text))
		if covered(spans, g.SegmentID, s, en) {
			r.PIICovered[g.Type]++
		} else {
			miss("PII %s %q left unmasked (segment %d)", g.Type, g.Text, g.SegmentID)
		}
	}
}

// covered reports whether [s, e) of a segment lies inside masked spans.
func covered(spans []RedactedSpan, seg, s, e int) bool {
	for s < e {
		moved := false
		for _, sp := range spans {
			if sp.SegmentID == seg && sp.Start <= s && sp.End > s {
				s = sp.End
				moved = true
			}
		}
		if !moved {
			return false
		}
	}
	return true
}

// overlapsLabel reports whether a prediction overlaps a label of its type.
func overlapsLabel(p Entity, labels []EvalEntity, segText map[int]string) bool {
	for _, g := range labels {
		if g.SegmentID != p.SegmentID || g.Type != p.Type {
			continue
		}
		text := segText[g.SegmentID]
		if bs := strings.Index(text, g.Text); bs >= 0 {
			s, e := runeOffset(text, bs), runeOffset(text, bs+len(g.Text))
			if p.Start < e && s < p.End {
				return true
			}
		}
	}
	return false
}

// WriteTable prints the report as a plain-text table.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "calls: %d\n\n", r.Calls)
	fmt.Fprintf(&b, "%-13s %5s %5s %5s %7s %9s %7s %8s\n", "entity", "TP", "FP", "FN", "prec", "recall", "F1", "overlap")
	for _, typ := range EntityTypes {
		c := r.Entities[typ]
		if c == nil || c.TP+c.FP+c.FN == 0 {
			continue
		}
		fmt.Fprintf(&b, "%-13s %5d %5d %5d %7.3f %9.3f %7.3f %8d\n", typ, c.TP, c.FP, c.FN, c.Precision(), c.Recall(), c.F1(), c.Overlap)
	}
	fmt.Fprintf(&b, "\n%-28s %7.3f  (%d/%d)\n", "category accuracy", r.CategoryAccuracy(), r.CategoryCorrect, r.CategoryTotal)
	fmt.Fprintf(&b, "%-28s %7.3f  (%d/%d)\n", "risk accuracy", r.RiskAccuracy(), r.RiskCorrect, r.RiskTotal)
	fmt.Fprintf(&b, "%-28s %7.3f  (%d/%d)\n", "language accuracy", ratio(r.LanguageCorrect, r.LanguageTotal), r.LanguageCorrect, r.LanguageTotal)
	fmt.Fprintf(&b, "%-28s %7.3f  (%d/%d)\n", "date value accuracy", ratio(r.DateValueCorrect, r.DateValueTotal), r.DateValueCorrect, r.DateValueTotal)
	fmt.Fprintf(&b, "%-28s %7.3f  (%d/%d)\n", "to-do recall", r.TodoRecall(), r.TodoFound, r.TodoTotal)
	fmt.Fprintf(&b, "%-28s %7.3f  (%d/%d)\n", "to-do precision", ratio(r.TodoFound, r.TodoPredicted), r.TodoFound, r.TodoPredicted)
	fmt.Fprintf(&b, "%-28s %7.3f  (%d/%d)\n", "to-do due accuracy", ratio(r.TodoDueCorrect, r.TodoDueTotal), r.TodoDueCorrect, r.TodoDueTotal)
	pc, pt := 0, 0
	for _, typ := range []string{EntityPhone, EntityEmail, EntityCard, EntityNationalID} {
		pc += r.PIICovered[typ]
		pt += r.PIITotal[typ]
	}
	fmt.Fprintf(&b, "%-28s %7.3f  (%d/%d)\n", "PII recall (phone/email/card/id)", r.PIIRecall(), pc, pt)
	for _, typ := range []string{EntityPhone, EntityEmail, EntityCard, EntityNationalID, EntityPerson} {
		if r.PIITotal[typ] > 0 {
			fmt.Fprintf(&b, "  %-26s %7.3f  (%d/%d)\n", "PII recall "+typ, ratio(r.PIICovered[typ], r.PIITotal[typ]), r.PIICovered[typ], r.PIITotal[typ])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
