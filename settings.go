package callscope

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Settings is a tenant's configuration of callscope: every key a tenant can
// set, with its type. A zero field means the default that its comment
// names. Settings are validated when written (Validate) and read leniently
// (ParseStoredSettings), so a value stored by an older version never stops
// a tenant from working.
type Settings struct {
	// Taxonomy is the classification taxonomy: a built-in one by name
	// (BuiltinTaxonomies; default "helpline") or the tenant's own.
	Taxonomy *TaxonomySetting `json:"taxonomy,omitempty"`
	// Learning configures the model learned from reviewers' corrections
	// of calls' categories.
	Learning *LearningSetting `json:"learning,omitempty"`
	// TranslateTo is the translation target language, a two-letter code
	// (default "en").
	TranslateTo string `json:"translate_to,omitempty"`
	// ShortCodes are the service numbers (116, 999, 112, …) that entity
	// extraction reports as phone numbers when a cue says they are numbers
	// to call ("call 116"); none by default.
	ShortCodes []string `json:"short_codes,omitempty"`
	// RedactStoredTranscript also stores the PII-redacted transcript.
	RedactStoredTranscript bool `json:"redact_stored_transcript,omitempty"`
	// RecordingChannels names the speaker of each channel of a stereo
	// recording (default ["caller", "agent"], as Twilio dual-channel and
	// Asterisk MixMonitor record).
	RecordingChannels []string `json:"recording_channels,omitempty"`
	// Pipeline turns pipeline stages on or off for this tenant by their
	// switch names: {"ENABLE_QA_SCORING": false}.
	Pipeline map[string]bool `json:"pipeline,omitempty"`
	// ProcessingMode is how the tenant's live calls are analysed (default
	// postcall_only).
	ProcessingMode ProcessingMode `json:"processing_mode,omitempty"`
	// ProcessCallResults runs the post-call pipeline on every call whose
	// voice-bot results arrive.
	ProcessCallResults bool `json:"process_call_results,omitempty"`
	// CDRTimezone is the IANA zone of CDR times written without a zone
	// (Asterisk writes local time; default UTC).
	CDRTimezone string `json:"cdr_timezone,omitempty"`
	// CRMPush pushes each call's results to a CRM; unset pushes nothing.
	CRMPush *CRMPushSetting `json:"crm_push,omitempty"`
	// EmailReport mails a report of each call; unset mails nothing.
	EmailReport *EmailReportSetting `json:"email_report,omitempty"`
	// AgentService notifies an agent service of calls; unset notifies none.
	AgentService *AgentServiceSetting `json:"agent_service,omitempty"`
	// Twilio is the tenant's Twilio account; unset refuses the tenant's
	// Twilio Media Streams.
	Twilio *TwilioSetting `json:"twilio,omitempty"`
	// Retention erases old recordings, transcripts and delivery logs;
	// unset keeps everything.
	Retention *RetentionSetting `json:"retention,omitempty"`
	// Autocaller tunes how outbound calls are placed; unset places them
	// at any hour, on up to DefaultMaxConcurrentCalls lines.
	Autocaller *AutocallerSetting `json:"autocaller,omitempty"`
}

// Setting keys, as they appear in a tenant's settings document.
const (
	SettingTaxonomy               = "taxonomy"
	SettingLearning               = "learning"
	SettingTranslateTo            = "translate_to"
	SettingRedactStoredTranscript = "redact_stored_transcript"
	SettingShortCodes             = "short_codes"
	SettingRecordingChannels      = "recording_channels"
	SettingPipeline               = "pipeline"
	SettingProcessingMode         = "processing_mode"
	SettingProcessCallResults     = "process_call_results"
	SettingCDRTimezone            = "cdr_timezone"
	SettingCRMPush                = "crm_push"
	SettingEmailReport            = "email_report"
	SettingAgentService           = "agent_service"
	SettingTwilio                 = "twilio"
	SettingAutocaller             = "autocaller"
)

// Built-in classification taxonomies.
const (
	TaxonomyHelpline      = "helpline"
	TaxonomyContactCentre = "contact_centre"
)

// BuiltinTaxonomies lists the taxonomies a tenant can name.
var BuiltinTaxonomies = []string{TaxonomyHelpline, TaxonomyContactCentre}

// LearningSetting configures the per-tenant model learned from reviewers'
// corrections of calls' categories: {"min_corrections": 20, "weight": 0.5}.
type LearningSetting struct {
	// Off keeps classification to the taxonomy's keywords alone.
	Off bool `json:"off,omitempty"`
	// MinCorrections is how many corrections the model needs before it is
	// used (default DefaultMinCorrections).
	MinCorrections int `json:"min_corrections,omitempty"`
	// Weight is the learned model's share of the blended scores, 0 to 1
	// (default DefaultLearningWeight).
	Weight float64 `json:"weight,omitempty"`
}

// Defaults of LearningSetting.
const (
	DefaultMinCorrections = 50
	DefaultLearningWeight = 0.5
)

// Learn returns whether to use the learned model, after how many
// corrections, and with what weight.
func (s *Settings) Learn() (on bool, min int, weight float64) {
	on, min, weight = true, DefaultMinCorrections, DefaultLearningWeight
	if l := s.Learning; l != nil {
		on = !l.Off
		if l.MinCorrections > 0 {
			min = l.MinCorrections
		}
		if l.Weight > 0 {
			weight = l.Weight
		}
	}
	return on, min, weight
}

// TaxonomyName is the name of the tenant's taxonomy: a built-in name, the
// custom taxonomy's name, or "" for the default.
func (s *Settings) TaxonomyName() string { return s.Taxonomy.Name() }

// CRMPushSetting is a tenant's CRM post-call push (seed 004):
// {"url": "https://crm.example.com/hook", "auth_header": "Bearer …",
// "mapping": {"phone": "{{.From}}", "summary": "{{.Summary}}"},
// "timezone": "Africa/Nairobi"}.
type CRMPushSetting struct {
	URL string `json:"url"`
	// AuthHeader is sent as the Authorization header. It is a secret:
	// written, never shown.
	AuthHeader string `json:"auth_header,omitempty"`
	// Mapping gives each CRM field a text/template over the call; empty
	// sends the default mapping.
	Mapping map[string]string `json:"mapping,omitempty"`
	// Timezone is the bot's IANA time zone, in which times are written
	// (UTC by default).
	Timezone string `json:"timezone,omitempty"`
}

// TwilioSetting is a tenant's Twilio account: {"account_sid": "AC…",
// "auth_token": "…"}. The auth token checks the X-Twilio-Signature of the
// tenant's Media Streams (/twilio/stream/{tenant}).
type TwilioSetting struct {
	AccountSID string `json:"account_sid,omitempty"`
	// AuthToken is a secret: written, never shown.
	AuthToken string `json:"auth_token,omitempty"`
	// APIKeySID and APIKeySecret authenticate REST requests instead of
	// the auth token when both are set (twilio.go); APIKeySecret is a
	// secret: written, never shown.
	APIKeySID    string `json:"api_key_sid,omitempty"`
	APIKeySecret string `json:"api_key_secret,omitempty"`
	// Numbers are the tenant's phone numbers at Twilio: the numbers its
	// inbound calls come to and its outbound calls are placed from.
	Numbers []TwilioNumber `json:"numbers,omitempty"`
}

// twilioAccountSID is the form of a Twilio Account SID.
var twilioAccountSID = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)

// EmailReportSetting is a tenant's e-mail report configuration:
// {"recipients": ["ops@example.com"], "from": "calls@example.com",
// "on": "analysis.completed"}.
type EmailReportSetting struct {
	// Recipients receive a report of every call; none sends nothing.
	Recipients []string `json:"recipients"`
	// From overrides CALLSCOPE_SMTP_FROM.
	From string `json:"from,omitempty"`
	// On is the event type that sends a report (analysis.completed by
	// default).
	On string `json:"on,omitempty"`
}

// AgentServiceSetting is a tenant's agent notification service (seed 001):
// {"url": "https://agents.example.com/notify", "token_url":
// "https://auth.example.com/token", "client_id": "…", "client_secret": "…",
// "auth": "oauth2", "notify": "completion"}.
type AgentServiceSetting struct {
	// URL receives the notifications (POST, JSON, bearer token).
	URL string `json:"url"`
	// TokenURL issues access tokens.
	TokenURL string `json:"token_url"`
	ClientID string `json:"client_id"`
	// ClientSecret is a secret: written, never shown.
	ClientSecret string   `json:"client_secret,omitempty"`
	Scopes       []string `json:"scopes,omitempty"`
	// Auth is oauth2 (client-credentials grant, the default) or basic (a
	// POST to TokenURL with Basic credentials answering
	// {"access_token", "expires_in"}).
	Auth string `json:"auth,omitempty"`
	// Notify is completion (the default: analysis.completed and
	// processing.failed) or stage (every call and processing event).
	// A call.risk_raised event of a live call is notified in both.
	Notify string `json:"notify,omitempty"`
}

// DecodeSettings reads a settings document sent by a caller, strictly: an
// unknown key, a duplicate key, a value of the wrong type or a number that
// does not fit is an EINVALID error naming it under loc.
func DecodeSettings(raw []byte, loc ...string) (*Settings, error) {
	var s Settings
	if err := DecodeStrict(raw, &s, loc...); err != nil {
		return nil, err
	}
	return &s, nil
}

// ParseStoredSettings reads a stored settings document leniently: each key
// is read on its own, and a key that no longer reads (stored by an older
// version without validation) is left at its default and named in bad.
func ParseStoredSettings(raw []byte) (s Settings, bad []string) {
	var m map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return s, nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		one, _ := json.Marshal(map[string]json.RawMessage{k: m[k]})
		// Into a copy: a key that fails half way leaves nothing behind.
		next := s
		if err := json.Unmarshal(one, &next); err != nil {
			bad = append(bad, k)
			continue
		}
		s = next
	}
	return s, bad
}

var (
	languageCode = regexp.MustCompile(`^[a-z]{2,3}$`)
	shortCode    = regexp.MustCompile(`^[0-9]{2,6}$`)
)

// Validate checks the settings' values, each problem a FieldError under
// loc. It checks what the domain knows; the address policy of URL settings
// and the pipeline's switch names are checked by the service that stores
// them.
func (s *Settings) Validate(loc ...string) []FieldError {
	var f []FieldError
	at := func(k ...string) []string { return append(append([]string{}, loc...), k...) }
	bad := func(msg, typ string, k ...string) { f = append(f, FieldError{Loc: at(k...), Msg: msg, Type: typ}) }
	if t := s.Taxonomy; t != nil && t.Custom == nil && t.Builtin != "" && !contains(BuiltinTaxonomies, t.Builtin) {
		bad("Input should be a taxonomy object or one of: "+strings.Join(BuiltinTaxonomies, ", "), "enum", SettingTaxonomy)
	}
	if t := s.Taxonomy; t != nil && t.Custom != nil {
		f = append(f, t.Custom.Validate(at(SettingTaxonomy)...)...)
	}
	if l := s.Learning; l != nil {
		if l.MinCorrections != 0 && (l.MinCorrections < 2 || l.MinCorrections > 100000) {
			bad("min_corrections is 2 to 100000 (default 50)", "value_error", SettingLearning, "min_corrections")
		}
		if l.Weight < 0 || l.Weight > 1 {
			bad("weight is 0 to 1 (0 means the default 0.5)", "value_error", SettingLearning, "weight")
		}
	}
	if s.TranslateTo != "" && !languageCode.MatchString(s.TranslateTo) {
		bad("Input should be a lower-case language code such as en or sw", "value_error", SettingTranslateTo)
	}
	if len(s.ShortCodes) > 20 {
		bad("At most 20 short codes", "too_long", SettingShortCodes)
	}
	for i, c := range s.ShortCodes {
		if !shortCode.MatchString(c) {
			bad("A short code is 2 to 6 digits", "value_error", SettingShortCodes, fmt.Sprint(i))
		}
	}
	if len(s.RecordingChannels) > 8 {
		bad("At most 8 channels", "too_long", SettingRecordingChannels)
	}
	for i, c := range s.RecordingChannels {
		if c = strings.TrimSpace(c); c == "" || len(c) > 50 {
			bad("A speaker name is 1 to 50 characters", "value_error", SettingRecordingChannels, fmt.Sprint(i))
		}
	}
	if s.ProcessingMode != "" && !s.ProcessingMode.Valid() {
		bad("Input should be postcall_only, realtime or hybrid", "enum", SettingProcessingMode)
	}
	if s.CDRTimezone != "" {
		if _, err := time.LoadLocation(s.CDRTimezone); err != nil || strings.HasPrefix(s.CDRTimezone, "/") {
			bad("Unknown IANA time zone "+quote(s.CDRTimezone), "value_error", SettingCDRTimezone)
		}
	}
	if c := s.CRMPush; c != nil {
		if strings.TrimSpace(c.URL) == "" {
			bad("Field required", "missing", SettingCRMPush, "url")
		}
		if len(c.AuthHeader) > 4096 || strings.ContainsAny(c.AuthHeader, "\r\n") {
			bad("An Authorization header is one line of at most 4096 characters", "value_error", SettingCRMPush, "auth_header")
		}
		if c.Timezone != "" {
			if _, err := time.LoadLocation(c.Timezone); err != nil || strings.HasPrefix(c.Timezone, "/") {
				bad("Unknown IANA time zone "+quote(c.Timezone), "value_error", SettingCRMPush, "timezone")
			}
		}
	}
	if e := s.EmailReport; e != nil {
		if len(e.Recipients) > 100 {
			bad("At most 100 recipients", "too_long", SettingEmailReport, "recipients")
		}
		for i, r := range e.Recipients {
			if !plausibleAddress(r) {
				bad("Input should be an e-mail address", "value_error", SettingEmailReport, "recipients", fmt.Sprint(i))
			}
		}
		if e.From != "" && !plausibleAddress(e.From) {
			bad("Input should be an e-mail address", "value_error", SettingEmailReport, "from")
		}
		if e.On != "" && !contains(EventTypes, e.On) {
			bad("Unknown event type "+quote(e.On), "enum", SettingEmailReport, "on")
		}
	}
	if a := s.AgentService; a != nil {
		if strings.TrimSpace(a.URL) == "" {
			bad("Field required", "missing", SettingAgentService, "url")
		}
		if a.Auth != "" && a.Auth != "oauth2" && a.Auth != "basic" {
			bad("Input should be oauth2 or basic", "enum", SettingAgentService, "auth")
		}
		if a.Notify != "" && a.Notify != "completion" && a.Notify != "stage" {
			bad("Input should be completion or stage", "enum", SettingAgentService, "notify")
		}
	}
	if tw := s.Twilio; tw != nil {
		if tw.AccountSID != "" && !twilioAccountSID.MatchString(tw.AccountSID) {
			bad("Input should be a Twilio Account SID: AC and 32 hexadecimal digits", "value_error", SettingTwilio, "account_sid")
		}
		if len(tw.AuthToken) > 256 || strings.ContainsAny(tw.AuthToken, "\x00\r\n") {
			bad("Input should be a Twilio auth token", "value_error", SettingTwilio, "auth_token")
		}
		tw.validate(bad)
	}
	if s.Retention != nil {
		s.Retention.validate(bad)
	}
	if a := s.Autocaller; a != nil {
		f = append(f, a.validate(at(SettingAutocaller))...)
	}
	return f
}

// URLs returns the settings' outbound URLs by their place in the document,
// for the address policy.
func (s *Settings) URLs() map[string]string {
	out := map[string]string{}
	if s.CRMPush != nil {
		out[SettingCRMPush+".url"] = s.CRMPush.URL
	}
	if s.AgentService != nil {
		out[SettingAgentService+".url"] = s.AgentService.URL
		if s.AgentService.TokenURL != "" {
			out[SettingAgentService+".token_url"] = s.AgentService.TokenURL
		}
	}
	return out
}

// KeepSecrets copies into s the secrets of old that s leaves out, so that a
// caller who read the settings (where secrets are never shown) can write
// them back without erasing them.
func (s *Settings) KeepSecrets(old Settings) {
	if s.CRMPush != nil && s.CRMPush.AuthHeader == "" && old.CRMPush != nil {
		s.CRMPush.AuthHeader = old.CRMPush.AuthHeader
	}
	if s.AgentService != nil && s.AgentService.ClientSecret == "" && old.AgentService != nil {
		s.AgentService.ClientSecret = old.AgentService.ClientSecret
	}
	if s.Twilio != nil && s.Twilio.AuthToken == "" && old.Twilio != nil {
		s.Twilio.AuthToken = old.Twilio.AuthToken
	}
	if s.Twilio != nil && s.Twilio.APIKeySecret == "" && old.Twilio != nil && s.Twilio.APIKeySID == old.Twilio.APIKeySID {
		s.Twilio.APIKeySecret = old.Twilio.APIKeySecret
	}
}

// ModeOrDefault is the tenant's processing mode for live calls.
func (s *Settings) ModeOrDefault() ProcessingMode {
	if s.ProcessingMode == "" {
		return ModePostcallOnly
	}
	return s.ProcessingMode
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func quote(s string) string {
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return fmt.Sprintf("%q", s)
}

func plausibleAddress(a string) bool {
	at := strings.LastIndexByte(a, '@')
	return at > 0 && at < len(a)-1 && len(a) <= 254 && !strings.ContainsAny(a, " \r\n<>,;")
}

// SettingsOf builds Settings from a document written as a Go map literal,
// strictly; it panics on a document that does not read, so use it for
// literals only.
func SettingsOf(m map[string]any) Settings {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	s, err := DecodeSettings(b)
	if err != nil {
		panic(fmt.Sprintf("callscope.SettingsOf: %v: %s", err, ErrorMessage(err)))
	}
	return *s
}
