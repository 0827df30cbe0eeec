package http

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/callscope/callscope"
)

// languageNames names the languages the text export spells out.
var languageNames = map[string]string{
	"sw": "Swahili", "en": "English", "fr": "French", "ar": "Arabic", "am": "Amharic", "so": "Somali",
	"lg": "Luganda", "rw": "Kinyarwanda", "pt": "Portuguese", "es": "Spanish", "de": "German", "zu": "Zulu",
}

// languageName spells out a language code for people ("sw" → "Swahili").
func languageName(code string) string {
	if code == "" {
		return "Unknown"
	}
	base, _, _ := strings.Cut(strings.ToLower(code), "-")
	if n, ok := languageNames[base]; ok {
		return n
	}
	return code
}

// translationLanguage is the language of a call's translation: the one
// stored with it, else English, the pipeline's target.
func translationLanguage(c *callscope.Call) string {
	if c.TranslationLanguage != "" {
		return c.TranslationLanguage
	}
	return "en"
}

// windowTranslation is the text a translation snapshot carries, under
// "translation" or "text".
func windowTranslation(data json.RawMessage) string {
	var d struct {
		Translation *string `json:"translation"`
		Text        string  `json:"text"`
	}
	if json.Unmarshal(data, &d) != nil {
		return ""
	}
	if d.Translation != nil {
		return strings.TrimSpace(*d.Translation)
	}
	return strings.TrimSpace(d.Text)
}

// joinWindows is the cumulative translation of the progressive pass: the
// translation windows' texts in window order.
func joinWindows(snaps []*callscope.EvolutionSnapshot) (text string, windows int) {
	var parts []string
	for _, s := range snaps {
		if s.Kind != callscope.EvolutionTranslation {
			continue
		}
		windows++
		if t := windowTranslation(s.Data); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, " "), windows
}

// cumulativeTranslation is a call's translation: the post-call one when
// there is one, else what the progressive pass has translated so far.
func (s *Server) cumulativeTranslation(ctx context.Context, c *callscope.Call) (string, error) {
	if c.Translation != "" {
		return c.Translation, nil
	}
	snaps, err := s.Store.Evolution(ctx, c.ID, callscope.EvolutionTranslation)
	if err != nil {
		return "", err
	}
	text, _ := joinWindows(snaps)
	return text, nil
}

// translationView is a call's translation (seed 001 §3.10, §5.3).
type translationView struct {
	CallID                string `json:"call_id"`
	CumulativeTranslation string `json:"cumulative_translation"`
	Language              string `json:"language"`
	SourceLanguage        string `json:"source_language"`
	TranslationModel      string `json:"translation_model"`
}

func (s *Server) handleTranslation(w http.ResponseWriter, r *http.Request) error {
	c, err := s.sessionCall(r)
	if err != nil {
		return err
	}
	text, err := s.cumulativeTranslation(r.Context(), c)
	if err != nil {
		return err
	}
	model, _ := c.Metadata["translation_model"].(string)
	writeJSON(w, http.StatusOK, translationView{CallID: c.PublicID(), CumulativeTranslation: text,
		Language: translationLanguage(c), SourceLanguage: c.Language, TranslationModel: model})
	return nil
}

// progressiveView is what live progressive analysis has found so far
// (seed 001 §3.9).
type progressiveView struct {
	CallID                string          `json:"call_id"`
	CumulativeTranslation string          `json:"cumulative_translation"`
	TranslationWindows    int             `json:"translation_windows"`
	LatestEntities        json.RawMessage `json:"latest_entities"`
	LatestClassification  json.RawMessage `json:"latest_classification"`
	EvolutionData         evolutionData   `json:"evolution_data"`
}

// evolutionData sums up a call's evolution snapshots.
type evolutionData struct {
	EntityWindows         int     `json:"entity_windows"`
	ClassificationWindows int     `json:"classification_windows"`
	TranslationWindows    int     `json:"translation_windows"`
	LastWindowEnd         float64 `json:"last_window_end"`
	UpdatedAt             *string `json:"updated_at"`
}

// jsonObject returns raw, or {} when it holds nothing.
func jsonObject(raw json.RawMessage) json.RawMessage {
	if t := bytes.TrimSpace(raw); len(t) == 0 || string(t) == "null" || !json.Valid(t) {
		return json.RawMessage("{}")
	}
	return raw
}

func (s *Server) handleProgressive(w http.ResponseWriter, r *http.Request) error {
	c, err := s.sessionCall(r)
	if err != nil {
		return err
	}
	snaps, err := s.Store.Evolution(r.Context(), c.ID, "")
	if err != nil {
		return err
	}
	v := progressiveView{CallID: c.PublicID(), LatestEntities: json.RawMessage("{}"), LatestClassification: json.RawMessage("{}")}
	v.CumulativeTranslation, v.TranslationWindows = joinWindows(snaps)
	if v.CumulativeTranslation == "" {
		v.CumulativeTranslation = c.Translation
	}
	var updated time.Time
	for _, sn := range snaps { // window order: the last of a kind is the latest
		switch sn.Kind {
		case callscope.EvolutionEntity:
			v.LatestEntities = jsonObject(sn.Data)
			v.EvolutionData.EntityWindows++
		case callscope.EvolutionClassification:
			v.LatestClassification = jsonObject(sn.Data)
			v.EvolutionData.ClassificationWindows++
		case callscope.EvolutionTranslation:
			v.EvolutionData.TranslationWindows++
		}
		v.EvolutionData.LastWindowEnd = max(v.EvolutionData.LastWindowEnd, sn.WindowEnd)
		if sn.CreatedAt.After(updated) {
			updated = sn.CreatedAt
		}
	}
	if !updated.IsZero() {
		v.EvolutionData.UpdatedAt = isoTime(&updated)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// entityWindowView is one window of a call's entity evolution.
type entityWindowView struct {
	WindowIndex int             `json:"window_index"`
	WindowStart float64         `json:"window_start"`
	WindowEnd   float64         `json:"window_end"`
	Timestamp   string          `json:"timestamp"`
	Entities    json.RawMessage `json:"entities"`
}

func (s *Server) handleEntityEvolution(w http.ResponseWriter, r *http.Request) error {
	c, err := s.sessionCall(r)
	if err != nil {
		return err
	}
	snaps, err := s.Store.Evolution(r.Context(), c.ID, callscope.EvolutionEntity)
	if err != nil {
		return err
	}
	out := make([]entityWindowView, len(snaps))
	for i, sn := range snaps {
		out[i] = entityWindowView{WindowIndex: sn.WindowIndex, WindowStart: sn.WindowStart, WindowEnd: sn.WindowEnd,
			Timestamp: sn.CreatedAt.Format(time.RFC3339Nano), Entities: jsonObject(sn.Data)}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// classificationWindowView is one window of a call's classification
// evolution. Changed says whether the classification differs from the
// previous window's (true for the first window).
type classificationWindowView struct {
	WindowIndex    int             `json:"window_index"`
	WindowStart    float64         `json:"window_start"`
	WindowEnd      float64         `json:"window_end"`
	Timestamp      string          `json:"timestamp"`
	Classification json.RawMessage `json:"classification"`
	Changed        bool            `json:"changed"`
}

// classificationKey is what decides whether a classification changed: its
// category (category, main_category or label), or all of it when it names
// none. Confidence moving alone is not a change.
func classificationKey(data json.RawMessage) any {
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return string(data)
	}
	for _, k := range []string{"category", "main_category", "label"} {
		if v, ok := m[k]; ok {
			return [2]any{k, v}
		}
	}
	return m
}

func (s *Server) handleClassificationEvolution(w http.ResponseWriter, r *http.Request) error {
	c, err := s.sessionCall(r)
	if err != nil {
		return err
	}
	snaps, err := s.Store.Evolution(r.Context(), c.ID, callscope.EvolutionClassification)
	if err != nil {
		return err
	}
	out := make([]classificationWindowView, len(snaps))
	var prev any
	for i, sn := range snaps {
		key := classificationKey(sn.Data)
		out[i] = classificationWindowView{WindowIndex: sn.WindowIndex, WindowStart: sn.WindowStart, WindowEnd: sn.WindowEnd,
			Timestamp: sn.CreatedAt.Format(time.RFC3339Nano), Classification: jsonObject(sn.Data),
			Changed: i == 0 || !reflect.DeepEqual(key, prev)}
		prev = key
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
