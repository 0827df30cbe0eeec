package call

import (
	"context"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
)

// OpenLive finds the live call whose external id of kind is value, or
// creates it from c (with that external id first) when there is none. A
// call found keeps its record; only its connection_info is replaced when c
// has one. It reports whether the call was created.
func (s *Service) OpenLive(ctx context.Context, c *callscope.Call) (*callscope.Call, bool, error) {
	if len(c.ExternalIDs) == 0 {
		return nil, false, callscope.Errorf(callscope.EINVALID, "a live call needs an external id")
	}
	ref := c.ExternalIDs[0].Value
	for attempt := 0; attempt < 3; attempt++ {
		found, err := s.Store.Call(ctx, c.TenantID, ref)
		switch {
		case err == nil:
			if len(c.ConnectionInfo) > 0 && found.Status.Live() {
				err = retryConflicts(func() error {
					return s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
						cur, err := s.lockedCall(ctx, tx, found.TenantID, found.ID)
						if err != nil {
							return err
						}
						cur.ConnectionInfo = c.ConnectionInfo
						now := s.now()
						cur.LastActivity = &now
						found = cur
						return tx.UpdateCall(ctx, cur)
					})
				})
			}
			return found, false, err
		case callscope.ErrorCode(err) != callscope.ENOTFOUND:
			return nil, false, err
		}
		err = s.Create(ctx, c)
		if err == nil {
			return c, true, nil
		}
		if callscope.ErrorCode(err) != callscope.ECONFLICT {
			return nil, false, err
		}
		// Another connection created it at the same moment: find it.
	}
	return nil, false, callscope.Errorf(callscope.ECONFLICT, "call %q is being created elsewhere", ref)
}

// LiveProgress records how far a live call's audio has come: its last
// activity and the seconds of audio received (never lowered). It returns
// the call as stored, so the caller sees a status changed elsewhere.
func (s *Service) LiveProgress(ctx context.Context, tenantID, callID string, at time.Time, audioSeconds float64) (*callscope.Call, error) {
	var out *callscope.Call
	err := retryConflicts(func() error {
		return s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
			c, err := s.lockedCall(ctx, tx, tenantID, callID)
			if err != nil {
				return err
			}
			out = c
			if !c.Status.Live() {
				return nil // over already: the record is final
			}
			at := callscope.Timestamp(at)
			c.LastActivity = &at
			c.AudioSeconds = max(c.AudioSeconds, round3(audioSeconds))
			return tx.UpdateCall(ctx, c)
		})
	})
	return out, err
}

// DTMF records a key pressed during a live call as a call.dtmf event.
func (s *Service) DTMF(ctx context.Context, c *callscope.Call, digit, track string, offset time.Duration) error {
	return s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		_, err := s.Queue.RecordEvent(ctx, tx, c, callscope.CallDTMFData{CallRefData: callscope.RefOf(c),
			Digit: digit, Offset: round3(offset.Seconds()), Track: track})
		return err
	})
}

// EndLive ends a live call as End does, and requests its post-call
// processing only when process is true (a realtime-only call is not
// processed again). A call that is over already is not changed, but its
// processing is requested (process being true) if it never was: the call
// was ended elsewhere while this process held its stream (EndElsewhere).
func (s *Service) EndLive(ctx context.Context, tenantID, ref, reason string, process bool) (*callscope.Call, error) {
	return s.end(ctx, tenantID, ref, reason, process, true)
}

// EndElsewhere ends a call whose live stream another replica holds, for
// reason, without requesting its processing: the holder notices within
// its flush interval, closes the stream, attaches the recording and then
// requests it (EndLive). Returns ENOTFOUND for an unknown call.
func (s *Service) EndElsewhere(ctx context.Context, tenantID, ref, reason string) (*callscope.Call, error) {
	return s.end(ctx, tenantID, ref, reason, false, false)
}

// StreamedElsewhere reports whether c is a live call whose stream some
// process still holds: it came from a stream and showed activity within
// the last window (a holder stores its progress every couple of seconds).
func StreamedElsewhere(c *callscope.Call, now time.Time, window time.Duration) bool {
	if !c.Status.Live() || c.LastActivity == nil || c.Metadata["stream_protocol"] == nil {
		return false
	}
	return now.Sub(*c.LastActivity) < window
}

// LiveAppend is one live call's new transcript segments, for
// AppendLiveSegments.
type LiveAppend struct {
	TenantID, CallID string
	Segments         []callscope.Segment
}

// AppendLiveSegments appends the segments of many live calls in one
// transaction, each as AppendSegments does: a server transcribing
// hundreds of calls writes their utterances together rather than one
// commit each. If the batch fails (a call was deleted, say), each call's
// segments are appended alone, and errs holds each one's outcome.
func (s *Service) AppendLiveSegments(ctx context.Context, batch []LiveAppend) (errs []error) {
	errs = make([]error, len(batch))
	err := s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		for _, a := range batch {
			c, err := tx.Call(ctx, a.TenantID, a.CallID)
			if err != nil {
				return err
			}
			if _, _, err := tx.AppendSegments(ctx, c.ID, a.Segments, s.now()); err != nil {
				return err
			}
			if err := s.feed(ctx, tx, c, callscope.SegmentFeedData{CallRefData: callscope.RefOf(c), Segments: a.Segments}); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	for i, a := range batch {
		_, errs[i] = s.AppendSegments(ctx, a.TenantID, a.CallID, a.Segments)
	}
	return errs
}

// LiveTick is one live call's progress, for LiveProgressMany.
type LiveTick struct {
	TenantID, CallID string
	At               time.Time
	AudioSeconds     float64
}

// LiveProgressMany records the progress of many live calls in one
// transaction, as LiveProgress does (a call over already is left as it
// is), and returns each call's status as stored ("" for one that is gone),
// so each holder sees a call ended elsewhere. The ticks name calls by
// callscope's id and must be the tenant's own: this is the live sessions'
// bookkeeping, not an API.
func (s *Service) LiveProgressMany(ctx context.Context, ticks []LiveTick) ([]callscope.CallStatus, error) {
	in := make([]sqlstore.LiveTick, len(ticks))
	for i, t := range ticks {
		in[i] = sqlstore.LiveTick{CallID: t.CallID, At: t.At, AudioSeconds: round3(t.AudioSeconds)}
	}
	var got map[string]callscope.CallStatus
	err := s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		got, err = tx.LiveProgress(ctx, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]callscope.CallStatus, len(ticks))
	for i, t := range ticks {
		out[i] = got[t.CallID]
	}
	return out, nil
}
