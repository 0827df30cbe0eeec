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

// dispatchKey groups the events of a commit into one dispatch job.
type dispatchKey struct{ q *Queue }

// RecordEvent stores an event for a call and, in the same transaction,
// enqueues its dispatch: the event leaves the system exactly when the change
// that caused it is committed.
func (q *Queue) RecordEvent(ctx context.Context, tx *sqlstore.Tx, c *callscope.Call, typ string, data any) (*callscope.Event, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	e := &callscope.Event{TenantID: c.TenantID, CallID: c.ID, Type: typ, Data: b}
	if err := tx.CreateEvent(ctx, e); err != nil {
		return nil, err
	}
	tx.Defer(dispatchKey{q}, e.ID, q.flushDispatch)
	return e, nil
}

// flushDispatch enqueues one dispatch job for the events of a commit, in
// the order they were recorded.
func (q *Queue) flushDispatch(ctx context.Context, tx *sqlstore.Tx, items []any) error {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.(string)
	}
	_, err := q.c.insertManyTx(ctx, tx, []river.InsertManyParams{{Args: DispatchEventsArgs{EventIDs: ids}}})
	return err
}

// DispatchEventWorker hands events to the delivery channels. Until channels
// are configured there is nothing to send, and the events are marked
// dispatched. Running it twice is harmless.
type DispatchEventWorker struct {
	river.WorkerDefaults[DispatchEventsArgs]
	Store *sqlstore.Store
}

// Work implements river.Worker.
func (w *DispatchEventWorker) Work(ctx context.Context, j *river.Job[DispatchEventsArgs]) error {
	// Events of a deleted tenant are gone; there is nothing left to deliver.
	_, err := w.Store.MarkEventsDispatched(ctx, j.Args.EventIDs, w.Store.Now())
	return err
}
