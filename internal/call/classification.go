package call

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/sqlstore"
)

// Correction is a person's correction of a call's category.
type Correction struct {
	// Category is an id of the tenant's taxonomy.
	Category string
	Note     string
	// Reviewer names the person, as the caller knows them.
	Reviewer string
	// KeyID is the API key the correction came with.
	KeyID string
}

// maxCorrectionText bounds the transcript kept with a correction.
const maxCorrectionText = 100_000

// CorrectClassification sets the category of the call ref names to a
// reviewer's choice: the call's classification takes the category, its
// label and base risk (risk raised by escalation terms stays), marked with
// who corrected it, when and why; the correction is kept with the call's
// transcript, for the tenant's learned model; classification.corrected is
// recorded. Returns ENOTFOUND for an unknown call and EINVALID for a
// category the tenant's taxonomy does not have.
func (s *Service) CorrectClassification(ctx context.Context, tenantID, ref string, in Correction) (*callscope.Call, *callscope.ClassificationCorrection, error) {
	tenant, err := s.Store.Tenant(ctx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	tax := nlp.TaxonomyOf(tenant.Settings.Taxonomy)
	if tax == nil {
		tax = nlp.DefaultTaxonomy(nlp.TaxonomyHelpline)
	}
	var cat *callscope.Category
	var ids []string
	for i := range tax.Categories {
		ids = append(ids, tax.Categories[i].ID)
		if tax.Categories[i].ID == in.Category {
			cat = &tax.Categories[i]
		}
	}
	if cat == nil {
		return nil, nil, callscope.ValidationError(callscope.FieldError{Loc: []string{"body", "category"},
			Msg: "Input should be a category of the tenant's taxonomy: " + strings.Join(ids, ", "), Type: "enum"})
	}
	var out *callscope.Call
	var corr *callscope.ClassificationCorrection
	err = s.Store.InTx(ctx, func(tx *sqlstore.Tx) error {
		c, err := s.lockedCall(ctx, tx, tenantID, ref)
		if err != nil {
			return err
		}
		segs, err := tx.Segments(ctx, c.ID)
		if err != nil {
			return err
		}
		var text strings.Builder
		for _, sg := range segs {
			if text.Len()+len(sg.Text) > maxCorrectionText {
				break
			}
			text.WriteString(sg.Text)
			text.WriteByte('\n')
		}
		cls := map[string]any{}
		if len(c.Classification) > 0 {
			_ = json.Unmarshal(c.Classification, &cls) // a classification that does not read is replaced
		}
		prev, _ := cls["category"].(string)
		now := s.now()
		corr = &callscope.ClassificationCorrection{TenantID: tenantID, CallID: c.ID, Taxonomy: tax.Name,
			PreviousCategory: prev, Category: cat.ID, Note: in.Note, Reviewer: in.Reviewer, KeyID: in.KeyID, Text: text.String()}
		if err := tx.CreateCorrection(ctx, corr); err != nil {
			return err
		}
		cls["taxonomy"], cls["category"], cls["label"], cls["confidence"] = tax.Name, cat.ID, cat.Label, 1.0
		cls["risk"] = correctedRisk(cat.Risk, cls["risk_evidence"])
		cls["corrected"] = map[string]any{"correction_id": corr.ID, "previous_category": prev, "reviewer": in.Reviewer,
			"note": in.Note, "at": now.Format(time.RFC3339Nano)}
		b, err := json.Marshal(cls)
		if err != nil {
			return err
		}
		if err := tx.SetCallResults(ctx, tenantID, c.ID, map[string]any{"classification": json.RawMessage(b)}); err != nil {
			return err
		}
		c.Classification = b
		out = c
		_, err = s.Queue.RecordEvent(ctx, tx, c, callscope.ClassificationCorrectedData{CallRefData: callscope.RefOf(c),
			CorrectionID: corr.ID, Category: cat.ID, PreviousCategory: prev, Reviewer: in.Reviewer, Note: in.Note})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return out, corr, nil
}

// correctedRisk is the risk of a corrected call: its new category's base
// risk, or higher when escalation terms in the transcript raised it.
func correctedRisk(base string, evidence any) string {
	rank := map[string]int{"": 0, nlp.RiskLow: 0, nlp.RiskMedium: 1, nlp.RiskHigh: 2}
	r := rank[base]
	list, _ := evidence.([]any)
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			if lv, ok := m["level"].(string); ok && rank[lv] > r {
				r = rank[lv]
			}
		}
	}
	return []string{nlp.RiskLow, nlp.RiskMedium, nlp.RiskHigh}[r]
}
