package pipeline_test

import (
	"context"
	"testing"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/pipeline"
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
