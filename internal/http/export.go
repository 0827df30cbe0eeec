package http

import (
	"bufio"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/callscope/callscope"
)

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
	if e.duration = c.DurationSeconds; e.duration <= 0 {
		// A call that was never timed (a recording processed on its own)
		// lasts as long as its recording, or at least its transcript.
		recs, err := s.Store.Recordings(ctx, c.ID)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			e.duration = max(e.duration, rec.DurationSeconds)
		}
		e.duration = max(e.duration, transcriptDuration(c, segs))
	}
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
	// duration is the call's length in seconds: as timed, else its
	// recording's or its transcript's.
	duration    float64
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
		Duration: round3(e.duration), Status: sessionStatus(c.Status)})
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
	line("Duration: ", strconv.FormatFloat(round3(e.duration), 'f', -1, 64), " seconds")
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
