package call

import (
	"context"
	"reflect"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
)

// Metadata keys a telephony provider's reports keep on a call.
const (
	// MetaAnsweredBy is who answered, as the provider detected it
	// (Twilio's AnsweredBy: human, machine_start, fax, …). A call a
	// machine answered ends as voicemail.
	MetaAnsweredBy = "answered_by"
	// MetaRecordingPending marks a call whose recording the provider
	// delivers after the call ends: its processing waits for
	// RecordingSettled.
	MetaRecordingPending = "recording_pending"
)

// streamWindow is how recent a streamed call's activity must be for its
// stream to count as still held.
const streamWindow = 10 * time.Second

// ProviderReport is what a telephony provider (Twilio's status
// callbacks, a dialer) reports about a call it carries.
type ProviderReport struct {
	// StatusChange is applied through the status rule; a zero Status
	// changes no status.
	StatusChange
	// ExternalID, if set, is linked to the call (the provider's id for
	// it, such as a Twilio CallSid) unless the call has it already.
	ExternalID *callscope.ExternalID
	// Metadata is merged into the call's metadata.
	Metadata map[string]any
}

// Report applies a provider's report to the call ref names in one
// transaction: the external id and metadata first, then the status
// through the status rule (SetStatus), so reports that arrive twice or out
// of order leave one final status and one call.completed event. A call
// answered by a machine (MetaAnsweredBy) that completes becomes voicemail.
// A call that ends with MetaRecordingPending set is not queued for
// processing until RecordingSettled. It returns the call and whether its
// status changed. Returns ENOTFOUND for an unknown call and ECONFLICT for
// an external id that names another call.
func (s *Service) Report(ctx context.Context, tenantID, ref string, r ProviderReport) (*callscope.Call, bool, error) {
	var out *callscope.Call
	var changed bool
	err := retryConflicts(func() error {
		return s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
			c, err := s.lockedCall(ctx, tx, tenantID, ref)
			if err != nil {
				return err
			}
			out = c
			if e := r.ExternalID; e != nil && e.Value != "" {
				if err := tx.AddExternalID(ctx, c, *e); err != nil {
					return err
				}
			}
			dirty := false
			for k, v := range r.Metadata {
				if c.Metadata == nil {
					c.Metadata = map[string]any{}
				}
				if old, ok := c.Metadata[k]; !ok || !reflect.DeepEqual(old, v) {
					c.Metadata[k], dirty = v, true
				}
			}
			ch := r.StatusChange
			if ch.Status == callscope.CallCompleted {
				if by, _ := c.Metadata[MetaAnsweredBy].(string); callscope.TwilioMachine(by) {
					ch.Status, ch.Reason = callscope.CallVoicemail, "answering_machine"
				}
			}
			// The holder of a live stream of the call queues its processing
			// once the stream's recording is in place (EndLive).
			pending, _ := c.Metadata[MetaRecordingPending].(bool)
			process := !pending && !StreamedElsewhere(c, s.now(), streamWindow)
			if ch.Status != "" {
				if changed, err = s.applyStatus(ctx, tx, c, ch, process); err != nil {
					return err
				}
			}
			if dirty && !changed {
				return tx.UpdateCall(ctx, c)
			}
			return nil
		})
	})
	return out, changed, err
}

// RecordingSettled records that the provider's recording of a call has
// arrived (or will not come): MetaRecordingPending is cleared and a call
// that is over is queued for processing, unless it was already. Returns
// ENOTFOUND for an unknown call.
func (s *Service) RecordingSettled(ctx context.Context, tenantID, ref string) (*callscope.Call, error) {
	var out *callscope.Call
	err := retryConflicts(func() error {
		return s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
			c, err := s.lockedCall(ctx, tx, tenantID, ref)
			if err != nil {
				return err
			}
			out = c
			if _, ok := c.Metadata[MetaRecordingPending]; ok {
				delete(c.Metadata, MetaRecordingPending)
				if err := tx.UpdateCall(ctx, c); err != nil {
					return err
				}
			}
			if c.Status.Final() && s.ProcessingEnabled && c.ProcessingStatus == callscope.ProcessingNone {
				_, err = s.requestProcessing(ctx, tx, c, false)
			}
			return err
		})
	})
	return out, err
}
