package twilio

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twilio/twilio-go/twiml"

	"github.com/callscope/callscope"
)

const defaultTimeout = 30 * time.Second

// Paths of the callbacks Twilio sends to callscope.
const (
	VoicePath     = "/twilio/voice"
	StatusPath    = "/twilio/status"
	RecordingPath = "/twilio/recording"
	StreamPath    = "/twilio/stream/" // + tenant name
)

// Tenants lists every tenant, with its settings' secrets opened.
type Tenants interface {
	Tenants(ctx context.Context) ([]*callscope.Tenant, error)
}

// FindTenant returns the tenant whose Twilio account is accountSID and
// that owns number (the To of an inbound call, the From of an outbound
// one). Returns ENOTFOUND when no tenant owns it in that account.
func FindTenant(ctx context.Context, ts Tenants, accountSID, number string) (*callscope.Tenant, error) {
	if accountSID == "" || number == "" {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "No tenant owns this Twilio number")
	}
	all, err := ts.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range all {
		tw := t.Settings.Twilio
		if tw == nil || tw.AccountSID != accountSID {
			continue
		}
		if _, ok := tw.Number(number); ok {
			return t, nil
		}
	}
	return nil, callscope.Errorf(callscope.ENOTFOUND, "No tenant owns Twilio number %s in this account", number)
}

// AccountTenants returns the tenants whose Twilio account is accountSID.
func AccountTenants(ctx context.Context, ts Tenants, accountSID string) ([]*callscope.Tenant, error) {
	all, err := ts.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	var out []*callscope.Tenant
	for _, t := range all {
		if tw := t.Settings.Twilio; accountSID != "" && tw != nil && tw.AccountSID == accountSID {
			out = append(out, t)
		}
	}
	return out, nil
}

// CallbackURL is the URL of a callback path under the public base URL,
// with query values (the call's id for outbound calls, so that a callback
// that overtakes the dial still finds its call).
func CallbackURL(base, path string, query url.Values) string {
	u := strings.TrimRight(base, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

// StreamURL is the Media Streams URL of a tenant under the public base URL:
// wss for https, ws for http (Twilio connects only to wss).
func StreamURL(base, tenantName string) string {
	b := strings.TrimRight(base, "/")
	switch {
	case strings.HasPrefix(b, "https://"):
		b = "wss://" + strings.TrimPrefix(b, "https://")
	case strings.HasPrefix(b, "http://"):
		b = "ws://" + strings.TrimPrefix(b, "http://")
	}
	return b + StreamPath + url.PathEscape(tenantName)
}

// Stream is a Media Stream to start on a call: where, and the parameters
// that come back in the stream's start message (customParameters).
type Stream struct {
	URL    string
	Params []Param
}

// Param is one <Parameter> of a stream.
type Param struct{ Name, Value string }

func (s *Stream) start() twiml.Element {
	params := make([]twiml.Element, 0, len(s.Params))
	for _, p := range s.Params {
		params = append(params, twiml.VoiceParameter{Name: p.Name, Value: p.Value})
	}
	// both_tracks needs <Start> (https://www.twilio.com/docs/voice/twiml/stream).
	return twiml.VoiceStart{InnerElements: []twiml.Element{
		twiml.VoiceStream{Url: s.URL, Track: "both_tracks", InnerElements: params}}}
}

// maxPause is the longest <Pause> written: an inbound call is held this long
// while it is streamed and recorded.
const maxPause = 4 * time.Hour

// InboundTwiML answers an inbound call: it starts a Media Stream of both
// tracks to the tenant's listener, starts a dual-channel recording of both
// tracks that reports to recordingCallback, and holds the call.
//
// The recording is <Start><Recording> (https://www.twilio.com/docs/voice/twiml/recording):
// it records the whole call in the background, both tracks, one per channel
// with channels="dual", and reports to recordingStatusCallback. <Record>
// would record only the caller, as a voicemail, and stop the call's TwiML.
func InboundTwiML(st Stream, recordingCallback string) (string, error) {
	verbs := []twiml.Element{st.start()}
	if recordingCallback != "" {
		verbs = append(verbs, twiml.VoiceStart{InnerElements: []twiml.Element{twiml.VoiceRecording{
			Channels: "dual", Track: "both", RecordingStatusCallback: recordingCallback,
			RecordingStatusCallbackMethod: "POST", RecordingStatusCallbackEvent: "completed absent"}}})
	}
	verbs = append(verbs, twiml.VoicePause{Length: seconds(maxPause)})
	return twiml.Voice(verbs)
}

// OutboundTwiML is what an outbound call does once answered: it starts a
// Media Stream when st is set (live transcription), says the script, and
// then, while streaming, holds the line for listen so the callee can
// answer.
func OutboundTwiML(st *Stream, say string, listen time.Duration) (string, error) {
	var verbs []twiml.Element
	if st != nil {
		verbs = append(verbs, st.start())
	}
	if strings.TrimSpace(say) != "" {
		verbs = append(verbs, twiml.VoiceSay{Message: say})
	}
	if st != nil && listen > 0 {
		verbs = append(verbs, twiml.VoicePause{Length: seconds(min(listen, maxPause))})
	}
	return twiml.Voice(verbs)
}

func seconds(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }
