package sqlstore

import (
	"context"
	"encoding/json"

	"github.com/callscope/callscope"
)

const recordingColumns = `id, tenant_id, call_id, format, content_type, channels, duration_seconds,
	size_bytes, storage_key, source_url, access_token, created_at`

func scanRecording(r row) (*callscope.Recording, error) {
	var rec callscope.Recording
	var token *string
	if err := r.Scan(&rec.ID, &rec.TenantID, &rec.CallID, &rec.Format, &rec.ContentType, &rec.Channels,
		&rec.DurationSeconds, &rec.SizeBytes, &rec.StorageKey, &rec.SourceURL, &token, &rec.CreatedAt); err != nil {
		return nil, err
	}
	if token != nil {
		rec.AccessToken = *token
	}
	rec.CreatedAt = rec.CreatedAt.UTC()
	return &rec, nil
}

// CreateRecording stores a recording's metadata, filling in ID and
// CreatedAt. An empty AccessToken stores no token.
func (q *queries) CreateRecording(ctx context.Context, rec *callscope.Recording) error {
	rec.ID = callscope.NewID()
	rec.CreatedAt = q.now()
	var token any
	if rec.AccessToken != "" {
		token = rec.AccessToken
	}
	return q.exec(ctx, `INSERT INTO recordings (`+recordingColumns+`) VALUES (`+placeholders(1, 12)+`)`,
		rec.ID, rec.TenantID, rec.CallID, rec.Format, rec.ContentType, rec.Channels, rec.DurationSeconds,
		rec.SizeBytes, rec.StorageKey, rec.SourceURL, token, rec.CreatedAt)
}

// Recordings lists a call's recordings, oldest first.
func (q *queries) Recordings(ctx context.Context, callID string) ([]*callscope.Recording, error) {
	rs, err := q.ex.query(ctx, `SELECT `+recordingColumns+` FROM recordings WHERE call_id = $1 ORDER BY id`, callID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []*callscope.Recording{}
	for rs.Next() {
		rec, err := scanRecording(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, rs.Err()
}

// RecordingByToken returns the recording a public access token opens.
// Returns ENOTFOUND for an unknown or revoked token.
func (q *queries) RecordingByToken(ctx context.Context, token string) (*callscope.Recording, error) {
	if token == "" {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "recording not found")
	}
	rec, err := scanRecording(q.ex.queryRow(ctx, `SELECT `+recordingColumns+` FROM recordings WHERE access_token = $1`, token))
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "recording not found")
	}
	return rec, err
}

// SetRecordingToken sets (or, with "", revokes) a recording's access token.
func (q *queries) SetRecordingToken(ctx context.Context, recordingID, token string) error {
	var t any
	if token != "" {
		t = token
	}
	n, err := q.ex.execRows(ctx, `UPDATE recordings SET access_token = $2 WHERE id = $1`, recordingID, t)
	if err == nil && n == 0 {
		return callscope.Errorf(callscope.ENOTFOUND, "recording not found")
	}
	return err
}

const processingColumns = `call_id, tenant_id, status, current_stage, stages_completed, stages_remaining,
	started_at, finished_at, attempts, errors, stages, config, updated_at`

// Processing returns the processing state of a call. Returns ENOTFOUND if
// processing was never requested for it.
func (q *queries) Processing(ctx context.Context, callID string) (*callscope.Processing, error) {
	var p callscope.Processing
	var status string
	var done, left, errs, stages, cfg []byte
	err := q.ex.queryRow(ctx, `SELECT `+processingColumns+` FROM processing WHERE call_id = $1`, callID).Scan(
		&p.CallID, &p.TenantID, &status, &p.CurrentStage, &done, &left, &p.StartedAt, &p.FinishedAt,
		&p.Attempts, &errs, &stages, &cfg, &p.UpdatedAt)
	if err != nil {
		if callscope.ErrorCode(err) == callscope.ENOTFOUND {
			return nil, callscope.Errorf(callscope.ENOTFOUND, "no processing for this call")
		}
		return nil, err
	}
	p.Status = callscope.ProcessingStatus(status)
	for _, x := range []struct {
		b []byte
		v any
	}{{done, &p.StagesCompleted}, {left, &p.StagesRemaining}, {errs, &p.Errors}, {stages, &p.Stages}, {cfg, &p.Config}} {
		if len(x.b) > 0 {
			if err := json.Unmarshal(x.b, x.v); err != nil {
				return nil, err
			}
		}
	}
	p.UpdatedAt = p.UpdatedAt.UTC()
	return &p, nil
}

// PutProcessing creates or replaces the processing state of a call and sets
// the call's processing status to match.
func (q *queries) PutProcessing(ctx context.Context, p *callscope.Processing) error {
	p.UpdatedAt = q.now()
	nz := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	errs, stages := p.Errors, p.Stages
	if errs == nil {
		errs = []callscope.StageError{}
	}
	if stages == nil {
		stages = []callscope.StageRun{}
	}
	cfg := p.Config
	if cfg == nil {
		cfg = map[string]any{}
	}
	err := q.exec(ctx, `INSERT INTO processing (`+processingColumns+`) VALUES (`+placeholders(1, 13)+`)
		ON CONFLICT (call_id) DO UPDATE SET status = excluded.status, current_stage = excluded.current_stage,
			stages_completed = excluded.stages_completed, stages_remaining = excluded.stages_remaining,
			started_at = excluded.started_at, finished_at = excluded.finished_at, attempts = excluded.attempts,
			errors = excluded.errors, stages = excluded.stages, config = excluded.config, updated_at = excluded.updated_at`,
		p.CallID, p.TenantID, string(p.Status), p.CurrentStage, jsonArg(nz(p.StagesCompleted)), jsonArg(nz(p.StagesRemaining)),
		p.StartedAt, p.FinishedAt, p.Attempts, jsonArg(errs), jsonArg(stages), jsonArg(cfg), p.UpdatedAt)
	if err != nil {
		return err
	}
	return q.exec(ctx, `UPDATE calls SET processing_status = $2, updated_at = $3, version = version + 1 WHERE id = $1`, p.CallID, string(p.Status), p.UpdatedAt)
}

// ProcessingCounts returns how many calls of a tenant are in each processing
// status.
func (q *queries) ProcessingCounts(ctx context.Context, tenantID string) (map[callscope.ProcessingStatus]int, error) {
	rs, err := q.ex.query(ctx, `SELECT status, count(*) FROM processing WHERE tenant_id = $1 GROUP BY status`, tenantID)
	if err != nil {
		return nil, err
	}
	counts, err := countRows(rs)
	if err != nil {
		return nil, err
	}
	out := make(map[callscope.ProcessingStatus]int, len(counts))
	for s, n := range counts {
		out[callscope.ProcessingStatus(s)] = n
	}
	return out, nil
}
