package callscope_test

import (
	"testing"
	"time"

	"github.com/callscope/callscope"
)

func TestCallingWindowNextOpen(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	nyc, _ := time.LoadLocation("America/New_York")
	w := &callscope.CallingWindow{Start: "09:00", End: "17:00"}
	weekdays := &callscope.CallingWindow{Start: "09:00", End: "17:00", Days: []string{"mon", "tue", "wed", "thu", "fri"}}
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name string
		w    *callscope.CallingWindow
		loc  *time.Location
		at   string
		want string
	}{
		{"Open", w, paris, "2026-03-27T10:00:00Z", "2026-03-27T10:00:00Z"},
		{"BeforeOpening", w, paris, "2026-03-27T06:00:00Z", "2026-03-27T08:00:00Z"},
		// Saturday 18:00 CET; Sunday is the first day of summer time, so
		// 09:00 local is 07:00 UTC, not 08:00.
		{"AcrossSpringForward", w, paris, "2026-03-28T17:00:00Z", "2026-03-29T07:00:00Z"},
		{"AcrossFallBack", w, paris, "2026-10-24T16:00:00Z", "2026-10-25T08:00:00Z"},
		{"ClosedAtEnd", w, paris, "2026-03-27T16:00:00Z", "2026-03-28T08:00:00Z"},
		{"Weekend", weekdays, paris, "2026-03-28T10:00:00Z", "2026-03-30T07:00:00Z"},
		{"NewYorkDST", w, nyc, "2026-03-08T03:00:00Z", "2026-03-08T13:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.w.NextOpen(utc(tc.at), tc.loc)
			if !got.Equal(utc(tc.want)) {
				t.Fatalf("NextOpen(%s) = %s, want %s", tc.at, got.UTC().Format(time.RFC3339), tc.want)
			}
		})
	}
}

func TestAutoStatusRoundTrip(t *testing.T) {
	for _, s := range callscope.CallStatuses {
		auto := callscope.AutoStatus(s)
		sts, ok := callscope.CallStatusesOf(auto)
		if !ok {
			t.Fatalf("%s maps to %q, which maps back to nothing", s, auto)
		}
		found := false
		for _, x := range sts {
			found = found || x == s
		}
		if !found {
			t.Fatalf("%s → %q → %v does not contain it", s, auto, sts)
		}
	}
	for _, a := range callscope.AutoStatuses {
		if _, ok := callscope.CallStatusesOf(a); !ok {
			t.Fatalf("Auto-Caller status %q has no call status", a)
		}
	}
	if _, ok := callscope.CallStatusesOf("in_progress"); ok {
		t.Fatal("a call status is not an Auto-Caller status")
	}
}

func TestSettingsAutocallerValidate(t *testing.T) {
	s := callscope.SettingsOf(map[string]any{"autocaller": map[string]any{"max_concurrent_calls": -1, "time_zone": "Mars/Base",
		"calling_window": map[string]any{"start": "18:00", "end": "09:00", "days": []string{"mon", "xyz"}}}})
	got := map[string]bool{}
	for _, f := range s.Validate() {
		got[joinLoc(f.Loc)] = true
	}
	for _, want := range []string{"autocaller.max_concurrent_calls", "autocaller.time_zone", "autocaller.calling_window.end", "autocaller.calling_window.days.1"} {
		if !got[want] {
			t.Errorf("no error at %s (got %v)", want, got)
		}
	}
}

func joinLoc(loc []string) string {
	out := ""
	for i, l := range loc {
		if i > 0 {
			out += "."
		}
		out += l
	}
	return out
}
