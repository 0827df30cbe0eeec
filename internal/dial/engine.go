package dial

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/call"
)

// Engine places outbound calls with a dialer: it works the placing and
// hangup jobs the call service records, and starts and ends calls at their
// owners' request. Everything it changes goes through the call service.
type Engine struct {
	Calls  *call.Service
	Dialer Dialer
	// DialerName is recorded on the calls it places ("simulator").
	DialerName string
	Logger     *slog.Logger

	mu   sync.Mutex
	stop func()
}

func (e *Engine) log() *slog.Logger {
	if e.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Logger
}

// Open runs, until Close, the backstop that queues the placing of calls
// overdue by more than two seconds (see call.Service.PlaceOverdue), every
// second. A dialer with a connection of its own to keep (Starter) is
// started first and stopped by Close.
func (e *Engine) Open(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stop != nil {
		return nil
	}
	stopDialer := func() {}
	if s, ok := e.Dialer.(Starter); ok {
		if err := s.Start(ctx); err != nil {
			return err
		}
		stopDialer = s.Stop
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	e.stop = func() { cancel(); <-done; stopDialer() }
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if n, err := e.Calls.PlaceOverdue(ctx, 2*time.Second, 500); err != nil && ctx.Err() == nil {
					e.log().Warn("queueing overdue calls", "err", err)
				} else if n > 0 {
					e.log().Info("queued overdue calls", "calls", n)
				}
			}
		}
	}()
	return nil
}

// Starter is a dialer that keeps a connection to its provider between
// Start and Stop.
type Starter interface {
	Start(ctx context.Context) error
	Stop()
}

// Close stops the backstop (and the dialer); closing twice is not an
// error.
func (e *Engine) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stop != nil {
		e.stop()
		e.stop = func() {}
	}
}

// AddWorkers registers the workers of the placing and hangup jobs.
func (e *Engine) AddWorkers(w *river.Workers) {
	river.AddWorker(w, &placeWorker{e: e})
	river.AddWorker(w, &hangupWorker{e: e})
}

// Schedule stores a new outbound call and the job that places it (see
// call.Service.Schedule).
// The dialer checks the provider parameters first when it can.
func (e *Engine) Schedule(ctx context.Context, c *callscope.Call, o *callscope.OutboundCall, idem call.Idempotency) (*call.ScheduleAnswer, bool, error) {
	if v, ok := e.Dialer.(interface {
		ValidateProvider(map[string]json.RawMessage) error
	}); ok {
		if err := v.ValidateProvider(o.Provider); err != nil {
			return nil, false, err
		}
	}
	return e.Calls.Schedule(ctx, c, o, idem)
}

// Cancel cancels a scheduled call (see call.Service.Cancel).
func (e *Engine) Cancel(ctx context.Context, tenantID, userID, ref string, idem call.Idempotency) (*call.CancelAnswer, bool, error) {
	return e.Calls.Cancel(ctx, tenantID, userID, ref, idem)
}

// Start places a scheduled call now and dials it; a replayed start dials
// nothing. It returns the placement with the call as it is after dialling.
func (e *Engine) Start(ctx context.Context, tenantID, userID, ref string, idem call.Idempotency) (*call.Placement, bool, error) {
	p, replayed, err := e.Calls.Start(ctx, tenantID, userID, ref, idem)
	if err != nil {
		return nil, false, err
	}
	if p.Dial {
		if o := e.dial(ctx, p); o != nil {
			p.Outbound = o
		}
	}
	return p, replayed, nil
}

// End asks the dialer to hang up a call in progress; a call the dialer
// no longer knows is ended at once. It returns the call as it is then.
// Returns ENOTFOUND for an unknown or another user's call and ECONFLICT for
// a call not in progress.
func (e *Engine) End(ctx context.Context, tenantID, userID, ref string) (*callscope.OutboundCall, error) {
	o, err := e.Calls.OutboundEnding(ctx, tenantID, userID, ref)
	if err != nil {
		return nil, err
	}
	if err := e.hangup(ctx, o, callscope.CallCompleted, "ended by user"); err != nil {
		return nil, err
	}
	return e.Calls.Store.OutboundCall(ctx, tenantID, o.CallID)
}

// hangup asks the dialer to hang up; when it cannot (it does not know the
// call: the process that placed it stopped), the call is ended here with
// status.
func (e *Engine) hangup(ctx context.Context, o *callscope.OutboundCall, status callscope.CallStatus, reason string) error {
	var err error = callscope.Errorf(callscope.ENOTFOUND, "no provider session")
	if o.ProviderSessionID != "" {
		// A dialer whose sessions belong to the tenant's own account
		// hangs up with the tenant.
		if th, ok := e.Dialer.(TenantHangup); ok {
			err = th.HangupCall(ctx, o.TenantID, o.ProviderSessionID)
		} else {
			err = e.Dialer.Hangup(ctx, o.ProviderSessionID)
		}
	}
	if err == nil {
		return nil
	}
	if callscope.ErrorCode(err) != callscope.ENOTFOUND {
		e.log().Warn("hangup failed; ending the call", "call_id", o.CallID, "err", err)
	}
	ch := call.StatusChange{Status: status, Reason: reason, DisconnectedBy: "system"}
	if callscope.AutoStatus(status) == callscope.AutoFailed {
		ch.ErrorInfo = reason
	}
	_, _, err = e.Calls.SetStatus(ctx, o.TenantID, o.CallID, ch)
	return err
}

// dial dials a placed call and records the provider's session, or fails
// the call when the dialer refuses it. It returns the call as stored
// after, nil if that could not be read.
func (e *Engine) dial(ctx context.Context, p *call.Placement) *callscope.OutboundCall {
	o := p.Outbound
	sid, err := e.Dialer.Dial(ctx, RequestOf(o))
	if err != nil {
		e.log().Warn("dial failed", "call_id", o.CallID, "err", err)
		if _, _, err := e.Calls.SetStatus(ctx, o.TenantID, o.CallID, call.StatusChange{Status: callscope.CallFailed,
			Reason: "dial_failed", ErrorInfo: "the call could not be placed: " + callscope.ErrorMessage(err)}); err != nil {
			e.log().Error("recording a failed dial", "call_id", o.CallID, "err", err)
		}
	} else if _, err := e.Calls.Dialed(ctx, o.TenantID, o.CallID, e.DialerName, sid); err != nil {
		e.log().Error("recording a dialled call", "call_id", o.CallID, "err", err)
	}
	out, err := e.Calls.Store.OutboundCall(ctx, o.TenantID, o.CallID)
	if err != nil {
		return nil
	}
	return out
}

// TenantHangup is a Dialer that hangs up a call with the account of the
// tenant that placed it.
type TenantHangup interface {
	HangupCall(ctx context.Context, tenantID, sessionID string) error
}

type placeWorker struct {
	river.WorkerDefaults[call.PlaceCallArgs]
	e *Engine
}

// Work places the call when it may go now; the call service decides, under
// the call's lock, so a job run twice dials once.
func (w *placeWorker) Work(ctx context.Context, j *river.Job[call.PlaceCallArgs]) error {
	if d := w.e.Calls.Until(j.Args); d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p, err := w.e.Calls.Place(ctx, j.Args.TenantID, j.Args.CallID)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil // deleted with its tenant
	} else if err != nil {
		return err
	}
	if p.Dial {
		w.e.dial(ctx, p)
	}
	return nil
}

type hangupWorker struct {
	river.WorkerDefaults[call.HangupCallArgs]
	e *Engine
}

// Work hangs up a call past its limits, or ends one its dialer lost.
func (w *hangupWorker) Work(ctx context.Context, j *river.Job[call.HangupCallArgs]) error {
	o, end, why, err := w.e.Calls.HangupDue(ctx, j.Args.TenantID, j.Args.CallID)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil
	} else if err != nil || end == "" {
		return err
	}
	return w.e.hangup(ctx, o, end, why)
}
