package pipeline

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/nlp"
)

// CorrectionStore reads a tenant's classification corrections.
// *sqlstore.Store implements it.
type CorrectionStore interface {
	CorrectionStamp(ctx context.Context, tenantID string) (int, string, error)
	Corrections(ctx context.Context, tenantID, taxonomy string, limit int) ([]*callscope.ClassificationCorrection, error)
}

// Learner trains each tenant's classifier from its reviewers' corrections
// (nlp.Train) and keeps it until a correction is made or the taxonomy
// changes. It is safe for concurrent use.
type Learner struct {
	Store CorrectionStore
	// MaxExamples bounds the corrections a model learns from, the newest
	// (default 5000).
	MaxExamples int

	mu    sync.Mutex
	cache map[string]learned // by tenant id
}

type learned struct {
	stamp string
	model *nlp.LearnedModel
}

// Model returns the tenant's learned model for engine e's taxonomy and the
// weight to blend it with, or nil when learning is off or there are fewer
// usable corrections than the tenant's minimum.
func (l *Learner) Model(ctx context.Context, t *callscope.Tenant, e *nlp.Engine) (*nlp.LearnedModel, float64, error) {
	on, minimum, weight := t.Settings.Learn()
	if l == nil || l.Store == nil || !on {
		return nil, 0, nil
	}
	n, last, err := l.Store.CorrectionStamp(ctx, t.ID)
	if err != nil || n < minimum {
		return nil, 0, err
	}
	stamp := last + "|" + itoa(n) + "|" + configKey(&t.Settings)
	l.mu.Lock()
	c, ok := l.cache[t.ID]
	l.mu.Unlock()
	if !ok || c.stamp != stamp {
		limit := l.MaxExamples
		if limit <= 0 {
			limit = 5000
		}
		corr, err := l.Store.Corrections(ctx, t.ID, e.TaxonomyName(), limit)
		if err != nil {
			return nil, 0, err
		}
		ex := make([]nlp.Example, len(corr))
		for i, k := range corr {
			ex[i] = nlp.Example{Text: k.Text, Category: k.Category}
		}
		c = learned{stamp: stamp, model: nlp.Train(ex, e.Categories())}
		l.mu.Lock()
		if l.cache == nil {
			l.cache = map[string]learned{}
		}
		l.cache[t.ID] = c
		l.mu.Unlock()
	}
	if c.model == nil || c.model.Examples < minimum {
		return nil, 0, nil
	}
	return c.model, weight, nil
}

func itoa(n int) string {
	b := []byte{}
	if n == 0 {
		return "0"
	}
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// keepCorrection keeps a reviewer's category over a new classification of
// the call (stored is its classification so far): a call processed again
// stays where a person put it, at the higher of the two risks.
func keepCorrection(c *nlp.Classification, stored json.RawMessage) {
	var prev struct {
		Category  string          `json:"category"`
		Label     string          `json:"label"`
		Risk      string          `json:"risk"`
		Corrected json.RawMessage `json:"corrected"`
	}
	if len(stored) == 0 || json.Unmarshal(stored, &prev) != nil || len(prev.Corrected) == 0 || string(prev.Corrected) == "null" || prev.Category == "" {
		return
	}
	c.Category, c.Label, c.Corrected = prev.Category, prev.Label, prev.Corrected
	rank := map[string]int{nlp.RiskLow: 0, nlp.RiskMedium: 1, nlp.RiskHigh: 2}
	if rank[prev.Risk] > rank[c.Risk] {
		c.Risk = prev.Risk
	}
}
