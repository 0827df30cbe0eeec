package sqlstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/callscope/callscope"
)

// LegalHold returns the legal hold on a call. Returns ENOTFOUND if it has
// none.
func (q *queries) LegalHold(ctx context.Context, callID string) (*callscope.LegalHold, error) {
	var h callscope.LegalHold
	err := q.ex.queryRow(ctx, `SELECT call_id, tenant_id, reason, set_by, created_at FROM legal_holds WHERE call_id = $1`, callID).
		Scan(&h.CallID, &h.TenantID, &h.Reason, &h.SetBy, &h.CreatedAt)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "The call has no legal hold")
	} else if err != nil {
		return nil, err
	}
	h.CreatedAt = h.CreatedAt.UTC()
	return &h, nil
}

// PutLegalHold places a legal hold on a call, filling in CreatedAt; placing
// it again replaces its reason and keeps when it was first placed.
func (q *queries) PutLegalHold(ctx context.Context, h *callscope.LegalHold) error {
	h.CreatedAt = q.now()
	err := q.exec(ctx, `INSERT INTO legal_holds (call_id, tenant_id, reason, set_by, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (call_id) DO UPDATE SET reason = excluded.reason, set_by = excluded.set_by`,
		h.CallID, h.TenantID, h.Reason, h.SetBy, h.CreatedAt)
	if err != nil {
		return err
	}
	stored, err := q.LegalHold(ctx, h.CallID)
	if err != nil {
		return err
	}
	*h = *stored
	return nil
}

// DeleteLegalHold lifts the legal hold on a call and reports whether there
// was one.
func (q *queries) DeleteLegalHold(ctx context.Context, callID string) (bool, error) {
	n, err := q.ex.execRows(ctx, `DELETE FROM legal_holds WHERE call_id = $1`, callID)
	return n > 0, err
}

// callRows are the statements that delete a call's rows, in order, each
// named by what it removes; $1 is the call's id.
var callRows = []struct{ name, sql string }{
	{"delivery_attempts", `DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries
		WHERE call_id = $1 OR event_id IN (SELECT id FROM events WHERE call_id = $1))`},
	{"deliveries", `DELETE FROM deliveries WHERE call_id = $1 OR event_id IN (SELECT id FROM events WHERE call_id = $1)`},
	{"events", `DELETE FROM events WHERE call_id = $1`},
	{"live_events", `DELETE FROM live_events WHERE call_id = $1`},
	{"segments", `DELETE FROM segments WHERE call_id = $1`},
	{"recordings", `DELETE FROM recordings WHERE call_id = $1`},
	{"processing", `DELETE FROM processing WHERE call_id = $1`},
	{"analyzer_runs", `DELETE FROM analyzer_runs WHERE call_id = $1`},
	{"evolution_snapshots", `DELETE FROM evolution_snapshots WHERE call_id = $1`},
	{"classification_corrections", `DELETE FROM classification_corrections WHERE call_id = $1`},
	// Outbound campaigns: a contact whose call is erased before it ended
	// stops waiting for it (the attempt counts as failed); the log keeps
	// the attempt without its call; a number that opted out stays on the
	// do-not-call list (the request must be honoured), without the call or
	// what was said in it.
	{"campaign_contacts_in_progress", `UPDATE campaign_contacts SET state = 'failed', next_at = NULL WHERE last_call_id = $1 AND state = 'in_progress'`},
	{"campaign_log", `UPDATE campaign_log SET call_id = '', reason = '' WHERE call_id = $1 OR reason LIKE '%' || CAST($1 AS TEXT) || '%'`},
	{"do_not_call", `UPDATE do_not_call SET call_id = '', reason = '' WHERE call_id = $1`},
	{"campaign_calls", `DELETE FROM campaign_calls WHERE call_id = $1`},
	{"campaign_contacts", `UPDATE campaign_contacts SET last_call_id = '' WHERE last_call_id = $1`},
	{"backfills", `UPDATE backfills SET resume_after = '' WHERE resume_after = $1 AND status IN ('completed', 'cancelled', 'failed')`},
	{"outbound_calls", `DELETE FROM outbound_calls WHERE call_id = $1`},
	{"outbound_lines", `DELETE FROM outbound_lines WHERE call_id = $1`},
	// Idempotent answers name the call by its callId (an external id).
	{"idempotency_keys", `DELETE FROM idempotency_keys WHERE response LIKE '%' || CAST($1 AS TEXT) || '%'
		OR EXISTS (SELECT 1 FROM call_external_ids x WHERE x.call_id = $1 AND idempotency_keys.response LIKE '%"' || x.value || '"%')`},
	{"legal_holds", `DELETE FROM legal_holds WHERE call_id = $1`},
	// To-dos are the call's; a contact is not, but where enrichment took
	// its fields from is.
	{"todos", `DELETE FROM todos WHERE call_id = $1`},
	{"contact_sources", `DELETE FROM contact_sources WHERE call_id = $1`},
	{"external_ids", `DELETE FROM call_external_ids WHERE call_id = $1`},
	{"calls", `DELETE FROM calls WHERE id = $1`},
}

// EraseCall deletes a call and every row of the call record that mentions
// it: segments, recordings, processing, results, analyzer runs, evolution
// snapshots, events and the live feed, the delivery log, campaign
// bookkeeping. It returns the
// rows removed per kind and the storage keys of the call's recordings, for
// the caller to delete from the recording store. Jobs are the queue's to
// forget (job.Queue.ForgetCall).
func (q *queries) EraseCall(ctx context.Context, callID string) (map[string]int, []string, error) {
	rs, err := q.ex.query(ctx, `SELECT storage_key FROM recordings WHERE call_id = $1 ORDER BY id`, callID)
	if err != nil {
		return nil, nil, err
	}
	var keys []string
	for rs.Next() {
		var k string
		if err := rs.Scan(&k); err != nil {
			rs.Close()
			return nil, nil, err
		}
		keys = append(keys, k)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, nil, err
	}
	removed := map[string]int{}
	for _, st := range callRows {
		n, err := q.ex.execRows(ctx, st.sql, callID)
		if err != nil {
			return nil, nil, err
		}
		if n > 0 {
			removed[st.name] = int(n)
		}
	}
	return removed, keys, nil
}

// CreateDeletion appends an entry to the erasure audit log, filling in ID
// and CreatedAt.
func (q *queries) CreateDeletion(ctx context.Context, d *callscope.Deletion) error {
	d.ID = callscope.NewID()
	d.CreatedAt = q.now()
	if d.Removed == nil {
		d.Removed = map[string]int{}
	}
	b, err := json.Marshal(d.Removed)
	if err != nil {
		return err
	}
	return q.exec(ctx, `INSERT INTO deletions (id, tenant_id, call_id, actor, reason, removed, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, d.ID, d.TenantID, d.CallID, d.Actor, d.Reason, json.RawMessage(b), d.CreatedAt)
}

// Deletions lists a tenant's erasure audit log, newest first, at most limit
// entries.
func (q *queries) Deletions(ctx context.Context, tenantID string, limit int) ([]*callscope.Deletion, error) {
	rs, err := q.ex.query(ctx, `SELECT id, tenant_id, call_id, actor, reason, removed, created_at FROM deletions
		WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2`, tenantID, limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []*callscope.Deletion{}
	for rs.Next() {
		var d callscope.Deletion
		var removed []byte
		if err := rs.Scan(&d.ID, &d.TenantID, &d.CallID, &d.Actor, &d.Reason, &removed, &d.CreatedAt); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(removed, &d.Removed); err != nil {
			return nil, err
		}
		d.CreatedAt = d.CreatedAt.UTC()
		out = append(out, &d)
	}
	return out, rs.Err()
}

// notHeld is the condition that the call whose id is in column col is not
// under legal hold.
func notHeld(col string) string {
	return `NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.call_id = ` + col + `)`
}

// ExpiredRecordings lists, oldest first and at most limit, a tenant's
// recordings made before before, except those of calls under legal hold.
func (q *queries) ExpiredRecordings(ctx context.Context, tenantID string, before time.Time, limit int) ([]*callscope.Recording, error) {
	rs, err := q.ex.query(ctx, `SELECT `+recordingColumns+` FROM recordings
		WHERE tenant_id = $1 AND created_at < $2 AND `+notHeld("recordings.call_id")+`
		ORDER BY created_at, id LIMIT $3`, tenantID, before, limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []*callscope.Recording
	for rs.Next() {
		rec, err := scanRecording(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, rs.Err()
}

// DeleteRecording deletes a recording's row.
func (q *queries) DeleteRecording(ctx context.Context, id string) error {
	return q.exec(ctx, `DELETE FROM recordings WHERE id = $1`, id)
}

// ExpiredTranscriptCalls lists, at most limit, the ids of a tenant's calls
// created before before that still hold a transcript or results, except
// calls under legal hold.
func (q *queries) ExpiredTranscriptCalls(ctx context.Context, tenantID string, before time.Time, limit int) ([]string, error) {
	rs, err := q.ex.query(ctx, `SELECT id FROM calls c WHERE tenant_id = $1 AND created_at < $2 AND `+notHeld("c.id")+`
		AND (c.translation <> '' OR c.entities IS NOT NULL OR c.classification IS NOT NULL OR c.summary IS NOT NULL
			OR c.qa IS NOT NULL OR c.insights IS NOT NULL OR c.todos IS NOT NULL OR c.raw <> '{}'
			OR EXISTS (SELECT 1 FROM segments s WHERE s.call_id = c.id)
			OR EXISTS (SELECT 1 FROM analyzer_runs a WHERE a.call_id = c.id)
			OR EXISTS (SELECT 1 FROM evolution_snapshots e WHERE e.call_id = c.id))
		ORDER BY created_at, id LIMIT $3`, tenantID, before, limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rs.Err()
}

// EraseTranscript deletes a call's transcript and what was learnt from it
// (segments, translation, results, voice-bot payloads, analyzer runs,
// evolution snapshots), keeping the call itself, and returns the rows
// removed per kind.
func (q *queries) EraseTranscript(ctx context.Context, callID string) (map[string]int, error) {
	removed := map[string]int{}
	for _, t := range []string{"segments", "analyzer_runs", "evolution_snapshots"} {
		n, err := q.ex.execRows(ctx, `DELETE FROM `+t+` WHERE call_id = $1`, callID)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			removed[t] = int(n)
		}
	}
	n, err := q.ex.execRows(ctx, `UPDATE calls SET translation = '', translation_language = '', entities = NULL,
		classification = NULL, summary = NULL, qa = NULL, insights = NULL, todos = NULL, raw = '{}',
		version = version + 1, updated_at = $2 WHERE id = $1`, callID, q.now())
	if err != nil {
		return nil, err
	}
	removed["call_results"] = int(n)
	return removed, nil
}

// DeleteExpiredDeliveries deletes, at most limit at a time, a tenant's
// finished deliveries (and their attempts) created before before, except
// those of calls under legal hold, and returns how many deliveries it
// deleted.
func (q *queries) DeleteExpiredDeliveries(ctx context.Context, tenantID string, before time.Time, limit int) (int, error) {
	sel := `SELECT id FROM deliveries d WHERE tenant_id = $1 AND created_at < $2 AND status <> '` + callscope.DeliveryPending + `'
		AND (d.call_id = '' OR ` + notHeld("d.call_id") + `) ORDER BY created_at, id LIMIT $3`
	if _, err := q.ex.execRows(ctx, `DELETE FROM delivery_attempts WHERE delivery_id IN (`+sel+`)`, tenantID, before, limit); err != nil {
		return 0, err
	}
	n, err := q.ex.execRows(ctx, `DELETE FROM deliveries WHERE id IN (`+sel+`)`, tenantID, before, limit)
	return int(n), err
}
