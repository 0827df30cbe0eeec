package http

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/analyze"
)

// consoleCall is seed 003's Call.
type consoleCall struct {
	ID           string `json:"id"`
	FromToNumber string `json:"from_to_number"`
	CallSID      string `json:"call_sid"`
	HasRecording bool   `json:"has_recording"`
	CreatedAt    string `json:"created_at"`
}

// consoleCallDetails is seed 003's CallDetails.
type consoleCallDetails struct {
	consoleCall
	Transcription  *string         `json:"transcription"`
	AnalysisGroups []analysisGroup `json:"analysis_groups"`
}

// analysisGroup is seed 003's CallAnalysisGroup: one analyzer's runs on a
// call, oldest first.
type analysisGroup struct {
	AnalyzerID   string        `json:"analyzer_id"`
	AnalyzerName string        `json:"analyzer_name"`
	Runs         []analysisRun `json:"runs"`
}

// analysisRun is seed 003's CallAnalysisRun.
type analysisRun struct {
	ID           string `json:"id"`
	AnalysisText string `json:"analysis_text"`
	CreatedAt    string `json:"created_at"`
}

// twilioSID matches a Twilio CallSid whatever kind it was stored under.
var twilioSID = regexp.MustCompile(`^CA[0-9a-fA-F]{32}$`)

// callSID is the call's Twilio CallSid if it has one, else its first
// external id, else "".
func callSID(c *callscope.Call) string {
	for _, k := range callscope.CallSIDKinds {
		if v := c.ExternalID(k); v != "" {
			return v
		}
	}
	for _, e := range c.ExternalIDs {
		if twilioSID.MatchString(e.Value) {
			return e.Value
		}
	}
	if len(c.ExternalIDs) > 0 {
		return c.ExternalIDs[0].Value
	}
	return ""
}

func newConsoleCall(c *callscope.Call, hasRecording bool) consoleCall {
	return consoleCall{ID: c.ID, FromToNumber: c.From + " -> " + c.To, CallSID: callSID(c), HasRecording: hasRecording,
		CreatedAt: c.CreatedAt.Format(time.RFC3339Nano)}
}

// transcription is the transcript as text: one line per segment, led by
// its speaker when known; nil when the call has no words.
func transcription(segs []callscope.Segment) *string {
	var b strings.Builder
	for _, s := range segs {
		text := strings.TrimSpace(s.Text)
		if text == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		if s.Speaker != "" {
			b.WriteString(s.Speaker)
			b.WriteString(": ")
		}
		b.WriteString(text)
	}
	if b.Len() == 0 {
		return nil
	}
	t := b.String()
	return &t
}

// analysisGroups groups a call's runs by analyzer, groups in the order of
// their first run, runs oldest first. A group is named after the analyzer
// as it is now, or — for a deleted analyzer — as its latest run recorded.
func analysisGroups(runs []*callscope.AnalyzerRun, analyzers []*callscope.Analyzer) []analysisGroup {
	names := make(map[string]string, len(analyzers))
	for _, a := range analyzers {
		names[a.ID] = a.Name
	}
	out := []analysisGroup{}
	index := map[string]int{}
	for _, r := range runs {
		i, ok := index[r.AnalyzerID]
		if !ok {
			i = len(out)
			index[r.AnalyzerID] = i
			out = append(out, analysisGroup{AnalyzerID: r.AnalyzerID, Runs: []analysisRun{}})
		}
		g := &out[i]
		g.AnalyzerName = r.AnalyzerName
		if n, ok := names[r.AnalyzerID]; ok {
			g.AnalyzerName = n
		}
		g.Runs = append(g.Runs, analysisRun{ID: r.ID, AnalysisText: r.AnalysisText, CreatedAt: r.CreatedAt.Format(time.RFC3339Nano)})
	}
	return out
}

// handleConsoleCalls lists the tenant's calls, newest first, as a bare
// array. Pages: ?limit= (1–500, default 50) with ?cursor= (the id of the
// last call of the previous page) or ?offset=; a full page carries the next
// cursor in X-Next-Cursor and a Link rel="next" header.
func (s *Server) handleConsoleCalls(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var f fields
	cq := callscope.CallQuery{CallFilter: callscope.CallFilter{TenantID: tenantID(r), Limit: 50}}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > callscope.MaxPageSize {
			f.add("Input should be a whole number from 1 to "+strconv.Itoa(callscope.MaxPageSize), "value_error", "query", "limit")
		}
		cq.Limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxListOffset {
			f.add("Input should be a whole number from 0 to "+strconv.Itoa(maxListOffset), "value_error", "query", "offset")
		}
		cq.Offset = n
	}
	if v := q.Get("cursor"); v != "" {
		checkID(&f, v, "query", "cursor")
		if cq.Offset > 0 {
			f.add("Use cursor or offset, not both", "value_error", "query", "cursor")
		}
		cq.After = v
	}
	if err := f.err(); err != nil {
		return err
	}
	calls, err := s.Store.SearchCalls(r.Context(), cq)
	if err != nil {
		return err
	}
	ids := make([]string, len(calls))
	for i, c := range calls {
		ids[i] = c.ID
	}
	withRec, err := s.Store.CallsWithRecordings(r.Context(), ids)
	if err != nil {
		return err
	}
	out := make([]consoleCall, len(calls))
	for i, c := range calls {
		out[i] = newConsoleCall(c, withRec[c.ID])
	}
	if len(calls) == cq.Limit {
		next := calls[len(calls)-1].ID
		w.Header().Set("X-Next-Cursor", next)
		w.Header().Set("Link", fmt.Sprintf(`</api/calls?limit=%d&cursor=%s>; rel="next"`, cq.Limit, url.QueryEscape(next)))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleConsoleCall answers seed 003's CallDetails for a call named by
// callscope's id or any external id.
func (s *Server) handleConsoleCall(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	c, err := s.Store.Call(ctx, tenantID(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	segs, err := s.Store.Segments(ctx, c.ID)
	if err != nil {
		return err
	}
	recs, err := s.Store.Recordings(ctx, c.ID)
	if err != nil {
		return err
	}
	runs, err := s.Store.AnalyzerRuns(ctx, c.ID)
	if err != nil {
		return err
	}
	analyzers, err := s.Store.Analyzers(ctx, c.TenantID, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, consoleCallDetails{consoleCall: newConsoleCall(c, len(recs) > 0),
		Transcription: transcription(segs), AnalysisGroups: analysisGroups(runs, analyzers)})
	return nil
}

// rerunView answers POST /api/calls/{id}/rerun.
type rerunView struct {
	CallID    string        `json:"call_id"`
	JobID     int64         `json:"job_id"`
	Status    string        `json:"status"`
	Analyzers []analyzerRef `json:"analyzers"`
}

// analyzerRef names an analyzer.
type analyzerRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// handleRerun queues a job that runs every active analyzer on the call's
// transcript once more, appending one run each. 409 when the call has no
// transcript or the tenant no active analyzer.
func (s *Server) handleRerun(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	c, err := s.Store.Call(ctx, tenantID(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	segs, err := s.Store.Segments(ctx, c.ID)
	if err != nil {
		return err
	}
	if !analyze.HasTranscript(segs) {
		return callscope.Errorf(callscope.ECONFLICT, "The call has no transcription to analyse")
	}
	analyzers, err := s.Store.Analyzers(ctx, c.TenantID, true)
	if err != nil {
		return err
	}
	if len(analyzers) == 0 {
		return callscope.Errorf(callscope.ECONFLICT, "The organization has no active analyzer")
	}
	v := rerunView{CallID: c.ID, Status: "queued", Analyzers: make([]analyzerRef, len(analyzers))}
	for i, a := range analyzers {
		v.Analyzers[i] = analyzerRef{ID: a.ID, Name: a.Name}
	}
	if v.JobID, err = s.Analysis.Rerun(ctx, c, analyzers); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, v)
	return nil
}

// handleConsoleRecording serves the call's recording: its MP3 if it has
// one (as audio/mpeg), else its first recording with its stored type, with
// Range requests. 404 when the call has none.
func (s *Server) handleConsoleRecording(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	c, err := s.Store.Call(ctx, tenantID(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	recs, err := s.Store.Recordings(ctx, c.ID)
	if err != nil {
		return err
	}
	var rec *callscope.Recording
	for _, x := range recs {
		if isMP3(x) {
			rec = x
			break
		}
	}
	if rec == nil && len(recs) > 0 {
		rec = recs[0]
	}
	if rec == nil {
		return callscope.Errorf(callscope.ENOTFOUND, "The call has no recording")
	}
	ct := rec.ContentType
	if isMP3(rec) {
		ct = "audio/mpeg"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	rec.ContentType = ct
	name := callSID(c)
	if name == "" {
		name = c.ID
	}
	ext := rec.Format
	if ext == "" {
		ext = "bin"
	}
	w.Header().Set("Content-Disposition", mimeInline(name+"."+ext))
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if rec.StorageKey != "" && !strings.HasPrefix(rec.StorageKey, "remote:") && s.Recordings != nil {
		o, err := s.Recordings.Open(ctx, rec.StorageKey)
		if err != nil {
			return err
		}
		defer o.Close()
		w.Header().Set("Content-Type", ct)
		w.Header().Set("ETag", fmt.Sprintf(`"%s-%d"`, rec.ID, o.Size()))
		http.ServeContent(w, r, "", o.ModTime(), o)
		return nil
	}
	if rec.SourceURL == "" {
		return callscope.Errorf(callscope.ENOTFOUND, "The call's recording is not stored")
	}
	return s.proxyRecording(w, r, rec)
}

func isMP3(rec *callscope.Recording) bool {
	return strings.EqualFold(rec.Format, "mp3") || strings.EqualFold(rec.ContentType, "audio/mpeg") ||
		strings.EqualFold(rec.ContentType, "audio/mp3")
}

// mimeInline is a Content-Disposition header showing the file inline
// under a name made safe for the header.
func mimeInline(name string) string {
	safe := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '/' {
			return '_'
		}
		return r
	}, name)
	return `inline; filename="` + safe + `"`
}
