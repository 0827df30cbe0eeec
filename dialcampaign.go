package callscope

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// An outbound campaign dials a list of contacts: at most Concurrency calls
// at once, each contact inside the calling window of its own time zone,
// never a number on the tenant's do-not-call list, and again after a busy,
// unanswered, voicemail or failed call as its redial rule says. Every
// attempt is an ordinary outbound call (an OutboundCall with the campaign's
// id); its contacts are campaign contacts like those of a voice-bot
// campaign, whose calls are reconciled the same way.

// Campaign states.
const (
	CampaignRunning   = "running"
	CampaignPaused    = "paused"
	CampaignCompleted = "completed"
	CampaignCancelled = "cancelled"
)

// CampaignStates lists the campaign states.
var CampaignStates = []string{CampaignRunning, CampaignPaused, CampaignCompleted, CampaignCancelled}

// States of a contact of an outbound campaign. A voice-bot campaign's
// contacts have none ("").
const (
	// ContactPending is a contact to be called: never yet, or again after
	// its redial delay (NextAt).
	ContactPending = "pending"
	// ContactInProgress is a contact whose call is being placed or talked.
	ContactInProgress = "in_progress"
	// ContactCompleted is a contact reached: its call was answered.
	ContactCompleted = "completed"
	// ContactBusy, ContactNoAnswer, ContactVoicemail and ContactFailed are
	// contacts whose last call ended so, with no redial rule for it.
	ContactBusy      = "busy"
	ContactNoAnswer  = "no_answer"
	ContactVoicemail = "voicemail"
	ContactFailed    = "failed"
	// ContactExhausted is a contact called as often as the redial rule of
	// its last outcome allows.
	ContactExhausted = "exhausted"
	// ContactSkippedDNC is a contact never called: its number is on the
	// do-not-call list.
	ContactSkippedDNC = "skipped_dnc"
	// ContactCancelled is a contact not called because its campaign was
	// cancelled.
	ContactCancelled = "cancelled"
)

// ContactStates lists the contact states, in the order progress shows them.
var ContactStates = []string{ContactPending, ContactInProgress, ContactCompleted, ContactBusy, ContactNoAnswer,
	ContactVoicemail, ContactFailed, ContactSkippedDNC, ContactExhausted, ContactCancelled}

// RedialOutcomes are the call outcomes a redial rule may name.
var RedialOutcomes = []string{ContactBusy, ContactNoAnswer, ContactVoicemail, ContactFailed}

// ContactOutcome is the outcome a final call status stands for in a
// campaign: completed, busy, no_answer, voicemail or failed (cancelled for a
// call cancelled before it was placed).
func ContactOutcome(s CallStatus) string {
	switch s {
	case CallCompleted:
		return ContactCompleted
	case CallBusy:
		return ContactBusy
	case CallNoAnswer:
		return ContactNoAnswer
	case CallVoicemail:
		return ContactVoicemail
	case CallCancelled:
		return ContactCancelled
	}
	return ContactFailed
}

// RedialRule says how a contact whose call ended with one outcome is
// called again: after DelaySeconds, while it has had fewer than MaxAttempts
// calls in all.
type RedialRule struct {
	DelaySeconds int `json:"delay_seconds"`
	MaxAttempts  int `json:"max_attempts"`
}

// RedialPolicy maps outcomes (busy, no_answer, voicemail, failed) to their
// redial rule; an outcome without one is final.
type RedialPolicy map[string]RedialRule

// Next says what follows a call that ended with outcome, the contact's
// attempts-th: redial (after the delay) or not, with the reason logged.
func (p RedialPolicy) Next(outcome string, attempts int) (redial bool, delay time.Duration, state, reason string) {
	if outcome == ContactCompleted || outcome == ContactCancelled {
		return false, 0, outcome, outcome
	}
	r, ok := p[outcome]
	if !ok || r.MaxAttempts <= 0 {
		return false, 0, outcome, outcome + ": no redial rule"
	}
	if attempts >= r.MaxAttempts {
		return false, 0, ContactExhausted, fmt.Sprintf("%s: %d of %d attempts made", outcome, attempts, r.MaxAttempts)
	}
	d := time.Duration(r.DelaySeconds) * time.Second
	return true, d, ContactPending, fmt.Sprintf("%s: redial in %s (attempt %d of %d made)", outcome, d, attempts, r.MaxAttempts)
}

func (p RedialPolicy) validate(loc []string) []FieldError {
	var f []FieldError
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		at := append(append([]string{}, loc...), k)
		if !containsString(RedialOutcomes, k) {
			f = append(f, FieldError{Loc: at, Msg: "Unknown outcome; use one of: " + strings.Join(RedialOutcomes, ", "), Type: "enum"})
			continue
		}
		r := p[k]
		if r.DelaySeconds < 0 || r.DelaySeconds > 30*24*3600 {
			f = append(f, FieldError{Loc: append(at, "delay_seconds"), Msg: "Input should be between 0 and 2592000 (30 days)", Type: "value_error"})
		}
		if r.MaxAttempts < 1 || r.MaxAttempts > 100 {
			f = append(f, FieldError{Loc: append(at, "max_attempts"), Msg: "Input should be between 1 and 100", Type: "value_error"})
		}
	}
	return f
}

// redialItem is one rule of the short form: "busy=10m*3".
var redialItem = regexp.MustCompile(`^\s*([a-z_-]+)\s*=\s*([0-9a-zµ.]+)\s*\*\s*([0-9]+)\s*$`)

// ParseRedial reads the short form of a redial policy:
// "busy=10m*3,no_answer=1h*2" — for each outcome a delay (a Go duration)
// and the attempts a contact may have in all. "no-answer" is accepted for
// no_answer.
func ParseRedial(s string) (RedialPolicy, error) {
	p := RedialPolicy{}
	if strings.TrimSpace(s) == "" {
		return p, nil
	}
	for _, item := range strings.Split(s, ",") {
		m := redialItem.FindStringSubmatch(item)
		if m == nil {
			return nil, Errorf(EINVALID, "redial rule %q: want outcome=delay*attempts, e.g. busy=10m*3", strings.TrimSpace(item))
		}
		outcome := strings.ReplaceAll(m[1], "-", "_")
		d, err := time.ParseDuration(m[2])
		if err != nil {
			return nil, Errorf(EINVALID, "redial rule %q: delay %q is not a duration such as 10m or 1h30m", strings.TrimSpace(item), m[2])
		}
		n, err := strconv.Atoi(m[3])
		if err != nil {
			return nil, Errorf(EINVALID, "redial rule %q: attempts %q is not a number", strings.TrimSpace(item), m[3])
		}
		if _, dup := p[outcome]; dup {
			return nil, Errorf(EINVALID, "redial rule for %s given twice", outcome)
		}
		p[outcome] = RedialRule{DelaySeconds: int(d / time.Second), MaxAttempts: n}
	}
	if f := p.validate([]string{"redial"}); len(f) > 0 {
		return nil, Errorf(EINVALID, "redial %s: %s", strings.Join(f[0].Loc[1:], "."), f[0].Msg)
	}
	return p, nil
}

// MaxCampaignConcurrency bounds a campaign's concurrency.
const MaxCampaignConcurrency = 1000

// Campaign is an outbound campaign.
type Campaign struct {
	ID       string
	TenantID string
	Name     string
	State    string
	// UserID owns the campaign's calls (the Auto-Caller userId they are
	// listed under); "" for none.
	UserID  string
	Title   string
	Purpose string
	// Script is what the agent says, with {{contactName}} and the
	// contacts' variables filled in.
	Script string
	// Concurrency bounds the campaign's calls in progress at once (the
	// tenant's lines bound all its calls together).
	Concurrency int
	Redial      RedialPolicy
	// CallingWindow is when calls may start, in each contact's time zone;
	// nil means the tenant's Auto-Caller window, if any.
	CallingWindow *CallingWindow
	// TimeZone is the contacts' time zone when they name none; "" means the
	// tenant's.
	TimeZone        string
	DurationMinutes int
	// Provider holds parameters passed to the dialer with every call
	// (for the simulator: "simulate").
	Provider map[string]any
	// RecordingEnabled and TranscriptionEnabled are passed to every call.
	RecordingEnabled     bool
	TranscriptionEnabled bool
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

// Validate checks a campaign to be created, naming each field at fault
// under loc.
func (c *Campaign) Validate(loc ...string) error {
	var f []FieldError
	at := func(k ...string) []string { return append(append([]string{}, loc...), k...) }
	if strings.TrimSpace(c.Name) == "" || len(c.Name) > 200 {
		f = append(f, FieldError{Loc: at("name"), Msg: "Name must have 1 to 200 characters", Type: "value_error"})
	}
	if c.Concurrency < 1 || c.Concurrency > MaxCampaignConcurrency {
		f = append(f, FieldError{Loc: at("concurrency"), Msg: fmt.Sprintf("Input should be between 1 and %d", MaxCampaignConcurrency), Type: "value_error"})
	}
	if len(c.Script) > 20000 {
		f = append(f, FieldError{Loc: at("script"), Msg: "Script is longer than 20000 characters", Type: "string_too_long"})
	}
	for k, n := range map[string]string{"title": c.Title, "purpose": c.Purpose, "user_id": c.UserID} {
		if len(n) > 1000 {
			f = append(f, FieldError{Loc: at(k), Msg: "Input is longer than 1000 characters", Type: "string_too_long"})
		}
	}
	if c.DurationMinutes < 1 || c.DurationMinutes > 240 {
		f = append(f, FieldError{Loc: at("duration_minutes"), Msg: "Input should be between 1 and 240", Type: "value_error"})
	}
	if c.TimeZone != "" && !ValidZone(c.TimeZone) {
		f = append(f, FieldError{Loc: at("time_zone"), Msg: "Unknown IANA time zone " + quote(c.TimeZone), Type: "value_error"})
	}
	if c.CallingWindow != nil {
		f = append(f, c.CallingWindow.validate(at("calling_window"))...)
	}
	f = append(f, c.Redial.validate(at("redial"))...)
	if len(f) > 0 {
		return ValidationError(f...)
	}
	return nil
}

// CampaignContactInput is a contact to add to a campaign.
type CampaignContactInput struct {
	Phone     string
	Name      string
	TimeZone  string
	Variables map[string]string
}

// Validate checks a contact, naming each field at fault under loc.
func (in *CampaignContactInput) Validate(loc ...string) []FieldError {
	var f []FieldError
	at := func(k ...string) []string { return append(append([]string{}, loc...), k...) }
	if !ValidE164(in.Phone) {
		f = append(f, FieldError{Loc: at("phone"), Msg: "Input should be a phone number in E.164 form, e.g. +14155550123", Type: "value_error"})
	}
	if len(in.Name) > 200 {
		f = append(f, FieldError{Loc: at("name"), Msg: "Name is longer than 200 characters", Type: "string_too_long"})
	}
	if in.TimeZone != "" && !ValidZone(in.TimeZone) {
		f = append(f, FieldError{Loc: at("time_zone"), Msg: "Unknown IANA time zone " + quote(in.TimeZone), Type: "value_error"})
	}
	if len(in.Variables) > 50 {
		f = append(f, FieldError{Loc: at("variables"), Msg: "At most 50 variables", Type: "too_long"})
	}
	for k, v := range in.Variables {
		if k == "" || len(k) > 100 || len(v) > 1000 {
			f = append(f, FieldError{Loc: at("variables", k), Msg: "Variable names have 1 to 100 characters, values at most 1000", Type: "value_error"})
		}
	}
	return f
}

// DialContact is a contact of an outbound campaign, as dialling sees it.
type DialContact struct {
	CampaignContact
	Name      string            `json:"name"`
	TimeZone  string            `json:"time_zone,omitempty"`
	Variables map[string]string `json:"variables"`
	State     string            `json:"state"`
	NextAt    *time.Time        `json:"next_at,omitempty"`
	Position  int               `json:"position"`
}

// Events of a campaign's log.
const (
	LogAttempt = "attempt"
	LogOutcome = "outcome"
	LogSkip    = "skip"
)

// CampaignLogEntry is one line of a campaign's attempt and skip log.
type CampaignLogEntry struct {
	ID         string
	TenantID   string
	CampaignID string
	Contact    string
	CallID     string
	Attempt    int
	Event      string
	Outcome    string
	Reason     string
	At         time.Time
}

// CampaignProgress is a campaign's contacts counted by state, and its
// attempts.
type CampaignProgress struct {
	Contacts int
	ByState  map[string]int
	Attempts int
}

// DoNotCall sources.
const (
	DNCSourceAPI    = "api"
	DNCSourceOptOut = "opt_out"
	// DNCSourceContact is a contact of the contact book marked
	// do_not_call; the entry lasts as long as the mark.
	DNCSourceContact = "contact"
)

// DoNotCallEntry is a number on a tenant's do-not-call list.
type DoNotCallEntry struct {
	TenantID  string
	Number    string
	Source    string
	CallID    string
	Reason    string
	CreatedAt time.Time
}

// OptOutPhrases are the requests, said by the person called, that put
// their number on the do-not-call list. They are matched on whole words,
// case and punctuation aside.
var OptOutPhrases = []string{
	"stop calling",
	"remove me from your list",
	"remove me from the list",
	"remove my number",
	"take me off your list",
	"take me off the list",
	"put me on your do not call list",
	"do not call me",
	"do not call again",
	"dont call me",
	"never call me again",
	"stop contacting me",
	"unsubscribe",
	"opt out",
}

// agentSpeakers are the speakers whose lines are the caller's side: what
// they say is never an opt-out.
var agentSpeakers = map[string]bool{"agent": true, "assistant": true, "bot": true, "ai": true, "system": true, "caller": false}

// normalise lower-cases s and turns every run of other than letters and
// digits into one space, padded, so phrases match on whole words; the end
// of a sentence becomes a bar, which no phrase spans.
func normalise(s string) string {
	var b strings.Builder
	b.WriteByte(' ')
	space := true
	for _, r := range strings.ToLower(s) {
		if r == '\'' || r == '’' {
			continue // "don't" reads as "dont"
		}
		if r == '.' || r == '!' || r == '?' || r == ';' {
			// A phrase does not run across sentences.
			if !space {
				b.WriteByte(' ')
			}
			b.WriteString("| ")
			space = true
			continue
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			space = false
		} else if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	if !space {
		b.WriteByte(' ')
	}
	return b.String()
}

// OptOutIn returns the first opt-out phrase said in text, "" for none.
func OptOutIn(text string) string {
	n := normalise(text)
	for _, p := range OptOutPhrases {
		if strings.Contains(n, normalise(p)) {
			return p
		}
	}
	return ""
}

// OptOutRequest returns the first opt-out phrase said by the person called
// in a transcript (lines of agent speakers are ignored), and the line.
func OptOutRequest(segs []Segment) (phrase, line string) {
	for _, s := range segs {
		if agentSpeakers[strings.ToLower(strings.TrimSpace(s.Speaker))] {
			continue
		}
		if p := OptOutIn(s.Text); p != "" {
			return p, s.Text
		}
	}
	return "", ""
}

func containsString(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
