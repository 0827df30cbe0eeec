package sqlstore

import (
	"context"

	"github.com/callscope/callscope"
)

// AppendAnalyzerRunOnce stores one more run of an analyzer on a call under
// a run key (a job's: "job:42", "backfill:<id>"), unless the call already
// has a run of that analyzer under that key: a job that runs again appends
// nothing twice. It reports whether it appended.
func (q *queries) AppendAnalyzerRunOnce(ctx context.Context, r *callscope.AnalyzerRun, key string) (bool, error) {
	if key == "" {
		return false, callscope.Errorf(callscope.EINVALID, "a run key is required")
	}
	id, at := callscope.NewID(), q.now()
	n, err := q.ex.execRows(ctx, `INSERT INTO analyzer_runs (id, tenant_id, call_id, analyzer_id, analyzer_name,
		analyzer_version, analysis_text, output, created_at, run_key) VALUES (`+placeholders(1, 10)+`)
		ON CONFLICT (call_id, analyzer_id, run_key) DO NOTHING`,
		id, r.TenantID, r.CallID, r.AnalyzerID, r.AnalyzerName, r.AnalyzerVersion, r.AnalysisText, jsonArg(r.Output), at, key)
	if err != nil || n == 0 {
		return false, err
	}
	r.ID, r.CreatedAt = id, at
	return true, nil
}

// HasAnalyzerRun reports whether a call has a run of the analyzer under the
// run key, so that a job can skip work it already stored.
func (q *queries) HasAnalyzerRun(ctx context.Context, callID, analyzerID, key string) (bool, error) {
	var n int
	err := q.ex.queryRow(ctx, `SELECT count(*) FROM analyzer_runs WHERE call_id = $1 AND analyzer_id = $2 AND run_key = $3`,
		callID, analyzerID, key).Scan(&n)
	return n > 0, err
}

// CallsWithRecordings returns which of the given calls have at least one
// recording.
func (q *queries) CallsWithRecordings(ctx context.Context, callIDs []string) (map[string]bool, error) {
	out := make(map[string]bool, len(callIDs))
	if len(callIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(callIDs))
	for i, id := range callIDs {
		args[i] = id
	}
	rs, err := q.ex.query(ctx, `SELECT DISTINCT call_id FROM recordings WHERE call_id IN (`+placeholders(1, len(args))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rs.Err()
}
