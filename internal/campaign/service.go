package campaign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/sqlstore"
)

// Service runs outbound campaigns. It owns every change to a campaign and
// its contacts: creating it, adding contacts, pausing, resuming and
// cancelling it, dispatching its next calls and recording their outcomes.
// Dispatching schedules each attempt as an ordinary outbound call through
// the call service, in the transaction that marks its contact in progress
// and logs the attempt, so an attempt exists exactly when its call does:
// the dial engine's durable placing job places it once, and a restart loses
// nothing. A campaign is dispatched when it changes, when one of its calls
// is reconciled, and by a backstop (Open) that looks for running campaigns
// with contacts due.
type Service struct {
	Store  *sqlstore.Store
	Calls  *call.Service
	Logger *slog.Logger
	// Interval is how often the backstop looks for campaigns to dispatch
	// (default one second).
	Interval time.Duration

	mu   sync.Mutex
	stop func()
	wake chan struct{}
}

func (s *Service) now() time.Time { return s.Calls.Clock()() }

func (s *Service) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Create stores a new running campaign with its first contacts and
// dispatches its first calls. Returns EINVALID naming the field at fault.
func (s *Service) Create(ctx context.Context, c *callscope.Campaign, contacts []callscope.CampaignContactInput) error {
	if c.DurationMinutes == 0 {
		c.DurationMinutes = callscope.DefaultCallMinutes
	}
	// Every field at fault is named at once, the campaign's and its
	// contacts'.
	var fields []callscope.FieldError
	for _, err := range []error{c.Validate("body"), validateContacts(contacts, "body", "contacts")} {
		var e *callscope.Error
		if errors.As(err, &e) && len(e.Fields) > 0 {
			fields = append(fields, e.Fields...)
		} else if err != nil {
			return err
		}
	}
	if len(fields) > 0 {
		return callscope.ValidationError(fields...)
	}
	c.State = callscope.CampaignRunning
	return s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.CreateCampaign(ctx, c); err != nil {
			return err
		}
		if _, err := tx.AddCampaignContacts(ctx, c.TenantID, c.ID, contacts); err != nil {
			return err
		}
		return s.dispatch(ctx, tx, c)
	})
}

func validateContacts(contacts []callscope.CampaignContactInput, loc ...string) error {
	var f []callscope.FieldError
	seen := map[string]bool{}
	for i, in := range contacts {
		at := append(append([]string{}, loc...), fmt.Sprint(i))
		f = append(f, in.Validate(at...)...)
		if seen[in.Phone] {
			f = append(f, callscope.FieldError{Loc: append(at, "phone"), Msg: "Phone number listed twice", Type: "value_error"})
		}
		seen[in.Phone] = true
		if len(f) >= 20 {
			break
		}
	}
	if len(f) > 0 {
		return callscope.ValidationError(f...)
	}
	return nil
}

// AddContacts adds contacts to a campaign (a number it has already is
// left as it is) and dispatches; a completed campaign runs again. It
// returns how many were added. Returns ENOTFOUND for an unknown campaign,
// ECONFLICT for a cancelled one and EINVALID naming a contact at fault.
func (s *Service) AddContacts(ctx context.Context, tenantID, id string, contacts []callscope.CampaignContactInput) (int, error) {
	if err := validateContacts(contacts, "body", "contacts"); err != nil {
		return 0, err
	}
	var added int
	err := s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		c, err := tx.LockCampaign(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if c.State == callscope.CampaignCancelled {
			return callscope.Errorf(callscope.ECONFLICT, "Campaign is cancelled: contacts cannot be added")
		}
		if added, err = tx.AddCampaignContacts(ctx, tenantID, id, contacts); err != nil {
			return err
		}
		if c.State == callscope.CampaignCompleted && added > 0 {
			c.State = callscope.CampaignRunning
			if err := tx.SetCampaignState(ctx, tenantID, id, c.State); err != nil {
				return err
			}
		}
		return s.dispatch(ctx, tx, c)
	})
	return added, err
}

// Pause stops a running campaign from starting calls; its calls in
// progress go on. Pausing a paused campaign changes nothing. Returns
// ENOTFOUND for an unknown campaign and ECONFLICT for a finished one.
func (s *Service) Pause(ctx context.Context, tenantID, id string) (*callscope.Campaign, error) {
	return s.setState(ctx, tenantID, id, callscope.CampaignPaused)
}

// Resume lets a paused campaign start calls again. Resuming a running
// campaign changes nothing. Returns ENOTFOUND for an unknown campaign and
// ECONFLICT for a finished one.
func (s *Service) Resume(ctx context.Context, tenantID, id string) (*callscope.Campaign, error) {
	return s.setState(ctx, tenantID, id, callscope.CampaignRunning)
}

// Cancel ends a campaign: contacts not yet called are cancelled, and so
// are its calls not yet placed; calls in progress go on to their end.
// Cancelling a cancelled campaign changes nothing. Returns ENOTFOUND for an
// unknown campaign and ECONFLICT for a completed one.
func (s *Service) Cancel(ctx context.Context, tenantID, id string) (*callscope.Campaign, error) {
	return s.setState(ctx, tenantID, id, callscope.CampaignCancelled)
}

func (s *Service) setState(ctx context.Context, tenantID, id, state string) (*callscope.Campaign, error) {
	err := s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		c, err := tx.LockCampaign(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if c.State == state {
			return nil
		}
		if c.State == callscope.CampaignCompleted || c.State == callscope.CampaignCancelled {
			return callscope.Errorf(callscope.ECONFLICT, "Campaign is %s: it cannot become %s", c.State, state)
		}
		c.State = state
		if err := tx.SetCampaignState(ctx, tenantID, id, state); err != nil {
			return err
		}
		if state == callscope.CampaignCancelled {
			if _, err := tx.CancelPendingContacts(ctx, tenantID, id); err != nil {
				return err
			}
			busy, err := tx.DialContacts(ctx, tenantID, id, callscope.ContactInProgress)
			if err != nil {
				return err
			}
			for _, dc := range busy {
				// Its reconciliation then marks the contact cancelled.
				if _, err := s.Calls.CancelScheduledTx(ctx, tx, tenantID, dc.LastCallID, "campaign cancelled"); err != nil &&
					callscope.ErrorCode(err) != callscope.ENOTFOUND {
					return err
				}
			}
			return nil
		}
		return s.dispatch(ctx, tx, c)
	})
	if err != nil {
		return nil, err
	}
	return s.Store.Campaign(ctx, tenantID, id)
}

// Dispatch starts the calls a campaign may start now (see dispatch).
// Returns ENOTFOUND for an unknown campaign.
func (s *Service) Dispatch(ctx context.Context, tenantID, id string) error {
	return s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		c, err := tx.LockCampaign(ctx, tenantID, id)
		if err != nil {
			return err
		}
		return s.dispatch(ctx, tx, c)
	})
}

// dispatch, on a running campaign read under its lock in tx, schedules a
// call for each contact due, in list order, while fewer than its
// concurrency are in progress and the tenant has lines free: a number on
// the do-not-call list is skipped (and logged), a contact outside the
// calling window of its time zone waits for the window to open. A campaign
// with no contact left to call is completed.
func (s *Service) dispatch(ctx context.Context, tx *sqlstore.Tx, c *callscope.Campaign) error {
	if c.State != callscope.CampaignRunning {
		return nil
	}
	now := s.now()
	t, err := tx.Tenant(ctx, c.TenantID)
	if err != nil {
		return err
	}
	set := t.Settings.Autocaller
	window := c.CallingWindow
	if window == nil && set != nil {
		window = set.CallingWindow
	}
	inProgress, err := tx.InProgressContacts(ctx, c.TenantID, c.ID)
	if err != nil {
		return err
	}
	lines, err := tx.OutboundLinesInUse(ctx, c.TenantID, now)
	if err != nil {
		return err
	}
	// Calls beyond the tenant's free lines would wait for a line: they
	// are left for later.
	free := min(c.Concurrency-inProgress, set.Lines()-lines)
	started := 0
	for free > 0 {
		due, err := tx.DueCampaignContacts(ctx, c.TenantID, c.ID, now, 100)
		if err != nil {
			return err
		}
		if len(due) == 0 {
			break
		}
		for _, dc := range due {
			if free == 0 {
				break
			}
			ok, err := s.attempt(ctx, tx, c, dc, set, window, now)
			if err != nil {
				return err
			}
			if ok {
				free--
				started++
			}
		}
	}
	if started > 0 || inProgress > 0 {
		return nil
	}
	if busy, err := tx.CampaignHasWork(ctx, c.TenantID, c.ID); err != nil || busy {
		return err
	}
	c.State = callscope.CampaignCompleted
	return tx.SetCampaignState(ctx, c.TenantID, c.ID, c.State)
}

// attempt calls one due contact, or skips it or puts it off, and says
// whether a call was scheduled.
func (s *Service) attempt(ctx context.Context, tx *sqlstore.Tx, c *callscope.Campaign, dc *callscope.DialContact,
	set *callscope.AutocallerSetting, window *callscope.CallingWindow, now time.Time) (bool, error) {
	entry := &callscope.CampaignLogEntry{TenantID: c.TenantID, CampaignID: c.ID, Contact: dc.Contact, At: now}
	dnc, err := tx.DoNotCall(ctx, c.TenantID, dc.Contact)
	switch {
	case err == nil:
		entry.Event, entry.Outcome = callscope.LogSkip, callscope.ContactSkippedDNC
		entry.Reason = "on the do-not-call list (" + dnc.Source
		if dnc.CallID != "" {
			entry.Reason += ", from call " + dnc.CallID
		}
		entry.Reason += ")"
		if err := tx.SetContactState(ctx, c.TenantID, c.ID, dc.Contact, callscope.ContactSkippedDNC, "", nil); err != nil {
			return false, err
		}
		return false, tx.LogCampaign(ctx, entry)
	case callscope.ErrorCode(err) != callscope.ENOTFOUND:
		return false, err
	}
	zone := dc.TimeZone
	if zone == "" {
		zone = c.TimeZone
	}
	loc := set.Zone(zone)
	if window != nil {
		open := window.NextOpen(now, loc)
		if open.IsZero() {
			// Validation keeps a window from never opening; a contact
			// that cannot be called is not left pending for ever.
			entry.Event, entry.Outcome, entry.Reason = callscope.LogSkip, callscope.ContactFailed, "the calling window never opens"
			if err := tx.SetContactState(ctx, c.TenantID, c.ID, dc.Contact, callscope.ContactFailed, "", nil); err != nil {
				return false, err
			}
			return false, tx.LogCampaign(ctx, entry)
		}
		if !open.Equal(now) {
			return false, tx.SetContactState(ctx, c.TenantID, c.ID, dc.Contact, callscope.ContactPending, "", &open)
		}
	}
	provider := map[string]json.RawMessage{}
	for k, v := range c.Provider {
		b, err := json.Marshal(v)
		if err != nil {
			return false, err
		}
		provider[k] = b
	}
	vars, err := json.Marshal(dc.Variables)
	if err != nil {
		return false, err
	}
	provider["variables"] = vars
	title := c.Title
	if title == "" {
		title = c.Name
	}
	at := now
	cl := &callscope.Call{TenantID: c.TenantID, UserID: c.UserID, To: dc.Contact, ContactName: dc.Name, Title: title,
		Purpose: c.Purpose, Script: c.Script, CampaignID: c.ID, ScheduledAt: &at}
	o := &callscope.OutboundCall{TenantID: c.TenantID, DurationMinutes: c.DurationMinutes, RecordingEnabled: c.RecordingEnabled,
		TranscriptionEnabled: c.TranscriptionEnabled, TimeZone: loc.String(), Provider: provider}
	if err := s.Calls.ScheduleTx(ctx, tx, cl, o); err != nil {
		return false, err
	}
	if err := tx.SetContactState(ctx, c.TenantID, c.ID, dc.Contact, callscope.ContactInProgress, cl.ID, nil); err != nil {
		return false, err
	}
	entry.Event, entry.CallID, entry.Attempt = callscope.LogAttempt, cl.ID, dc.Attempts+1
	entry.Reason = "first attempt"
	if dc.Attempts > 0 {
		entry.Reason = fmt.Sprintf("redial after %s", callscope.ContactOutcome(dc.LastStatus))
	}
	return true, tx.LogCampaign(ctx, entry)
}

// Reconcile records a finished call against its campaign contact (seed
// 004's campaign.reconcile): it counts as one attempt however often it is
// reconciled. A transcript in which the person called asks not to be
// called again puts the number on the do-not-call list. For an outbound
// campaign's call, the contact's redial rule then decides whether it is
// called again and when, the outcome is logged, and the campaign's next
// calls are dispatched. A call outside any campaign is only checked for an
// opt-out; it returns nil then.
func (s *Service) Reconcile(ctx context.Context, c *callscope.Call) (*callscope.CampaignContact, error) {
	var out *callscope.CampaignContact
	err := s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		optedOut, err := s.optOut(ctx, tx, c)
		if err != nil || c.CampaignID == "" {
			return err
		}
		contact := CampaignContactOf(c)
		camp, err := tx.LockCampaign(ctx, c.TenantID, c.CampaignID, true)
		if callscope.ErrorCode(err) == callscope.ENOTFOUND {
			// A voice-bot campaign: no dialling.
			out, err = tx.ReconcileCampaignCall(ctx, c, contact)
			return err
		} else if err != nil {
			return err
		}
		before, err := tx.DialContact(ctx, c.TenantID, c.CampaignID, contact)
		if err != nil && callscope.ErrorCode(err) != callscope.ENOTFOUND {
			return err
		}
		if out, err = tx.ReconcileCampaignCall(ctx, c, contact); err != nil {
			return err
		}
		if before == nil || before.State != callscope.ContactInProgress || before.LastCallID != c.ID {
			return nil // reconciled before, or a call the campaign did not place
		}
		now := s.now()
		outcome := callscope.ContactOutcome(c.Status)
		redial, delay, state, reason := camp.Redial.Next(outcome, out.Attempts)
		switch {
		case camp.State == callscope.CampaignCancelled:
			redial, state, reason = false, callscope.ContactCancelled, outcome+"; campaign cancelled"
		case optedOut != "" && redial:
			redial, state, reason = false, callscope.ContactSkippedDNC, outcome+"; asked not to be called again (\""+optedOut+"\")"
		}
		var next *time.Time
		if redial {
			at := now.Add(delay)
			next = &at
		}
		if err := tx.SetContactState(ctx, c.TenantID, c.CampaignID, contact, state, "", next); err != nil {
			return err
		}
		// The freed place is filled by the next dispatch, woken now: one
		// dispatch fills the places of many calls that ended together.
		tx.AfterCommit(s.kick)
		return tx.LogCampaign(ctx, &callscope.CampaignLogEntry{TenantID: c.TenantID, CampaignID: c.CampaignID, Contact: contact,
			CallID: c.ID, Attempt: out.Attempts, Event: callscope.LogOutcome, Outcome: outcome, Reason: reason, At: now})
	})
	return out, err
}

// kick wakes the backstop to dispatch now.
func (s *Service) kick() {
	s.mu.Lock()
	wake := s.wake
	s.mu.Unlock()
	if wake == nil {
		return
	}
	select {
	case wake <- struct{}{}:
	default:
	}
}

// optOut puts the number of a finished call whose transcript asks not to
// be called again on the do-not-call list, and returns the phrase.
func (s *Service) optOut(ctx context.Context, tx *sqlstore.Tx, c *callscope.Call) (string, error) {
	number := CampaignContactOf(c)
	if !callscope.ValidE164(number) {
		return "", nil
	}
	segs, err := tx.Segments(ctx, c.ID)
	if err != nil {
		return "", err
	}
	phrase, line := callscope.OptOutRequest(segs)
	if phrase == "" {
		return "", nil
	}
	if len(line) > 300 {
		line = line[:300]
	}
	_, added, err := tx.AddDoNotCall(ctx, &callscope.DoNotCallEntry{TenantID: c.TenantID, Number: number,
		Source: callscope.DNCSourceOptOut, CallID: c.ID, Reason: "said: " + line})
	if err == nil && added {
		s.log().InfoContext(ctx, "number opted out", "call_id", c.ID, "phrase", phrase)
	}
	return phrase, err
}

// Open runs, until Close, the loop that dispatches running campaigns with
// contacts due: woken when one of their calls is reconciled, and every
// Interval as the backstop that finds contacts whose redial delay or
// calling window has passed, and campaigns another process left.
func (s *Service) Open(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	s.stop = func() { cancel(); <-done }
	wake := make(chan struct{}, 1)
	s.wake = wake
	every := s.Interval
	if every <= 0 {
		every = time.Second
	}
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			case <-wake:
			}
			if _, err := s.DispatchDue(ctx); err != nil && ctx.Err() == nil {
				s.log().Warn("dispatching campaigns", "err", err)
			}
		}
	}()
	return nil
}

// Close stops the backstop; closing twice is not an error.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		s.stop()
		s.stop = func() {}
	}
}

// DispatchDue dispatches every running campaign with a contact due, or
// none left to call, and returns how many it dispatched.
func (s *Service) DispatchDue(ctx context.Context) (int, error) {
	due, err := s.Store.RunningCampaigns(ctx, s.now(), 200)
	if err != nil {
		return 0, err
	}
	for _, d := range due {
		if err := s.Dispatch(ctx, d[0], d[1]); err != nil && callscope.ErrorCode(err) != callscope.ENOTFOUND {
			return 0, err
		}
	}
	return len(due), nil
}
