package http

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/pipeline"
)

// The calls and analyzers API of seed 003, as the console uses it: calls
// with their transcription and analysis groups (one per analyzer, every
// run ever, appended on re-run), recordings, analyzers, and backfills of
// one analyzer over past calls.

// analyzerView is an analyzer as the API shows it.
type analyzerView struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Kind         string          `json:"kind"`
	Prompt       string          `json:"prompt"`
	OutputSchema json.RawMessage `json:"output_schema"`
	Active       bool            `json:"active"`
	Version      int             `json:"version"`
	CreatedAt    string          `json:"created_at"`
	UpdatedAt    string          `json:"updated_at"`
}

func newAnalyzerView(a *callscope.Analyzer) analyzerView {
	schema := a.OutputSchema
	if len(schema) == 0 {
		schema = json.RawMessage("null")
	}
	return analyzerView{ID: a.ID, Name: a.Name, Kind: a.Kind, Prompt: a.Prompt, OutputSchema: schema, Active: a.Active,
		Version: a.Version, CreatedAt: a.CreatedAt.Format(time.RFC3339Nano), UpdatedAt: a.UpdatedAt.Format(time.RFC3339Nano)}
}

// Analyzer kinds.
const (
	kindBuiltin = "builtin"
	kindLLM     = "llm"
)

// analyzerInput is the body of POST and PATCH /api/analyzers. Absent
// fields are nil; output_schema is also "null" when sent as null.
type analyzerInput struct {
	Name         *string         `json:"name"`
	Kind         *string         `json:"kind"`
	Prompt       *string         `json:"prompt"`
	OutputSchema json.RawMessage `json:"output_schema"`
	Active       *bool           `json:"active"`
}

// apply sets the fields given in in on a.
func (in analyzerInput) apply(a *callscope.Analyzer) {
	if in.Name != nil {
		a.Name = strings.TrimSpace(*in.Name)
	}
	if in.Kind != nil {
		a.Kind = *in.Kind
	}
	if in.Prompt != nil {
		a.Prompt = strings.TrimSpace(*in.Prompt)
	}
	if in.OutputSchema != nil {
		if string(bytes.TrimSpace(in.OutputSchema)) == "null" {
			a.OutputSchema = nil
		} else {
			a.OutputSchema = in.OutputSchema
		}
	}
	if in.Active != nil {
		a.Active = *in.Active
	}
}

// builtinRules lists the built-in rule sets an analyzer of kind builtin
// names in its prompt.
var builtinRules = []string{pipeline.RuleSummary, pipeline.RuleClassification, pipeline.RuleQA, pipeline.RuleTodos, pipeline.RuleEntities}

// validateAnalyzer checks an analyzer as it would be stored.
func validateAnalyzer(a *callscope.Analyzer) error {
	var f fields
	switch {
	case a.Name == "":
		f.add("Field required", "missing", "body", "name")
	default:
		checkText(&f, a.Name, 200, "body", "name")
	}
	switch a.Kind {
	case "":
		f.add("Field required", "missing", "body", "kind")
	case kindBuiltin:
		rule := strings.ToLower(a.Prompt)
		switch {
		case a.Prompt == "":
			f.add("Field required: a built-in rule set ("+strings.Join(builtinRules, ", ")+" or keywords: a, b)", "missing", "body", "prompt")
		case strings.HasPrefix(rule, pipeline.RuleKeywords):
			n := 0
			for _, k := range strings.Split(strings.TrimPrefix(rule, pipeline.RuleKeywords), ",") {
				if strings.TrimSpace(k) != "" {
					n++
				}
			}
			if n == 0 {
				f.add("keywords: needs at least one keyword, as in 'keywords: refund, cancel'", "value_error", "body", "prompt")
			}
			checkText(&f, a.Prompt, 2000, "body", "prompt")
		default:
			ok := false
			for _, r := range builtinRules {
				ok = ok || rule == r
			}
			if !ok {
				f.add("Input should be a built-in rule set: "+strings.Join(builtinRules, ", ")+" or keywords: a, b", "enum", "body", "prompt")
			}
		}
		if len(a.OutputSchema) > 0 {
			f.add("output_schema applies to analyzers of kind llm", "value_error", "body", "output_schema")
		}
	case kindLLM:
		if a.Prompt == "" {
			f.add("Field required: the instructions for the model", "missing", "body", "prompt")
		}
		checkText(&f, a.Prompt, 20000, "body", "prompt")
		if len(a.OutputSchema) > 0 {
			if msg := checkObjectSchema(a.OutputSchema); msg != "" {
				f.add(msg, "value_error", "body", "output_schema")
			}
		}
	default:
		f.add("Input should be 'builtin' or 'llm'", "enum", "body", "kind")
	}
	return f.err()
}

// checkObjectSchema says what is wrong with an output schema, "" if
// nothing: it must be a JSON Schema for an object.
func checkObjectSchema(raw json.RawMessage) string {
	if len(raw) > 64<<10 {
		return "The output schema should be at most 64 KiB"
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return "Input should be a JSON Schema object"
	}
	if t, ok := m["type"].(string); !ok || t != "object" {
		return `The output schema should describe an object: "type": "object"`
	}
	if p, ok := m["properties"]; ok {
		if _, ok := p.(map[string]any); !ok {
			return `"properties" should be an object`
		}
	}
	if req, ok := m["required"]; ok {
		list, ok := req.([]any)
		if !ok {
			return `"required" should be an array of property names`
		}
		for _, x := range list {
			if _, ok := x.(string); !ok {
				return `"required" should be an array of property names`
			}
		}
	}
	return ""
}

func (s *Server) handleListAnalyzers(w http.ResponseWriter, r *http.Request) error {
	var f fields
	active := queryBool(&f, r, "active", false)
	if err := f.err(); err != nil {
		return err
	}
	list, err := s.Store.Analyzers(r.Context(), tenantID(r), active)
	if err != nil {
		return err
	}
	out := make([]analyzerView, len(list))
	for i, a := range list {
		out[i] = newAnalyzerView(a)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleCreateAnalyzer(w http.ResponseWriter, r *http.Request) error {
	var in analyzerInput
	if err := decodeJSON(r, bodyLimit(r), &in); err != nil {
		return err
	}
	a := &callscope.Analyzer{TenantID: tenantID(r), Active: true}
	in.apply(a)
	if err := validateAnalyzer(a); err != nil {
		return err
	}
	if err := s.Store.CreateAnalyzer(r.Context(), a); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, newAnalyzerView(a))
	return nil
}

func (s *Server) handleGetAnalyzer(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Store.Analyzer(r.Context(), tenantID(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newAnalyzerView(a))
	return nil
}

// handleUpdateAnalyzer changes the fields given; each change raises the
// analyzer's version. Past runs keep the version they ran with.
func (s *Server) handleUpdateAnalyzer(w http.ResponseWriter, r *http.Request) error {
	var in analyzerInput
	if err := decodeJSON(r, bodyLimit(r), &in); err != nil {
		return err
	}
	if in.Name != nil && strings.TrimSpace(*in.Name) == "" {
		return callscope.ValidationError(callscope.FieldError{Loc: []string{"body", "name"}, Msg: "String should not be empty", Type: "string_too_short"})
	}
	a, err := s.Store.Analyzer(r.Context(), tenantID(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	before := *a
	in.apply(a)
	if err := validateAnalyzer(a); err != nil {
		return err
	}
	if a.Name != before.Name || a.Kind != before.Kind || a.Prompt != before.Prompt || a.Active != before.Active ||
		!sameJSON(a.OutputSchema, before.OutputSchema) {
		if err := s.Store.UpdateAnalyzer(r.Context(), a); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, newAnalyzerView(a))
	return nil
}

// sameJSON reports whether two JSON documents are equal as values.
func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

// handleDeleteAnalyzer removes an analyzer; its runs stay with the calls,
// under the name they recorded.
func (s *Server) handleDeleteAnalyzer(w http.ResponseWriter, r *http.Request) error {
	if err := s.Store.DeleteAnalyzer(r.Context(), tenantID(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// backfillInput is the body of POST /api/analyzers/{id}/backfill; every
// field is optional.
type backfillInput struct {
	From   *string  `json:"from"`
	To     *string  `json:"to"`
	Status []string `json:"status"`
	Limit  *int     `json:"limit"`
}

// maxBackfillLimit bounds one backfill's limit.
const maxBackfillLimit = 1000000

// backfillFilterView is the call filter a backfill runs with.
type backfillFilterView struct {
	From   *string                `json:"from"`
	To     *string                `json:"to"`
	Status []callscope.CallStatus `json:"status"`
	Limit  *int                   `json:"limit"`
}

// backfillView is a backfill with its progress.
type backfillView struct {
	ID          string             `json:"id"`
	AnalyzerID  string             `json:"analyzer_id"`
	Status      string             `json:"status"`
	Filter      backfillFilterView `json:"filter"`
	Total       int                `json:"total"`
	Done        int                `json:"done"`
	FailedCount int                `json:"failed_count"`
	Percent     float64            `json:"percent"`
	LastError   *string            `json:"last_error"`
	CreatedAt   string             `json:"created_at"`
	StartedAt   *string            `json:"started_at"`
	FinishedAt  *string            `json:"finished_at"`
	CancelledAt *string            `json:"cancelled_at"`
}

func newBackfillView(b *callscope.Backfill) backfillView {
	v := backfillView{ID: b.ID, AnalyzerID: b.AnalyzerID, Status: b.Status, Total: b.Total, Done: b.Done,
		FailedCount: b.Failed, CreatedAt: b.CreatedAt.Format(time.RFC3339Nano), StartedAt: isoTime(b.StartedAt),
		FinishedAt: isoTime(b.FinishedAt), CancelledAt: isoTime(b.CancelledAt),
		Filter: backfillFilterView{From: isoTime(b.Filter.From), To: isoTime(b.Filter.To), Status: b.Filter.Status}}
	if v.Filter.Status == nil {
		v.Filter.Status = []callscope.CallStatus{}
	}
	if b.Filter.Limit > 0 {
		n := b.Filter.Limit
		v.Filter.Limit = &n
	}
	if b.LastError != "" {
		v.LastError = &b.LastError
	}
	switch {
	case b.Status == callscope.BackfillCompleted:
		v.Percent = 100
	case b.Total > 0:
		v.Percent = min(100, float64(int(1000*float64(b.Done+b.Failed)/float64(b.Total)+0.5))/10)
	}
	return v
}

// handleStartBackfill creates a backfill of the analyzer over the past
// calls the filter selects (those with a transcript, newest first) and
// queues its job in the same transaction. 202 with the backfill.
func (s *Server) handleStartBackfill(w http.ResponseWriter, r *http.Request) error {
	var in backfillInput
	if r.ContentLength != 0 {
		if err := decodeJSON(r, bodyLimit(r), &in); err != nil {
			return err
		}
	}
	var f fields
	filter := callscope.BackfillFilter{}
	for _, b := range []struct {
		name string
		v    *string
		dst  **time.Time
	}{{"from", in.From, &filter.From}, {"to", in.To, &filter.To}} {
		if b.v == nil {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, *b.v)
		if err != nil {
			f.add("Input should be an RFC 3339 date-time such as 2025-10-24T08:00:00Z", "datetime_parsing", "body", b.name)
			continue
		}
		t = callscope.Timestamp(t)
		*b.dst = &t
	}
	if filter.From != nil && filter.To != nil && !filter.To.After(*filter.From) {
		f.add("to should be after from", "value_error", "body", "to")
	}
	for i, st := range in.Status {
		cs := callscope.CallStatus(st)
		if !cs.Valid() {
			f.add("Unknown call status "+strconv.Quote(st), "enum", "body", "status", strconv.Itoa(i))
		}
		filter.Status = append(filter.Status, cs)
	}
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > maxBackfillLimit {
			f.add("Input should be a whole number from 1 to "+strconv.Itoa(maxBackfillLimit), "value_error", "body", "limit")
		}
		filter.Limit = *in.Limit
	}
	if err := f.err(); err != nil {
		return err
	}
	ctx := r.Context()
	a, err := s.Store.Analyzer(ctx, tenantID(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	b := &callscope.Backfill{TenantID: a.TenantID, AnalyzerID: a.ID, Filter: filter}
	if err := s.Analysis.StartBackfill(ctx, b); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, newBackfillView(b))
	return nil
}

func (s *Server) handleListBackfills(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Store.Analyzer(r.Context(), tenantID(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	list, err := s.Store.Backfills(r.Context(), a.TenantID, a.ID)
	if err != nil {
		return err
	}
	out := make([]backfillView, len(list))
	for i, b := range list {
		out[i] = newBackfillView(b)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// backfillOf finds a backfill of an analyzer of the caller's tenant.
func (s *Server) backfillOf(r *http.Request) (*callscope.Backfill, error) {
	b, err := s.Store.Backfill(r.Context(), tenantID(r), r.PathValue("backfill_id"))
	if err != nil {
		return nil, err
	}
	if b.AnalyzerID != r.PathValue("id") {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "backfill not found")
	}
	return b, nil
}

func (s *Server) handleGetBackfill(w http.ResponseWriter, r *http.Request) error {
	b, err := s.backfillOf(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newBackfillView(b))
	return nil
}

// handleCancelBackfill cancels a queued or running backfill: its job stops
// before the next call, and the runs it appended stay. 409 if it has
// already finished.
func (s *Server) handleCancelBackfill(w http.ResponseWriter, r *http.Request) error {
	b, err := s.backfillOf(r)
	if err != nil {
		return err
	}
	b, err = s.Store.CancelBackfill(r.Context(), b.TenantID, b.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newBackfillView(b))
	return nil
}
