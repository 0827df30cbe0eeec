package callscope

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
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

// DefaultMaxConcurrentCalls is how many outbound calls a tenant has in
// progress at once unless its settings say otherwise.
const DefaultMaxConcurrentCalls = 10

// AutocallerSetting is a tenant's outbound calling configuration:
// {"max_concurrent_calls": 5, "time_zone": "Europe/Paris",
// "calling_window": {"start": "09:00", "end": "20:00", "days": ["mon", "tue"]}}.
type AutocallerSetting struct {
	// MaxConcurrentCalls bounds the tenant's calls being placed or in
	// progress (default DefaultMaxConcurrentCalls).
	MaxConcurrentCalls int `json:"max_concurrent_calls,omitempty"`
	// TimeZone is the recipients' IANA time zone when a call names none
	// (default UTC).
	TimeZone string `json:"time_zone,omitempty"`
	// CallingWindow, when set, is when calls may start, in the recipient's
	// time zone; a call due outside it waits for the next opening.
	CallingWindow *CallingWindow `json:"calling_window,omitempty"`
}

// Lines is the tenant's concurrency limit.
func (a *AutocallerSetting) Lines() int {
	if a == nil || a.MaxConcurrentCalls <= 0 {
		return DefaultMaxConcurrentCalls
	}
	return a.MaxConcurrentCalls
}

// Zone returns the time zone of a recipient: zone when it is valid, else
// the tenant's, else UTC.
func (a *AutocallerSetting) Zone(zone string) *time.Location {
	for _, z := range []string{zone, a.zone()} {
		if z == "" {
			continue
		}
		if loc, err := time.LoadLocation(z); err == nil {
			return loc
		}
	}
	return time.UTC
}

func (a *AutocallerSetting) zone() string {
	if a == nil {
		return ""
	}
	return a.TimeZone
}

func (a *AutocallerSetting) validate(loc []string) []FieldError {
	var f []FieldError
	at := func(k ...string) []string { return append(append([]string{}, loc...), k...) }
	if a.MaxConcurrentCalls < 0 || a.MaxConcurrentCalls > 10000 {
		f = append(f, FieldError{Loc: at("max_concurrent_calls"), Msg: "Input should be between 1 and 10000", Type: "value_error"})
	}
	if a.TimeZone != "" && !ValidZone(a.TimeZone) {
		f = append(f, FieldError{Loc: at("time_zone"), Msg: "Unknown IANA time zone " + quote(a.TimeZone), Type: "value_error"})
	}
	if w := a.CallingWindow; w != nil {
		f = append(f, w.validate(at("calling_window"))...)
	}
	return f
}

// ValidZone reports whether z names an IANA time zone.
func ValidZone(z string) bool {
	if z == "" || strings.HasPrefix(z, "/") || strings.Contains(z, "..") {
		return false
	}
	_, err := time.LoadLocation(z)
	return err == nil
}

// CallingWindow is the local time of day calls may start in ("09:00" to
// "20:00", start before end), on the days named (mon…sun; all when none).
type CallingWindow struct {
	Start string   `json:"start"`
	End   string   `json:"end"`
	Days  []string `json:"days,omitempty"`
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

func clock(s string) (h, m int, ok bool) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, 0, false
	}
	return t.Hour(), t.Minute(), true
}

func (w *CallingWindow) validate(loc []string) []FieldError {
	var f []FieldError
	at := func(k ...string) []string { return append(append([]string{}, loc...), k...) }
	sh, sm, ok1 := clock(w.Start)
	eh, em, ok2 := clock(w.End)
	if !ok1 {
		f = append(f, FieldError{Loc: at("start"), Msg: "Input should be a time of day HH:MM", Type: "value_error"})
	}
	if !ok2 {
		f = append(f, FieldError{Loc: at("end"), Msg: "Input should be a time of day HH:MM", Type: "value_error"})
	}
	if ok1 && ok2 && sh*60+sm >= eh*60+em {
		f = append(f, FieldError{Loc: at("end"), Msg: "The window must end after it starts, on the same day", Type: "value_error"})
	}
	for i, d := range w.Days {
		if _, ok := weekdays[strings.ToLower(d)]; !ok {
			f = append(f, FieldError{Loc: at("days", fmt.Sprint(i)), Msg: "Input should be one of mon, tue, wed, thu, fri, sat, sun", Type: "enum"})
		}
	}
	return f
}

// NextOpen returns t when the window is open at t in loc, else the next
// time it opens. Times of day are read on the local calendar, so a window
// keeps its local hours across daylight-saving changes. A window that never
// opens (invalid) returns the zero time.
func (w *CallingWindow) NextOpen(t time.Time, loc *time.Location) time.Time {
	sh, sm, ok1 := clock(w.Start)
	eh, em, ok2 := clock(w.End)
	if !ok1 || !ok2 {
		return time.Time{}
	}
	days := map[time.Weekday]bool{}
	for _, d := range w.Days {
		days[weekdays[strings.ToLower(d)]] = true
	}
	lt := t.In(loc)
	for i := 0; i < 8; i++ {
		y, m, d := lt.Date()
		day := time.Date(y, m, d+i, 12, 0, 0, 0, loc)
		if len(days) > 0 && !days[day.Weekday()] {
			continue
		}
		open := time.Date(day.Year(), day.Month(), day.Day(), sh, sm, 0, 0, loc)
		end := time.Date(day.Year(), day.Month(), day.Day(), eh, em, 0, 0, loc)
		if !t.Before(end) {
			continue
		}
		if t.Before(open) {
			return open
		}
		return t
	}
	return time.Time{}
}
