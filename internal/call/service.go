// Package call is the service that owns every change to a call: creating
// it, appending to its transcript, ending it, moving its status, merging
// what other systems report about it (voice-bot results, CDRs), attaching
// recordings and requesting its processing. Each change records its events
// and the jobs it causes in the same transaction, so every surface — the
// HTTP APIs, live streams, dialers, provider callbacks, the console — is a
// thin adapter over this one service, and a rule is enforced once.
package call

import (
	"context"
	"math"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
)

// Service changes calls. Set the fields before use.
type Service struct {
	Store *sqlstore.Store
	Queue *job.Queue
	// Recordings is the recording store, from which erasure and retention
	// delete recordings' audio.
	Recordings blob.Store
	// ProcessingEnabled lets calls be queued for post-call processing
	// (ENABLE_POSTCALL_PROCESSING).
	ProcessingEnabled bool
	// Stages are the pipeline's stages, recorded as remaining when
	// processing is requested.
	Stages []string
	// Outbound tunes how outbound calls are placed (outbound.go).
	Outbound OutboundConfig
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return callscope.Timestamp(time.Now())
	}
	return callscope.Timestamp(s.Now())
}

// retryConflicts runs fn up to three times while it fails with ECONFLICT
// (a concurrent writer changed what it read).
func retryConflicts(fn func() error) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = fn(); callscope.ErrorCode(err) != callscope.ECONFLICT {
			return err
		}
	}
	return err
}

// Create stores a new call with its call.created event. The call's status,
// direction and processing mode default to in_progress, inbound and
// postcall_only. A contact of the tenant with the remote party's number is
// linked to it (and again when it ends, for a number added since).
// Returns ECONFLICT if one of its external ids is taken.
func (s *Service) Create(ctx context.Context, c *callscope.Call) error {
	now := s.now()
	if c.Status == "" {
		c.Status = callscope.CallInProgress
	}
	if c.Direction == "" {
		c.Direction = callscope.Inbound
	}
	if c.ProcessingMode == "" {
		c.ProcessingMode = callscope.ModePostcallOnly
	}
	if c.Status == callscope.CallInProgress {
		if c.StartedAt == nil {
			c.StartedAt = &now
		}
		if c.LastActivity == nil {
			c.LastActivity = &now
		}
	}
	return s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.CreateCall(ctx, c); err != nil {
			return err
		}
		if err := tx.LinkCallContact(ctx, c); err != nil {
			return err
		}
		_, err := s.Queue.RecordEvent(ctx, tx, c, callscope.CallCreatedData{CallRefData: callscope.RefOf(c),
			Direction: c.Direction, Status: c.Status})
		return err
	})
}

// AppendResult is what appending segments left: the call, its segment
// count and its audio seconds.
type AppendResult struct {
	Call         *callscope.Call
	SegmentCount int
	AudioSeconds float64
}

// AppendSegments adds segments to the transcript of the call ref names;
// segments with SegmentID -1 get the next free ids. Returns ENOTFOUND for an
// unknown call and ECONFLICT for an id the call already has.
func (s *Service) AppendSegments(ctx context.Context, tenantID, ref string, segs []callscope.Segment) (*AppendResult, error) {
	var out AppendResult
	err := s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		c, err := tx.Call(ctx, tenantID, ref)
		if err != nil {
			return err
		}
		out.Call = c
		out.SegmentCount, out.AudioSeconds, err = tx.AppendSegments(ctx, c.ID, segs, s.now())
		if err != nil {
			return err
		}
		return s.feed(ctx, tx, c, callscope.SegmentFeedData{CallRefData: callscope.RefOf(c), Segments: segs})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// End ends the call ref names, as completed, for reason (e.g. "manual"),
// and requests its post-call processing. Ending a call that is over
// already changes nothing. Returns ENOTFOUND for an unknown call.
func (s *Service) End(ctx context.Context, tenantID, ref, reason string) (*callscope.Call, error) {
	return s.end(ctx, tenantID, ref, reason, true, false)
}

// end ends the call; process requests its processing. With ifOver, a call
// already over has its processing requested still, if it never was: the
// holder of a live stream whose call another replica ended (without
// processing, the recording not attached yet) requests it once the
// recording is in place.
func (s *Service) end(ctx context.Context, tenantID, ref, reason string, process, ifOver bool) (*callscope.Call, error) {
	var out *callscope.Call
	err := s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		c, err := s.lockedCall(ctx, tx, tenantID, ref)
		if err != nil {
			return err
		}
		out = c
		next, changed := callscope.NextStatus(c.Status, callscope.CallCompleted, callscope.Observed)
		if !changed {
			// Already over: ending again changes nothing.
			if ifOver && process && s.ProcessingEnabled && c.ProcessingStatus == callscope.ProcessingNone {
				_, err = s.requestProcessing(ctx, tx, c, false)
			}
			return err
		}
		now := s.now()
		c.Status = next
		if c.EndedAt == nil {
			c.EndedAt = &now
		}
		if c.StartedAt != nil {
			c.DurationSeconds = round3(max(0, c.EndedAt.Sub(*c.StartedAt).Seconds()))
		}
		if c.Metadata == nil {
			c.Metadata = map[string]any{}
		}
		c.Metadata["end_reason"] = reason
		if err := tx.UpdateCall(ctx, c); err != nil {
			return err
		}
		if err := tx.LinkCallContact(ctx, c); err != nil {
			return err
		}
		if c.Direction == callscope.Outbound {
			if err := s.outboundStatusChanged(ctx, tx, c); err != nil {
				return err
			}
		}
		if _, err := s.Queue.RecordEvent(ctx, tx, c, callscope.CallEndedData{CallRefData: callscope.RefOf(c),
			Status: c.Status, Reason: reason, EndedAt: c.EndedAt, DurationSeconds: c.DurationSeconds}); err != nil {
			return err
		}
		if !s.ProcessingEnabled || !process {
			return nil
		}
		_, err = s.requestProcessing(ctx, tx, c, false)
		return err
	})
	return out, err
}

// StatusChange is a report of a call's status from somewhere (a provider
// callback, a dialer, a hangup).
type StatusChange struct {
	Status callscope.CallStatus
	Report callscope.StatusReport
	// At is when it happened; now when zero.
	At time.Time
	// Reason and DisconnectedBy are kept when the call ends.
	Reason         string
	DisconnectedBy string
	ErrorInfo      string
}

// SetStatus applies a status report to the call ref names through the
// status rule (callscope.NextStatus): a report the rule ignores changes
// nothing and records nothing. Reaching in_progress records call.started;
// reaching a final status records call.completed or call.failed and
// requests post-call processing. It returns the call and whether its
// status changed. Returns ENOTFOUND for an unknown call.
func (s *Service) SetStatus(ctx context.Context, tenantID, ref string, ch StatusChange) (*callscope.Call, bool, error) {
	var out *callscope.Call
	var changed bool
	err := s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		c, err := s.lockedCall(ctx, tx, tenantID, ref)
		if err != nil {
			return err
		}
		out = c
		changed, err = s.applyStatus(ctx, tx, c, ch, true)
		return err
	})
	return out, changed, err
}

// applyStatus is SetStatus on a call read under its lock in tx: the one
// place a status report is applied. A call that ends releases the outbound
// line it held; process false keeps it from being queued for processing
// (a cancelled call has nothing to process).
func (s *Service) applyStatus(ctx context.Context, tx *sqlstore.Tx, c *callscope.Call, ch StatusChange, process bool) (bool, error) {
	next, changed := callscope.NextStatus(c.Status, ch.Status, ch.Report)
	if !changed {
		return false, nil
	}
	at := s.now()
	if !ch.At.IsZero() {
		at = callscope.Timestamp(ch.At)
	}
	c.Status = next
	var ev callscope.EventData
	switch {
	case next == callscope.CallInProgress:
		if c.StartedAt == nil {
			c.StartedAt = &at
		}
		c.AnsweredAt = &at
		ev = callscope.CallStartedData{CallRefData: callscope.RefOf(c), Status: next, StartedAt: c.StartedAt}
	case next.Final():
		if c.EndedAt == nil {
			c.EndedAt = &at
		}
		c.CompletedAt = &at
		if c.AnsweredAt != nil {
			c.DurationSeconds = round3(max(0, c.EndedAt.Sub(*c.AnsweredAt).Seconds()))
		}
		if ch.DisconnectedBy != "" {
			c.DisconnectedBy = ch.DisconnectedBy
		}
		if ch.ErrorInfo != "" {
			c.ErrorInfo = ch.ErrorInfo
		}
		ev = callscope.CallEndedData{CallRefData: callscope.RefOf(c), Status: next, Reason: ch.Reason,
			DisconnectedBy: c.DisconnectedBy, EndedAt: c.EndedAt, DurationSeconds: c.DurationSeconds}
	}
	if err := tx.UpdateCall(ctx, c); err != nil {
		return false, err
	}
	if next.Final() {
		if err := tx.LinkCallContact(ctx, c); err != nil {
			return false, err
		}
	}
	if ev != nil {
		if _, err := s.Queue.RecordEvent(ctx, tx, c, ev); err != nil {
			return false, err
		}
	}
	if c.Direction == callscope.Outbound {
		if err := s.outboundStatusChanged(ctx, tx, c); err != nil {
			return false, err
		}
	}
	if next.Final() && s.ProcessingEnabled && process {
		if _, err := s.requestProcessing(ctx, tx, c, false); err != nil {
			return false, err
		}
	}
	return true, nil
}

// lockedCall reads the call ref names under its row's lock, so that a
// concurrent change of it waits and then reads what this one wrote.
func (s *Service) lockedCall(ctx context.Context, tx *sqlstore.Tx, tenantID, ref string) (*callscope.Call, error) {
	c, err := tx.Call(ctx, tenantID, ref)
	if err != nil {
		return nil, err
	}
	if err := tx.LockCall(ctx, c.ID); err != nil {
		return nil, err
	}
	return tx.Call(ctx, c.TenantID, c.ID)
}

// AttachRecording stores a recording of c (already written to the
// recording store) and records recording.ready.
func (s *Service) AttachRecording(ctx context.Context, c *callscope.Call, rec *callscope.Recording) error {
	rec.CallID, rec.TenantID = c.ID, c.TenantID
	return s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.CreateRecording(ctx, rec); err != nil {
			return err
		}
		_, err := s.Queue.RecordEvent(ctx, tx, c, callscope.RecordingReadyData{CallRefData: callscope.RefOf(c),
			RecordingID: rec.ID, RecordingURL: RecordingPath(rec.AccessToken)})
		return err
	})
}

// RecordingPath is the stable URL path of a recording's access token.
func RecordingPath(token string) string { return "/recordings/" + token }

// SetRecordingToken gives a recording a new access token, or none when
// token is "" (its URL then answers 404).
func (s *Service) SetRecordingToken(ctx context.Context, rec *callscope.Recording, token string) error {
	if err := s.Store.SetRecordingToken(ctx, rec.ID, token); err != nil {
		return err
	}
	rec.AccessToken = token
	return nil
}

// Outcomes of a processing request, as seed 000 words them.
const (
	ProcessQueued    = "queued"
	ProcessBusy      = "already_queued_or_in_progress"
	ProcessCompleted = "already_completed"
)

// RequestProcessing marks a call's processing pending and enqueues its job
// in one transaction, unless it is pending, running or (without force)
// completed already; it returns the seed 000 outcome. Returns EUNAVAILABLE
// when processing is disabled.
func (s *Service) RequestProcessing(ctx context.Context, c *callscope.Call, force bool) (string, error) {
	if !s.ProcessingEnabled {
		return "", callscope.Errorf(callscope.EUNAVAILABLE, "Post-call processing is disabled (ENABLE_POSTCALL_PROCESSING)")
	}
	var outcome string
	err := s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		outcome, err = s.requestProcessing(ctx, tx, c, force)
		return err
	})
	return outcome, err
}

// requestProcessing is RequestProcessing in tx: the one place processing is
// requested and its job enqueued.
func (s *Service) requestProcessing(ctx context.Context, tx *sqlstore.Tx, c *callscope.Call, force bool) (string, error) {
	ok, status, err := tx.RequestProcessing(ctx, c.TenantID, c.ID, force, s.Stages)
	switch {
	case err != nil:
		return "", err
	case ok:
		s.Queue.Enqueue(tx, pipeline.ProcessCallArgs{TenantID: c.TenantID, CallID: c.ID, Force: force}, nil)
		return ProcessQueued, nil
	case status == callscope.ProcessingCompleted:
		return ProcessCompleted, nil
	}
	return ProcessBusy, nil
}

// round3 rounds to milliseconds, through math.Round so huge values do not wrap.
func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
