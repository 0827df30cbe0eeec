package sqlstore

import (
	"context"
	"time"

	"github.com/callscope/callscope"
)

// The live feed (live_events) holds a copy of every event (CreateEvents
// writes both) and the feed's own items: transcript segments and
// progressive-analysis snapshots. Its ids rise with time, as events' do,
// so that a subscriber resumes after the last id it saw.

// AppendFeed records feed items, filling in their IDs and CreatedAt; their
// ids rise in the order given.
func (q *queries) AppendFeed(ctx context.Context, items []*callscope.Event) error {
	if len(items) == 0 {
		return nil
	}
	values, args := q.eventRows(items)
	return q.exec(ctx, `INSERT INTO live_events (id, tenant_id, call_id, type, data, created_at) VALUES `+values, args...)
}

// FeedAfter returns up to limit feed items of every tenant with ids above
// after, in id order.
func (q *queries) FeedAfter(ctx context.Context, after string, limit int) ([]*callscope.Event, error) {
	rs, err := q.ex.query(ctx, `SELECT `+eventColumns+` FROM live_events WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, err
	}
	return scanEvents(rs)
}

// FeedOf returns up to limit of a tenant's feed items with ids above after,
// in id order: those of one call, or of all its calls when callID is "".
func (q *queries) FeedOf(ctx context.Context, tenantID, callID, after string, limit int) ([]*callscope.Event, error) {
	query := `SELECT ` + eventColumns + ` FROM live_events WHERE tenant_id = $1 AND id > $2`
	args := []any{tenantID, after, limit}
	if callID != "" {
		query += ` AND call_id = $4`
		args = append(args, callID)
	}
	rs, err := q.ex.query(ctx, query+` ORDER BY id LIMIT $3`, args...)
	if err != nil {
		return nil, err
	}
	return scanEvents(rs)
}

// PruneFeed deletes the feed items created before before and returns how
// many it deleted.
func (q *queries) PruneFeed(ctx context.Context, before time.Time) (int64, error) {
	return q.ex.execRows(ctx, `DELETE FROM live_events WHERE created_at < $1`, callscope.Timestamp(before))
}
