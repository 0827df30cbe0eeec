package llm

import (
	"context"
	"sort"
	"strings"

	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/pipeline"
)

var _ pipeline.EntityExtractor = (*EntityExtractor)(nil)

var entitySchema = MustSchema("call_entities", object(
	"entities", array(object(
		"type", enum(nlp.EntityTypes...),
		"text", str(),
		"value", str(),
		"segment_id", integer(),
	)),
))

const entitySystem = `You find named entities in phone call transcripts.
Types: phone (phone numbers, also dictated digit by digit), email, url, card (payment card numbers), national_id (identity, passport or registration numbers), date, time, money (amounts with currency), age (a person's age), person (people's names), location (places, addresses, estates, towns), organization (companies, schools, agencies).
For each mention give its type, "text" copied exactly as it appears in the segment (same spelling, no changes), the segment id (the number in brackets) and "value": the normalised value (digits only for phone, card and national_id with a leading + for international phones; YYYY-MM-DD for dates; HH:MM for times; "KES 500" style for money; the number for ages; "" for names, places and organisations).
List every mention, including repeats in different segments. `

// EntityConfidence is the confidence reported for a model-found entity
// whose text was found in the transcript.
const EntityConfidence = 0.8

// EntityExtractor finds named entities with a chat model and places them in
// the transcript itself.
type EntityExtractor struct{ c *Client }

// NewEntityExtractor returns an EntityExtractor using c.
func NewEntityExtractor(c *Client) *EntityExtractor { return &EntityExtractor{c: c} }

type entityAnswer struct {
	Entities []struct {
		Type      string `json:"type"`
		Text      string `json:"text"`
		Value     string `json:"value"`
		SegmentID int    `json:"segment_id"`
	} `json:"entities"`
}

// Entities returns the entities with character (code point) offsets into
// their segment's text, found by searching the segment for the model's
// text (exactly, else ignoring case; the named segment first, then the
// rest of the call). Entities whose text is not in the transcript are
// dropped, so the model cannot invent a mention.
func (e *EntityExtractor) Entities(ctx context.Context, in pipeline.Input) ([]nlp.Entity, pipeline.Usage, error) {
	var a entityAnswer
	u, err := e.c.Complete(ctx, Request{
		Schema: entitySchema,
		System: entitySystem + untrusted,
		User:   callFacts(in) + transcript(in),
	}, &a)
	if err != nil {
		return nil, u, err
	}
	return placeEntities(in, a), u, nil
}

func placeEntities(in pipeline.Input, a entityAnswer) []nlp.Entity {
	segs := indexSegments(in.Segments)
	type span struct{ seg, start, end int }
	taken := map[span]bool{}
	// next is where to look for the next mention of the same text in a
	// segment, so repeated mentions map to successive occurrences.
	type key struct {
		seg  int
		text string
	}
	next := map[key]int{}
	out := []nlp.Entity{}
	for _, m := range a.Entities {
		text := strings.TrimSpace(m.Text)
		if text == "" {
			continue
		}
		order := []int{}
		if i, ok := segs.index[m.SegmentID]; ok {
			order = append(order, i)
		}
		for i := range in.Segments {
			if len(order) == 0 || i != order[0] {
				order = append(order, i)
			}
		}
		for _, i := range order {
			seg := in.Segments[i]
			k := key{i, strings.ToLower(text)}
			s, end, ok := findRunes(seg.Text, text, next[k])
			if !ok && next[k] > 0 {
				s, end, ok = findRunes(seg.Text, text, 0)
			}
			if !ok {
				continue
			}
			next[k] = end
			sp := span{i, s, end}
			if taken[sp] {
				break
			}
			taken[sp] = true
			out = append(out, nlp.Entity{
				Type:       m.Type,
				Text:       string([]rune(seg.Text)[s:end]),
				Value:      strings.TrimSpace(m.Value),
				SegmentID:  seg.SegmentID,
				Start:      s,
				End:        end,
				Confidence: EntityConfidence,
				Source:     "llm",
			})
			break
		}
	}
	pos := map[int]int{}
	for i, s := range in.Segments {
		if _, ok := pos[s.SegmentID]; !ok {
			pos[s.SegmentID] = i
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if pos[out[i].SegmentID] != pos[out[j].SegmentID] {
			return pos[out[i].SegmentID] < pos[out[j].SegmentID]
		}
		return out[i].Start < out[j].Start
	})
	return out
}
