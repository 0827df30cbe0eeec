package sqlstore

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/callscope/callscope"
)

const backfillColumns = `id, tenant_id, analyzer_id, filter, status, total, done, failed_count, resume_after,
	last_error, created_at, started_at, finished_at, cancelled_at, updated_at`

func scanBackfill(r row) (*callscope.Backfill, error) {
	var b callscope.Backfill
	var filter []byte
	if err := r.Scan(&b.ID, &b.TenantID, &b.AnalyzerID, &filter, &b.Status, &b.Total, &b.Done, &b.Failed, &b.ResumeAfter,
		&b.LastError, &b.CreatedAt, &b.StartedAt, &b.FinishedAt, &b.CancelledAt, &b.UpdatedAt); err != nil {
		return nil, err
	}
	if len(filter) > 0 {
		if err := json.Unmarshal(filter, &b.Filter); err != nil {
			return nil, err
		}
	}
	for _, t := range []**time.Time{&b.StartedAt, &b.FinishedAt, &b.CancelledAt, &b.Filter.From, &b.Filter.To} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	b.CreatedAt, b.UpdatedAt = b.CreatedAt.UTC(), b.UpdatedAt.UTC()
	return &b, nil
}

// CreateBackfill stores a queued backfill, filling in ID, status, times
// and Total: how many calls it selects now.
func (q *queries) CreateBackfill(ctx context.Context, b *callscope.Backfill) error {
	if b.TenantID == "" || b.AnalyzerID == "" {
		return callscope.Errorf(callscope.EINVALID, "a backfill needs a tenant and an analyzer")
	}
	b.ID = callscope.NewID()
	b.Status = callscope.BackfillQueued
	b.CreatedAt = q.now()
	b.UpdatedAt = b.CreatedAt
	b.Done, b.Failed, b.ResumeAfter = 0, 0, ""
	total, err := q.CountBackfillCalls(ctx, b)
	if err != nil {
		return err
	}
	b.Total = total
	return q.exec(ctx, `INSERT INTO backfills (`+backfillColumns+`) VALUES (`+placeholders(1, 15)+`)`,
		b.ID, b.TenantID, b.AnalyzerID, jsonArg(b.Filter), b.Status, b.Total, b.Done, b.Failed, b.ResumeAfter,
		b.LastError, b.CreatedAt, b.StartedAt, b.FinishedAt, b.CancelledAt, b.UpdatedAt)
}

// callscope.Backfill returns a tenant's backfill. Returns ENOTFOUND if there is none.
func (q *queries) Backfill(ctx context.Context, tenantID, id string) (*callscope.Backfill, error) {
	b, err := scanBackfill(q.ex.queryRow(ctx, `SELECT `+backfillColumns+` FROM backfills WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "backfill not found")
	}
	return b, err
}

// Backfills lists the backfills of a tenant's analyzer, newest first.
func (q *queries) Backfills(ctx context.Context, tenantID, analyzerID string) ([]*callscope.Backfill, error) {
	rs, err := q.ex.query(ctx, `SELECT `+backfillColumns+` FROM backfills WHERE tenant_id = $1 AND analyzer_id = $2
		ORDER BY id DESC LIMIT `+itoa(callscope.MaxPageSize), tenantID, analyzerID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []*callscope.Backfill{}
	for rs.Next() {
		b, err := scanBackfill(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rs.Err()
}

// CancelBackfill stops a queued or running backfill: its job stops before
// the next call. Returns ENOTFOUND if the tenant has no such backfill and
// ECONFLICT if it has already finished.
func (q *queries) CancelBackfill(ctx context.Context, tenantID, id string) (*callscope.Backfill, error) {
	now := q.now()
	n, err := q.ex.execRows(ctx, `UPDATE backfills SET status = $3, cancelled_at = $4, finished_at = $4, updated_at = $4
		WHERE tenant_id = $1 AND id = $2 AND status IN ($5, $6)`, tenantID, id, callscope.BackfillCancelled, now, callscope.BackfillQueued, callscope.BackfillRunning)
	if err != nil {
		return nil, err
	}
	b, err := q.Backfill(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return b, callscope.Errorf(callscope.ECONFLICT, "the backfill has already %s", b.Status)
	}
	return b, nil
}

// StartBackfill moves a queued backfill to running. It reports whether the
// backfill is running now (also when it already was); false means it has
// finished or was cancelled, and its job has nothing to do.
func (q *queries) StartBackfill(ctx context.Context, id string) (bool, error) {
	now := q.now()
	if _, err := q.ex.execRows(ctx, `UPDATE backfills SET status = $2, started_at = $3, updated_at = $3
		WHERE id = $1 AND status = $4`, id, callscope.BackfillRunning, now, callscope.BackfillQueued); err != nil {
		return false, err
	}
	var status string
	if err := q.ex.queryRow(ctx, `SELECT status FROM backfills WHERE id = $1`, id).Scan(&status); err != nil {
		return false, err
	}
	return status == callscope.BackfillRunning, nil
}

// AdvanceBackfill records that a running backfill finished one more call:
// done (or failed, with the error) and resumeAfter as the point to resume
// from. Returns ECONFLICT if the backfill is no longer running (it was
// cancelled); run it in the transaction that appends the call's run so that
// a cancelled backfill appends nothing more.
func (q *queries) AdvanceBackfill(ctx context.Context, id, resumeAfter string, failure error) error {
	var n int64
	var err error
	if failure == nil {
		n, err = q.ex.execRows(ctx, `UPDATE backfills SET done = done + 1, resume_after = $2, updated_at = $3
			WHERE id = $1 AND status = $4`, id, resumeAfter, q.now(), callscope.BackfillRunning)
	} else {
		n, err = q.ex.execRows(ctx, `UPDATE backfills SET failed_count = failed_count + 1, resume_after = $2, updated_at = $3,
			last_error = $5 WHERE id = $1 AND status = $4`, id, resumeAfter, q.now(), callscope.BackfillRunning, truncate(failure.Error(), 2000))
	}
	if err == nil && n == 0 {
		return callscope.Errorf(callscope.ECONFLICT, "the backfill is not running")
	}
	return err
}

// FinishBackfill ends a queued or running backfill with status completed or
// failed (then with the reason). It reports whether it did: false when the
// backfill had already finished or was cancelled.
func (q *queries) FinishBackfill(ctx context.Context, id, status string, reason error) (bool, error) {
	if status != callscope.BackfillCompleted && status != callscope.BackfillFailed {
		return false, callscope.Errorf(callscope.EINVALID, "a backfill finishes completed or failed, not %q", status)
	}
	now := q.now()
	query := `UPDATE backfills SET status = $2, finished_at = $3, updated_at = $3`
	args := []any{id, status, now, callscope.BackfillQueued, callscope.BackfillRunning}
	if reason != nil {
		query += `, last_error = $6`
		args = append(args, truncate(reason.Error(), 2000))
	}
	n, err := q.ex.execRows(ctx, query+` WHERE id = $1 AND status IN ($4, $5)`, args...)
	return n > 0, err
}

// backfillWhere is the condition selecting a backfill's calls: the filter,
// calls created before the backfill (so that its total holds), calls with
// a transcript.
func backfillWhere(b *callscope.Backfill) (string, []any) {
	where := []string{"c.tenant_id = $1", "c.created_at < $2",
		"EXISTS (SELECT 1 FROM segments s WHERE s.call_id = c.id)"}
	args := []any{b.TenantID, b.CreatedAt}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+itoa(len(args))))
	}
	f := b.Filter
	if f.From != nil {
		add("c.created_at >= ?", *f.From)
	}
	if f.To != nil {
		add("c.created_at < ?", *f.To)
	}
	if len(f.Status) > 0 {
		ph := make([]string, len(f.Status))
		for i, s := range f.Status {
			args = append(args, string(s))
			ph[i] = "$" + itoa(len(args))
		}
		where = append(where, "c.status IN ("+strings.Join(ph, ", ")+")")
	}
	return strings.Join(where, " AND "), args
}

// CountBackfillCalls returns how many calls the backfill selects, at most
// its filter's limit.
func (q *queries) CountBackfillCalls(ctx context.Context, b *callscope.Backfill) (int, error) {
	where, args := backfillWhere(b)
	var n int
	if err := q.ex.queryRow(ctx, `SELECT count(*) FROM calls c WHERE `+where, args...).Scan(&n); err != nil {
		return 0, err
	}
	if b.Filter.Limit > 0 && n > b.Filter.Limit {
		n = b.Filter.Limit
	}
	return n, nil
}

// BackfillCalls returns the ids of the next n calls the backfill selects
// after its ResumeAfter point, newest first.
func (q *queries) BackfillCalls(ctx context.Context, b *callscope.Backfill, n int) ([]string, error) {
	where, args := backfillWhere(b)
	if b.ResumeAfter != "" {
		args = append(args, b.ResumeAfter)
		where += " AND c.id < $" + itoa(len(args))
	}
	if n <= 0 || n > callscope.MaxPageSize {
		n = callscope.MaxPageSize
	}
	rs, err := q.ex.query(ctx, `SELECT c.id FROM calls c WHERE `+where+` ORDER BY c.id DESC LIMIT `+itoa(n), args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []string{}
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rs.Err()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
