package http

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/call"
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
	end := s.Calls.End
	if !s.hangupLive(r, reason) {
		// Another replica may hold the stream: it then requests the
		// processing itself once the recording is attached.
		c, err := s.sessionCall(r)
		if err != nil {
			return err
		}
		if call.StreamedElsewhere(c, s.Now(), liveWindow) {
			end = s.Calls.EndElsewhere
		}
	}
	if _, err := end(r.Context(), tenantID(r), r.PathValue("call_id"), reason); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, "Call ended successfully")
	return nil
}
