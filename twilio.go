package callscope

import (
	"fmt"
	"regexp"
	"strings"
)

// TwilioNumber is one of a tenant's phone numbers at Twilio (seed 003's
// phone_number): {"number": "+15551234567", "label": "Support line"}.
type TwilioNumber struct {
	// Number is the E.164 phone number.
	Number string `json:"number"`
	// Label names the line in the console ("Support line").
	Label string `json:"label,omitempty"`
}

// MaxTwilioNumbers bounds the numbers of one tenant.
const MaxTwilioNumbers = 100

// twilioAPIKeySID is the form of a Twilio API key SID.
var twilioAPIKeySID = regexp.MustCompile(`^SK[0-9a-fA-F]{32}$`)

func (tw *TwilioSetting) validate(bad func(msg, typ string, k ...string)) {
	if tw.APIKeySID != "" && !twilioAPIKeySID.MatchString(tw.APIKeySID) {
		bad("Input should be a Twilio API key SID: SK and 32 hexadecimal digits", "value_error", SettingTwilio, "api_key_sid")
	}
	if len(tw.APIKeySecret) > 256 || strings.ContainsAny(tw.APIKeySecret, "\x00\r\n") {
		bad("Input should be a Twilio API key secret", "value_error", SettingTwilio, "api_key_secret")
	}
	if len(tw.Numbers) > MaxTwilioNumbers {
		bad(fmt.Sprintf("At most %d numbers", MaxTwilioNumbers), "too_long", SettingTwilio, "numbers")
	}
	seen := map[string]bool{}
	for i, n := range tw.Numbers {
		switch {
		case !ValidE164(n.Number):
			bad("Input should be an E.164 phone number such as +15551234567", "value_error", SettingTwilio, "numbers", fmt.Sprint(i), "number")
		case seen[n.Number]:
			bad("Number "+quote(n.Number)+" is listed twice", "value_error", SettingTwilio, "numbers", fmt.Sprint(i), "number")
		}
		seen[n.Number] = true
		if len(n.Label) > 100 || strings.ContainsAny(n.Label, "\x00\r\n") {
			bad("A label is one line of at most 100 characters", "value_error", SettingTwilio, "numbers", fmt.Sprint(i), "label")
		}
	}
}

// Number returns the tenant's number n, if it is one of its numbers.
func (tw *TwilioSetting) Number(n string) (TwilioNumber, bool) {
	if tw == nil {
		return TwilioNumber{}, false
	}
	for _, x := range tw.Numbers {
		if x.Number == n {
			return x, true
		}
	}
	return TwilioNumber{}, false
}

// RESTCredentials are the Basic auth credentials of the account's REST API
// and recording media: the API key when one is set, otherwise the account
// SID and auth token. ok is false when the account has neither.
func (tw *TwilioSetting) RESTCredentials() (user, password string, ok bool) {
	switch {
	case tw == nil || tw.AccountSID == "":
		return "", "", false
	case tw.APIKeySID != "" && tw.APIKeySecret != "":
		return tw.APIKeySID, tw.APIKeySecret, true
	case tw.AuthToken != "":
		return tw.AccountSID, tw.AuthToken, true
	}
	return "", "", false
}

// Twilio call statuses (CallStatus of a status callback) and what each
// becomes in callscope's lifecycle.
var twilioStatuses = map[string]CallStatus{
	"queued": CallInitiating, "initiated": CallInitiating, "ringing": CallRinging,
	"in-progress": CallInProgress, "completed": CallCompleted, "busy": CallBusy,
	"failed": CallFailed, "no-answer": CallNoAnswer, "canceled": CallCancelled,
}

// TwilioCallStatus maps a Twilio CallStatus to a call status; ok is false
// for a status Twilio does not document.
func TwilioCallStatus(s string) (CallStatus, bool) {
	st, ok := twilioStatuses[s]
	return st, ok
}

// TwilioMachine reports whether Twilio's AnsweredBy says a machine
// answered (machine_start, machine_end_beep, machine_end_silence,
// machine_end_other, fax).
func TwilioMachine(answeredBy string) bool {
	return strings.HasPrefix(answeredBy, "machine_") || answeredBy == "fax"
}
