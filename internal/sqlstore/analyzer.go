package sqlstore

import (
	"context"
	"strings"

	"github.com/callscope/callscope"
)

const analyzerColumns = `id, tenant_id, name, kind, prompt, output_schema, active, version, created_at, updated_at`

func scanAnalyzer(r row) (*callscope.Analyzer, error) {
	var a callscope.Analyzer
	var schema []byte
	if err := r.Scan(&a.ID, &a.TenantID, &a.Name, &a.Kind, &a.Prompt, &schema, &a.Active, &a.Version, &a.CreatedAt, &a.UpdatedAt); err != nil {
		return nil, err
	}
	a.OutputSchema = rawJSON(schema)
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return &a, nil
}

// CreateAnalyzer stores a tenant's analyzer at version 1. Returns ECONFLICT
// if the tenant has one with that name.
func (q *queries) CreateAnalyzer(ctx context.Context, a *callscope.Analyzer) error {
	a.Name = strings.TrimSpace(a.Name)
	if a.Name == "" {
		return callscope.Errorf(callscope.EINVALID, "analyzer name is required")
	}
	a.ID = callscope.NewID()
	a.Version = 1
	a.CreatedAt = q.now()
	a.UpdatedAt = a.CreatedAt
	err := q.exec(ctx, `INSERT INTO analyzers (`+analyzerColumns+`) VALUES (`+placeholders(1, 10)+`)`,
		a.ID, a.TenantID, a.Name, a.Kind, a.Prompt, jsonArg(a.OutputSchema), a.Active, a.Version, a.CreatedAt, a.UpdatedAt)
	if callscope.ErrorCode(err) == callscope.ECONFLICT {
		return callscope.Errorf(callscope.ECONFLICT, "an analyzer named %q already exists", a.Name)
	}
	return err
}

// Analyzer returns a tenant's analyzer. Returns ENOTFOUND if there is none.
func (q *queries) Analyzer(ctx context.Context, tenantID, id string) (*callscope.Analyzer, error) {
	a, err := scanAnalyzer(q.ex.queryRow(ctx, `SELECT `+analyzerColumns+` FROM analyzers WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, callscope.Errorf(callscope.ENOTFOUND, "analyzer not found")
	}
	return a, err
}

// Analyzers lists a tenant's analyzers by name; with activeOnly, only the
// active ones.
func (q *queries) Analyzers(ctx context.Context, tenantID string, activeOnly bool) ([]*callscope.Analyzer, error) {
	query := `SELECT ` + analyzerColumns + ` FROM analyzers WHERE tenant_id = $1`
	if activeOnly {
		query += ` AND active`
	}
	rs, err := q.ex.query(ctx, query+` ORDER BY name`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []*callscope.Analyzer{}
	for rs.Next() {
		a, err := scanAnalyzer(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rs.Err()
}

// UpdateAnalyzer writes back an analyzer read earlier, raising its version.
// Returns ENOTFOUND if it does not exist and ECONFLICT for a taken name.
func (q *queries) UpdateAnalyzer(ctx context.Context, a *callscope.Analyzer) error {
	a.Version++
	a.UpdatedAt = q.now()
	n, err := q.ex.execRows(ctx, `UPDATE analyzers SET name = $3, kind = $4, prompt = $5, output_schema = $6,
		active = $7, version = $8, updated_at = $9 WHERE tenant_id = $1 AND id = $2`,
		a.TenantID, a.ID, a.Name, a.Kind, a.Prompt, jsonArg(a.OutputSchema), a.Active, a.Version, a.UpdatedAt)
	if callscope.ErrorCode(err) == callscope.ECONFLICT {
		return callscope.Errorf(callscope.ECONFLICT, "an analyzer named %q already exists", a.Name)
	} else if err == nil && n == 0 {
		return callscope.Errorf(callscope.ENOTFOUND, "analyzer not found")
	}
	return err
}

// DeleteAnalyzer removes a tenant's analyzer; its past runs stay with the
// calls. Returns ENOTFOUND if there is no such analyzer.
func (q *queries) DeleteAnalyzer(ctx context.Context, tenantID, id string) error {
	n, err := q.ex.execRows(ctx, `DELETE FROM analyzers WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err == nil && n == 0 {
		return callscope.Errorf(callscope.ENOTFOUND, "analyzer not found")
	}
	return err
}

// AppendAnalyzerRun stores one more run of an analyzer on a call.
func (q *queries) AppendAnalyzerRun(ctx context.Context, r *callscope.AnalyzerRun) error {
	r.ID = callscope.NewID()
	r.CreatedAt = q.now()
	return q.exec(ctx, `INSERT INTO analyzer_runs (id, tenant_id, call_id, analyzer_id, analyzer_name,
		analyzer_version, analysis_text, output, created_at) VALUES (`+placeholders(1, 9)+`)`,
		r.ID, r.TenantID, r.CallID, r.AnalyzerID, r.AnalyzerName, r.AnalyzerVersion, r.AnalysisText, jsonArg(r.Output), r.CreatedAt)
}

// AnalyzerRuns lists a call's analyzer runs, oldest first.
func (q *queries) AnalyzerRuns(ctx context.Context, callID string) ([]*callscope.AnalyzerRun, error) {
	rs, err := q.ex.query(ctx, `SELECT id, tenant_id, call_id, analyzer_id, analyzer_name, analyzer_version,
		analysis_text, output, created_at FROM analyzer_runs WHERE call_id = $1 ORDER BY id`, callID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []*callscope.AnalyzerRun{}
	for rs.Next() {
		var r callscope.AnalyzerRun
		var output []byte
		if err := rs.Scan(&r.ID, &r.TenantID, &r.CallID, &r.AnalyzerID, &r.AnalyzerName, &r.AnalyzerVersion,
			&r.AnalysisText, &output, &r.CreatedAt); err != nil {
			return nil, err
		}
		r.Output = rawJSON(output)
		r.CreatedAt = r.CreatedAt.UTC()
		out = append(out, &r)
	}
	return out, rs.Err()
}
