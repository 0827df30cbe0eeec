package twilio

import (
	"context"
	"log/slog"
	"net/url"
	"time"

	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/dial"
)

// TenantStore reads a tenant with its settings' secrets opened.
type TenantStore interface {
	Tenant(ctx context.Context, id string) (*callscope.Tenant, error)
}

// Dialer places outbound calls (seed 002) with the tenant's Twilio account
// (settings.twilio): Calls.create with TwiML that says the rendered script
// and, when live transcription is wanted, streams both tracks to the
// tenant's Media Streams listener; the call is recorded (dual channel) when
// recordingEnabled; Twilio reports initiated, ringing, answered and
// completed to /twilio/status and the recording to /twilio/recording;
// answering machines are detected (MachineDetection=Enable) and end the
// call as voicemail.
//
// What then happens to the call arrives through those callbacks, not
// through dial.Events.
type Dialer struct {
	Tenants TenantStore
	// Calls links the Twilio CallSid to the call.
	Calls *call.Service
	// PublicURL is callscope's public base URL (CALLSCOPE_PUBLIC_URL), where
	// Twilio sends its callbacks and opens its streams.
	PublicURL string
	API       API
	// KeepAlive, if not zero, replaces dial.KeepAlive.
	KeepAlive time.Duration
	Logger    *slog.Logger
}

var _ dial.Dialer = (*Dialer)(nil)

// StatusEvents are the call progress events Twilio is asked to report.
var StatusEvents = []string{"initiated", "ringing", "answered", "completed"}

// Dial implements dial.Dialer: it creates the call at Twilio and returns
// its CallSid. The call is placed from the request's From when that is one
// of the tenant's numbers, otherwise from the tenant's first number.
// Returns EUNAVAILABLE when the tenant has no Twilio account or no number,
// EINVALID when Twilio refuses the call.
func (d *Dialer) Dial(ctx context.Context, req dial.Request) (string, error) {
	if d.PublicURL == "" {
		return "", callscope.Errorf(callscope.EUNAVAILABLE, "CALLSCOPE_PUBLIC_URL is not set: Twilio would have nowhere to report the call")
	}
	tn, err := d.Tenants.Tenant(ctx, req.TenantID)
	if err != nil {
		return "", err
	}
	tw := tn.Settings.Twilio
	from := req.From
	if _, ok := tw.Number(from); !ok {
		if tw == nil || len(tw.Numbers) == 0 {
			return "", callscope.Errorf(callscope.EUNAVAILABLE, "the tenant has no Twilio number to call from (settings.twilio.numbers)")
		}
		from = tw.Numbers[0].Number
	}
	svc, err := d.API.service(tw)
	if err != nil {
		return "", err
	}
	var st *Stream
	if req.TranscriptionEnabled {
		st = &Stream{URL: StreamURL(d.PublicURL, tn.Name), Params: []Param{{"call_id", req.CallID}}}
	}
	body, err := OutboundTwiML(st, dial.Render(req.Script, req), req.MaxDuration)
	if err != nil {
		return "", err
	}
	q := url.Values{"call_id": {req.CallID}}
	p := &api.CreateCallParams{}
	p.SetTo(req.To).SetFrom(from).SetTwiml(body).
		SetStatusCallback(CallbackURL(d.PublicURL, StatusPath, q)).SetStatusCallbackMethod("POST").
		SetStatusCallbackEvent(StatusEvents).SetMachineDetection("Enable")
	if req.RecordingEnabled {
		p.SetRecord(true).SetRecordingChannels("dual").
			SetRecordingStatusCallback(CallbackURL(d.PublicURL, RecordingPath, q)).SetRecordingStatusCallbackMethod("POST").
			SetRecordingStatusCallbackEvent([]string{"completed", "absent"})
	}
	if req.MaxDuration > 0 {
		p.SetTimeLimit(int(req.MaxDuration / time.Second))
	}
	meta := map[string]any{MetaPhoneNumber: from, MetaAccountSID: tw.AccountSID}
	if req.RecordingEnabled {
		// The call's processing waits for Twilio's recording.
		meta[call.MetaRecordingPending] = true
	}
	if _, _, err := d.Calls.Report(ctx, req.TenantID, req.CallID, call.ProviderReport{Metadata: meta}); err != nil {
		return "", err
	}
	res, err := svc.CreateCall(p)
	if err != nil {
		return "", restError(ctx, "create call", err)
	}
	if res.Sid == nil || *res.Sid == "" {
		return "", callscope.Errorf(callscope.EUNAVAILABLE, "create call: Twilio answered without a CallSid")
	}
	sid := *res.Sid
	if _, _, err := d.Calls.Report(ctx, req.TenantID, req.CallID, call.ProviderReport{
		ExternalID: &callscope.ExternalID{Kind: callscope.ExtCallSID, Value: sid}}); err != nil {
		d.log().Error("linking the CallSid to the call", "call_id", req.CallID, "call_sid", sid, "err", err)
	}
	go d.keepLine(context.WithoutCancel(ctx), req.TenantID, req.CallID)
	return sid, nil
}

// keepLine holds the call's outbound line while the call is live: Twilio
// carries the call, and this process vouches for it every dial.KeepAlive,
// as the engine requires of a dialer. It returns once the call is over.
func (d *Dialer) keepLine(ctx context.Context, tenantID, callID string) {
	every := d.KeepAlive
	if every <= 0 {
		every = dial.KeepAlive
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for range tick.C {
		c, err := d.Calls.Store.Call(ctx, tenantID, callID)
		if err != nil || !c.Status.Live() {
			return
		}
		if err := d.Calls.KeepLine(ctx, tenantID, callID); err != nil {
			d.log().Warn("keeping the line of a Twilio call", "call_id", callID, "err", err)
		}
	}
}

// Hangup implements dial.Dialer. A CallSid alone does not say whose
// account the call is in, so it returns ENOTFOUND; the engine uses
// HangupCall.
func (d *Dialer) Hangup(ctx context.Context, sessionID string) error {
	return callscope.Errorf(callscope.ENOTFOUND, "a Twilio call is hung up with its tenant's account")
}

// HangupCall ends the tenant's Twilio call sessionID: Status=completed for
// a call answered, Status=canceled for one still ringing (Twilio's
// CallEnumUpdateStatus). Returns ENOTFOUND when Twilio does not know the
// call.
func (d *Dialer) HangupCall(ctx context.Context, tenantID, sessionID string) error {
	tn, err := d.Tenants.Tenant(ctx, tenantID)
	if err != nil {
		return err
	}
	svc, err := d.API.service(tn.Settings.Twilio)
	if err != nil {
		return err
	}
	status := "completed"
	if c, err := d.Calls.Store.Call(ctx, tenantID, sessionID); err == nil && c.AnsweredAt == nil {
		status = "canceled"
	}
	if _, err := svc.UpdateCall(sessionID, (&api.UpdateCallParams{}).SetStatus(status)); err != nil {
		return restError(ctx, "end call", err)
	}
	return nil
}

func (d *Dialer) log() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

// Metadata keys the Twilio callbacks and dialer keep on a call.
const (
	// MetaPhoneNumber is the tenant's Twilio number the call came to or
	// was placed from (seed 003's phone number).
	MetaPhoneNumber = "phone_number"
	// MetaPhoneLabel is that number's label.
	MetaPhoneLabel = "phone_number_label"
	// MetaAccountSID is the Twilio account that carried the call.
	MetaAccountSID = "account_sid"
)
