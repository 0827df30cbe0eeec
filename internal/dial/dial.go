// Package dial places outbound calls through a provider (a Dialer) and
// feeds what the provider reports back through the call service, so that a
// dialled call changes like every other call: its statuses follow the one
// status rule, its recording and transcript raise recording.ready and
// transcription.ready, and its end queues the post-call pipeline.
package dial

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/voicebot"
)

// Request is what a dialer needs to place one call.
type Request struct {
	TenantID string
	// CallID is callscope's id of the call; every report names it.
	CallID   string
	PublicID string
	To       string
	From     string

	ContactName string
	Title       string
	Purpose     string
	Script      string

	RecordingEnabled     bool
	TranscriptionEnabled bool
	// MaxDuration is how long the call may talk.
	MaxDuration time.Duration
	// Provider holds the schedule request's provider parameters.
	Provider map[string]json.RawMessage
}

// RequestOf is the dial request of an outbound call.
func RequestOf(o *callscope.OutboundCall) Request {
	c := o.Call
	return Request{TenantID: c.TenantID, CallID: c.ID, PublicID: c.PublicID(), To: c.To, From: c.From,
		ContactName: c.ContactName, Title: c.Title, Purpose: c.Purpose, Script: c.Script,
		RecordingEnabled: o.RecordingEnabled, TranscriptionEnabled: o.TranscriptionEnabled,
		MaxDuration: time.Duration(o.DurationMinutes) * time.Minute, Provider: o.Provider}
}

// Dialer places calls with one provider. Dial starts placing a call and
// returns the provider's id for it; what then happens to the call the
// dialer reports through Events. Hangup ends a call it placed; it returns
// ENOTFOUND for a call it does not know (any more).
type Dialer interface {
	Dial(ctx context.Context, req Request) (sessionID string, err error)
	Hangup(ctx context.Context, sessionID string) error
}

// Events is where a dialer reports what happens to the calls it placed.
// Reporter implements it over the call service.
type Events interface {
	// Status reports a status of the call (ringing, in progress, a final
	// one).
	Status(ctx context.Context, tenantID, callID string, ch call.StatusChange) error
	// Recording hands over the call's recording, WAV.
	Recording(ctx context.Context, tenantID, callID string, wav []byte, seconds float64) error
	// Segments hands over transcript lines as they are spoken, while the
	// call is in progress.
	Segments(ctx context.Context, tenantID, callID string, segs []callscope.Segment) error
	// Transcript hands over the call's whole transcript.
	Transcript(ctx context.Context, tenantID, callID string, segs []callscope.Segment) error
	// Cost reports what the call cost.
	Cost(ctx context.Context, tenantID, callID string, cost float64) error
	// Alive reports that the dialer is still on a live call (at least every
	// KeepAlive), so that its line stays held.
	Alive(ctx context.Context, tenantID, callID string) error
}

// KeepAlive is how often a dialer reports a live call alive.
const KeepAlive = 10 * time.Second

// Reporter applies dialer reports through the call service, storing
// recordings in the recording store.
type Reporter struct {
	Calls      *call.Service
	Recordings blob.Store
}

var _ Events = (*Reporter)(nil)

// Status implements Events.
func (r *Reporter) Status(ctx context.Context, tenantID, callID string, ch call.StatusChange) error {
	_, _, err := r.Calls.SetStatus(ctx, tenantID, callID, ch)
	return err
}

// Recording implements Events: the file is stored, then attached to the
// call with a stable access token (recording.ready).
func (r *Reporter) Recording(ctx context.Context, tenantID, callID string, wav []byte, seconds float64) error {
	c, err := r.Calls.Store.Call(ctx, tenantID, callID)
	if err != nil {
		return err
	}
	key := c.TenantID + "/" + c.ID + "/" + callscope.NewID() + ".wav"
	size, err := r.Recordings.Put(ctx, key, bytes.NewReader(wav))
	if err != nil {
		return err
	}
	rec := &callscope.Recording{Format: "wav", ContentType: "audio/wav", Channels: 1, DurationSeconds: seconds,
		SizeBytes: size, StorageKey: key, AccessToken: voicebot.NewToken()}
	if err := r.Calls.AttachRecording(ctx, c, rec); err != nil {
		_ = r.Recordings.Delete(context.WithoutCancel(ctx), key)
		return err
	}
	return nil
}

// Segments implements Events.
func (r *Reporter) Segments(ctx context.Context, tenantID, callID string, segs []callscope.Segment) error {
	_, err := r.Calls.AppendSegments(ctx, tenantID, callID, segs)
	return err
}

// Transcript implements Events (transcription.ready).
func (r *Reporter) Transcript(ctx context.Context, tenantID, callID string, segs []callscope.Segment) error {
	return r.Calls.PutTranscript(ctx, tenantID, callID, segs)
}

// Alive implements Events.
func (r *Reporter) Alive(ctx context.Context, tenantID, callID string) error {
	return r.Calls.KeepLine(ctx, tenantID, callID)
}

// Cost implements Events.
func (r *Reporter) Cost(ctx context.Context, tenantID, callID string, cost float64) error {
	return r.Calls.SetCost(ctx, tenantID, callID, cost)
}
