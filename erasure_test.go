package callscope

import (
	"testing"
	"time"
)

func TestParseRetentionPeriod(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30d", 30 * 24 * time.Hour, true},
		{"12h", 12 * time.Hour, true},
		{"1h", time.Hour, true},
		{"36500d", MaxRetention, true},
		{"36501d", 0, false},
		{"0d", 0, false},
		{"", 0, false},
		{"d", 0, false},
		{"30", 0, false},
		{"30m", 0, false},
		{"-3d", 0, false},
		{"+3d", 0, false},
		{"3.5d", 0, false},
		{" 3d", 0, false},
		{"99999999999999d", 0, false},
	} {
		got, err := ParseRetentionPeriod(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseRetentionPeriod(%q) = %v, %v; want %v, ok %t", c.in, got, err, c.want, c.ok)
		}
		if err != nil && ErrorCode(err) != EINVALID {
			t.Errorf("ParseRetentionPeriod(%q): error code %s, want EINVALID", c.in, ErrorCode(err))
		}
	}
}

func TestRetentionSettingsValidate(t *testing.T) {
	s, err := DecodeSettings([]byte(`{"retention": {"recordings": "30d", "transcripts": "2w", "deliveries": "14d"}}`))
	if err != nil {
		t.Fatal(err)
	}
	f := s.Validate("body", "settings")
	if len(f) != 1 || len(f[0].Loc) != 4 || f[0].Loc[2] != "retention" || f[0].Loc[3] != "transcripts" {
		t.Fatalf("Validate = %+v, want one error at body.settings.retention.transcripts", f)
	}
	if _, err := DecodeSettings([]byte(`{"retention": {"recording": "30d"}}`)); ErrorCode(err) != EINVALID {
		t.Fatalf("misspelled retention key: %v, want EINVALID", err)
	}
	rec, tr, del := s.Retention.Periods()
	if rec != 30*24*time.Hour || tr != 0 || del != 14*24*time.Hour {
		t.Fatalf("Periods = %v %v %v", rec, tr, del)
	}
}

func FuzzParseRetentionPeriod(f *testing.F) {
	for _, s := range []string{"30d", "12h", "0d", "", "9999999999d", "1e3d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseRetentionPeriod(s)
		if err != nil {
			return
		}
		if d < time.Hour || d > MaxRetention || d%time.Hour != 0 {
			t.Fatalf("ParseRetentionPeriod(%q) = %v, outside 1h..MaxRetention", s, d)
		}
	})
}
