package http

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/callscope/callscope"
)

// segmentView is a transcript segment as the Call Sessions API shows it
// (seed 001 §5.2).
type segmentView struct {
	SegmentID  int     `json:"segment_id"`
	Text       string  `json:"text"`
	StartTime  float64 `json:"start_time"`
	EndTime    float64 `json:"end_time"`
	Duration   float64 `json:"duration"`
	Confidence float64 `json:"confidence"`
	Speaker    string  `json:"speaker"`
}

func segmentViews(segs []callscope.Segment) []segmentView {
	out := make([]segmentView, len(segs))
	for i, s := range segs {
		out[i] = segmentView{SegmentID: s.SegmentID, Text: s.Text, StartTime: s.StartTime, EndTime: s.EndTime,
			Duration: round3(s.Duration()), Confidence: s.Confidence, Speaker: s.Speaker}
	}
	return out
}

func round3(f float64) float64 {
	// Through math.Round, not int64: a time past 2^63 ms must not wrap.
	if r := math.Round(f*1000) / 1000; !math.IsInf(r, 0) && !math.IsNaN(r) {
		return r
	}
	return f
}

// sessionView is a call as the Call Sessions API shows it (seed 001 §5.1),
// followed by callscope's own fields.
type sessionView struct {
	CallID               string          `json:"call_id"`
	StartTime            *string         `json:"start_time"`
	LastActivity         *string         `json:"last_activity"`
	ConnectionInfo       json.RawMessage `json:"connection_info"`
	TranscriptSegments   []segmentView   `json:"transcript_segments"`
	CumulativeTranscript string          `json:"cumulative_transcript"`
	TotalAudioDuration   float64         `json:"total_audio_duration"`
	SegmentCount         int             `json:"segment_count"`
	Status               string          `json:"status"`
	ProcessingMode       string          `json:"processing_mode"`
	ProcessingPlan       map[string]any  `json:"processing_plan"`

	ID               string                 `json:"id"`
	ExternalIDs      []callscope.ExternalID `json:"external_ids"`
	CallStatus       callscope.CallStatus   `json:"call_status"`
	Direction        callscope.Direction    `json:"direction"`
	FromNumber       string                 `json:"from_number"`
	ToNumber         string                 `json:"to_number"`
	UserID           string                 `json:"user_id,omitempty"`
	ContactName      string                 `json:"contact_name,omitempty"`
	Title            string                 `json:"title,omitempty"`
	Purpose          string                 `json:"purpose,omitempty"`
	CampaignID       string                 `json:"campaign_id,omitempty"`
	ContactID        string                 `json:"contact_id,omitempty"`
	EndTime          *string                `json:"end_time"`
	DurationSeconds  float64                `json:"duration_seconds"`
	ProcessingStatus string                 `json:"processing_status"`
	Metadata         map[string]any         `json:"metadata"`
	CreatedAt        string                 `json:"created_at"`
	UpdatedAt        string                 `json:"updated_at"`
}

// sessionStatus maps the call lifecycle onto the Call Sessions API's
// status words (active, connection_closed, completed, failed); statuses the
// seed does not know keep their own name.
func sessionStatus(s callscope.CallStatus) string {
	switch s {
	case callscope.CallInitiating, callscope.CallRinging, callscope.CallInProgress:
		return "active"
	case callscope.CallEnding:
		return "connection_closed"
	}
	return string(s)
}

func isoTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

func newSessionView(c *callscope.Call, segs []callscope.Segment) sessionView {
	v := sessionView{
		CallID: c.PublicID(), StartTime: isoTime(c.StartedAt), LastActivity: isoTime(c.LastActivity),
		ConnectionInfo: c.ConnectionInfo, TranscriptSegments: segmentViews(segs), TotalAudioDuration: c.AudioSeconds,
		SegmentCount: len(segs), Status: sessionStatus(c.Status), ProcessingMode: string(c.ProcessingMode),
		ProcessingPlan: map[string]any{}, ID: c.ID, ExternalIDs: c.ExternalIDs, CallStatus: c.Status,
		Direction: c.Direction, FromNumber: c.From, ToNumber: c.To, UserID: c.UserID, ContactName: c.ContactName,
		Title: c.Title, Purpose: c.Purpose, CampaignID: c.CampaignID, ContactID: c.ContactID, EndTime: isoTime(c.EndedAt),
		DurationSeconds: c.DurationSeconds, ProcessingStatus: string(c.ProcessingStatus), Metadata: c.Metadata,
		CreatedAt: c.CreatedAt.Format(time.RFC3339Nano), UpdatedAt: c.UpdatedAt.Format(time.RFC3339Nano),
	}
	if v.StartTime == nil {
		v.StartTime = isoTime(&c.CreatedAt)
	}
	if len(v.ConnectionInfo) == 0 {
		v.ConnectionInfo = json.RawMessage("{}")
	}
	if v.Metadata == nil {
		v.Metadata = map[string]any{}
	}
	var b strings.Builder
	for i, s := range segs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strings.TrimSpace(s.Text))
	}
	v.CumulativeTranscript = b.String()
	return v
}

// createCallRequest is the body of POST /api/v1/calls.
type createCallRequest struct {
	CallID         string                 `json:"call_id"`
	ExternalIDs    []callscope.ExternalID `json:"external_ids"`
	Direction      string                 `json:"direction"`
	From           string                 `json:"from"`
	To             string                 `json:"to"`
	Status         string                 `json:"status"`
	ProcessingMode string                 `json:"processing_mode"`
	StartTime      *time.Time             `json:"start_time"`
	UserID         string                 `json:"user_id"`
	ContactName    string                 `json:"contact_name"`
	Title          string                 `json:"title"`
	Purpose        string                 `json:"purpose"`
	CampaignID     string                 `json:"campaign_id"`
	Metadata       map[string]any         `json:"metadata"`
}

// checkText validates a free-text field's length and encoding.
func checkText(f *fields, v string, max int, loc ...string) {
	if len(v) > max {
		f.add("String should have at most "+strconv.Itoa(max)+" characters", "string_too_long", loc...)
	} else if !utf8.ValidString(v) {
		f.add("String is not valid UTF-8", "value_error", loc...)
	}
}

// checkID validates an identifier: printable, no spaces, bounded.
func checkID(f *fields, v string, loc ...string) {
	if len(v) > 200 {
		f.add("Identifier should have at most 200 characters", "string_too_long", loc...)
		return
	}
	for _, c := range v {
		if c <= ' ' || c == 0x7f || c == '/' || c == '?' || c == '#' {
			f.add("Identifier may not contain spaces, control characters, '/', '?' or '#'", "value_error", loc...)
			return
		}
	}
}

func (s *Server) handleCreateCall(w http.ResponseWriter, r *http.Request) error {
	var req createCallRequest
	if err := decodeJSON(r, s.MaxBodyBytes, &req); err != nil {
		return err
	}
	var f fields
	c := &callscope.Call{TenantID: tenantID(r), From: req.From, To: req.To, UserID: req.UserID, ContactName: req.ContactName,
		Title: req.Title, Purpose: req.Purpose, CampaignID: req.CampaignID, Metadata: req.Metadata,
		Direction: callscope.Direction(req.Direction), Status: callscope.CallStatus(req.Status),
		ProcessingMode: callscope.ProcessingMode(req.ProcessingMode)}
	if req.CallID != "" {
		checkID(&f, req.CallID, "body", "call_id")
		c.ExternalIDs = append(c.ExternalIDs, callscope.ExternalID{Kind: callscope.ExtCallID, Value: req.CallID})
	}
	for i, e := range req.ExternalIDs {
		if e.Value == "" {
			f.add("Field required", "missing", "body", "external_ids", strconv.Itoa(i), "value")
		}
		checkID(&f, e.Value, "body", "external_ids", strconv.Itoa(i), "value")
		checkText(&f, e.Kind, 40, "body", "external_ids", strconv.Itoa(i), "kind")
		c.ExternalIDs = append(c.ExternalIDs, e)
	}
	if c.Direction == "" {
		c.Direction = callscope.Inbound
	} else if !c.Direction.Valid() {
		f.add("Input should be 'inbound' or 'outbound'", "enum", "body", "direction")
	}
	if c.Status != "" && !c.Status.Valid() { // empty: the call service's default
		f.add("Input should be a known call status", "enum", "body", "status")
	}
	if c.ProcessingMode == "" {
		c.ProcessingMode = callscope.ModePostcallOnly
	} else if !c.ProcessingMode.Valid() {
		f.add("Input should be 'postcall_only', 'realtime' or 'hybrid'", "enum", "body", "processing_mode")
	}
	for _, t := range []struct {
		v   string
		max int
		loc string
	}{{req.From, 64, "from"}, {req.To, 64, "to"}, {req.UserID, 200, "user_id"}, {req.ContactName, 200, "contact_name"},
		{req.Title, 500, "title"}, {req.Purpose, 2000, "purpose"}, {req.CampaignID, 200, "campaign_id"}} {
		checkText(&f, t.v, t.max, "body", t.loc)
	}
	if err := f.err(); err != nil {
		return err
	}
	if req.StartTime != nil {
		t := callscope.Timestamp(*req.StartTime)
		c.StartedAt = &t
	}
	if err := s.Calls.Create(r.Context(), c); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, newSessionView(c, nil))
	return nil
}

func (s *Server) handleGetCall(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Store.Call(r.Context(), tenantID(r), r.PathValue("call_id"))
	if err != nil {
		return err
	}
	segs, err := s.Store.Segments(r.Context(), c.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newSessionView(c, segs))
	return nil
}

// callListItem is one call in a listing.
type callListItem struct {
	CallID           string                 `json:"call_id"`
	ID               string                 `json:"id"`
	ExternalIDs      []callscope.ExternalID `json:"external_ids"`
	Status           string                 `json:"status"`
	CallStatus       callscope.CallStatus   `json:"call_status"`
	Direction        callscope.Direction    `json:"direction"`
	FromNumber       string                 `json:"from_number"`
	ToNumber         string                 `json:"to_number"`
	StartTime        *string                `json:"start_time"`
	EndTime          *string                `json:"end_time"`
	DurationSeconds  float64                `json:"duration_seconds"`
	ProcessingMode   string                 `json:"processing_mode"`
	ProcessingStatus string                 `json:"processing_status"`
	CreatedAt        string                 `json:"created_at"`
}

// maxListOffset bounds offset pagination; deeper pages are better reached
// with narrower filters.
const maxListOffset = 100000

func (s *Server) handleListCalls(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var f fields
	filter := callscope.CallFilter{TenantID: tenantID(r), After: q.Get("cursor")}
	cq := callscope.CallQuery{}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > callscope.MaxPageSize {
			f.add("Input should be a whole number from 1 to "+strconv.Itoa(callscope.MaxPageSize), "value_error", "query", "limit")
		}
		filter.Limit = n
	}
	if v := q.Get("status"); v != "" {
		for _, st := range strings.Split(v, ",") {
			st = strings.TrimSpace(st)
			// The Call Sessions API's own words select their statuses.
			switch st {
			case "active":
				filter.Status = append(filter.Status, callscope.CallInitiating, callscope.CallRinging, callscope.CallInProgress)
				continue
			case "connection_closed":
				filter.Status = append(filter.Status, callscope.CallEnding)
				continue
			}
			cs := callscope.CallStatus(st)
			if !cs.Valid() {
				f.add("Unknown call status "+strconv.Quote(st), "enum", "query", "status")
				continue
			}
			filter.Status = append(filter.Status, cs)
		}
	}
	if v := q.Get("direction"); v != "" {
		filter.Direction = callscope.Direction(v)
		if !filter.Direction.Valid() {
			f.add("Input should be 'inbound' or 'outbound'", "enum", "query", "direction")
		}
	}
	for _, b := range []struct {
		name string
		dst  **time.Time
	}{{"from", &cq.StartFrom}, {"to", &cq.StartTo}} {
		if v := q.Get(b.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				f.add("Input should be an RFC 3339 date-time such as 2025-10-24T08:00:00Z", "datetime_parsing", "query", b.name)
				continue
			}
			t = callscope.Timestamp(t)
			*b.dst = &t
		}
	}
	if cq.StartFrom != nil && cq.StartTo != nil && !cq.StartTo.After(*cq.StartFrom) {
		f.add("to should be after from", "value_error", "query", "to")
	}
	if v := q.Get("q"); v != "" {
		cq.Text = strings.TrimSpace(v)
		checkText(&f, cq.Text, 200, "query", "q")
	}
	switch cq.Sort = q.Get("sort"); cq.Sort {
	case "", callscope.SortCreatedAt, callscope.SortStartTime, callscope.SortDuration:
	default:
		f.add("Input should be 'created_at', 'start_time' or 'duration'", "enum", "query", "sort")
	}
	switch q.Get("order") {
	case "", "desc":
	case "asc":
		cq.Ascending = true
	default:
		f.add("Input should be 'asc' or 'desc'", "enum", "query", "order")
	}
	byCreation := cq.Sort == "" || cq.Sort == callscope.SortCreatedAt
	if filter.After != "" && !byCreation {
		f.add("cursor pages only the created_at order; use offset with sort="+cq.Sort, "value_error", "query", "cursor")
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil || n < 0 || n > maxListOffset:
			f.add("Input should be a whole number from 0 to "+strconv.Itoa(maxListOffset), "value_error", "query", "offset")
		case byCreation && n > 0:
			f.add("offset pages the start_time and duration orders; the created_at order pages with cursor", "value_error", "query", "offset")
		}
		cq.Offset = n
	}
	if err := f.err(); err != nil {
		return err
	}
	if filter.Limit == 0 {
		filter.Limit = 50
	}
	cq.CallFilter = filter
	calls, err := s.Store.SearchCalls(r.Context(), cq)
	if err != nil {
		return err
	}
	items := make([]callListItem, len(calls))
	for i, c := range calls {
		start := c.StartedAt
		if start == nil {
			start = &c.CreatedAt // as in the session view
		}
		items[i] = callListItem{CallID: c.PublicID(), ID: c.ID, ExternalIDs: c.ExternalIDs, Status: sessionStatus(c.Status),
			CallStatus: c.Status, Direction: c.Direction, FromNumber: c.From, ToNumber: c.To, StartTime: isoTime(start),
			EndTime: isoTime(c.EndedAt), DurationSeconds: c.DurationSeconds, ProcessingMode: string(c.ProcessingMode),
			ProcessingStatus: string(c.ProcessingStatus), CreatedAt: c.CreatedAt.Format(time.RFC3339Nano)}
	}
	var next *string
	var nextOffset *int
	if len(calls) == filter.Limit {
		if byCreation {
			id := calls[len(calls)-1].ID
			next = &id
		} else {
			n := cq.Offset + len(calls)
			nextOffset = &n
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": items, "next_cursor": next, "next_offset": nextOffset, "limit": filter.Limit})
	return nil
}
