package llm

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/pipeline"
)

var _ pipeline.Classifier = (*Classifier)(nil)

var riskLevels = []string{nlp.RiskLow, nlp.RiskMedium, nlp.RiskHigh}

func riskRank(r string) int {
	for i, l := range riskLevels {
		if l == r {
			return i
		}
	}
	return -1
}

// Classifier puts a call in a category of a taxonomy with a chat model.
type Classifier struct {
	c      *Client
	tax    *nlp.Taxonomy
	cats   map[string]nlp.Category
	schema *Schema
	system string
}

// NewClassifier returns a Classifier for tax (the embedded child-helpline
// taxonomy when nil). The category ids are the schema's enum, so the model
// can only answer with one of them. Returns EINVALID if the taxonomy has no
// categories, duplicate ids or an unknown risk level.
func NewClassifier(c *Client, tax *nlp.Taxonomy) (*Classifier, error) {
	if tax == nil {
		tax = nlp.DefaultTaxonomy(nlp.TaxonomyHelpline)
	}
	if len(tax.Categories) == 0 {
		return nil, callscope.Errorf(callscope.EINVALID, "taxonomy %q has no categories", tax.Name)
	}
	cl := &Classifier{c: c, tax: tax, cats: map[string]nlp.Category{}}
	var ids []string
	var list strings.Builder
	for _, cat := range tax.Categories {
		if cat.ID == "" || cl.cats[cat.ID].ID != "" {
			return nil, callscope.Errorf(callscope.EINVALID, "taxonomy %q: empty or duplicate category id %q", tax.Name, cat.ID)
		}
		if cat.Risk != "" && riskRank(cat.Risk) < 0 {
			return nil, callscope.Errorf(callscope.EINVALID, "taxonomy %q: category %q has unknown risk %q", tax.Name, cat.ID, cat.Risk)
		}
		cl.cats[cat.ID] = cat
		ids = append(ids, cat.ID)
		fmt.Fprintf(&list, "- %s: %s", cat.ID, cat.Label)
		if ex := exampleTerms(cat, 8); ex != "" {
			fmt.Fprintf(&list, " (e.g. %s)", ex)
		}
		list.WriteString("\n")
	}
	ev := array(object("segment_id", integer(), "phrase", str()))
	cl.schema = MustSchema("call_classification", object(
		"category", enum(ids...),
		"confidence", unit(),
		"runners_up", array(object("category", enum(ids...), "confidence", unit())),
		"risk", enum(riskLevels...),
		"evidence", ev,
		"risk_evidence", array(object("segment_id", integer(), "phrase", str(), "level", enum(riskLevels...))),
	))
	fallback := ""
	if tax.Fallback != "" {
		fallback = fmt.Sprintf("When nothing fits better, use %q.\n", tax.Fallback)
	}
	cl.system = fmt.Sprintf(`You classify phone calls into exactly one category of this taxonomy (%s):
%s%s"confidence" is how sure you are (0 to 1); "runners_up" lists up to 3 other plausible categories with their confidence.
"risk" is the risk to the caller or the person the call is about: high (immediate danger, abuse, self-harm, a missing child), medium (ongoing harm or distress), low (otherwise).
"evidence" quotes short phrases copied exactly from the transcript that support the category, each with its segment id (the number in brackets); "risk_evidence" quotes the phrases that justify a medium or high risk, with that level. `, tax.Name, list.String(), fallback)
	return cl, nil
}

func exampleTerms(cat nlp.Category, n int) string {
	var ts []string
	for _, g := range cat.Keywords {
		for _, t := range g.Terms {
			if len(ts) == n {
				return strings.Join(ts, ", ")
			}
			if !strings.ContainsAny(t, "*") {
				ts = append(ts, t)
			}
		}
	}
	return strings.Join(ts, ", ")
}

type classAnswer struct {
	Category   string  `json:"category"`
	Confidence float64 `json:"confidence"`
	RunnersUp  []struct {
		Category   string  `json:"category"`
		Confidence float64 `json:"confidence"`
	} `json:"runners_up"`
	Risk     string `json:"risk"`
	Evidence []struct {
		SegmentID int    `json:"segment_id"`
		Phrase    string `json:"phrase"`
	} `json:"evidence"`
	RiskEvidence []struct {
		SegmentID int    `json:"segment_id"`
		Phrase    string `json:"phrase"`
		Level     string `json:"level"`
	} `json:"risk_evidence"`
}

// Classify classifies the call. The risk is never below the category's own
// risk (as in the offline classifier); evidence phrases not found in their
// segment are dropped and the rest are quoted as the transcript spells them.
func (cl *Classifier) Classify(ctx context.Context, in pipeline.Input) (nlp.Classification, pipeline.Usage, error) {
	var a classAnswer
	u, err := cl.c.Complete(ctx, Request{
		Schema: cl.schema,
		System: cl.system + untrusted,
		User:   callFacts(in) + transcript(in),
	}, &a)
	if err != nil {
		return nlp.Classification{}, u, err
	}
	cat := cl.cats[a.Category]
	out := nlp.Classification{
		Taxonomy:     cl.tax.Name,
		Category:     cat.ID,
		Label:        cat.Label,
		Confidence:   round2(clamp01(a.Confidence)),
		RunnersUp:    []nlp.CategoryScore{},
		Risk:         a.Risk,
		RiskEvidence: []nlp.Evidence{},
		Evidence:     []nlp.Evidence{},
	}
	if riskRank(cat.Risk) > riskRank(out.Risk) {
		out.Risk = cat.Risk
	}
	seen := map[string]bool{cat.ID: true}
	for _, r := range a.RunnersUp {
		if seen[r.Category] {
			continue
		}
		seen[r.Category] = true
		conf := round2(clamp01(r.Confidence))
		out.RunnersUp = append(out.RunnersUp, nlp.CategoryScore{Category: r.Category, Label: cl.cats[r.Category].Label, Score: conf, Confidence: conf})
	}
	sort.SliceStable(out.RunnersUp, func(i, j int) bool { return out.RunnersUp[i].Confidence > out.RunnersUp[j].Confidence })
	if len(out.RunnersUp) > 3 {
		out.RunnersUp = out.RunnersUp[:3]
	}
	segs := indexSegments(in.Segments)
	for _, e := range a.Evidence {
		seg, ok := segs.get(e.SegmentID)
		if q := quote(seg, e.Phrase); ok && q != "" {
			out.Evidence = append(out.Evidence, nlp.Evidence{SegmentID: seg.SegmentID, Phrase: q, Term: strings.ToLower(q), Category: cat.ID, Weight: 1})
		}
	}
	for _, e := range a.RiskEvidence {
		seg, ok := segs.get(e.SegmentID)
		if q := quote(seg, e.Phrase); ok && q != "" {
			out.RiskEvidence = append(out.RiskEvidence, nlp.Evidence{SegmentID: seg.SegmentID, Phrase: q, Term: strings.ToLower(q), Level: e.Level, Weight: 1})
		}
	}
	return out, u, nil
}
