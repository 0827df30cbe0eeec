package sqlstore

import (
	"context"
	"encoding/json"

	"github.com/callscope/callscope"
)

// AppendEvolution stores a snapshot of a call, filling in CreatedAt. A
// snapshot for a window the call already has of that kind replaces it, so
// writing the same window twice is harmless. Returns EINVALID for an unknown
// kind, a negative window index, a window that ends before it starts or data
// that is not JSON.
func (q *queries) AppendEvolution(ctx context.Context, s *callscope.EvolutionSnapshot) error {
	switch s.Kind {
	case callscope.EvolutionEntity, callscope.EvolutionClassification, callscope.EvolutionTranslation:
	default:
		return callscope.Errorf(callscope.EINVALID, "unknown evolution kind %q", s.Kind)
	}
	if s.WindowIndex < 0 || s.WindowStart < 0 || s.WindowEnd < s.WindowStart {
		return callscope.Errorf(callscope.EINVALID, "evolution window %d [%g, %g] is not a window", s.WindowIndex, s.WindowStart, s.WindowEnd)
	}
	data := s.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	} else if !json.Valid(data) {
		return callscope.Errorf(callscope.EINVALID, "evolution data is not JSON")
	}
	s.CreatedAt = q.now()
	return q.exec(ctx, `INSERT INTO evolution_snapshots (call_id, tenant_id, kind, window_index, window_start, window_end, data, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (call_id, kind, window_index) DO UPDATE SET window_start = excluded.window_start,
			window_end = excluded.window_end, data = excluded.data, created_at = excluded.created_at`,
		s.CallID, s.TenantID, s.Kind, s.WindowIndex, s.WindowStart, s.WindowEnd, data, s.CreatedAt)
}

// Evolution returns a call's snapshots of one kind, or of every kind when
// kind is "", in window order (kinds in name order within a window).
func (q *queries) Evolution(ctx context.Context, callID, kind string) ([]*callscope.EvolutionSnapshot, error) {
	query := `SELECT call_id, tenant_id, kind, window_index, window_start, window_end, data, created_at
		FROM evolution_snapshots WHERE call_id = $1`
	args := []any{callID}
	if kind != "" {
		query += ` AND kind = $2`
		args = append(args, kind)
	}
	rs, err := q.ex.query(ctx, query+` ORDER BY window_index, kind`, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []*callscope.EvolutionSnapshot{}
	for rs.Next() {
		var s callscope.EvolutionSnapshot
		var data []byte
		if err := rs.Scan(&s.CallID, &s.TenantID, &s.Kind, &s.WindowIndex, &s.WindowStart, &s.WindowEnd, &data, &s.CreatedAt); err != nil {
			return nil, err
		}
		s.Data = json.RawMessage(data)
		s.CreatedAt = s.CreatedAt.UTC()
		out = append(out, &s)
	}
	return out, rs.Err()
}
