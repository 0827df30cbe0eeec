package nlp

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/callscope/callscope"
)

// FuzzTaxonomySetting feeds taxonomy settings as a tenant writes them: a
// setting that decodes and validates must compile, classify without
// panicking, and read back as it was written.
func FuzzTaxonomySetting(f *testing.F) {
	for _, s := range []string{
		`"helpline"`, `"contact_centre"`, `"nope"`, `5`, `null`, `[]`, `{}`,
		`{"name":"s","fallback":"o","negations":["sio"],"categories":[{"id":"b","label":"B","risk":"medium","keywords":[{"weight":3,"terms":["bull*","push* him"]}]},{"id":"o","risk":"low","keywords":[]}],"escalation":[{"level":"high","terms":["*kisu*"]}]}`,
		`{"categories":[{"id":"a","keywords":[{"weight":0,"terms":["*"]}]}]}`,
		`{"categories":[{"id":"a","keywords":[{"weight":1e308,"terms":["x  y"]}]}]}`,
		`{"categories":[{"id":"a"},{"id":"a"}],"fallback":"z"}`,
		// Once failed: an empty list read back as none; an escaped & read back differently.
		`{"name":"0","fallback":"o","negations":[],"categories":[{"id":"o"}]}`,
		`{"negations":["a&0"],"categories":[{"id":"0"}]}`,
	} {
		f.Add(s)
	}
	call := segs("caller: my son is bullied and pushed at school, never hit", "agent: we will call you tomorrow")
	f.Fuzz(func(t *testing.T, raw string) {
		s, err := callscope.DecodeSettings([]byte(`{"taxonomy":` + raw + `}`))
		if err != nil || s.Taxonomy == nil || len(s.Validate()) > 0 {
			return
		}
		e, err := New(Config{Taxonomy: TaxonomyOf(s.Taxonomy)})
		if err != nil {
			t.Fatalf("valid taxonomy %s does not compile: %v", raw, err)
		}
		c := e.Classify(call, Options{})
		if c.Category == "" || (c.Risk != RiskLow && c.Risk != RiskMedium && c.Risk != RiskHigh) {
			t.Fatalf("taxonomy %s: classification %+v", raw, c)
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		again, err := callscope.DecodeSettings(b)
		if err != nil || !reflect.DeepEqual(again.Taxonomy.Custom, s.Taxonomy.Custom) || again.Taxonomy.Builtin != s.Taxonomy.Builtin {
			t.Fatalf("taxonomy %s reads back as %s (%v)", raw, b, err)
		}
		if b2, _ := json.Marshal(again); string(b2) != string(b) {
			t.Fatalf("taxonomy %s written back as %s, then as %s", raw, b, b2)
		}
	})
}
