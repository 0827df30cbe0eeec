package sqlstore

import (
	"context"

	"github.com/callscope/callscope"
)

// resultColumns are the call columns the pipeline writes, one stage each.
var resultColumns = map[string]bool{
	"language": true, "translation": true, "translation_language": true, "entities": true, "classification": true,
	"summary": true, "qa": true, "insights": true, "todos": true, "audio_seconds": true,
}

// SetCallResults writes stage results into a call's result columns only
// (so a pipeline never overwrites what else changed on the call meanwhile).
// Values are strings for text columns and JSON-able values for the others.
// Returns ENOTFOUND if the call does not exist.
func (q *queries) SetCallResults(ctx context.Context, tenantID, callID string, values map[string]any) error {
	if len(values) == 0 {
		return nil
	}
	args := []any{callID, tenantID, q.now()}
	sets := "updated_at = $3, version = version + 1"
	for col, v := range values {
		if !resultColumns[col] {
			return callscope.Errorf(callscope.EINTERNAL, "not a result column: %s", col)
		}
		switch col {
		case "language", "translation", "translation_language", "audio_seconds":
		default:
			v = jsonArg(v)
		}
		args = append(args, v)
		sets += ", " + col + " = $" + itoa(len(args))
	}
	n, err := q.ex.execRows(ctx, `UPDATE calls SET `+sets+` WHERE id = $1 AND tenant_id = $2`, args...)
	if err == nil && n == 0 {
		return callscope.Errorf(callscope.ENOTFOUND, "Call session not found")
	}
	return err
}

// RequestProcessing marks a call's processing pending, atomically, unless it
// is already pending or in progress — or completed, unless force. It reports
// whether it did (the caller then enqueues the job in the same transaction)
// and the status the call has now.
func (q *queries) RequestProcessing(ctx context.Context, tenantID, callID string, force bool, stages []string) (bool, callscope.ProcessingStatus, error) {
	now := q.now()
	blocked := `('pending', 'in_progress', 'completed')`
	if force {
		blocked = `('pending', 'in_progress')`
	}
	n, err := q.ex.execRows(ctx, `INSERT INTO processing (call_id, tenant_id, status, current_stage, stages_completed,
			stages_remaining, started_at, finished_at, attempts, errors, stages, config, updated_at)
		VALUES ($1, $2, 'pending', '', '[]', $3, NULL, NULL, 0, '[]', '[]', '{}', $4)
		ON CONFLICT (call_id) DO UPDATE SET status = 'pending', current_stage = '', stages_completed = '[]',
			stages_remaining = excluded.stages_remaining, started_at = NULL, finished_at = NULL, attempts = 0,
			errors = '[]', stages = '[]', updated_at = excluded.updated_at
		WHERE processing.status NOT IN `+blocked, callID, tenantID, jsonArg(stages), now)
	if err != nil {
		return false, "", err
	}
	if n == 1 {
		if err := q.exec(ctx, `UPDATE calls SET processing_status = 'pending', updated_at = $2, version = version + 1 WHERE id = $1`, callID, now); err != nil {
			return false, "", err
		}
		return true, callscope.ProcessingPending, nil
	}
	var status string
	if err := q.ex.queryRow(ctx, `SELECT status FROM processing WHERE call_id = $1`, callID).Scan(&status); err != nil {
		return false, "", err
	}
	return false, callscope.ProcessingStatus(status), nil
}
