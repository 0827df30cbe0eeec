package pipeline_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/config"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// TestBuiltinShortCodes checks that a tenant's short codes reach the
// entity extractor, and only that tenant's.
func TestBuiltinShortCodes(t *testing.T) {
	var b pipeline.BuiltinEngines
	in := pipeline.Input{Segments: []callscope.Segment{{SegmentID: 1, Speaker: "agent", Text: "If it happens again, call 116 at once."}}}
	phones := func(tn *callscope.Tenant) []string {
		ents, _, err := b.For(tn).Entities.Entities(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range ents {
			if e.Type == "phone" {
				out = append(out, e.Value)
			}
		}
		return out
	}
	with := &callscope.Tenant{ID: "a", Settings: callscope.SettingsOf(map[string]any{"short_codes": []string{"116"}})}
	if got := phones(with); len(got) != 1 || got[0] != "116" {
		t.Errorf("with short code 116: phones %q, want [116]", got)
	}
	if got := phones(&callscope.Tenant{ID: "b"}); len(got) != 0 {
		t.Errorf("without short codes: phones %q, want none", got)
	}
}

// corrections is a CorrectionStore of fixed corrections.
type corrections []*callscope.ClassificationCorrection

func (c corrections) CorrectionStamp(context.Context, string) (int, string, error) {
	return len(c), "last", nil
}

func (c corrections) Corrections(_ context.Context, _, taxonomy string, limit int) ([]*callscope.ClassificationCorrection, error) {
	var out []*callscope.ClassificationCorrection
	for _, k := range c {
		if k.Taxonomy == taxonomy && len(out) < limit {
			out = append(out, k)
		}
	}
	return out, nil
}

// TestBuiltinLearns checks that the classify stage blends the tenant's
// learned model once it has the tenant's minimum of corrections.
func TestBuiltinLearns(t *testing.T) {
	var store corrections
	for _, text := range []string{"the watchman at the gate follows her home", "a man at the gate follows my girl every evening", "the watchman follows the pupils home"} {
		store = append(store, &callscope.ClassificationCorrection{Taxonomy: "child_helpline", Category: "sexual_abuse", Text: text})
	}
	for _, text := range []string{"she needs money for the uniform this term", "the uniform and books cost too much this term"} {
		store = append(store, &callscope.ClassificationCorrection{Taxonomy: "child_helpline", Category: "education", Text: text})
	}
	b := pipeline.BuiltinEngines{Learner: &pipeline.Learner{Store: store}}
	in := pipeline.Input{Segments: []callscope.Segment{{SegmentID: 1, Speaker: "caller", Text: "a watchman follows my daughter home from the gate"}}}
	classify := func(settings map[string]any) (string, bool) {
		tn := &callscope.Tenant{ID: "t", Settings: callscope.SettingsOf(settings)}
		c, _, err := b.For(tn).Classifier.Classify(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		return c.Category, c.Learned != nil
	}
	if cat, learned := classify(map[string]any{}); learned || cat == "sexual_abuse" {
		t.Errorf("below the default minimum: %s, learned %v", cat, learned)
	}
	if cat, learned := classify(map[string]any{"learning": map[string]any{"min_corrections": 5}}); !learned || cat != "sexual_abuse" {
		t.Errorf("at the minimum: %s, learned %v", cat, learned)
	}
	if _, learned := classify(map[string]any{"learning": map[string]any{"min_corrections": 5, "off": true}}); learned {
		t.Error("learning off still learned")
	}
}

// TestReprocessKeepsCorrection processes a call whose category a reviewer
// set: the new classification keeps the reviewer's category and mark.
func TestReprocessKeepsCorrection(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		tn := sqlstoretest.MustTenant(t, s)
		c := &callscope.Call{TenantID: tn.ID, Language: "en"}
		if err := s.CreateCall(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := s.PutSegments(ctx, c.ID, segments); err != nil {
			t.Fatal(err)
		}
		if err := s.SetCallResults(ctx, tn.ID, c.ID, map[string]any{"classification": map[string]any{"category": "fraud", "label": "Fraud",
			"risk": "high", "corrected": map[string]any{"reviewer": "amina", "previous_category": "billing"}}}); err != nil {
			t.Fatal(err)
		}
		r := &pipeline.Runner{Store: s, Engines: (&pipeline.BuiltinEngines{}).For, Switches: config.Switches}
		if err := r.Run(ctx, tn.ID, c.ID); err != nil {
			t.Fatal(err)
		}
		got, err := s.Call(ctx, tn.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		var cls struct {
			Category, Risk string
			Evidence       []any
			Corrected      struct{ Reviewer string }
		}
		if err := json.Unmarshal(got.Classification, &cls); err != nil {
			t.Fatal(err)
		}
		if cls.Category != "fraud" || cls.Risk != "high" || cls.Corrected.Reviewer != "amina" || len(cls.Evidence) == 0 {
			t.Errorf("classification after processing: %s", got.Classification)
		}
	})
}

// TestBuiltinCustomTaxonomy checks that a tenant's own taxonomy classifies
// its calls, and that changing it takes effect.
func TestBuiltinCustomTaxonomy(t *testing.T) {
	var b pipeline.BuiltinEngines
	in := pipeline.Input{Segments: []callscope.Segment{{SegmentID: 1, Speaker: "caller", Text: "My router shows a red light and the fibre is down."}}}
	classify := func(tax any) (string, string) {
		tn := &callscope.Tenant{ID: "t", Settings: callscope.SettingsOf(map[string]any{"taxonomy": tax})}
		c, _, err := b.For(tn).Classifier.Classify(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		return c.Taxonomy, c.Category
	}
	own := map[string]any{"name": "isp", "fallback": "other", "categories": []any{
		map[string]any{"id": "outage", "label": "Outage", "risk": "medium", "keywords": []any{map[string]any{"weight": 2, "terms": []string{"red light", "fibre is down"}}}},
		map[string]any{"id": "other", "label": "Other", "risk": "low"},
	}}
	if tax, cat := classify(own); tax != "isp" || cat != "outage" {
		t.Errorf("own taxonomy: %s/%s", tax, cat)
	}
	own["categories"].([]any)[0].(map[string]any)["keywords"] = []any{}
	if tax, cat := classify(own); tax != "isp" || cat != "other" {
		t.Errorf("changed taxonomy: %s/%s", tax, cat)
	}
	if tax, _ := classify("contact_centre"); tax != "contact_centre" {
		t.Errorf("built-in name: %s", tax)
	}
}
