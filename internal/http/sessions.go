package http

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/callscope/callscope"
)

// The Call Sessions API (seed 001 §3): live sessions, transcripts, exports,
// progressive analysis and processing status. Every {call_id} accepts
// callscope's id or any external id of the call, within the caller's
// tenant.

// sessionCall returns the call the request's {call_id} names.
func (s *Server) sessionCall(r *http.Request) (*callscope.Call, error) {
	return s.Store.Call(r.Context(), tenantID(r), r.PathValue("call_id"))
}

func (s *Server) handleActiveCalls(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	refs, err := s.Store.ActiveCallVersions(ctx, tenantID(r))
	if err != nil {
		return err
	}
	// Sessions unchanged since they were last rendered are served from the
	// render cache; only the others are read and encoded.
	parts := make([][]byte, len(refs))
	index := make(map[string]int, len(refs))
	var misses []string
	for i, ref := range refs {
		if b, ok := s.renders.get(ref.ID, "session", ref.Version); ok {
			parts[i] = b
			continue
		}
		index[ref.ID] = i
		misses = append(misses, ref.ID)
	}
	if len(misses) > 0 {
		calls, segs, err := s.Store.SessionsByID(ctx, tenantID(r), misses)
		if err != nil {
			return err
		}
		for _, c := range calls {
			b, err := json.Marshal(newSessionView(c, segs[c.ID]))
			if err != nil {
				return err
			}
			s.renders.put(c.ID, "session", c.Version, b)
			parts[index[c.ID]] = b
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteByte('[')
	first := true
	for _, b := range parts {
		if b == nil {
			continue // deleted between the two reads
		}
		if !first {
			bw.WriteByte(',')
		}
		first = false
		bw.Write(b)
	}
	bw.WriteString("]\n")
	_ = bw.Flush() // a failed write is the client going away
	return nil
}

// callStatsView sums up the live sessions (seed 001 §3.2).
type callStatsView struct {
	ActiveSessions            int      `json:"active_sessions"`
	TotalAudioDuration        float64  `json:"total_audio_duration"`
	TotalSegments             int      `json:"total_segments"`
	AverageDurationPerSession float64  `json:"average_duration_per_session"`
	SessionList               []string `json:"session_list"`
}

func (s *Server) handleCallStats(w http.ResponseWriter, r *http.Request) error {
	st, err := s.Store.SessionStats(r.Context(), tenantID(r))
	if err != nil {
		return err
	}
	v := callStatsView{ActiveSessions: st.Active, TotalAudioDuration: round3(st.AudioSeconds), TotalSegments: st.Segments,
		SessionList: st.CallIDs}
	if st.Active > 0 {
		v.AverageDurationPerSession = round3(st.AudioSeconds / float64(st.Active))
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// transcriptView is a call's transcript (seed 001 §3.4). Segments is left
// out unless the caller asked for it.
type transcriptView struct {
	CallID               string         `json:"call_id"`
	CumulativeTranscript string         `json:"cumulative_transcript"`
	Language             string         `json:"language"`
	SegmentCount         int            `json:"segment_count"`
	TotalDuration        float64        `json:"total_duration"`
	Segments             *[]segmentView `json:"segments,omitempty"`
}

// queryBool reads an optional boolean query parameter: true, false, 1 or 0
// in any case. Anything else is a validation error naming the parameter.
func queryBool(f *fields, r *http.Request, name string, def bool) bool {
	q := r.URL.Query()
	if !q.Has(name) {
		return def
	}
	switch strings.ToLower(q.Get(name)) {
	case "true", "1":
		return true
	case "false", "0":
		return false
	}
	f.add("Input should be a valid boolean: true, false, 1 or 0", "bool_parsing", "query", name)
	return def
}

// joinTranscript is the cumulative transcript: the segments' texts in time
// order, separated by spaces.
func joinTranscript(segs []callscope.Segment) string {
	var b strings.Builder
	for i, s := range segs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strings.TrimSpace(s.Text))
	}
	return b.String()
}

// transcriptDuration is how long a call's transcript runs: the audio
// received, or the end of the last segment if that is later.
func transcriptDuration(c *callscope.Call, segs []callscope.Segment) float64 {
	d := c.AudioSeconds
	for _, s := range segs {
		d = max(d, s.EndTime)
	}
	return round3(d)
}

func (s *Server) handleTranscript(w http.ResponseWriter, r *http.Request) error {
	var f fields
	include := queryBool(&f, r, "include_segments", false)
	if err := f.err(); err != nil {
		return err
	}
	c, err := s.sessionCall(r)
	if err != nil {
		return err
	}
	variant := "transcript"
	if include {
		variant = "transcript+segments"
	}
	b, ok := s.renders.get(c.ID, variant, c.Version)
	if !ok {
		segs, err := s.Store.Segments(r.Context(), c.ID)
		if err != nil {
			return err
		}
		v := transcriptView{CallID: c.PublicID(), CumulativeTranscript: joinTranscript(segs), Language: c.Language,
			SegmentCount: len(segs), TotalDuration: transcriptDuration(c, segs)}
		if include {
			views := segmentViews(segs)
			v.Segments = &views
		}
		if b, err = json.Marshal(v); err != nil {
			return err
		}
		s.renders.put(c.ID, variant, c.Version, b)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	w.Write([]byte("\n"))
	return nil
}

func (s *Server) handleSegments(w http.ResponseWriter, r *http.Request) error {
	c, err := s.sessionCall(r)
	if err != nil {
		return err
	}
	segs, err := s.Store.Segments(r.Context(), c.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, segmentViews(segs))
	return nil
}

// segmentInput is one segment written by POST /calls/{call_id}/segments.
type segmentInput struct {
	SegmentID  *int     `json:"segment_id"`
	Speaker    string   `json:"speaker"`
	StartTime  *float64 `json:"start_time"`
	EndTime    *float64 `json:"end_time"`
	Text       *string  `json:"text"`
	Confidence *float64 `json:"confidence"`
}

// Bounds of a segment write.
const (
	maxSegmentsPerWrite = 10000
	maxSegmentText      = 10000
	maxSegmentID        = 1 << 31
)

// appendSegmentsView answers a segment write.
type appendSegmentsView struct {
	CallID             string  `json:"call_id"`
	SegmentCount       int     `json:"segment_count"`
	TotalAudioDuration float64 `json:"total_audio_duration"`
	SegmentIDs         []int   `json:"segment_ids"`
}

// decodeSegments reads the body of a segment write: {"segments": [...]} or
// the bare array, and validates each segment. Segments without an id come
// back with SegmentID -1.
func decodeSegments(r *http.Request) ([]callscope.Segment, error) {
	limit := bodyLimit(r)
	body, err := readJSONBody(r, limit, true)
	if err != nil {
		return nil, err
	}
	var items []json.RawMessage
	loc := []string{"body"}
	if bytes.TrimSpace(body)[0] == '[' {
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, jsonError(err, limit)
		}
	} else {
		var req struct {
			Segments json.RawMessage `json:"segments"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, jsonError(err, limit)
		}
		loc = append(loc, "segments")
		if len(req.Segments) == 0 || string(req.Segments) == "null" {
			return nil, callscope.ValidationError(callscope.FieldError{Loc: loc, Msg: "Field required", Type: "missing"})
		}
		if req.Segments[0] != '[' {
			return nil, callscope.ValidationError(callscope.FieldError{Loc: loc, Msg: "Input should be a valid list", Type: "list_type"})
		}
		if err := json.Unmarshal(req.Segments, &items); err != nil {
			return nil, jsonError(err, limit)
		}
	}
	at := func(i int, field ...string) []string {
		return append(append(append([]string{}, loc...), strconv.Itoa(i)), field...)
	}
	var f fields
	switch {
	case len(items) == 0:
		f.add("List should have at least 1 item", "too_short", loc...)
	case len(items) > maxSegmentsPerWrite:
		f.add("List should have at most "+strconv.Itoa(maxSegmentsPerWrite)+" items", "too_long", loc...)
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	segs := make([]callscope.Segment, 0, len(items))
	ids := map[int]bool{}
	for i, raw := range items {
		var in segmentInput
		if len(raw) == 0 || raw[0] != '{' {
			f.add("Input should be a JSON object", "model_type", at(i)...)
			continue
		}
		if err := json.Unmarshal(raw, &in); err != nil {
			var typ *json.UnmarshalTypeError
			if errors.As(err, &typ) {
				f.add("Input should be a valid "+jsonKind(typ.Type.Kind().String())+", not a JSON "+typ.Value, "type_error",
					at(i, strings.Split(typ.Field, ".")...)...)
			} else {
				f.add("Invalid segment: "+err.Error(), "value_error", at(i)...)
			}
			continue
		}
		seg := callscope.Segment{SegmentID: -1, Speaker: in.Speaker}
		if in.SegmentID != nil {
			switch id := *in.SegmentID; {
			case id < 0 || id >= maxSegmentID:
				f.add("Input should be a whole number from 0 to "+strconv.Itoa(maxSegmentID-1), "value_error", at(i, "segment_id")...)
			case ids[id]:
				f.add("Segment id "+strconv.Itoa(id)+" appears more than once", "value_error", at(i, "segment_id")...)
			default:
				ids[id] = true
				seg.SegmentID = id
			}
		}
		checkText(&f, in.Speaker, 100, at(i, "speaker")...)
		if in.StartTime == nil {
			f.add("Field required", "missing", at(i, "start_time")...)
		} else if seg.StartTime = *in.StartTime; seg.StartTime < 0 {
			f.add("Input should be greater than or equal to 0", "greater_than_equal", at(i, "start_time")...)
		}
		if in.EndTime == nil {
			f.add("Field required", "missing", at(i, "end_time")...)
		} else if seg.EndTime = *in.EndTime; seg.EndTime < 0 {
			f.add("Input should be greater than or equal to 0", "greater_than_equal", at(i, "end_time")...)
		} else if in.StartTime != nil && seg.EndTime < seg.StartTime {
			f.add("end_time should not be before start_time", "value_error", at(i, "end_time")...)
		}
		switch {
		case in.Text == nil:
			f.add("Field required", "missing", at(i, "text")...)
		case strings.TrimSpace(*in.Text) == "":
			f.add("String should have at least 1 character", "string_too_short", at(i, "text")...)
		default:
			seg.Text = *in.Text
			checkText(&f, seg.Text, maxSegmentText, at(i, "text")...)
		}
		if in.Confidence != nil {
			if seg.Confidence = *in.Confidence; seg.Confidence < 0 || seg.Confidence > 1 {
				f.add("Input should be from 0 to 1", "value_error", at(i, "confidence")...)
			}
		}
		segs = append(segs, seg)
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return segs, nil
}

func (s *Server) handleAppendSegments(w http.ResponseWriter, r *http.Request) error {
	segs, err := decodeSegments(r)
	if err != nil {
		return err
	}
	res, err := s.Calls.AppendSegments(r.Context(), tenantID(r), r.PathValue("call_id"), segs)
	if err != nil {
		return err
	}
	ids := make([]int, len(segs))
	for i, sg := range segs {
		ids[i] = sg.SegmentID
	}
	writeJSON(w, http.StatusOK, appendSegmentsView{CallID: res.Call.PublicID(), SegmentCount: res.SegmentCount,
		TotalAudioDuration: round3(res.AudioSeconds), SegmentIDs: ids})
	return nil
}

// maxEndReason bounds the reason given for ending a call.
const maxEndReason = 200

func (s *Server) handleEndCall(w http.ResponseWriter, r *http.Request) error {
	reason := "manual"
	if q := r.URL.Query(); q.Has("reason") {
		reason = strings.TrimSpace(q.Get("reason"))
		var f fields
		checkText(&f, reason, maxEndReason, "query", "reason")
		if reason == "" {
			f.add("String should have at least 1 character", "string_too_short", "query", "reason")
		}
		if err := f.err(); err != nil {
			return err
		}
	}
	if _, err := s.Calls.End(r.Context(), tenantID(r), r.PathValue("call_id"), reason); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, "Call ended successfully")
	return nil
}

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

// processingView is the state of a call's post-call pipeline (seed 001
// §3.17), followed by callscope's own fields.
type processingView struct {
	CallID              string                 `json:"call_id"`
	ProcessingStatus    string                 `json:"processing_status"`
	CurrentStage        string                 `json:"current_stage"`
	StagesCompleted     []string               `json:"stages_completed"`
	StagesRemaining     []string               `json:"stages_remaining"`
	ProgressPercentage  float64                `json:"progress_percentage"`
	StartedAt           *string                `json:"started_at"`
	EstimatedCompletion *string                `json:"estimated_completion"`
	Errors              []callscope.StageError `json:"errors"`
	PipelineConfig      map[string]any         `json:"pipeline_config"`

	ProcessingRequested bool                 `json:"processing_requested"`
	FinishedAt          *string              `json:"finished_at"`
	Attempts            int                  `json:"attempts"`
	Stages              []callscope.StageRun `json:"stages"`
}

// queuedStates are the queue states of a job that has not finished, as
// the processing overview lists them.
var queuedStates = []string{"available", "pending", "scheduled", "retryable", "running"}

func (s *Server) handleCallProcessing(w http.ResponseWriter, r *http.Request) error {
	c, err := s.sessionCall(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	v := processingView{CallID: c.PublicID(), ProcessingStatus: string(callscope.ProcessingPending),
		StagesCompleted: []string{}, StagesRemaining: []string{}, Errors: []callscope.StageError{},
		PipelineConfig: map[string]any{}, Stages: []callscope.StageRun{}}
	p, err := s.Store.Processing(ctx, c.ID)
	switch {
	case callscope.ErrorCode(err) == callscope.ENOTFOUND:
		// No run has started: pending, and requested if a job asks for one.
		jobs, err := s.Jobs.ProcessJobs(ctx, c.TenantID, c.ID)
		if err != nil {
			return err
		}
		for _, n := range jobs {
			v.ProcessingRequested = v.ProcessingRequested || n > 0
		}
		writeJSON(w, http.StatusOK, v)
		return nil
	case err != nil:
		return err
	}
	v.ProcessingRequested = true
	if p.Status != callscope.ProcessingNone {
		v.ProcessingStatus = string(p.Status)
	}
	v.CurrentStage, v.Attempts = p.CurrentStage, p.Attempts
	v.StartedAt, v.FinishedAt = isoTime(p.StartedAt), isoTime(p.FinishedAt)
	if p.StagesCompleted != nil {
		v.StagesCompleted = p.StagesCompleted
	}
	if p.StagesRemaining != nil {
		v.StagesRemaining = p.StagesRemaining
	}
	if p.Errors != nil {
		v.Errors = p.Errors
	}
	if p.Config != nil {
		v.PipelineConfig = p.Config
	}
	if p.Stages != nil {
		v.Stages = p.Stages
	}
	done, left := len(v.StagesCompleted), len(v.StagesRemaining)
	switch {
	case done+left > 0:
		v.ProgressPercentage = math.Round(float64(done)/float64(done+left)*1000) / 10
	case p.Status == callscope.ProcessingCompleted:
		v.ProgressPercentage = 100
	}
	switch p.Status {
	case callscope.ProcessingCompleted:
		v.EstimatedCompletion = v.FinishedAt
	case callscope.ProcessingInProgress:
		// The remaining stages at the average pace of this run's finished ones.
		var secs float64
		var n int
		for _, st := range p.Stages {
			if st.Status == "completed" && st.Seconds > 0 {
				secs += st.Seconds
				n++
			}
		}
		if n > 0 && left > 0 {
			est := callscope.Timestamp(s.Now()).Add(time.Duration(secs / float64(n) * float64(left) * float64(time.Second)))
			v.EstimatedCompletion = isoTime(&est)
		}
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// processingOverview is the tenant's processing at a glance (seed 001
// §3.16).
type processingOverview struct {
	// StatusCounts has every processing status, with the calls in it.
	StatusCounts map[string]int `json:"status_counts"`
	// NotRequested counts the calls whose processing was never started.
	NotRequested int `json:"not_requested"`
	// CallsInProgress lists the calls being processed (at most 100).
	CallsInProgress []string `json:"calls_in_progress"`
	// Queue counts the tenant's processing jobs by queue state.
	Queue map[string]int `json:"queue"`
	// QueueDepth counts the jobs waiting to run.
	QueueDepth int `json:"queue_depth"`
	// Running counts the jobs running now.
	Running int `json:"running"`
	// MaxConcurrentProcessing is the number of runs at once, when known.
	MaxConcurrentProcessing *int   `json:"max_concurrent_processing"`
	Timestamp               string `json:"timestamp"`
}

func (s *Server) handleProcessingStatus(w http.ResponseWriter, r *http.Request) error {
	ctx, tenant := r.Context(), tenantID(r)
	counts, err := s.Store.ProcessingCounts(ctx, tenant)
	if err != nil {
		return err
	}
	total, err := s.Store.CountCalls(ctx, tenant)
	if err != nil {
		return err
	}
	inProgress, err := s.Store.ProcessingCallIDs(ctx, tenant, callscope.ProcessingInProgress, 100)
	if err != nil {
		return err
	}
	jobs, err := s.Jobs.ProcessJobs(ctx, tenant, "")
	if err != nil {
		return err
	}
	v := processingOverview{StatusCounts: map[string]int{}, CallsInProgress: inProgress, Queue: map[string]int{},
		Timestamp: callscope.Timestamp(s.Now()).Format(time.RFC3339Nano)}
	if s.MaxConcurrentProcessing > 0 {
		n := s.MaxConcurrentProcessing
		v.MaxConcurrentProcessing = &n
	}
	requested := 0
	for _, st := range []callscope.ProcessingStatus{callscope.ProcessingPending, callscope.ProcessingInProgress,
		callscope.ProcessingCompleted, callscope.ProcessingFailed} {
		v.StatusCounts[string(st)] = counts[st]
	}
	for _, n := range counts {
		requested += n
	}
	v.NotRequested = max(0, total-requested)
	for _, st := range queuedStates {
		v.Queue[st] = jobs[st]
	}
	for st, n := range jobs {
		v.Queue[st] = n
	}
	v.QueueDepth = jobs["available"] + jobs["pending"] + jobs["scheduled"] + jobs["retryable"]
	v.Running = jobs["running"]
	writeJSON(w, http.StatusOK, v)
	return nil
}

// Export formats.
const (
	exportJSON = "json"
	exportText = "text"
)

func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) error {
	format := exportJSON
	if q := r.URL.Query(); q.Has("format") {
		format = strings.ToLower(q.Get("format"))
		if format != exportJSON && format != exportText {
			var f fields
			f.add("Input should be 'json' or 'text'", "enum", "query", "format")
			return f.err()
		}
	}
	c, err := s.sessionCall(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	segs, err := s.Store.Segments(ctx, c.ID)
	if err != nil {
		return err
	}
	translation, err := s.cumulativeTranslation(ctx, c)
	if err != nil {
		return err
	}
	p, err := s.Store.Processing(ctx, c.ID)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		p, err = nil, nil
	}
	if err != nil {
		return err
	}
	e := callExport{c: c, segs: segs, translation: translation, processing: p}
	if format == exportText {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	if format == exportText {
		e.writeText(bw)
	} else {
		e.writeJSON(bw)
	}
	// The status is sent: a failed write is the client going away.
	_ = bw.Flush()
	return nil
}

// callExport writes one call for downstream systems (seed 001 §3.7),
// streaming: the transcript is written segment by segment, never built as
// one string.
type callExport struct {
	c           *callscope.Call
	segs        []callscope.Segment
	translation string
	processing  *callscope.Processing
}

// exportMetadata is the metadata block of a JSON export.
type exportMetadata struct {
	StartTime *string `json:"start_time"`
	EndTime   *string `json:"end_time"`
	Duration  float64 `json:"duration"`
	Status    string  `json:"status"`
}

// exportProcessing is the processing_info block of a JSON export.
type exportProcessing struct {
	ProcessingStatus string                 `json:"processing_status"`
	CurrentStage     string                 `json:"current_stage"`
	StagesCompleted  []string               `json:"stages_completed"`
	StartedAt        *string                `json:"started_at"`
	FinishedAt       *string                `json:"finished_at"`
	Attempts         int                    `json:"attempts"`
	Errors           []callscope.StageError `json:"errors"`
	Stages           []callscope.StageRun   `json:"stages"`
}

func (e *callExport) startTime() *time.Time {
	if e.c.StartedAt != nil {
		return e.c.StartedAt
	}
	return &e.c.CreatedAt
}

func (e *callExport) writeJSON(w *bufio.Writer) {
	c := e.c
	put := func(key string, v any) {
		w.WriteString(`,"` + key + `":`)
		b, _ := json.Marshal(v)
		w.Write(b)
	}
	putRaw := func(key string, raw json.RawMessage) {
		w.WriteString(`,"` + key + `":`)
		w.Write(jsonObject(raw))
	}
	w.WriteString(`{"call_id":`)
	b, _ := json.Marshal(c.PublicID())
	w.Write(b)
	put("metadata", exportMetadata{StartTime: isoTime(e.startTime()), EndTime: isoTime(c.EndedAt),
		Duration: c.DurationSeconds, Status: sessionStatus(c.Status)})
	w.WriteString(`,"transcription":{"original":"`)
	for i, s := range e.segs {
		if i > 0 {
			w.WriteByte(' ')
		}
		writeJSONStringBody(w, strings.TrimSpace(s.Text))
	}
	w.WriteString(`","language":`)
	b, _ = json.Marshal(c.Language)
	w.Write(b)
	w.WriteString(`,"segment_count":` + strconv.Itoa(len(e.segs)) + `}`)
	w.WriteString(`,"translation":{"translated":"`)
	writeJSONStringBody(w, e.translation)
	w.WriteString(`","language":`)
	b, _ = json.Marshal(translationLanguage(c))
	w.Write(b)
	w.WriteString(`}`)
	putRaw("entities", c.Entities)
	putRaw("classification", c.Classification)
	putRaw("summary", c.Summary)
	putRaw("insights", c.Insights)
	putRaw("qa", c.QA)
	if p := e.processing; p != nil {
		put("processing_info", exportProcessing{ProcessingStatus: string(p.Status), CurrentStage: p.CurrentStage,
			StagesCompleted: nonNil(p.StagesCompleted), StartedAt: isoTime(p.StartedAt), FinishedAt: isoTime(p.FinishedAt),
			Attempts: p.Attempts, Errors: nonNil(p.Errors), Stages: nonNil(p.Stages)})
	} else {
		w.WriteString(`,"processing_info":{}`)
	}
	w.WriteString(`,"segments":[`)
	for i, s := range e.segs {
		if i > 0 {
			w.WriteByte(',')
		}
		b, _ := json.Marshal(segmentViews([]callscope.Segment{s})[0])
		w.Write(b)
	}
	w.WriteString("]}\n")
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// writeJSONStringBody writes s as the inside of a JSON string: quotes,
// backslashes and control characters escaped, invalid UTF-8 replaced.
func writeJSONStringBody(w *bufio.Writer, s string) {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b >= 0x20 && b != '"' && b != '\\' && b < utf8.RuneSelf {
			i++
			continue
		}
		if b < utf8.RuneSelf {
			w.WriteString(s[start:i])
			switch b {
			case '"', '\\':
				w.WriteByte('\\')
				w.WriteByte(b)
			case '\n':
				w.WriteString(`\n`)
			case '\r':
				w.WriteString(`\r`)
			case '\t':
				w.WriteString(`\t`)
			default:
				w.WriteString(`\u00`)
				w.WriteByte(hex[b>>4])
				w.WriteByte(hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			w.WriteString(s[start:i])
			w.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		i += size
	}
	w.WriteString(s[start:])
}

// Text export sections, as seed 001 §3.7 lays them out.
const (
	exportHeader = "=== CALL EXPORT ==="
	exportFooter = "=== END OF EXPORT ==="
	exportNone   = "(none)"
)

func (e *callExport) writeText(w *bufio.Writer) {
	c := e.c
	line := func(parts ...string) {
		for _, p := range parts {
			w.WriteString(p)
		}
		w.WriteByte('\n')
	}
	line(exportHeader)
	line("Call ID: ", c.PublicID())
	line("Date: ", e.startTime().UTC().Format(time.RFC3339))
	line("Duration: ", strconv.FormatFloat(round3(c.DurationSeconds), 'f', -1, 64), " seconds")
	line("Status: ", sessionStatus(c.Status))
	line()
	line("--- ORIGINAL TRANSCRIPT (", languageName(c.Language), ") ---")
	if len(e.segs) == 0 {
		line(exportNone)
	}
	for _, s := range e.segs {
		w.WriteString("[" + clock(s.StartTime) + "] ")
		if s.Speaker != "" {
			w.WriteString(oneLine(s.Speaker) + ": ")
		}
		line(oneLine(s.Text))
	}
	line()
	line("--- ", strings.ToUpper(languageName(translationLanguage(c))), " TRANSLATION ---")
	line(orNone(strings.TrimSpace(e.translation)))
	line()
	persons, locations := entityNames(c.Entities)
	line("--- NAMED ENTITIES ---")
	line("Persons: ", orNone(strings.Join(persons, ", ")))
	line("Locations: ", orNone(strings.Join(locations, ", ")))
	line()
	line("--- SUMMARY ---")
	line(orNone(summaryText(c.Summary)))
	line()
	line(exportFooter)
}

func orNone(s string) string {
	if s == "" {
		return exportNone
	}
	return s
}

// oneLine keeps a segment's text on its line of the text export.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// clock formats an offset into the call as m:ss, or h:mm:ss from an hour.
func clock(sec float64) string {
	t := int(sec)
	h, m, s := t/3600, t/60%60, t%60
	two := func(n int) string {
		if n < 10 {
			return "0" + strconv.Itoa(n)
		}
		return strconv.Itoa(n)
	}
	if h > 0 {
		return strconv.Itoa(h) + ":" + two(m) + ":" + two(s)
	}
	return two(m) + ":" + two(s)
}

// summaryText is the readable text of a stored summary: a JSON string, or
// the "text" or "summary" of an object.
func summaryText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return strings.TrimSpace(str)
	}
	var obj map[string]any
	if json.Unmarshal(raw, &obj) == nil {
		for _, k := range []string{"text", "summary"} {
			if v, ok := obj[k].(string); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return ""
}

// entityNames returns the distinct person and location names of stored
// entities, in order. It reads a list of mentions ({"type", "text"}, as the
// built-in extractor writes) or an object of lists keyed by type
// (persons/PERSON/PER, locations/LOC/GPE…), of names or of mentions.
func entityNames(raw json.RawMessage) (persons, locations []string) {
	kind := func(t string) int {
		switch strings.ToLower(t) {
		case "person", "persons", "per", "people", "names":
			return 1
		case "location", "locations", "loc", "gpe", "place", "places":
			return 2
		}
		return 0
	}
	seen := map[[2]string]bool{}
	add := func(k int, name string) {
		name = strings.TrimSpace(name)
		key := [2]string{strconv.Itoa(k), strings.ToLower(name)}
		if name == "" || seen[key] {
			return
		}
		seen[key] = true
		if k == 1 {
			persons = append(persons, name)
		} else if k == 2 {
			locations = append(locations, name)
		}
	}
	type mention struct {
		Type  string `json:"type"`
		Label string `json:"label"`
		Text  string `json:"text"`
		Value string `json:"value"`
	}
	name := func(m mention) string {
		if m.Text != "" {
			return m.Text
		}
		return m.Value
	}
	var list []mention
	if json.Unmarshal(raw, &list) == nil {
		for _, m := range list {
			t := m.Type
			if t == "" {
				t = m.Label
			}
			add(kind(t), name(m))
		}
		return persons, locations
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil, nil
	}
	// Keys in a fixed order, so the lists do not depend on map order.
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		kd := kind(k)
		if kd == 0 {
			continue
		}
		var names []string
		if json.Unmarshal(obj[k], &names) == nil {
			for _, n := range names {
				add(kd, n)
			}
			continue
		}
		var ms []mention
		if json.Unmarshal(obj[k], &ms) == nil {
			for _, m := range ms {
				add(kd, name(m))
			}
		}
	}
	return persons, locations
}
