package llm

import (
	"context"
	"strings"

	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/pipeline"
)

var _ pipeline.Summarizer = (*Summarizer)(nil)

// summaryRoles are why a segment supports the summary, as in nlp.SummarySentence.
var summaryRoles = []string{"reason", "detail", "agreement", "next_step"}

var summarySchema = MustSchema("call_summary", object(
	"text", str(),
	"reason", str(),
	"agreed", array(str()),
	"next_steps", array(str()),
	"key_segments", array(object("segment_id", integer(), "role", enum(summaryRoles...))),
))

const summarySystem = `You summarise phone calls for the organisation that took or made them.
Write "text" as 2 to 5 plain sentences: why the call was made, what was agreed, and the next steps.
"reason" is one sentence on why the call was made ("" if unclear). "agreed" lists what both sides agreed; "next_steps" lists who does what next (empty lists when there is none).
"key_segments" lists the segment ids (the numbers in brackets) that support the summary, each with its role: reason, detail, agreement or next_step.
Write in the transcript's language. `

// Summarizer writes a call summary with a chat model.
type Summarizer struct{ c *Client }

// NewSummarizer returns a Summarizer using c.
func NewSummarizer(c *Client) *Summarizer { return &Summarizer{c: c} }

type summaryAnswer struct {
	Text        string   `json:"text"`
	Reason      string   `json:"reason"`
	Agreed      []string `json:"agreed"`
	NextSteps   []string `json:"next_steps"`
	KeySegments []struct {
		SegmentID int    `json:"segment_id"`
		Role      string `json:"role"`
	} `json:"key_segments"`
}

// Summarize summarises the call. Key segments the transcript does not have
// are dropped; the quoted sentences are the transcript's own text.
func (s *Summarizer) Summarize(ctx context.Context, in pipeline.Input) (nlp.Summary, pipeline.Usage, error) {
	var a summaryAnswer
	u, err := s.c.Complete(ctx, Request{
		Schema: summarySchema,
		System: summarySystem + untrusted,
		User:   callFacts(in) + transcript(in),
		Check: func() error {
			if strings.TrimSpace(a.Text) == "" {
				return errorf("summary text is empty")
			}
			return nil
		},
	}, &a)
	if err != nil {
		return nlp.Summary{}, u, err
	}
	segs := indexSegments(in.Segments)
	out := nlp.Summary{
		Text:      strings.TrimSpace(a.Text),
		Reason:    strings.TrimSpace(a.Reason),
		Agreed:    nonEmpty(a.Agreed),
		NextSteps: nonEmpty(a.NextSteps),
		Sentences: []nlp.SummarySentence{},
	}
	seen := map[int]bool{}
	for _, k := range a.KeySegments {
		seg, ok := segs.get(k.SegmentID)
		if !ok || seen[k.SegmentID] {
			continue
		}
		seen[k.SegmentID] = true
		out.Sentences = append(out.Sentences, nlp.SummarySentence{SegmentID: seg.SegmentID, Speaker: seg.Speaker, Role: k.Role, Text: oneLine(seg.Text)})
	}
	return out, u, nil
}

// nonEmpty trims the strings and drops empty ones; never nil.
func nonEmpty(ss []string) []string {
	out := []string{}
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
