package http

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/pipeline"
)

// maxClassifyTranscript bounds a dry-run transcript.
const maxClassifyTranscript = 200_000

// classifyRequest is a dry run of the classifier on a transcript.
type classifyRequest struct {
	// Transcript is the call's text; lines of "speaker: text" become
	// segments of that speaker, other lines the caller's.
	Transcript *string `json:"transcript"`
	// Taxonomy overrides the tenant's taxonomy for this run: a built-in
	// name or a whole taxonomy, as in the settings.
	Taxonomy *callscope.TaxonomySetting `json:"taxonomy"`
}

// transcriptSegments splits a typed transcript into segments.
func transcriptSegments(text string) []callscope.Segment {
	var out []callscope.Segment
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		speaker, said := "caller", line
		if sp, rest, ok := strings.Cut(line, ":"); ok && len(sp) <= 30 && !strings.ContainsAny(sp, " \t") && strings.TrimSpace(rest) != "" {
			speaker, said = strings.ToLower(sp), strings.TrimSpace(rest)
		}
		out = append(out, callscope.Segment{SegmentID: len(out) + 1, Speaker: speaker, Text: said})
	}
	return out
}

// handleClassify classifies a transcript with the tenant's taxonomy (and
// learned model), or with the taxonomy given, storing nothing: a supervisor
// tries a taxonomy before saving it.
func (s *Server) handleClassify(w http.ResponseWriter, r *http.Request) error {
	var in classifyRequest
	if err := decodeJSON(r, bodyLimit(r), &in); err != nil {
		return err
	}
	var f fields
	if in.Transcript == nil {
		f.add("Field required", "missing", "body", "transcript")
	} else {
		checkText(&f, *in.Transcript, maxClassifyTranscript, "body", "transcript")
		if strings.TrimSpace(*in.Transcript) == "" {
			f.add("String should have at least 1 character", "string_too_short", "body", "transcript")
		}
	}
	if t := in.Taxonomy; t != nil {
		set := callscope.Settings{Taxonomy: t}
		for _, e := range set.Validate("body") {
			f.add(e.Msg, e.Type, e.Loc...)
		}
	}
	if err := f.err(); err != nil {
		return err
	}
	tenant, err := s.Store.Tenant(r.Context(), tenantID(r))
	if err != nil {
		return err
	}
	settings := tenant.Settings
	if in.Taxonomy != nil {
		settings.Taxonomy = in.Taxonomy
	}
	e, err := nlp.New(pipeline.NLPConfig(&settings))
	if err != nil {
		return err
	}
	segs := transcriptSegments(*in.Transcript)
	var m *nlp.LearnedModel
	var weight float64
	if in.Taxonomy == nil && s.Learner != nil {
		// Only the tenant's own taxonomy has corrections to learn from.
		if m, weight, err = s.Learner.Model(r.Context(), tenant, e); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, e.ClassifyLearned(segs, nlp.Options{}, m, weight))
	return nil
}

// classificationRequest is a reviewer's correction of a call's category.
type classificationRequest struct {
	Category *string `json:"category"`
	Note     string  `json:"note"`
	Reviewer string  `json:"reviewer"`
}

// correctionView is a stored correction and the call's classification
// after it.
type correctionView struct {
	CallID         string                              `json:"call_id"`
	Classification json.RawMessage                     `json:"classification"`
	Correction     *callscope.ClassificationCorrection `json:"correction"`
}

// handleSetClassification sets a call's category by a person's decision.
func (s *Server) handleSetClassification(w http.ResponseWriter, r *http.Request) error {
	var in classificationRequest
	if err := decodeJSON(r, bodyLimit(r), &in); err != nil {
		return err
	}
	var f fields
	if in.Category == nil || strings.TrimSpace(*in.Category) == "" {
		f.add("Field required", "missing", "body", "category")
	} else {
		checkText(&f, *in.Category, 64, "body", "category")
	}
	checkText(&f, in.Note, 2000, "body", "note")
	checkText(&f, in.Reviewer, 200, "body", "reviewer")
	if err := f.err(); err != nil {
		return err
	}
	c, corr, err := s.Calls.CorrectClassification(r.Context(), tenantID(r), r.PathValue("call_id"), call.Correction{
		Category: *in.Category, Note: in.Note, Reviewer: in.Reviewer, KeyID: principal(r).KeyID})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, correctionView{CallID: c.PublicID(), Classification: c.Classification, Correction: corr})
	return nil
}
