package nlp

import (
	"math"

	"github.com/callscope/callscope"
)

// Rubric checks, the kinds of RubricItem.
const (
	CheckPhrases       = "phrases"
	CheckHold          = "hold"
	CheckTalkRatio     = "talk_ratio"
	CheckInterruptions = "interruptions"
	CheckSilence       = "silence"
)

// Rubric is a tenant's QA scorecard for agents.
type Rubric struct {
	Name  string       `json:"name"`
	Items []RubricItem `json:"items"`
}

// RubricItem is one scored behaviour.
type RubricItem struct {
	ID     string  `json:"id"`
	Label  string  `json:"label"`
	Weight float64 `json:"weight"`
	Check  string  `json:"check"`
	// Phrases the agent should say (CheckPhrases), or that announce a hold
	// (CheckHold).
	Phrases []string `json:"phrases,omitempty"`
	// ThankPhrases close a hold politely (CheckHold).
	ThankPhrases []string `json:"thank_phrases,omitempty"`
	// Window limits CheckPhrases to the agent's first ("opening") or last
	// ("closing") WindowSegments segments; "" searches the whole call.
	Window         string `json:"window,omitempty"`
	WindowSegments int    `json:"window_segments,omitempty"`
	// MinMatches is how many phrase matches earn the full score (default 1).
	MinMatches int `json:"min_matches,omitempty"`
	// MinShare and MaxShare bound the agent's share of talk time
	// (CheckTalkRatio).
	MinShare float64 `json:"min_share,omitempty"`
	MaxShare float64 `json:"max_share,omitempty"`
	// MaxCount is the number of interruptions or silences tolerated before
	// the score drops to zero.
	MaxCount int `json:"max_count,omitempty"`
	// MinOverlapSeconds counts an interruption (default 0.5);
	// MinGapSeconds counts a silence (default 10).
	MinOverlapSeconds float64 `json:"min_overlap_seconds,omitempty"`
	MinGapSeconds     float64 `json:"min_gap_seconds,omitempty"`
}

// QAResult is the QA score of one call.
type QAResult struct {
	Rubric string   `json:"rubric"`
	Score  float64  `json:"score"` // 0–100
	Items  []QAItem `json:"items"`
	// AgentTalkShare is the agent's share of speaking time, 0–1.
	AgentTalkShare float64 `json:"agent_talk_share"`
	Interruptions  int     `json:"interruptions"`
	Silences       int     `json:"silences"`
}

// QAItem is the score of one rubric item.
type QAItem struct {
	ID         string  `json:"id"`
	Label      string  `json:"label"`
	Weight     float64 `json:"weight"`
	Score      float64 `json:"score"` // 0–1
	Applicable bool    `json:"applicable"`
	Evidence   []int   `json:"evidence"` // segment ids
	Note       string  `json:"note,omitempty"`
}

// DefaultRubric returns a copy of the embedded rubric.
func DefaultRubric() *Rubric {
	var r Rubric
	mustLoad("data/rubric_default.json", &r)
	return &r
}

func (r *Rubric) validate() error {
	if len(r.Items) == 0 {
		return callscope.Errorf(callscope.EINVALID, "rubric %q has no items", r.Name)
	}
	for _, it := range r.Items {
		switch it.Check {
		case CheckPhrases, CheckHold:
			if len(it.Phrases) == 0 {
				return callscope.Errorf(callscope.EINVALID, "rubric item %q needs phrases", it.ID)
			}
		case CheckTalkRatio, CheckInterruptions, CheckSilence:
		default:
			return callscope.Errorf(callscope.EINVALID, "rubric item %q: unknown check %q", it.ID, it.Check)
		}
		if it.Weight < 0 {
			return callscope.Errorf(callscope.EINVALID, "rubric item %q: negative weight", it.ID)
		}
	}
	return nil
}

// phraseHits returns the segment ids of agent segments (within the window)
// containing any of the phrases.
func phraseHits(d *doc, phrases []string, window string, n int, after int) (ids []int, firstIdx int) {
	var agentIdx []int
	for i := range d.segs {
		if d.roles[i] == roleAgent && i > after {
			agentIdx = append(agentIdx, i)
		}
	}
	if n <= 0 {
		n = 3
	}
	switch window {
	case "opening":
		if len(agentIdx) > n {
			agentIdx = agentIdx[:n]
		}
	case "closing":
		if len(agentIdx) > n {
			agentIdx = agentIdx[len(agentIdx)-n:]
		}
	}
	set := cueSet{}
	for _, p := range phrases {
		var ws []string
		for _, t := range tokenize(p) {
			ws = append(ws, t.lower)
		}
		if len(ws) > 0 {
			set[ws[0]] = append(set[ws[0]], ws)
		}
	}
	firstIdx = -1
	for _, i := range agentIdx {
		toks := d.toks[i]
		for k := range toks {
			if set.match(toks, k) > 0 {
				ids = append(ids, d.segs[i].SegmentID)
				if firstIdx < 0 {
					firstIdx = i
				}
				break
			}
		}
	}
	return ids, firstIdx
}

// scoreQA applies a rubric to a call.
func scoreQA(d *doc, r *Rubric) QAResult {
	res := QAResult{Rubric: r.Name, Items: []QAItem{}}
	var agentT, allT float64
	for i, s := range d.segs {
		dur := math.Max(0, s.EndTime-s.StartTime)
		allT += dur
		if d.roles[i] == roleAgent {
			agentT += dur
		}
	}
	if allT > 0 {
		res.AgentTalkShare = round2(agentT / allT)
	}
	var sum, wsum float64
	for _, it := range r.Items {
		q := QAItem{ID: it.ID, Label: it.Label, Weight: it.Weight, Applicable: true, Evidence: []int{}}
		switch it.Check {
		case CheckPhrases:
			ids, _ := phraseHits(d, it.Phrases, it.Window, it.WindowSegments, -1)
			min := it.MinMatches
			if min <= 0 {
				min = 1
			}
			q.Evidence = append(q.Evidence, ids...)
			q.Score = math.Min(1, float64(len(ids))/float64(min))
		case CheckHold:
			ids, first := phraseHits(d, it.Phrases, "", 0, -1)
			if len(ids) == 0 {
				q.Applicable = false
				q.Note = "no hold"
				break
			}
			q.Evidence = append(q.Evidence, ids...)
			thanks, _ := phraseHits(d, it.ThankPhrases, "", 0, first)
			q.Evidence = append(q.Evidence, thanks...)
			q.Score = 0.5
			if len(thanks) > 0 {
				q.Score = 1
			} else {
				q.Note = "hold not closed with thanks"
			}
		case CheckTalkRatio:
			if allT == 0 {
				q.Applicable = false
				q.Note = "no timings"
				break
			}
			sh := agentT / allT
			lo, hi := it.MinShare, it.MaxShare
			if hi == 0 {
				hi = 1
			}
			switch {
			case sh < lo:
				q.Score = math.Max(0, 1-(lo-sh)/0.3)
			case sh > hi:
				q.Score = math.Max(0, 1-(sh-hi)/0.3)
			default:
				q.Score = 1
			}
		case CheckInterruptions:
			min := it.MinOverlapSeconds
			if min == 0 {
				min = 0.5
			}
			for i := 1; i < len(d.segs); i++ {
				p, c := d.segs[i-1], d.segs[i]
				// The agent talking over the caller.
				if d.roles[i] == roleAgent && d.roles[i-1] != roleAgent && p.EndTime-c.StartTime >= min {
					q.Evidence = append(q.Evidence, c.SegmentID)
				}
			}
			res.Interruptions = len(q.Evidence)
			q.Score = countScore(len(q.Evidence), it.MaxCount)
		case CheckSilence:
			min := it.MinGapSeconds
			if min == 0 {
				min = 10
			}
			end := 0.0
			for i, s := range d.segs {
				if i > 0 && s.StartTime-end >= min {
					q.Evidence = append(q.Evidence, s.SegmentID)
				}
				end = math.Max(end, s.EndTime)
			}
			res.Silences = len(q.Evidence)
			q.Score = countScore(len(q.Evidence), it.MaxCount)
		}
		q.Score = round2(q.Score)
		if q.Applicable {
			sum += q.Score * it.Weight
			wsum += it.Weight
		}
		res.Items = append(res.Items, q)
	}
	if wsum > 0 {
		res.Score = math.Round(sum/wsum*1000) / 10
	}
	return res
}

// countScore is 1 with no occurrences, falling to 0 past max.
func countScore(n, max int) float64 {
	if max <= 0 {
		max = 3
	}
	return math.Max(0, 1-float64(n)/float64(max+1))
}
