package sqlstore

import (
	"context"

	"github.com/callscope/callscope"
)

const correctionColumns = `id, tenant_id, call_id, taxonomy, previous_category, category, note, reviewer, key_id, text, created_at`

func scanCorrection(r row) (*callscope.ClassificationCorrection, error) {
	var c callscope.ClassificationCorrection
	if err := r.Scan(&c.ID, &c.TenantID, &c.CallID, &c.Taxonomy, &c.PreviousCategory, &c.Category, &c.Note,
		&c.Reviewer, &c.KeyID, &c.Text, &c.CreatedAt); err != nil {
		return nil, err
	}
	c.CreatedAt = c.CreatedAt.UTC()
	return &c, nil
}

// CreateCorrection stores a classification correction, filling in its ID
// and time.
func (q *queries) CreateCorrection(ctx context.Context, c *callscope.ClassificationCorrection) error {
	if c.TenantID == "" || c.CallID == "" || c.Category == "" {
		return callscope.Errorf(callscope.EINVALID, "a correction needs a tenant, a call and a category")
	}
	c.ID = callscope.NewID()
	c.CreatedAt = q.now()
	return q.exec(ctx, `INSERT INTO classification_corrections (`+correctionColumns+`) VALUES (`+placeholders(1, 11)+`)`,
		c.ID, c.TenantID, c.CallID, c.Taxonomy, c.PreviousCategory, c.Category, c.Note, c.Reviewer, c.KeyID, c.Text, c.CreatedAt)
}

// Corrections lists a tenant's classification corrections made with the
// taxonomy named taxonomy, newest first, at most limit, the latest
// correction of each call only.
func (q *queries) Corrections(ctx context.Context, tenantID, taxonomy string, limit int) ([]*callscope.ClassificationCorrection, error) {
	rs, err := q.ex.query(ctx, `SELECT `+correctionColumns+` FROM classification_corrections c
		WHERE tenant_id = $1 AND taxonomy = $2
		AND NOT EXISTS (SELECT 1 FROM classification_corrections n WHERE n.call_id = c.call_id AND n.id > c.id)
		ORDER BY id DESC LIMIT `+itoa(limit), tenantID, taxonomy)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []*callscope.ClassificationCorrection{}
	for rs.Next() {
		c, err := scanCorrection(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rs.Err()
}

// CorrectionStamp returns how many corrections a tenant has and the id of
// the latest, which change whenever a correction is made.
func (q *queries) CorrectionStamp(ctx context.Context, tenantID string) (int, string, error) {
	var n int
	var last *string
	err := q.ex.queryRow(ctx, `SELECT count(*), max(id) FROM classification_corrections WHERE tenant_id = $1`, tenantID).Scan(&n, &last)
	if err != nil || last == nil {
		return n, "", err
	}
	return n, *last, nil
}
