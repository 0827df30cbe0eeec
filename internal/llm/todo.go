package llm

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/pipeline"
)

var _ pipeline.TodoExtractor = (*TodoExtractor)(nil)

var todoSchema = MustSchema("call_todos", object(
	"todos", array(object(
		"text", str(),
		"owner", str(),
		"kind", enum("commitment", "request"),
		"due", str(),
		"due_text", str(),
		"segment_id", integer(),
		"confidence", unit(),
	)),
))

const todoSystem = `You list the to-dos agreed in a phone call: commitments (a speaker says they will do something) and requests (a speaker asks the other side to do something).
For each: "text" is the action in a short imperative sentence; "owner" is the speaker label (as written before the colon) of whoever has to act; "kind" is commitment or request; "segment_id" is the segment (the number in brackets) where it was said; "due_text" quotes the deadline as said ("" if none); "due" is that deadline as an ISO date YYYY-MM-DD, or YYYY-MM-DDTHH:MM when a time is given, resolved against the call's start date ("" if no deadline was stated); "confidence" from 0 to 1.
Leave out small talk and things already done. `

// TodoExtractor finds commitments and requests with a chat model.
type TodoExtractor struct{ c *Client }

// NewTodoExtractor returns a TodoExtractor using c.
func NewTodoExtractor(c *Client) *TodoExtractor { return &TodoExtractor{c: c} }

type todoAnswer struct {
	Todos []struct {
		Text       string  `json:"text"`
		Owner      string  `json:"owner"`
		Kind       string  `json:"kind"`
		Due        string  `json:"due"`
		DueText    string  `json:"due_text"`
		SegmentID  int     `json:"segment_id"`
		Confidence float64 `json:"confidence"`
	} `json:"todos"`
}

// Todos returns the call's to-dos. A to-do whose segment is not in the
// transcript is dropped. An owner that is not a speaker of the call becomes
// the speaker of its segment (commitment) or the other speaker of a
// two-party call (request). A due date the model did not give as an ISO
// date is resolved from due_text against in.Start by the offline date
// parser, and left empty if that fails.
func (t *TodoExtractor) Todos(ctx context.Context, in pipeline.Input) ([]nlp.Todo, pipeline.Usage, error) {
	var a todoAnswer
	u, err := t.c.Complete(ctx, Request{
		Schema: todoSchema,
		System: todoSystem + untrusted,
		User:   callFacts(in) + transcript(in),
	}, &a)
	if err != nil {
		return nil, u, err
	}
	segs := indexSegments(in.Segments)
	speakers := segs.speakers()
	out := []nlp.Todo{}
	for _, td := range a.Todos {
		seg, ok := segs.get(td.SegmentID)
		text := strings.TrimSpace(td.Text)
		if !ok || text == "" {
			continue
		}
		owner := strings.TrimSpace(td.Owner)
		if !slices.Contains(speakers, owner) {
			owner = seg.Speaker
			if td.Kind == "request" && len(speakers) == 2 {
				owner = speakers[0]
				if owner == seg.Speaker {
					owner = speakers[1]
				}
			}
		}
		dueText := strings.TrimSpace(td.DueText)
		out = append(out, nlp.Todo{
			Text:       text,
			Owner:      owner,
			Kind:       td.Kind,
			Due:        resolveDue(strings.TrimSpace(td.Due), dueText, in.Start),
			DueText:    dueText,
			SegmentID:  seg.SegmentID,
			Confidence: round2(clamp01(td.Confidence)),
		})
	}
	return out, u, nil
}

// resolveDue keeps an ISO due date or date-time, else parses the spoken
// deadline against the call start.
func resolveDue(due, dueText string, start time.Time) string {
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, due); err == nil {
			if layout == "2006-01-02T15:04:05" {
				return t.Format("2006-01-02T15:04")
			}
			return due
		}
	}
	if dueText == "" || start.IsZero() {
		return ""
	}
	if _, v, ok := nlp.ParseDate(dueText, start); ok && v != "" {
		return v
	}
	return ""
}
