package sqlstore

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/callscope/callscope"
)

// CreateEvent records an event, filling in ID and CreatedAt.
func (q *queries) CreateEvent(ctx context.Context, e *callscope.Event) error {
	return q.CreateEvents(ctx, []*callscope.Event{e})
}

// CreateEvents records events with one statement, filling in their IDs
// and CreatedAt; their ids rise in the order given. The live feed carries
// every event too (feed.go).
func (q *queries) CreateEvents(ctx context.Context, events []*callscope.Event) error {
	if len(events) == 0 {
		return nil
	}
	values, args := q.eventRows(events)
	if err := q.exec(ctx, `INSERT INTO events (id, tenant_id, call_id, type, data, created_at) VALUES `+values, args...); err != nil {
		return err
	}
	return q.exec(ctx, `INSERT INTO live_events (id, tenant_id, call_id, type, data, created_at) VALUES `+values, args...)
}

// eventRows fills in the events' IDs and CreatedAt, their ids rising in
// the order given, and returns the VALUES list and arguments that insert
// them (eventColumns).
func (q *queries) eventRows(events []*callscope.Event) (string, []any) {
	now := q.now()
	args := make([]any, 0, 6*len(events))
	var values strings.Builder
	for i, e := range events {
		e.ID = "evt_" + callscope.NewID()
		e.CreatedAt = now
		if len(e.Data) == 0 {
			e.Data = []byte("{}")
		}
		if i > 0 {
			values.WriteString(", ")
		}
		values.WriteString("(" + placeholders(6*i+1, 6) + ")")
		args = append(args, e.ID, e.TenantID, e.CallID, e.Type, jsonArg(e.Data), e.CreatedAt)
	}
	return values.String(), args
}

// Events lists a call's events, oldest first.
func (q *queries) Events(ctx context.Context, tenantID, callID string) ([]*callscope.Event, error) {
	rs, err := q.ex.query(ctx, `SELECT `+eventColumns+` FROM events
		WHERE tenant_id = $1 AND call_id = $2 ORDER BY id`, tenantID, callID)
	if err != nil {
		return nil, err
	}
	return scanEvents(rs)
}

// eventColumns are the columns scanEvents reads.
const eventColumns = `id, tenant_id, call_id, type, data, created_at`

// scanEvents reads rows of eventColumns, and closes them.
func scanEvents(rs rows) ([]*callscope.Event, error) {
	defer rs.Close()
	out := []*callscope.Event{}
	for rs.Next() {
		var e callscope.Event
		var data []byte
		if err := rs.Scan(&e.ID, &e.TenantID, &e.CallID, &e.Type, &data, &e.CreatedAt); err != nil {
			return nil, err
		}
		e.Data = rawJSON(data)
		e.CreatedAt = e.CreatedAt.UTC()
		out = append(out, &e)
	}
	return out, rs.Err()
}

// ClaimEvents marks as dispatched those of eventIDs not marked before, and
// returns them in the order of eventIDs. Unknown and already dispatched
// events are left out, so two claims of one event never both get it.
func (q *queries) ClaimEvents(ctx context.Context, eventIDs []string, at time.Time) ([]*callscope.Event, error) {
	if len(eventIDs) == 0 {
		return nil, nil
	}
	args := []any{callscope.Timestamp(at)}
	for _, id := range eventIDs {
		args = append(args, id)
	}
	rs, err := q.ex.query(ctx, `UPDATE events SET dispatched_at = $1 WHERE dispatched_at IS NULL AND id IN (`+placeholders(2, len(eventIDs))+`)
		RETURNING `+eventColumns, args...)
	if err != nil {
		return nil, err
	}
	claimed, err := scanEvents(rs)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*callscope.Event, len(claimed))
	for _, e := range claimed {
		byID[e.ID] = e
	}
	out := make([]*callscope.Event, 0, len(byID))
	for _, id := range eventIDs {
		if e, ok := byID[id]; ok {
			out = append(out, e)
			delete(byID, id) // an id listed twice is handed out once
		}
	}
	return out, nil
}

// ClaimUndispatchedEvents marks as dispatched up to limit events not yet
// dispatched, oldest first, leaving out those in skip, and returns them in
// that order. On PostgreSQL,
// events another transaction is claiming are skipped, so that several
// servers can claim at once without sharing an event.
func (q *queries) ClaimUndispatchedEvents(ctx context.Context, limit int, at time.Time, skip ...string) ([]*callscope.Event, error) {
	lock := ""
	if q.d == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	not, args := notIn(3, skip)
	rs, err := q.ex.query(ctx, `UPDATE events SET dispatched_at = $1 WHERE id IN (
			SELECT id FROM events WHERE dispatched_at IS NULL`+not+` ORDER BY id LIMIT $2`+lock+`)
		RETURNING `+eventColumns, append([]any{callscope.Timestamp(at), limit}, args...)...)
	if err != nil {
		return nil, err
	}
	out, err := scanEvents(rs)
	if err != nil {
		return nil, err
	}
	// Ids rise with time: their order is the order the events happened.
	slices.SortFunc(out, func(a, b *callscope.Event) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// UndispatchedEventIDs returns the ids of up to limit events waiting for
// dispatch, oldest first, leaving out those in skip.
func (q *queries) UndispatchedEventIDs(ctx context.Context, limit int, skip ...string) ([]string, error) {
	not, args := notIn(2, skip)
	rs, err := q.ex.query(ctx, `SELECT id FROM events WHERE dispatched_at IS NULL`+not+` ORDER BY id LIMIT $1`,
		append([]any{limit}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var ids []string
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rs.Err()
}

// HasUndispatchedEvents reports whether any event waits for dispatch.
func (q *queries) HasUndispatchedEvents(ctx context.Context) (bool, error) {
	var n int
	err := q.ex.queryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM events WHERE dispatched_at IS NULL LIMIT 1) AS waiting`).Scan(&n)
	return n > 0, err
}

// UndispatchedEvents counts the tenant's events not yet dispatched ("" for
// every tenant).
func (q *queries) UndispatchedEvents(ctx context.Context, tenantID string) (int, error) {
	var n int
	err := q.ex.queryRow(ctx, `SELECT count(*) FROM events WHERE dispatched_at IS NULL AND ($1 = '' OR tenant_id = $1)`, tenantID).Scan(&n)
	return n, err
}

const deliveryColumns = `id, tenant_id, call_id, event_id, channel, target, status, attempts, last_error,
	payload, created_at, updated_at, delivered_at`

// CreateDelivery records a delivery to be attempted.
func (q *queries) CreateDelivery(ctx context.Context, d *callscope.Delivery) error {
	d.ID = callscope.NewID()
	d.CreatedAt = q.now()
	d.UpdatedAt = d.CreatedAt
	if d.Status == "" {
		d.Status = callscope.DeliveryPending
	}
	return q.exec(ctx, `INSERT INTO deliveries (`+deliveryColumns+`) VALUES (`+placeholders(1, 13)+`)`,
		d.ID, d.TenantID, d.CallID, d.EventID, d.Channel, d.Target, d.Status, d.Attempts, d.LastError,
		jsonArg(d.Payload), d.CreatedAt, d.UpdatedAt, d.DeliveredAt)
}

// UpdateDelivery writes back a delivery's outcome. Returns ENOTFOUND if it
// does not exist.
func (q *queries) UpdateDelivery(ctx context.Context, d *callscope.Delivery) error {
	d.UpdatedAt = q.now()
	n, err := q.ex.execRows(ctx, `UPDATE deliveries SET status = $2, attempts = $3, last_error = $4,
		updated_at = $5, delivered_at = $6 WHERE id = $1`, d.ID, d.Status, d.Attempts, d.LastError, d.UpdatedAt, d.DeliveredAt)
	if err == nil && n == 0 {
		return callscope.Errorf(callscope.ENOTFOUND, "delivery not found")
	}
	return err
}

// Deliveries lists the deliveries made for a call, oldest first.
func (q *queries) Deliveries(ctx context.Context, tenantID, callID string) ([]*callscope.Delivery, error) {
	rs, err := q.ex.query(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE tenant_id = $1 AND call_id = $2 ORDER BY id`, tenantID, callID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []*callscope.Delivery{}
	for rs.Next() {
		var d callscope.Delivery
		var payload []byte
		if err := rs.Scan(&d.ID, &d.TenantID, &d.CallID, &d.EventID, &d.Channel, &d.Target, &d.Status, &d.Attempts,
			&d.LastError, &payload, &d.CreatedAt, &d.UpdatedAt, &d.DeliveredAt); err != nil {
			return nil, err
		}
		d.Payload = rawJSON(payload)
		d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
		out = append(out, &d)
	}
	return out, rs.Err()
}

// CountBy runs query, which must select (name, count) rows, on the read
// side and returns the counts by name.
func (q *queries) CountBy(ctx context.Context, query string, args ...any) (map[string]int, error) {
	rs, err := q.ex.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return countRows(rs)
}

// Event returns one event by id. Returns ENOTFOUND if there is none.
func (q *queries) Event(ctx context.Context, id string) (*callscope.Event, error) {
	rs, err := q.ex.query(ctx, `SELECT `+eventColumns+` FROM events WHERE id = $1`, id)
	if err != nil {
		return nil, err
	}
	es, err := scanEvents(rs)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "event not found")
	}
	return es[0], nil
}

// countRows reads (name, count) rows into a map, and closes them.
func countRows(rs rows) (map[string]int, error) {
	defer rs.Close()
	out := map[string]int{}
	for rs.Next() {
		var k string
		var n int
		if err := rs.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rs.Err()
}

// notIn returns " AND id NOT IN (…)" for ids, its placeholders numbered
// from first, and the ids as arguments; nothing for no ids.
func notIn(first int, ids []string) (string, []any) {
	if len(ids) == 0 {
		return "", nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return " AND id NOT IN (" + placeholders(first, len(ids)) + ")", args
}

// CountOldestBy runs a query whose rows are (key, count, oldest time) and
// returns the counts and oldest times by key. Times SQLite returns as text
// are parsed; a time that cannot be read is left out.
func (q *queries) CountOldestBy(ctx context.Context, query string, args ...any) (map[string]int, map[string]time.Time, error) {
	rs, err := q.ex.query(ctx, query, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rs.Close()
	counts, oldest := map[string]int{}, map[string]time.Time{}
	for rs.Next() {
		var key string
		var n int
		var at any
		if err := rs.Scan(&key, &n, &at); err != nil {
			return nil, nil, err
		}
		counts[key] = n
		if t, ok := anyTime(at); ok {
			oldest[key] = t
		}
	}
	return counts, oldest, rs.Err()
}

// anyTime reads a time scanned without a column type.
func anyTime(v any) (time.Time, bool) {
	var s string
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		s = x
	case []byte:
		s = string(x)
	default:
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
