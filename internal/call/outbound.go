package call

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
)

// Outbound calls (seed 002) are ordinary calls, direction outbound, owned
// by a user, known by an Auto-Caller callId, with an OutboundCall row for
// how they are placed. Every change of one goes through this service like
// any other call's: scheduling records the job that places it at its time,
// placing takes one of the tenant's lines (or says why it waits), and every
// end releases the line.

// PlaceCallArgs asks for a scheduled outbound call to be placed. Running it
// twice, or for a call placed or cancelled meanwhile, places nothing.
type PlaceCallArgs struct {
	TenantID string `json:"tenant_id"`
	CallID   string `json:"call_id"`
	// At, when set, is the time the call is due: the job is queued
	// PlaceLead earlier and waits for it, so that the queue's scheduling
	// granularity does not delay the call.
	At *time.Time `json:"at,omitempty"`
}

// PlaceLead is how much earlier than its time a placing job is queued: the
// interval at which the queue makes scheduled jobs available.
const PlaceLead = 5 * time.Second

// placeJob enqueues, in tx, the job that places a call due at at.
func (s *Service) placeJob(tx *sqlstore.Tx, tenantID, callID string, at time.Time) {
	args := PlaceCallArgs{TenantID: tenantID, CallID: callID}
	var opts *river.InsertOpts
	if at.After(s.now()) {
		args.At = &at
		opts = &river.InsertOpts{ScheduledAt: s.realTime(at.Add(-PlaceLead))}
	}
	s.Queue.Enqueue(tx, args, opts)
}

// Until is how long the placing job of args waits before placing: until
// the call's time on the service's clock, when that is near.
func (s *Service) Until(args PlaceCallArgs) time.Duration {
	if args.At == nil {
		return 0
	}
	if d := args.At.Sub(s.now()); d > 0 && d <= PlaceLead+time.Second {
		return d
	}
	return 0
}

// Kind implements river.JobArgs. It is stable: stored jobs refer to it.
func (PlaceCallArgs) Kind() string { return "outbound.place" }

// HangupCallArgs asks for a placed call to be checked against its limits:
// hung up when it rang too long or talked for its durationMinutes.
type HangupCallArgs struct {
	TenantID string `json:"tenant_id"`
	CallID   string `json:"call_id"`
}

// Kind implements river.JobArgs.
func (HangupCallArgs) Kind() string { return "outbound.hangup" }

// OutboundConfig tunes how outbound calls are placed.
type OutboundConfig struct {
	// MaxRing is how long a placed call may go unanswered before it is hung
	// up as not answered (default 60 s).
	MaxRing time.Duration
	// LineLease is how long a placed call holds its line without news
	// from its dialer (KeepLine); a call whose dialer stopped reporting (its
	// process died) frees its line then, and is ended as lost (default 30 s).
	LineLease time.Duration
}

func (c OutboundConfig) maxRing() time.Duration   { return orDefault(c.MaxRing, time.Minute) }
func (c OutboundConfig) lineLease() time.Duration { return orDefault(c.LineLease, 30*time.Second) }

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Idempotency is a request's Idempotency-Key and a digest of what it asked,
// so that a key reused for another request is refused.
type Idempotency struct {
	Key         string
	RequestHash string
}

// ScheduleAnswer is the first answer to scheduling a call.
type ScheduleAnswer struct {
	CallID        string    `json:"call_id"`
	Status        string    `json:"status"`
	ScheduledTime time.Time `json:"scheduled_time"`
}

// StartAnswer is the first answer to starting a call.
type StartAnswer struct {
	CallID    string    `json:"call_id"`
	Status    string    `json:"status"`
	StartTime time.Time `json:"start_time"`
}

// CancelAnswer is the first answer to cancelling a call.
type CancelAnswer struct {
	CallID string `json:"call_id"`
	Status string `json:"status"`
}

// realTime converts a time on the service's clock to the wall clock the
// queue schedules by.
func (s *Service) realTime(t time.Time) time.Time {
	return time.Now().Add(t.Sub(s.now()))
}

// idempotent runs fn in a transaction that also records its answer under
// the key, and returns the answer and whether it is a replay of the first
// answer given to the key. Requests racing with one key make one change:
// the key is unique in the database, so every transaction but the first
// fails on it and returns the answer the first recorded. Returns ECONFLICT
// for a key used before with another request.
func idempotent[T any](ctx context.Context, s *Service, tenantID, scope, op string, idem Idempotency, fn func(tx *sqlstore.Tx) (*T, error)) (*T, bool, error) {
	replay := func() (*T, bool, error) {
		a, err := s.Store.IdempotencyKey(ctx, tenantID, scope, op, idem.Key)
		if err != nil {
			return nil, false, err
		}
		if a.RequestHash != idem.RequestHash {
			return nil, false, callscope.Errorf(callscope.ECONFLICT, "This Idempotency-Key was used with a different request")
		}
		var v T
		if err := json.Unmarshal(a.Response, &v); err != nil {
			return nil, false, err
		}
		return &v, true, nil
	}
	if idem.Key != "" {
		if v, ok, err := replay(); callscope.ErrorCode(err) != callscope.ENOTFOUND {
			return v, ok, err
		}
	}
	var out *T
	err := s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		v, err := fn(tx)
		if err != nil {
			return err
		}
		out = v
		if idem.Key == "" {
			return nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return tx.PutIdempotencyKey(ctx, tenantID, scope, op, idem.Key, idem.RequestHash, b)
	})
	if err != nil && idem.Key != "" && callscope.ErrorCode(err) == callscope.ECONFLICT {
		// Another request with the key committed first: answer as it did.
		if v, ok, rerr := replay(); callscope.ErrorCode(rerr) != callscope.ENOTFOUND {
			return v, ok, rerr
		}
	}
	return out, false, err
}

// Schedule stores a new outbound call of c.UserID, with its placing state
// o, and the job that places it at c.ScheduledAt (at once when that has
// passed). c gets its callId as first external id. Returns ECONFLICT for an
// Idempotency-Key used with another request.
func (s *Service) Schedule(ctx context.Context, c *callscope.Call, o *callscope.OutboundCall, idem Idempotency) (*ScheduleAnswer, bool, error) {
	if c.ScheduledAt == nil {
		return nil, false, callscope.Errorf(callscope.EINVALID, "an outbound call needs a scheduled time")
	}
	return idempotent(ctx, s, c.TenantID, c.UserID, "schedule", idem, func(tx *sqlstore.Tx) (*ScheduleAnswer, error) {
		if err := s.ScheduleTx(ctx, tx, c, o); err != nil {
			return nil, err
		}
		return &ScheduleAnswer{CallID: c.PublicID(), Status: callscope.AutoStatus(c.Status), ScheduledTime: *c.ScheduledAt}, nil
	})
}

// ScheduleTx is Schedule in tx, without an Idempotency-Key: the caller's
// transaction makes the call exist exactly when its own changes do.
func (s *Service) ScheduleTx(ctx context.Context, tx *sqlstore.Tx, c *callscope.Call, o *callscope.OutboundCall) error {
	if c.ScheduledAt == nil {
		return callscope.Errorf(callscope.EINVALID, "an outbound call needs a scheduled time")
	}
	c.ID, c.Version = "", 0
	c.Direction, c.Status = callscope.Outbound, callscope.CallScheduled
	c.ExternalIDs = []callscope.ExternalID{{Kind: callscope.ExtAutocallerID, Value: "call_" + callscope.NewID()}}
	if err := tx.CreateCall(ctx, c); err != nil {
		return err
	}
	o.CallID, o.TenantID = c.ID, c.TenantID
	if err := tx.CreateOutboundCall(ctx, o); err != nil {
		return err
	}
	if _, err := s.Queue.RecordEvent(ctx, tx, c, callscope.CallCreatedData{CallRefData: callscope.RefOf(c),
		Direction: c.Direction, Status: c.Status}); err != nil {
		return err
	}
	s.placeJob(tx, c.TenantID, c.ID, *c.ScheduledAt)
	return nil
}

// lockedOutbound reads the outbound call ref names under its call's lock,
// as its owner userID sees it ("" for any owner). Returns ENOTFOUND for an
// unknown call, a call that is not outbound, or another user's.
func (s *Service) lockedOutbound(ctx context.Context, tx *sqlstore.Tx, tenantID, userID, ref string) (*callscope.OutboundCall, error) {
	c, err := s.lockedCall(ctx, tx, tenantID, ref)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND || (err == nil && userID != "" && c.UserID != userID) {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "Call not found")
	} else if err != nil {
		return nil, err
	}
	o, err := tx.OutboundCall(ctx, tenantID, c.ID)
	if err != nil {
		return nil, err
	}
	o.Call = c
	return o, nil
}

// Waiting notes of a due call not placed yet.
const (
	waitingWindow = "outside the calling window"
	waitingLine   = "waiting for a free line: all lines are in use"
)

// Placement is what placing a call decided.
type Placement struct {
	// Outbound is the call, with its record.
	Outbound *callscope.OutboundCall
	// Dial says the call holds a line and is initiating: dial it now.
	Dial bool
	// Start is the answer to a start request.
	Start *StartAnswer
}

// Place decides, for the placing job, whether a scheduled call is dialled
// now: not when it is no longer scheduled (placed or cancelled already —
// so a job run twice dials once), not before its time, not outside the
// tenant's calling window in the recipient's time zone, and not while all
// the tenant's lines are in use. A call that must wait says why in its
// Waiting note and gets a new placing job for when it may go.
func (s *Service) Place(ctx context.Context, tenantID, callID string) (*Placement, error) {
	var p Placement
	err := s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		o, err := s.lockedOutbound(ctx, tx, tenantID, "", callID)
		if err != nil {
			return err
		}
		p = Placement{Outbound: o}
		c, now := o.Call, s.now()
		if c.Status != callscope.CallScheduled {
			return nil
		}
		retry := func(at time.Time, why string) error {
			// A call waiting for a line gets no job: a freed line wakes
			// the call that waited longest, and PlaceOverdue wakes
			// waiting calls when lines are free.
			if why != waitingLine {
				s.placeJob(tx, tenantID, c.ID, at)
			}
			if o.Waiting == why {
				return nil
			}
			o.Waiting = why
			return tx.UpdateOutboundCall(ctx, o)
		}
		if c.ScheduledAt != nil && now.Before(*c.ScheduledAt) {
			return retry(*c.ScheduledAt, "")
		}
		if listed, err := doNotCall(ctx, tx, c); err != nil || listed != "" {
			if err != nil {
				return err
			}
			return s.failOutbound(ctx, tx, o, listed)
		}
		t, err := tx.Tenant(ctx, tenantID)
		if err != nil {
			return err
		}
		set := t.Settings.Autocaller
		if set != nil && set.CallingWindow != nil {
			loc := set.Zone(o.TimeZone)
			if open := set.CallingWindow.NextOpen(now, loc); !open.Equal(now) {
				if open.IsZero() {
					return s.failOutbound(ctx, tx, o, "the tenant's calling window never opens")
				}
				return retry(open, fmt.Sprintf(waitingWindow+": waiting until %s (%s)", open.In(loc).Format(time.RFC3339), loc))
			}
		}
		if c.CampaignID != "" {
			// A campaign's own window, in the contact's time zone.
			open, loc, err := s.campaignWindowOpen(ctx, tx, o, set, now)
			if err != nil {
				return err
			}
			if !open.Equal(now) {
				if open.IsZero() {
					return s.failOutbound(ctx, tx, o, "the campaign's calling window never opens")
				}
				return retry(open, fmt.Sprintf(waitingWindow+": waiting until %s (%s)", open.In(loc).Format(time.RFC3339), loc))
			}
		}
		ok, _, err := s.takeLine(ctx, tx, o, set.Lines(), now)
		if err != nil {
			return err
		}
		if !ok {
			return retry(now, waitingLine)
		}
		p.Dial = true
		return s.initiate(ctx, tx, o, now)
	})
	return &p, err
}

// Start places a scheduled call now, at its owner's request, whatever its
// scheduled time and the calling window. Returns ENOTFOUND for an unknown
// or another user's call, ECONFLICT for a call started or finished already
// or when every line of the tenant is in use.
func (s *Service) Start(ctx context.Context, tenantID, userID, ref string, idem Idempotency) (*Placement, bool, error) {
	var p Placement
	ans, replayed, err := idempotent(ctx, s, tenantID, userID, "start:"+ref, idem, func(tx *sqlstore.Tx) (*StartAnswer, error) {
		o, err := s.lockedOutbound(ctx, tx, tenantID, userID, ref)
		if err != nil {
			return nil, err
		}
		p = Placement{Outbound: o}
		c, now := o.Call, s.now()
		if c.Status != callscope.CallScheduled {
			return nil, callscope.Errorf(callscope.ECONFLICT, "Call cannot be started: it is %s", callscope.AutoStatus(c.Status))
		}
		if listed, err := doNotCall(ctx, tx, c); err != nil || listed != "" {
			if err != nil {
				return nil, err
			}
			return nil, callscope.Errorf(callscope.ECONFLICT, "Call cannot be started: %s", listed)
		}
		t, err := tx.Tenant(ctx, tenantID)
		if err != nil {
			return nil, err
		}
		lines := t.Settings.Autocaller.Lines()
		ok, inUse, err := s.takeLine(ctx, tx, o, lines, now)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, callscope.Errorf(callscope.ECONFLICT, "Call cannot be started now: %d of %d lines are in use", inUse, lines)
		}
		p.Dial = true
		if err := s.initiate(ctx, tx, o, now); err != nil {
			return nil, err
		}
		return &StartAnswer{CallID: c.PublicID(), Status: callscope.AutoStatus(c.Status), StartTime: *c.StartedAt}, nil
	})
	if err != nil {
		return nil, false, err
	}
	if replayed {
		o, err := s.Store.OutboundCall(ctx, tenantID, ans.CallID)
		if err != nil {
			return nil, false, err
		}
		p = Placement{Outbound: o}
	}
	p.Start = ans
	return &p, replayed, nil
}

// takeLine takes one of the tenant's lines for o, unless lines are in use.
func (s *Service) takeLine(ctx context.Context, tx *sqlstore.Tx, o *callscope.OutboundCall, lines int, now time.Time) (bool, int, error) {
	if err := tx.LockOutboundLines(ctx, o.TenantID); err != nil {
		return false, 0, err
	}
	inUse, err := tx.OutboundLinesInUse(ctx, o.TenantID, now)
	if err != nil || inUse >= lines {
		return false, inUse, err
	}
	return true, inUse, tx.TakeOutboundLine(ctx, o.TenantID, o.CallID, now.Add(s.Outbound.lineLease()))
}

// initiate moves a call holding a line to initiating and records the job
// that watches it (HangupDue).
func (s *Service) initiate(ctx context.Context, tx *sqlstore.Tx, o *callscope.OutboundCall, now time.Time) error {
	c := o.Call
	c.StartedAt = &now
	if _, err := s.applyStatus(ctx, tx, c, StatusChange{Status: callscope.CallInitiating, At: now}, false); err != nil {
		return err
	}
	o.PlacedAt, o.Waiting = &now, ""
	o.Attempts++
	if err := tx.UpdateOutboundCall(ctx, o); err != nil {
		return err
	}
	s.Queue.Enqueue(tx, HangupCallArgs{TenantID: o.TenantID, CallID: o.CallID},
		&river.InsertOpts{ScheduledAt: s.realTime(now.Add(min(s.Outbound.maxRing(), s.Outbound.lineLease()) + time.Second))})
	return nil
}

// PlaceOverdue queues, once, a placing job for each scheduled call that
// is more than grace past its time and not waiting — a backstop for the
// queue's own scheduling (its scheduler pauses while a new process takes
// over from a dead one) — and for as many calls waiting for a line as
// their tenant has lines free (lines free up unannounced when a lost
// call's lease runs out). It returns how many calls it queued.
func (s *Service) PlaceOverdue(ctx context.Context, grace time.Duration, limit int) (int, error) {
	var n int
	once := &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateRetryable, rivertype.JobStateScheduled}}}
	err := s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		now := s.now()
		due, err := tx.OverdueOutbound(ctx, now.Add(-grace), limit)
		if err != nil {
			return err
		}
		n = len(due)
		for _, d := range due {
			s.Queue.Enqueue(tx, PlaceCallArgs{TenantID: d[0], CallID: d[1]}, once)
		}
		tenants, err := tx.WaitingTenants(ctx, waitingLine)
		if err != nil {
			return err
		}
		for _, id := range tenants {
			t, err := tx.Tenant(ctx, id)
			if err != nil {
				return err
			}
			inUse, err := tx.OutboundLinesInUse(ctx, id, now)
			if err != nil {
				return err
			}
			free := min(t.Settings.Autocaller.Lines()-inUse, limit)
			if free <= 0 {
				continue
			}
			ids, err := tx.WaitingOutbound(ctx, id, waitingLine, free)
			if err != nil {
				return err
			}
			n += len(ids)
			for _, c := range ids {
				s.Queue.Enqueue(tx, PlaceCallArgs{TenantID: id, CallID: c}, once)
			}
		}
		return nil
	})
	return n, err
}

// KeepLine renews the line of a live call: its dialer is still on it.
// A call that is over or unknown changes nothing.
func (s *Service) KeepLine(ctx context.Context, tenantID, callID string) error {
	return s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		c, err := s.lockedCall(ctx, tx, tenantID, callID)
		if err != nil || !c.Status.Live() {
			return err
		}
		return tx.TakeOutboundLine(ctx, tenantID, c.ID, s.now().Add(s.Outbound.lineLease()))
	})
}

// failOutbound ends a call that cannot be placed as failed.
func (s *Service) failOutbound(ctx context.Context, tx *sqlstore.Tx, o *callscope.OutboundCall, why string) error {
	if o.Waiting != "" {
		o.Waiting = ""
		if err := tx.UpdateOutboundCall(ctx, o); err != nil {
			return err
		}
	}
	_, err := s.applyStatus(ctx, tx, o.Call, StatusChange{Status: callscope.CallFailed, Reason: "not_placed", ErrorInfo: why}, false)
	return err
}

// outboundStatusChanged keeps an outbound call's line and limits in step
// with its status, in the transaction that changed it: an answered call
// gets the job that hangs it up after its durationMinutes; a finished one
// releases its line.
func (s *Service) outboundStatusChanged(ctx context.Context, tx *sqlstore.Tx, c *callscope.Call) error {
	switch {
	case c.Status.Final():
		if c.CampaignID != "" {
			// A campaign call's outcome decides the campaign's next call.
			s.Queue.EnqueueCampaignReconcile(tx, c.TenantID, c.ID)
		}
		freed, err := tx.ReleaseOutboundLine(ctx, c.ID)
		if err != nil || !freed {
			return err
		}
		// The line goes to the call that has waited longest for one.
		next, err := tx.NextWaitingOutbound(ctx, c.TenantID, waitingLine)
		if callscope.ErrorCode(err) == callscope.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		s.Queue.Enqueue(tx, PlaceCallArgs{TenantID: c.TenantID, CallID: next}, nil)
		return nil
	case c.Status == callscope.CallInProgress && c.AnsweredAt != nil:
		o, err := tx.OutboundCall(ctx, c.TenantID, c.ID)
		if callscope.ErrorCode(err) == callscope.ENOTFOUND {
			return nil // an outbound call not placed through the Auto-Caller API
		} else if err != nil {
			return err
		}
		at := c.AnsweredAt.Add(time.Duration(o.DurationMinutes) * time.Minute)
		s.Queue.Enqueue(tx, HangupCallArgs{TenantID: c.TenantID, CallID: c.ID}, &river.InsertOpts{ScheduledAt: s.realTime(at)})
	}
	return nil
}

// Dialed records the dialer that placed a call and its id for the call
// there.
func (s *Service) Dialed(ctx context.Context, tenantID, callID, dialer, sessionID string) (*callscope.OutboundCall, error) {
	var out *callscope.OutboundCall
	err := s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		o, err := s.lockedOutbound(ctx, tx, tenantID, "", callID)
		if err != nil {
			return err
		}
		out = o
		o.Dialer, o.ProviderSessionID = dialer, sessionID
		return tx.UpdateOutboundCall(ctx, o)
	})
	return out, err
}

// SetCost records what a call cost, as its dialer reports it.
func (s *Service) SetCost(ctx context.Context, tenantID, callID string, cost float64) error {
	return s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		o, err := s.lockedOutbound(ctx, tx, tenantID, "", callID)
		if err != nil {
			return err
		}
		o.Cost = &cost
		return tx.UpdateOutboundCall(ctx, o)
	})
}

// HangupDue watches a placed call: it says whether the call is to be ended
// now — lost (its dialer stopped renewing its line: the process placing it
// died), unanswered for longer than MaxRing (no answer), or answered for its
// durationMinutes (completed) — and otherwise records the next check. It
// returns the call, the status to end it with ("" for none) and why.
func (s *Service) HangupDue(ctx context.Context, tenantID, callID string) (*callscope.OutboundCall, callscope.CallStatus, string, error) {
	var o *callscope.OutboundCall
	var end callscope.CallStatus
	var why string
	err := s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		if o, err = s.lockedOutbound(ctx, tx, tenantID, "", callID); err != nil {
			return err
		}
		c, now := o.Call, s.now()
		if !c.Status.Live() {
			return nil
		}
		expires, held, err := tx.OutboundLineExpiry(ctx, c.ID)
		if err != nil {
			return err
		}
		if !held || !now.Before(expires) {
			end, why = callscope.CallFailed, "the dialer stopped reporting on the call"
			return nil
		}
		due, status, reason := time.Time{}, callscope.CallNoAnswer, "not answered in time"
		switch {
		case c.AnsweredAt != nil:
			due, status, reason = c.AnsweredAt.Add(time.Duration(o.DurationMinutes)*time.Minute), callscope.CallCompleted, "duration limit reached"
		case o.PlacedAt != nil:
			due = o.PlacedAt.Add(s.Outbound.maxRing())
		}
		if !now.Before(due) {
			end, why = status, reason
			return nil
		}
		next := expires.Add(time.Second)
		if due.Before(next) {
			next = due
		}
		s.Queue.Enqueue(tx, HangupCallArgs{TenantID: tenantID, CallID: callID}, &river.InsertOpts{ScheduledAt: s.realTime(next)})
		return nil
	})
	return o, end, why, err
}

// Cancel cancels a call its owner scheduled, while it is still scheduled.
// Returns ENOTFOUND for an unknown or another user's call and ECONFLICT
// for a call placed or finished already.
func (s *Service) Cancel(ctx context.Context, tenantID, userID, ref string, idem Idempotency) (*CancelAnswer, bool, error) {
	return idempotent(ctx, s, tenantID, userID, "cancel:"+ref, idem, func(tx *sqlstore.Tx) (*CancelAnswer, error) {
		o, err := s.lockedOutbound(ctx, tx, tenantID, userID, ref)
		if err != nil {
			return nil, err
		}
		c := o.Call
		if c.Status != callscope.CallScheduled {
			return nil, callscope.Errorf(callscope.ECONFLICT, "Call cannot be cancelled: it is %s, not scheduled", callscope.AutoStatus(c.Status))
		}
		if _, err := s.applyStatus(ctx, tx, c, StatusChange{Status: callscope.CallCancelled, Reason: "cancelled", DisconnectedBy: "user"}, false); err != nil {
			return nil, err
		}
		if o.Waiting != "" {
			o.Waiting = ""
			if err := tx.UpdateOutboundCall(ctx, o); err != nil {
				return nil, err
			}
		}
		return &CancelAnswer{CallID: c.PublicID(), Status: callscope.AutoStatus(c.Status)}, nil
	})
}

// OutboundEnding marks a live call being ended at its owner's request
// and returns it. Returns ENOTFOUND for an unknown or another user's call
// and ECONFLICT for a call that is not in progress.
func (s *Service) OutboundEnding(ctx context.Context, tenantID, userID, ref string) (*callscope.OutboundCall, error) {
	var out *callscope.OutboundCall
	err := s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		o, err := s.lockedOutbound(ctx, tx, tenantID, userID, ref)
		if err != nil {
			return err
		}
		out = o
		if !o.Call.Status.Live() {
			return callscope.Errorf(callscope.ECONFLICT, "Call is not in progress: it is %s", callscope.AutoStatus(o.Call.Status))
		}
		_, err = s.applyStatus(ctx, tx, o.Call, StatusChange{Status: callscope.CallEnding}, false)
		return err
	})
	return out, err
}

// PutTranscript replaces a call's transcript with segments a dialer made
// and records transcription.ready.
func (s *Service) PutTranscript(ctx context.Context, tenantID, callID string, segs []callscope.Segment) error {
	return s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		c, err := s.lockedCall(ctx, tx, tenantID, callID)
		if err != nil {
			return err
		}
		if err := tx.ReplaceSegments(ctx, c.ID, segs); err != nil {
			return err
		}
		_, err = s.Queue.RecordEvent(ctx, tx, c, callscope.TranscriptionReadyData{CallRefData: callscope.RefOf(c), SegmentCount: len(segs)})
		return err
	})
}

// doNotCall says why c's number must not be dialled ("" when it may be):
// the tenant's do-not-call list, or a contact marked do-not-call.
func doNotCall(ctx context.Context, tx *sqlstore.Tx, c *callscope.Call) (string, error) {
	e, err := tx.DoNotCall(ctx, c.TenantID, c.To)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	why := "the number is on the do-not-call list (" + e.Source
	if e.Source == callscope.DNCSourceContact {
		why = "the number's contact is marked do-not-call (" + e.Reason
	}
	return why + ")", nil
}
