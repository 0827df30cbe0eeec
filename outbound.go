package callscope

import (
	"encoding/json"
	"regexp"
	"time"
)

// ExtAutocallerID is the kind of external id an outbound call scheduled
// through the Auto-Caller API (seed 002) is known by: the callId that API
// answers with.
const ExtAutocallerID = "autocaller"

// DefaultCallMinutes is an outbound call's length limit when its schedule
// names none.
const DefaultCallMinutes = 15

// OutboundCall is what an outbound call carries beyond the call record: how
// it is to be placed, what it may cost and where its results go. The call
// record itself (owner, contact, title, purpose, script, status, times,
// error info) is Call.
type OutboundCall struct {
	CallID   string `json:"-"`
	TenantID string `json:"-"`
	// DurationMinutes bounds the call: it is hung up when that has passed.
	DurationMinutes      int  `json:"duration_minutes"`
	RecordingEnabled     bool `json:"recording_enabled"`
	TranscriptionEnabled bool `json:"transcription_enabled"`
	// CallbackURL receives the call's status changes and results.
	CallbackURL string `json:"callback_url,omitempty"`
	// TimeZone is the recipient's IANA time zone, for calling windows; ""
	// means the tenant's.
	TimeZone string `json:"time_zone,omitempty"`
	// Provider keeps the schedule request's other fields, verbatim, for the
	// dialer ("Any other relevant parameters for the voice provider").
	Provider map[string]json.RawMessage `json:"provider,omitempty"`
	// Dialer names the dialer that placed the call, and ProviderSessionID
	// its id for the call there.
	Dialer            string     `json:"dialer,omitempty"`
	ProviderSessionID string     `json:"provider_session_id,omitempty"`
	PlacedAt          *time.Time `json:"placed_at,omitempty"`
	// Attempts counts how often placing the call was tried.
	Attempts int      `json:"attempts"`
	Cost     *float64 `json:"cost,omitempty"`
	// Waiting says why a call that is due has not been placed yet (outside
	// the calling window, every line busy); "" when it is not waiting.
	Waiting string `json:"waiting,omitempty"`

	// Call is the call record, filled in by reads that join it.
	Call *Call `json:"-"`
}

// OutboundQuery selects one user's outbound calls for a listing.
type OutboundQuery struct {
	TenantID string
	UserID   string
	// Statuses selects calls in any of these statuses; empty selects all.
	Statuses []CallStatus
	// Sort is SortScheduledTime (default), SortCreatedAt, SortStartTime or
	// SortDuration.
	Sort      string
	Ascending bool
	Limit     int
	Offset    int
}

// SortScheduledTime orders calls by their scheduled time.
const SortScheduledTime = "scheduled_time"

// The Auto-Caller API's statuses (seed 002).
const (
	AutoScheduled  = "scheduled"
	AutoInitiating = "initiating"
	AutoRinging    = "ringing"
	AutoInProgress = "in-progress"
	AutoCompleted  = "completed"
	AutoFailed     = "failed"
	AutoCancelled  = "cancelled"
)

// AutoStatuses lists the Auto-Caller statuses in lifecycle order.
var AutoStatuses = []string{AutoScheduled, AutoInitiating, AutoRinging, AutoInProgress, AutoCompleted, AutoFailed, AutoCancelled}

// autoStatusOf is the one mapping between call statuses and the Auto-Caller
// API's: a call being ended is still in progress to it; a call a machine
// answered was completed; one nobody answered, or that was busy, failed
// (its error info says which).
var autoStatusOf = map[CallStatus]string{
	CallScheduled:  AutoScheduled,
	CallInitiating: AutoInitiating,
	CallRinging:    AutoRinging,
	CallInProgress: AutoInProgress,
	CallEnding:     AutoInProgress,
	CallCompleted:  AutoCompleted,
	CallVoicemail:  AutoCompleted,
	CallFailed:     AutoFailed,
	CallNoAnswer:   AutoFailed,
	CallBusy:       AutoFailed,
	CallCancelled:  AutoCancelled,
}

// AutoStatus returns the Auto-Caller status of a call status.
func AutoStatus(s CallStatus) string {
	if a, ok := autoStatusOf[s]; ok {
		return a
	}
	return string(s)
}

// CallStatusesOf returns the call statuses an Auto-Caller status stands
// for, in lifecycle order, and false for an unknown one.
func CallStatusesOf(auto string) ([]CallStatus, bool) {
	var out []CallStatus
	for _, s := range CallStatuses {
		if autoStatusOf[s] == auto {
			out = append(out, s)
		}
	}
	return out, len(out) > 0
}

// e164 is an E.164 number: a plus sign and up to 15 digits, not starting
// with 0.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// ValidE164 reports whether n is a phone number in E.164 form (+14155550123).
func ValidE164(n string) bool { return e164.MatchString(n) }

// Dial outcomes: how a placed call ended, as a dialer reports it.
const (
	OutcomeAnswer    = "answer"
	OutcomeBusy      = "busy"
	OutcomeNoAnswer  = "no-answer"
	OutcomeVoicemail = "voicemail"
	OutcomeFailed    = "failed"
)

// DialOutcomes lists the dial outcomes.
var DialOutcomes = []string{OutcomeAnswer, OutcomeBusy, OutcomeNoAnswer, OutcomeVoicemail, OutcomeFailed}

// OutcomeStatus is the final call status of a dial outcome.
func OutcomeStatus(outcome string) CallStatus {
	switch outcome {
	case OutcomeAnswer:
		return CallCompleted
	case OutcomeBusy:
		return CallBusy
	case OutcomeNoAnswer:
		return CallNoAnswer
	case OutcomeVoicemail:
		return CallVoicemail
	}
	return CallFailed
}
