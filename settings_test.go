package callscope

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSettingsShortCodes(t *testing.T) {
	t.Parallel()
	s, err := DecodeSettings([]byte(`{"short_codes": ["116", "999", "1a2", "1"]}`))
	if err != nil {
		t.Fatal(err)
	}
	f := s.Validate("body", "settings")
	var locs []string
	for _, e := range f {
		locs = append(locs, strings.Join(e.Loc, "."))
	}
	if want := "body.settings.short_codes.2 body.settings.short_codes.3"; strings.Join(locs, " ") != want {
		t.Errorf("problems at %q, want %q", locs, want)
	}
	if _, err := DecodeSettings([]byte(`{"short_codes": "116"}`)); ErrorCode(err) != EINVALID {
		t.Errorf("a string for short_codes: %v", err)
	}
}

func TestSettingsTaxonomy(t *testing.T) {
	t.Parallel()
	custom := `{"taxonomy":{"name":"mine","categories":[{"id":"a","label":"A","risk":"high","keywords":[{"weight":2,"terms":["x y","z*"]}]}],"escalation":null,"fallback":"a","negations":["sio"]}}`
	s, err := DecodeSettings([]byte(custom))
	if err != nil {
		t.Fatal(err)
	}
	if f := s.Validate(); len(f) != 0 || s.TaxonomyName() != "mine" || s.Taxonomy.Custom.Categories[0].Keywords[0].Terms[1] != "z*" {
		t.Fatalf("custom taxonomy: %+v %v", s.Taxonomy, f)
	}
	b, err := json.Marshal(s)
	if err != nil || string(b) != custom {
		t.Errorf("written back as %s (%v), want %s", b, err, custom)
	}
	s, err = DecodeSettings([]byte(`{"taxonomy":"contact_centre"}`))
	if err != nil || s.TaxonomyName() != "contact_centre" || s.Taxonomy.Custom != nil {
		t.Fatalf("built-in name: %+v %v", s.Taxonomy, err)
	}
	if b, _ := json.Marshal(s); string(b) != `{"taxonomy":"contact_centre"}` {
		t.Errorf("written back as %s", b)
	}
	var none Settings
	if none.TaxonomyName() != "" {
		t.Error("no taxonomy has a name")
	}
	on, min, w := none.Learn()
	if !on || min != DefaultMinCorrections || w != DefaultLearningWeight {
		t.Errorf("learning defaults %v %d %v", on, min, w)
	}
	// A stored document is read leniently: a taxonomy that no longer
	// reads is dropped, the rest kept.
	st, bad := ParseStoredSettings([]byte(`{"taxonomy": {"categories": 3}, "translate_to": "sw"}`))
	if st.Taxonomy != nil || st.TranslateTo != "sw" || len(bad) != 1 || bad[0] != "taxonomy" {
		t.Errorf("stored: %+v %v", st, bad)
	}
}
