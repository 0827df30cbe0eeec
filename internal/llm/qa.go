package llm

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/pipeline"
)

var _ pipeline.QAScorer = (*QAScorer)(nil)

// QAScorer scores the agent against a rubric with a chat model. Behaviour
// items (phrases, hold etiquette) are judged by the model; timing items
// (talk ratio, interruptions, silences) are measured from segment times by
// the offline engine, since a transcript read as text has no timings.
type QAScorer struct {
	c      *Client
	rubric *nlp.Rubric
	// asked are the rubric items the model scores.
	asked  map[string]bool
	timing *nlp.Engine
	schema *Schema
	system string
}

// NewQAScorer returns a QAScorer for rubric (the embedded default when nil).
// agentSpeakers are the speaker labels of the organisation's side (the
// offline engine's defaults when empty). Rubric item ids are the schema's
// enum. Returns EINVALID if the rubric is malformed.
func NewQAScorer(c *Client, rubric *nlp.Rubric, agentSpeakers []string) (*QAScorer, error) {
	if rubric == nil {
		rubric = nlp.DefaultRubric()
	}
	// Compiling the full rubric validates it.
	if _, err := nlp.New(nlp.Config{Rubric: rubric, AgentSpeakers: agentSpeakers}); err != nil {
		return nil, err
	}
	q := &QAScorer{c: c, rubric: rubric, asked: map[string]bool{}}
	var ids []string
	var timing []nlp.RubricItem
	var list strings.Builder
	seen := map[string]bool{}
	for _, it := range rubric.Items {
		if it.ID == "" || seen[it.ID] {
			return nil, callscope.Errorf(callscope.EINVALID, "rubric %q: empty or duplicate item id %q", rubric.Name, it.ID)
		}
		seen[it.ID] = true
		switch it.Check {
		case nlp.CheckTalkRatio, nlp.CheckInterruptions, nlp.CheckSilence:
			timing = append(timing, it)
			continue
		}
		q.asked[it.ID] = true
		ids = append(ids, it.ID)
		fmt.Fprintf(&list, "- %s (%s): %s\n", it.ID, it.Label, describeItem(it))
	}
	if len(timing) > 0 {
		e, err := nlp.New(nlp.Config{Rubric: &nlp.Rubric{Name: rubric.Name, Items: timing}, AgentSpeakers: agentSpeakers})
		if err != nil {
			return nil, err
		}
		q.timing = e
	}
	if len(ids) > 0 {
		items := array(object(
			"id", enum(ids...),
			"applicable", map[string]any{"type": "boolean"},
			"score", unit(),
			"evidence", array(integer()),
			"note", str(),
		))
		items["minItems"], items["maxItems"] = len(ids), len(ids)
		q.schema = MustSchema("call_qa", object("items", items))
		agents := "the organisation's side (the agent or counsellor)"
		if len(agentSpeakers) > 0 {
			agents = "the speakers labelled " + strings.Join(agentSpeakers, ", ")
		}
		q.system = fmt.Sprintf(`You review how the agent handled a phone call. The agent is %s.
Score each rubric item below exactly once, by its id:
%sFor each item: "score" from 0 (not done) to 1 (fully done); "applicable" false only when the item could not arise in this call (e.g. no hold); "evidence" lists the segment ids (the numbers in brackets) that show it; "note" says briefly why (may be ""). `, agents, list.String())
	}
	return q, nil
}

func describeItem(it nlp.RubricItem) string {
	ex := it.Phrases
	if len(ex) > 6 {
		ex = ex[:6]
	}
	var where string
	switch it.Window {
	case "opening":
		where = " at the start of the call"
	case "closing":
		where = " at the end of the call"
	}
	switch it.Check {
	case nlp.CheckHold:
		return fmt.Sprintf("if the agent puts the caller on hold (e.g. %q), the agent announces it and thanks the caller for waiting afterwards; not applicable when there is no hold", strings.Join(ex, `", "`))
	default:
		need := ""
		if it.MinMatches > 1 {
			need = fmt.Sprintf(" (full marks from %d instances)", it.MinMatches)
		}
		return fmt.Sprintf("the agent does this%s%s, e.g. %q", where, need, strings.Join(ex, `", "`))
	}
}

type qaAnswer struct {
	Items []struct {
		ID         string  `json:"id"`
		Applicable bool    `json:"applicable"`
		Score      float64 `json:"score"`
		Evidence   []int   `json:"evidence"`
		Note       string  `json:"note"`
	} `json:"items"`
}

// ScoreQA scores the call. The total is the weighted mean of the applicable
// items' scores, 0–100 with one decimal, as the offline scorer computes it;
// evidence ids the transcript does not have are dropped.
func (q *QAScorer) ScoreQA(ctx context.Context, in pipeline.Input) (nlp.QAResult, pipeline.Usage, error) {
	res := nlp.QAResult{Rubric: q.rubric.Name, Items: []nlp.QAItem{}}
	measured := map[string]nlp.QAItem{}
	if q.timing != nil {
		t := q.timing.ScoreQA(in.Segments, nlp.Options{CallStart: in.Start, Language: in.Language})
		res.AgentTalkShare, res.Interruptions, res.Silences = t.AgentTalkShare, t.Interruptions, t.Silences
		for _, it := range t.Items {
			measured[it.ID] = it
		}
	}
	judged := map[string]nlp.QAItem{}
	var u pipeline.Usage
	if q.schema != nil {
		var a qaAnswer
		var err error
		u, err = q.c.Complete(ctx, Request{
			Schema: q.schema,
			System: q.system + untrusted,
			User:   callFacts(in) + transcript(in),
			Check: func() error {
				got := map[string]bool{}
				for _, it := range a.Items {
					if got[it.ID] {
						return errorf("rubric item %q scored twice", it.ID)
					}
					got[it.ID] = true
				}
				for id := range q.asked {
					if !got[id] {
						return errorf("rubric item %q not scored", id)
					}
				}
				return nil
			},
		}, &a)
		if err != nil {
			return nlp.QAResult{}, u, err
		}
		segs := indexSegments(in.Segments)
		for _, it := range a.Items {
			judged[it.ID] = nlp.QAItem{ID: it.ID, Applicable: it.Applicable, Score: round2(clamp01(it.Score)), Evidence: segs.existingIDs(it.Evidence), Note: strings.TrimSpace(it.Note)}
		}
	}
	var sum, wsum float64
	for _, it := range q.rubric.Items {
		item, ok := judged[it.ID]
		if !ok {
			item = measured[it.ID]
		}
		item.ID, item.Label, item.Weight = it.ID, it.Label, it.Weight
		if item.Evidence == nil {
			item.Evidence = []int{}
		}
		if item.Applicable {
			sum += item.Score * it.Weight
			wsum += it.Weight
		}
		res.Items = append(res.Items, item)
	}
	if wsum > 0 {
		res.Score = math.Round(sum/wsum*1000) / 10
	}
	return res, u, nil
}
