package http

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/dial/twilio"
)

// TwilioHooks configures the callbacks Twilio sends for calls it carries
// (POST /twilio/voice, /twilio/status, /twilio/recording). Each is checked
// against the X-Twilio-Signature of the auth token of the tenant that owns
// the call's number; a bad signature is 403 and changes nothing.
type TwilioHooks struct {
	// PublicURL is callscope's public base URL (CALLSCOPE_PUBLIC_URL):
	// the URLs Twilio signs, and the stream and callback URLs given in
	// TwiML, are under it. Empty derives it from each request (the Host
	// header; https when the request came over TLS or X-Forwarded-Proto
	// says so).
	PublicURL string
	// Recordings queues the download of a call's recording.
	Recordings interface {
		Download(ctx context.Context, a twilio.RecordingArgs) error
	}
}

// mountTwilio adds Twilio's callbacks, which are not API routes: Twilio
// posts forms, authenticated by their own signature.
func (s *Server) mountTwilio() {
	if s.Twilio == nil {
		return
	}
	for path, h := range map[string]func(http.ResponseWriter, *http.Request, *twilioCallback) error{
		twilio.VoicePath: s.handleTwilioVoice, twilio.StatusPath: s.handleTwilioStatus, twilio.RecordingPath: s.handleTwilioRecording,
	} {
		s.mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			cb, err := s.readTwilioCallback(w, r)
			if err == nil {
				err = h(w, r, cb)
			}
			if err != nil {
				writeError(w, r, s.Logger, err)
			}
		})
	}
}

// twilioCallback is one callback: its parameters, its raw body and the URL
// Twilio signed.
type twilioCallback struct {
	params map[string]string
	body   []byte
	json   bool
	url    string
	base   string
}

func (cb *twilioCallback) get(k string) string { return cb.params[k] }

// readTwilioCallback reads a form (or, for products that post JSON, a JSON
// object of strings) of at most MaxBodyBytes.
func (s *Server) readTwilioCallback(w http.ResponseWriter, r *http.Request) (*twilioCallback, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxBodyBytes))
	if err != nil {
		return nil, callscope.Errorf(callscope.ETOOLARGE, "Request body is over %d bytes", s.MaxBodyBytes)
	}
	cb := &twilioCallback{params: map[string]string{}, body: body}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, callscope.Errorf(callscope.EINVALID, "Malformed form body: %v", err)
		}
		for k, v := range vals {
			cb.params[k] = v[0]
		}
	case "application/json":
		cb.json = true
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, callscope.Errorf(callscope.EINVALID, "Malformed JSON body: %v", err)
		}
		for k, v := range m {
			if str, ok := v.(string); ok {
				cb.params[k] = str
			}
		}
	default:
		return nil, callscope.Errorf(callscope.EINVALID, "Content-Type must be application/x-www-form-urlencoded")
	}
	cb.base = s.Twilio.PublicURL
	if cb.base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		if p, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ","); strings.EqualFold(strings.TrimSpace(p), "https") {
			scheme = "https"
		}
		cb.base = scheme + "://" + r.Host
	}
	cb.url = strings.TrimRight(cb.base, "/") + r.URL.RequestURI()
	return cb, nil
}

// verifyTwilio checks the callback's X-Twilio-Signature with the tenant's
// auth token, as twilio-go's RequestValidator does: form parameters sorted
// into the signed string, or, for a JSON body, the bodySHA256 of the URL;
// the URL with and without its port. Returns EFORBIDDEN when it fails.
func verifyTwilio(r *http.Request, cb *twilioCallback, tn *callscope.Tenant) error {
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" {
		return callscope.Errorf(callscope.EFORBIDDEN, "Missing X-Twilio-Signature")
	}
	tw := tn.Settings.Twilio
	if tw == nil || tw.AuthToken == "" {
		return callscope.Errorf(callscope.EFORBIDDEN, "No Twilio auth token is set to check the signature (settings.twilio.auth_token)")
	}
	v := client.NewRequestValidator(tw.AuthToken)
	ok := false
	if cb.json {
		ok = v.ValidateBody(cb.url, cb.body, sig)
	} else {
		ok = v.Validate(cb.url, cb.params, sig)
	}
	if !ok {
		return callscope.Errorf(callscope.EFORBIDDEN, "Invalid X-Twilio-Signature")
	}
	return nil
}

// twilioTenant finds the tenant that owns the callback's number (To of an
// inbound call, From of one callscope placed) in its account, and checks
// the signature. Returns ENOTFOUND for a number no tenant owns and
// EFORBIDDEN for a bad signature.
func (s *Server) twilioTenant(r *http.Request, cb *twilioCallback) (*callscope.Tenant, callscope.TwilioNumber, error) {
	number := cb.get("To")
	if strings.HasPrefix(cb.get("Direction"), "outbound") {
		number = cb.get("From")
	}
	tn, err := twilio.FindTenant(r.Context(), s.Store, cb.get("AccountSid"), number)
	if err != nil {
		return nil, callscope.TwilioNumber{}, err
	}
	if err := verifyTwilio(r, cb, tn); err != nil {
		return nil, callscope.TwilioNumber{}, err
	}
	num, _ := tn.Settings.Twilio.Number(number)
	return tn, num, nil
}

// twilioCall finds the tenant's call by the callback's CallSid, or, for a
// call callscope placed, by the call_id of the callback URL (a callback
// may overtake the dial that learns the CallSid). Returns ENOTFOUND.
func (s *Server) twilioCall(ctx context.Context, tenantID string, r *http.Request, cb *twilioCallback) (*callscope.Call, error) {
	c, err := s.Calls.Store.Call(ctx, tenantID, cb.get("CallSid"))
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		if id := r.URL.Query().Get("call_id"); id != "" {
			if c, err := s.Calls.Store.Call(ctx, tenantID, id); err == nil && c.ID == id {
				return c, nil
			}
		}
	}
	return c, err
}

// handleTwilioVoice answers an inbound call (Twilio's voice webhook) with
// TwiML that streams both tracks to the tenant's Media Streams listener
// and records the call, dual-channel; the call record is created here,
// keyed by its CallSid, and the stream and the callbacks find it.
func (s *Server) handleTwilioVoice(w http.ResponseWriter, r *http.Request, cb *twilioCallback) error {
	tn, num, err := s.twilioTenant(r, cb)
	if err != nil {
		return err
	}
	sid := cb.get("CallSid")
	if sid == "" {
		return callscope.Errorf(callscope.EINVALID, "CallSid is required")
	}
	now := s.Now()
	meta := map[string]any{"stream_protocol": "twilio", twilio.MetaPhoneNumber: num.Number, twilio.MetaAccountSID: cb.get("AccountSid")}
	if num.Label != "" {
		meta[twilio.MetaPhoneLabel] = num.Label
	}
	c, _, err := s.Calls.OpenLive(r.Context(), &callscope.Call{TenantID: tn.ID,
		ExternalIDs: []callscope.ExternalID{{Kind: callscope.ExtCallSID, Value: sid}},
		Direction:   callscope.Inbound, From: cb.get("From"), To: cb.get("To"), Status: callscope.CallRinging,
		StartedAt: &now, ProcessingMode: tn.Settings.ModeOrDefault(), Metadata: meta})
	if err != nil {
		return err
	}
	q := url.Values{"call_id": {c.ID}}
	body, err := twilio.InboundTwiML(twilio.Stream{URL: twilio.StreamURL(cb.base, tn.Name), Params: []twilio.Param{
		{Name: "call_id", Value: c.ID}, {Name: "from", Value: c.From}, {Name: "to", Value: c.To}}},
		twilio.CallbackURL(cb.base, twilio.RecordingPath, q))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = io.WriteString(w, body)
	return nil
}

// handleTwilioStatus moves a call through the status rule by Twilio's
// status callback: callbacks twice or out of order leave one final status.
func (s *Server) handleTwilioStatus(w http.ResponseWriter, r *http.Request, cb *twilioCallback) error {
	tn, num, err := s.twilioTenant(r, cb)
	if err != nil {
		return err
	}
	st, ok := callscope.TwilioCallStatus(cb.get("CallStatus"))
	if !ok {
		return callscope.Errorf(callscope.EINVALID, "Unknown CallStatus %q", cb.get("CallStatus"))
	}
	c, err := s.twilioCall(r.Context(), tn.ID, r, cb)
	if err != nil {
		return err
	}
	rep := call.ProviderReport{StatusChange: call.StatusChange{Status: st, Report: callscope.Observed, Reason: "twilio:" + cb.get("CallStatus")},
		ExternalID: &callscope.ExternalID{Kind: callscope.ExtCallSID, Value: cb.get("CallSid")},
		Metadata:   map[string]any{twilio.MetaPhoneNumber: num.Number}}
	if by := cb.get("AnsweredBy"); by != "" {
		rep.Metadata[call.MetaAnsweredBy] = by
	}
	if t, err := time.Parse(time.RFC1123Z, cb.get("Timestamp")); err == nil {
		rep.At = t
	}
	if st == callscope.CallFailed {
		rep.ErrorInfo = "Twilio reported the call failed"
		if code := cb.get("SipResponseCode"); code != "" {
			rep.ErrorInfo += " (SIP " + code + ")"
		}
	}
	if _, _, err := s.Calls.Report(r.Context(), tn.ID, c.ID, rep); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleTwilioRecording takes Twilio's recording status callback: a
// completed recording is downloaded by a job (retried while Twilio still
// answers 404), an absent or failed one lets the call be processed
// without it.
func (s *Server) handleTwilioRecording(w http.ResponseWriter, r *http.Request, cb *twilioCallback) error {
	ctx := r.Context()
	tenants, err := twilio.AccountTenants(ctx, s.Store, cb.get("AccountSid"))
	if err != nil {
		return err
	}
	var tn *callscope.Tenant
	var c *callscope.Call
	for _, t := range tenants {
		if found, err := s.twilioCall(ctx, t.ID, r, cb); err == nil {
			tn, c = t, found
			break
		} else if callscope.ErrorCode(err) != callscope.ENOTFOUND {
			return err
		}
	}
	if c == nil {
		return callscope.Errorf(callscope.ENOTFOUND, "No call with this CallSid in this Twilio account")
	}
	if err := verifyTwilio(r, cb, tn); err != nil {
		return err
	}
	switch cb.get("RecordingStatus") {
	case "completed":
		u := cb.get("RecordingUrl")
		if err := s.Egress.CheckReceivedURL(ctx, u); err != nil {
			return callscope.Errorf(callscope.EINVALID, "RecordingUrl: %s", callscope.ErrorMessage(err))
		}
		ch, _ := strconv.Atoi(cb.get("RecordingChannels"))
		dur, _ := strconv.ParseFloat(cb.get("RecordingDuration"), 64)
		if err := s.Twilio.Recordings.Download(ctx, twilio.RecordingArgs{TenantID: tn.ID, CallID: c.ID,
			RecordingSID: cb.get("RecordingSid"), RecordingURL: u, Channels: ch, Duration: dur}); err != nil {
			return err
		}
	case "absent", "failed":
		if _, err := s.Calls.RecordingSettled(ctx, tn.ID, c.ID); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
