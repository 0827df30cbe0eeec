package job

import (
	"context"
	"encoding/json"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
)

// DispatchEventArgs asks for one recorded event to be handed to every
// delivery channel that wants it.
type DispatchEventArgs struct {
	TenantID string `json:"tenant_id"`
	EventID  string `json:"event_id"`
}

// Kind implements river.JobArgs. It is stable: stored jobs refer to it.
func (DispatchEventArgs) Kind() string { return "event.dispatch" }

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
	q.Enqueue(tx, DispatchEventArgs{TenantID: e.TenantID, EventID: e.ID}, nil)
	return e, nil
}

// DispatchEventWorker hands an event to the delivery channels. Until
// channels are configured there is nothing to send, and the event is marked
// dispatched. Running it twice is harmless.
type DispatchEventWorker struct {
	river.WorkerDefaults[DispatchEventArgs]
	Store *sqlstore.Store
}

// Work implements river.Worker.
func (w *DispatchEventWorker) Work(ctx context.Context, j *river.Job[DispatchEventArgs]) error {
	err := w.Store.MarkEventDispatched(ctx, j.Args.EventID, w.Store.Now())
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		// The event's tenant was deleted; nothing left to deliver.
		return river.JobCancel(err)
	}
	return err
}
