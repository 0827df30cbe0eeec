package callscope

import (
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
