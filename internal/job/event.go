package job

import (
	"context"
	"encoding/json"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
)

// DispatchEventsArgs asks for recorded events to be handed to every delivery
// channel that wants them. One job carries the events of one commit.
type DispatchEventsArgs struct {
	EventIDs []string `json:"event_ids"`
}

// Kind implements river.JobArgs. It is stable: stored jobs refer to it.
func (DispatchEventsArgs) Kind() string { return "events.dispatch" }

// eventToDispatch is an event id deferred to the commit's dispatch job.
type eventToDispatch string

// RecordEvent stores an event for a call and, in the same transaction,
// enqueues its dispatch: the event leaves the system exactly when the change
// that caused it is committed.
func (q *Queue) RecordEvent(ctx context.Context, tx *sqlstore.Tx, c *callscope.Call, typ string, data any) (*callscope.Event, error) {
	es, err := q.RecordEvents(ctx, tx, c, NewEvent{typ, data})
	if err != nil {
		return nil, err
	}
	return es[0], nil
}

// NewEvent is an event to record: its type and its data, encoded as JSON.
type NewEvent struct {
	Type string
	Data any
}

// RecordEvents is RecordEvent for several events of one call, stored with
// one statement, in order.
func (q *Queue) RecordEvents(ctx context.Context, tx *sqlstore.Tx, c *callscope.Call, events ...NewEvent) ([]*callscope.Event, error) {
	out := make([]*callscope.Event, len(events))
	for i, ne := range events {
		b, err := json.Marshal(ne.Data)
		if err != nil {
			return nil, err
		}
		out[i] = &callscope.Event{TenantID: c.TenantID, CallID: c.ID, Type: ne.Type, Data: b}
	}
	if err := tx.CreateEvents(ctx, out); err != nil {
		return nil, err
	}
	for _, e := range out {
		tx.Defer(q, eventToDispatch(e.ID), q.flush)
	}
	return out, nil
}

// Channel is a way results leave callscope (webhooks, e-mail, agent
// notifications, CRM push). Dispatch looks at one event and, in tx, records
// and enqueues the deliveries it needs (none when the event is not for it).
// It runs in the transaction that marks the event dispatched, so each event
// is handed to each channel exactly once.
type Channel interface {
	Dispatch(ctx context.Context, tx *sqlstore.Tx, e *callscope.Event) error
}

// DispatchEventWorker hands events to the delivery channels and marks them
// dispatched, all the events of a job in one transaction. Running it twice
// is harmless: an event already dispatched is skipped.
type DispatchEventWorker struct {
	river.WorkerDefaults[DispatchEventsArgs]
	Store    *sqlstore.Store
	Channels []Channel
}

// Work implements river.Worker.
func (w *DispatchEventWorker) Work(ctx context.Context, j *river.Job[DispatchEventsArgs]) error {
	return w.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		events, err := tx.ClaimEvents(ctx, j.Args.EventIDs, w.Store.Now())
		if err != nil || len(w.Channels) == 0 {
			// Without channels (a deleted tenant's events, say) there is
			// nothing to deliver.
			return err
		}
		ctx := context.WithValue(ctx, memoKey{}, map[string]memoEntry{})
		for _, e := range events {
			for _, ch := range w.Channels {
				if err := ch.Dispatch(ctx, tx, e); err != nil {
					return err
				}
			}
		}
		return nil
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
