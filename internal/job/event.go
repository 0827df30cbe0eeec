package job

import (
	"context"
	"encoding/json"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
)

// Events leave callscope through its delivery channels. An event is stored
// in the transaction of the change that caused it, not yet dispatched; the
// queue's dispatcher claims waiting events in batches and, in the claiming
// transaction, hands each to every channel, so each channel sees each event
// exactly once, and an event is dispatched exactly when its change is
// committed. The events table is the dispatcher's durable queue: a commit
// that records events wakes it, and it also looks every poll interval (for
// events recorded by other processes, or left by a crash).

// dispatchBatch is how many events one dispatch transaction claims.
const dispatchBatch = 500

// DispatchEventsArgs asks for recorded events to be handed to every delivery
// channel that wants them. Events are dispatched by the queue's dispatcher;
// these jobs, stored by earlier versions, are still worked.
type DispatchEventsArgs struct {
	EventIDs []string `json:"event_ids"`
}

// Kind implements river.JobArgs. It is stable: stored jobs refer to it.
func (DispatchEventsArgs) Kind() string { return "events.dispatch" }

// RecordEvent stores an event for a call, in the transaction of the change
// that caused it; the event is dispatched once that commits. The payload's
// type decides the event's type.
func (q *Queue) RecordEvent(ctx context.Context, tx *sqlstore.Tx, c *callscope.Call, data callscope.EventData) (*callscope.Event, error) {
	es, err := q.RecordEvents(ctx, tx, c, data)
	if err != nil {
		return nil, err
	}
	return es[0], nil
}

// RecordEvents is RecordEvent for several events of one call, stored with
// one statement, in order.
func (q *Queue) RecordEvents(ctx context.Context, tx *sqlstore.Tx, c *callscope.Call, events ...callscope.EventData) ([]*callscope.Event, error) {
	out := make([]*callscope.Event, len(events))
	for i, d := range events {
		b, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		out[i] = &callscope.Event{TenantID: c.TenantID, CallID: c.ID, Type: d.EventType(), Data: b}
	}
	if err := tx.CreateEvents(ctx, out); err != nil {
		return nil, err
	}
	tx.AfterCommit(q.wakeDispatcher)
	q.FeedWritten(tx)
	return out, nil
}

// OnFeed sets fn to run after every commit that wrote to the live feed
// (events are in it too), so that the feed's hub looks at once rather than
// at its next poll. fn must not block.
func (q *Queue) OnFeed(fn func()) {
	q.feedHook.Store(&fn)
}

// FeedWritten registers in tx that it wrote to the live feed.
func (q *Queue) FeedWritten(tx *sqlstore.Tx) { tx.AfterCommit(q.wakeFeed) }

func (q *Queue) wakeFeed() {
	if fn := q.feedHook.Load(); fn != nil && *fn != nil {
		(*fn)()
	}
}

// DispatchTo sets the channels events are handed to. Call it before Start;
// without channels, events are only marked dispatched.
func (q *Queue) DispatchTo(channels ...Channel) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.channels = channels
}

// wakeDispatcher tells the dispatcher that events were committed. It never
// blocks.
func (q *Queue) wakeDispatcher() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// dispatchLoop runs until stop is closed, dispatching waiting events to
// channels when woken and every poll interval. It must not take q.mu: Stop
// holds it while waiting for the loop to end.
func (q *Queue) dispatchLoop(ctx context.Context, channels []Channel, stop <-chan struct{}) {
	d := &dispatcher{q: q, channels: channels, held: map[string]heldEvent{}}
	tick := time.NewTicker(q.cfg.PollInterval)
	defer tick.Stop()
	for {
		woken := false
		select {
		case <-q.wake:
			woken = true
		case <-tick.C:
		case <-stop:
			return
		}
		if woken {
			// Let the events of the next few commits join these: one claim
			// for many commits costs the writer less than one for each.
			select {
			case <-time.After(min(q.cfg.PollInterval/4, 50*time.Millisecond)):
			case <-stop:
				return
			}
		} else {
			d.retryHeld(ctx)
			// A cheap read first: most polls find nothing, and claiming
			// takes the writer.
			if waiting, err := q.store.HasUndispatchedEvents(ctx); err != nil || !waiting {
				continue
			}
		}
		d.dispatchWaiting(ctx)
	}
}

// dispatcher claims waiting events and hands them to the channels. An
// event a channel refuses would fail every batch it is in: when a batch
// fails, its events go one by one, and those that fail alone are held back
// from batches and tried again alone, later and later.
type dispatcher struct {
	q        *Queue
	channels []Channel
	held     map[string]heldEvent
}

type heldEvent struct {
	next  time.Time
	delay time.Duration
}

// maxHeld bounds how many refused events are kept out of batches; beyond
// it, batches may fail again and go one by one.
const maxHeld = 100

func (d *dispatcher) dispatchWaiting(ctx context.Context) {
	for {
		skip := make([]string, 0, len(d.held))
		for id := range d.held {
			skip = append(skip, id)
		}
		n := 0
		err := d.q.store.InTx(ctx, func(tx *sqlstore.Tx) error {
			events, err := tx.ClaimUndispatchedEvents(ctx, dispatchBatch, d.q.store.Now(), skip...)
			if err != nil {
				return err
			}
			n = len(events)
			return dispatch(ctx, tx, d.channels, events)
		})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			d.q.cfg.Logger.Warn("dispatching events", "err", err)
			ids, err := d.q.store.UndispatchedEventIDs(ctx, dispatchBatch, skip...)
			if err == nil {
				d.oneByOne(ctx, ids)
			}
			return
		}
		if n < dispatchBatch {
			return
		}
	}
}

// retryHeld tries again, alone, the held events that are due.
func (d *dispatcher) retryHeld(ctx context.Context) {
	now := time.Now()
	var due []string
	for id, h := range d.held {
		if !now.Before(h.next) {
			due = append(due, id)
		}
	}
	d.oneByOne(ctx, due)
}

// oneByOne dispatches events each in a transaction of its own; one that
// fails is held back, and logged.
func (d *dispatcher) oneByOne(ctx context.Context, ids []string) {
	for _, id := range ids {
		err := d.q.store.InTx(ctx, func(tx *sqlstore.Tx) error {
			events, err := tx.ClaimEvents(ctx, []string{id}, d.q.store.Now())
			if err != nil {
				return err
			}
			return dispatch(ctx, tx, d.channels, events)
		})
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			delete(d.held, id)
			continue
		}
		h, ok := d.held[id]
		switch {
		case ok:
			h.delay = min(2*h.delay, time.Hour)
		case len(d.held) < maxHeld:
			h.delay = d.q.cfg.PollInterval
		default:
			continue
		}
		h.next = time.Now().Add(h.delay)
		d.held[id] = h
		d.q.cfg.Logger.Error("an event cannot be dispatched", "event_id", id, "err", err, "retry_in", h.delay.String())
	}
}

// dispatch hands events to every channel, in tx.
func dispatch(ctx context.Context, tx *sqlstore.Tx, channels []Channel, events []*callscope.Event) error {
	if len(channels) == 0 {
		return nil
	}
	ctx = context.WithValue(ctx, memoKey{}, map[string]memoEntry{})
	for _, e := range events {
		for _, ch := range channels {
			if err := ch.Dispatch(ctx, tx, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// Channel is a way results leave callscope (webhooks, e-mail, agent
// notifications, CRM push). Dispatch looks at one event and, in tx, records
// and enqueues the deliveries it needs (none when the event is not for it).
// It runs in the transaction that marks the event dispatched, so each event
// is handed to each channel exactly once.
type Channel interface {
	Dispatch(ctx context.Context, tx *sqlstore.Tx, e *callscope.Event) error
}

// DispatchEventWorker works DispatchEventsArgs jobs: it hands the events
// to the channels and marks them dispatched, all in one transaction.
// Running it twice is harmless: an event already dispatched is skipped.
type DispatchEventWorker struct {
	river.WorkerDefaults[DispatchEventsArgs]
	Store    *sqlstore.Store
	Channels []Channel
}

// Work implements river.Worker.
func (w *DispatchEventWorker) Work(ctx context.Context, j *river.Job[DispatchEventsArgs]) error {
	return w.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		events, err := tx.ClaimEvents(ctx, j.Args.EventIDs, w.Store.Now())
		if err != nil {
			return err
		}
		return dispatch(ctx, tx, w.Channels, events)
	})
}

type memoKey struct{}

type memoEntry struct {
	v   any
	err error
}

// Memo returns what fn returns for key, calling fn once per dispatch
// transaction: the channels' reads of a tenant's settings and endpoints are
// shared by all the events of a job. Outside a dispatch, fn runs each time.
func Memo[T any](ctx context.Context, key string, fn func() (T, error)) (T, error) {
	m, _ := ctx.Value(memoKey{}).(map[string]memoEntry)
	if m == nil {
		return fn()
	}
	if e, ok := m[key]; ok {
		v, _ := e.v.(T)
		return v, e.err
	}
	v, err := fn()
	m[key] = memoEntry{v, err}
	return v, err
}
