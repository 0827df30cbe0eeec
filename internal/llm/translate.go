package llm

import (
	"context"
	"fmt"
	"strings"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/pipeline"
)

var _ pipeline.Translator = (*Translator)(nil)

var translationSchema = MustSchema("call_translation", object(
	"source_language", map[string]any{"type": "string", "pattern": "^[a-z]{2,3}$"},
	"segments", array(object("segment_id", integer(), "text", str())),
))

// Translator translates a transcript segment by segment with a chat model.
type Translator struct{ c *Client }

// NewTranslator returns a Translator using c.
func NewTranslator(c *Client) *Translator { return &Translator{c: c} }

type translationAnswer struct {
	SourceLanguage string `json:"source_language"`
	Segments       []struct {
		SegmentID int    `json:"segment_id"`
		Text      string `json:"text"`
	} `json:"segments"`
}

// Translate translates the transcript into target (an ISO 639-1 code). The
// source language is in.Language, or the model's detection when unknown.
// Every segment must come back translated once; the text is one
// "speaker: text" line per segment. Returns EINVALID if target is empty.
func (t *Translator) Translate(ctx context.Context, in pipeline.Input, target string) (pipeline.Translation, pipeline.Usage, error) {
	target = strings.TrimSpace(target)
	if target == "" {
		return pipeline.Translation{}, pipeline.Usage{}, callscope.Errorf(callscope.EINVALID, "translation target language is required")
	}
	source := "Detect the source language and report it as an ISO 639-1 code in \"source_language\"."
	if in.Language != "" {
		source = fmt.Sprintf("The source language is %q; report it in \"source_language\".", in.Language)
	}
	system := fmt.Sprintf(`You translate phone call transcripts into the language with ISO 639-1 code %q.
Translate every segment faithfully, one entry per segment with its segment id (the number in brackets), in order. Keep names, numbers, phone numbers and e-mail addresses as they are. Do not summarise or add anything.
%s `, target, source)
	segs := indexSegments(in.Segments)
	var a translationAnswer
	u, err := t.c.Complete(ctx, Request{
		Schema: translationSchema,
		System: system + untrusted,
		User:   callFacts(in) + transcript(in),
		Check: func() error {
			got := map[int]bool{}
			for _, s := range a.Segments {
				if !segs.has(s.SegmentID) {
					return errorf("segment %d is not in the transcript", s.SegmentID)
				}
				if got[s.SegmentID] {
					return errorf("segment %d translated twice", s.SegmentID)
				}
				got[s.SegmentID] = true
			}
			for _, s := range in.Segments {
				if !got[s.SegmentID] {
					return errorf("segment %d not translated", s.SegmentID)
				}
			}
			return nil
		},
	}, &a)
	if err != nil {
		return pipeline.Translation{}, u, err
	}
	byID := map[int]string{}
	for _, s := range a.Segments {
		byID[s.SegmentID] = oneLine(s.Text)
	}
	var lines []string
	for _, s := range in.Segments {
		lines = append(lines, s.Speaker+": "+byID[s.SegmentID])
	}
	src := in.Language
	if src == "" {
		src = a.SourceLanguage
	}
	return pipeline.Translation{Text: strings.Join(lines, "\n"), SourceLanguage: src, Language: target, Model: t.c.Model()}, u, nil
}
