package callscope

import (
	"encoding/json"
	"time"
)

// CallStatus is where a call is in its life.
type CallStatus string

// Call lifecycle: scheduled → initiating → ringing → in_progress → ending →
// one of the final statuses.
const (
	CallScheduled  CallStatus = "scheduled"
	CallInitiating CallStatus = "initiating"
	CallRinging    CallStatus = "ringing"
	CallInProgress CallStatus = "in_progress"
	CallEnding     CallStatus = "ending"
	CallCompleted  CallStatus = "completed"
	CallFailed     CallStatus = "failed"
	CallCancelled  CallStatus = "cancelled"
	CallVoicemail  CallStatus = "voicemail"
	CallNoAnswer   CallStatus = "no_answer"
	CallBusy       CallStatus = "busy"
)

// CallStatuses lists every valid call status in lifecycle order.
var CallStatuses = []CallStatus{
	CallScheduled, CallInitiating, CallRinging, CallInProgress, CallEnding,
	CallCompleted, CallFailed, CallCancelled, CallVoicemail, CallNoAnswer, CallBusy,
}

// Valid reports whether s is a known status.
func (s CallStatus) Valid() bool {
	for _, v := range CallStatuses {
		if s == v {
			return true
		}
	}
	return false
}

// Final reports whether a call in status s is over.
func (s CallStatus) Final() bool {
	switch s {
	case CallCompleted, CallFailed, CallCancelled, CallVoicemail, CallNoAnswer, CallBusy:
		return true
	}
	return false
}

// Direction says who placed the call.
type Direction string

// Call directions.
const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// Valid reports whether d is a known direction.
func (d Direction) Valid() bool { return d == Inbound || d == Outbound }

// ProcessingMode says how a live call is analysed (seed 001).
type ProcessingMode string

// Processing modes.
const (
	ModePostcallOnly ProcessingMode = "postcall_only"
	ModeRealtime     ProcessingMode = "realtime"
	ModeHybrid       ProcessingMode = "hybrid"
)

// Valid reports whether m is a known processing mode.
func (m ProcessingMode) Valid() bool {
	return m == ModePostcallOnly || m == ModeRealtime || m == ModeHybrid
}

// ProcessingStatus is the state of a call's post-call pipeline.
type ProcessingStatus string

// Processing statuses (seed 000 and seed 001 §3.17). The zero value means
// processing was never requested.
const (
	ProcessingNone       ProcessingStatus = ""
	ProcessingPending    ProcessingStatus = "pending"
	ProcessingInProgress ProcessingStatus = "in_progress"
	ProcessingCompleted  ProcessingStatus = "completed"
	ProcessingFailed     ProcessingStatus = "failed"
)

// ExternalID is an identifier a call came with from another system: a PBX
// unique id ("1761295415.12887"), a Twilio CallSid, a voice-bot session_id.
// Within a tenant an external id names at most one call.
type ExternalID struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// Call is the one record kept per phone call, per tenant.
type Call struct {
	ID          string       `json:"id"`
	TenantID    string       `json:"tenant_id"`
	UserID      string       `json:"user_id,omitempty"`
	ExternalIDs []ExternalID `json:"external_ids"`

	Direction   Direction `json:"direction"`
	From        string    `json:"from"`
	To          string    `json:"to"`
	ContactName string    `json:"contact_name,omitempty"`
	Title       string    `json:"title,omitempty"`
	Purpose     string    `json:"purpose,omitempty"`
	Script      string    `json:"script,omitempty"`
	CampaignID  string    `json:"campaign_id,omitempty"`
	// ContactID is the contact of the tenant's contact book whose number
	// is the remote party's, linked when the call is created or ends.
	ContactID string `json:"contact_id,omitempty"`

	Status          CallStatus `json:"status"`
	ScheduledAt     *time.Time `json:"scheduled_at,omitempty"`
	StartedAt       *time.Time `json:"started_at,omitempty"`
	AnsweredAt      *time.Time `json:"answered_at,omitempty"`
	EndedAt         *time.Time `json:"ended_at,omitempty"`
	CompletedAt     *time.Time `json:"completed_at,omitempty"`
	DurationSeconds float64    `json:"duration_seconds"`
	DisconnectedBy  string     `json:"disconnected_by,omitempty"`
	ErrorInfo       string     `json:"error_info,omitempty"`

	// Live session state.
	ProcessingMode ProcessingMode  `json:"processing_mode"`
	ConnectionInfo json.RawMessage `json:"connection_info,omitempty"`
	LastActivity   *time.Time      `json:"last_activity,omitempty"`
	AudioSeconds   float64         `json:"audio_seconds"`

	// Transcript and results. Result documents are JSON whose shape belongs
	// to the stage that wrote them.
	Language            string          `json:"language,omitempty"`
	Translation         string          `json:"translation,omitempty"`
	TranslationLanguage string          `json:"translation_language,omitempty"`
	Entities            json.RawMessage `json:"entities,omitempty"`
	Classification      json.RawMessage `json:"classification,omitempty"`
	Summary             json.RawMessage `json:"summary,omitempty"`
	QA                  json.RawMessage `json:"qa,omitempty"`
	Insights            json.RawMessage `json:"insights,omitempty"`
	Todos               json.RawMessage `json:"todos,omitempty"`
	// Raw keeps payloads from other platforms verbatim, by name
	// (post_call_analysis, qc_analysis, telemetry, …).
	Raw      map[string]json.RawMessage `json:"raw,omitempty"`
	Metadata map[string]any             `json:"metadata,omitempty"`

	// Processing state, summarised; details live in Processing.
	ProcessingStatus ProcessingStatus `json:"processing_status"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Version rises with every change to the call or its transcript; a
	// rendering of the call stays valid while its version does.
	Version int64 `json:"-"`
}

// ExternalID returns the call's external id of the given kind, or "".
func (c *Call) ExternalID(kind string) string {
	for _, e := range c.ExternalIDs {
		if e.Kind == kind {
			return e.Value
		}
	}
	return ""
}

// PublicID is the id a caller knows the call by: its first external id, or
// callscope's own id when it came with none.
func (c *Call) PublicID() string {
	if len(c.ExternalIDs) > 0 {
		return c.ExternalIDs[0].Value
	}
	return c.ID
}

// CallFilter selects calls in a listing. Zero fields select everything.
type CallFilter struct {
	TenantID  string // required
	UserID    string
	Status    []CallStatus
	Direction Direction
	// CreatedFrom and CreatedTo bound created_at (inclusive, exclusive).
	CreatedFrom *time.Time
	CreatedTo   *time.Time
	// After is a cursor: the id of the last call of the previous page.
	After string
	Limit int
}

// Segment is one time-ordered piece of a call's transcript.
type Segment struct {
	CallID     string  `json:"-"`
	SegmentID  int     `json:"segment_id"`
	Speaker    string  `json:"speaker"`
	StartTime  float64 `json:"start_time"`
	EndTime    float64 `json:"end_time"`
	Text       string  `json:"text"`
	Confidence float64 `json:"confidence"`
}

// Duration is the segment's length in seconds.
func (s Segment) Duration() float64 { return s.EndTime - s.StartTime }

// Recording is one stored audio file of a call.
type Recording struct {
	ID              string    `json:"id"`
	CallID          string    `json:"call_id"`
	TenantID        string    `json:"-"`
	Format          string    `json:"format"`       // wav, mp3, gsm, …
	ContentType     string    `json:"content_type"` // audio/mpeg, audio/wav, …
	Channels        int       `json:"channels"`
	DurationSeconds float64   `json:"duration_seconds"`
	SizeBytes       int64     `json:"size_bytes"`
	StorageKey      string    `json:"storage_key"`
	SourceURL       string    `json:"source_url,omitempty"`
	AccessToken     string    `json:"-"`
	CreatedAt       time.Time `json:"created_at"`
}

// Processing is the state of a call's post-call pipeline run.
type Processing struct {
	CallID          string           `json:"call_id"`
	TenantID        string           `json:"-"`
	Status          ProcessingStatus `json:"processing_status"`
	CurrentStage    string           `json:"current_stage"`
	StagesCompleted []string         `json:"stages_completed"`
	StagesRemaining []string         `json:"stages_remaining"`
	StartedAt       *time.Time       `json:"started_at,omitempty"`
	FinishedAt      *time.Time       `json:"finished_at,omitempty"`
	Attempts        int              `json:"attempts"`
	Errors          []StageError     `json:"errors"`
	Stages          []StageRun       `json:"stages"`
	Config          map[string]any   `json:"pipeline_config"`
	UpdatedAt       time.Time        `json:"updated_at"`
}

// StageError is one error recorded by a pipeline stage.
type StageError struct {
	Stage     string    `json:"stage"`
	Message   string    `json:"message"`
	Retryable bool      `json:"retryable"`
	At        time.Time `json:"at"`
}

// StageRun records one finished (or skipped) pipeline stage.
type StageRun struct {
	Stage        string    `json:"stage"`
	Status       string    `json:"status"` // completed, skipped, failed
	Reason       string    `json:"reason,omitempty"`
	StartedAt    time.Time `json:"started_at"`
	Seconds      float64   `json:"seconds"`
	AudioSeconds float64   `json:"audio_seconds,omitempty"`
	Tokens       int       `json:"tokens,omitempty"`
	Cost         float64   `json:"cost,omitempty"`
}

// Analyzer is a tenant's named analysis run against call transcripts
// (seed 003): a built-in rule set or an LLM prompt with an output schema.
type Analyzer struct {
	ID           string          `json:"id"`
	TenantID     string          `json:"-"`
	Name         string          `json:"name"`
	Kind         string          `json:"kind"` // builtin, llm
	Prompt       string          `json:"prompt,omitempty"`
	OutputSchema json.RawMessage `json:"output_schema,omitempty"`
	Active       bool            `json:"active"`
	Version      int             `json:"version"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
}

// AnalyzerRun is one execution of an analyzer on a call. Runs are appended,
// never overwritten.
type AnalyzerRun struct {
	ID              string          `json:"id"`
	CallID          string          `json:"call_id"`
	TenantID        string          `json:"-"`
	AnalyzerID      string          `json:"analyzer_id"`
	AnalyzerName    string          `json:"analyzer_name"`
	AnalyzerVersion int             `json:"analyzer_version"`
	AnalysisText    string          `json:"analysis_text"`
	Output          json.RawMessage `json:"output,omitempty"`
	CreatedAt       time.Time       `json:"created_at"`
}

// SessionStats sums up a tenant's live sessions.
type SessionStats struct {
	Active       int
	AudioSeconds float64
	Segments     int
	// CallIDs are the public ids of the live calls, oldest first.
	CallIDs []string
}

// Orders of a call search.
const (
	SortCreatedAt = "created_at"
	SortStartTime = "start_time"
	SortDuration  = "duration"
)

// CallQuery is a call listing with search: the filter of Calls plus bounds
// on the start time, a text to find and an order. Sorted by created_at the
// listing pages with the filter's After cursor (newest first, or oldest
// first with Ascending); in any other order it pages with Offset.
type CallQuery struct {
	CallFilter
	// StartFrom and StartTo bound the start time (inclusive, exclusive):
	// started_at, or created_at for a call that never started.
	StartFrom *time.Time
	StartTo   *time.Time
	// Text selects calls whose transcript or summary contains it, ignoring
	// case (ASCII case only on SQLite).
	Text      string
	Sort      string // SortCreatedAt (default), SortStartTime or SortDuration
	Ascending bool
	Offset    int
	// Category and Risk select calls whose classification has that
	// category or risk level (the console's filters).
	Category string
	Risk     string
	// CampaignID and ContactID select the calls of one campaign or of
	// one contact of the contact book.
	CampaignID string
	ContactID  string
}

// CallRef names a stored call and its version.
type CallRef struct {
	ID      string
	Version int64
}

// MaxPageSize bounds one page of a listing.
const MaxPageSize = 500

// QueueCounts counts durable-queue jobs: by state, with every unfinished
// state present (zero when none), and summed into those waiting to run and
// those running.
type QueueCounts struct {
	ByState map[string]int
	Waiting int
	Running int
}
