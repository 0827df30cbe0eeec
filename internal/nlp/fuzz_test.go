package nlp

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/callscope/callscope"
)

var fuzzSeeds = []string{
	"zero seven one two, three four five, six seven eight",
	"oh seven double two, triple one, four five six",
	"sifuri saba mbili tatu nne tano sita saba nane tisa",
	"plus two five four seven one two three four five six seven eight",
	"My number is 0722 418 903 or +254 711 672 908.",
	"I'll call you back tomorrow at three, or next Tuesday at 2 p.m.",
	"Jumamosi saa nne asubuhi, kesho kutwa, mwisho wa mwezi huu",
	"the 12th of March 2025, 05/04/2025, 2025-04-05, in two weeks, three days ago",
	"john dot smith at gmail dot com, mary@example.com, www.example.co.ke",
	"card 4111 1111 1111 1111, ID number 23456789, KSh 1,500, two thousand shillings",
	"she is nine years old, a 12-year-old, ana miaka kumi na mbili",
	"My name is Wanjiku Kamau, I live in Kawangware and work at Kibera Primary School.",
	"half past twelve, quarter to one, 99:99, 31/02/2025, the 31st, elfu elfu mia",
	"", "...", "double", "plus", "saa", "in a", "the day after", "Mr.", "a.m.",
	// Long repeats once made number parsing cubic.
	strings.Repeat("mia mbili ", 300), strings.Repeat("twenty ", 300), strings.Repeat("zero, ", 300),
}

func FuzzParseSpokenDigits(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := ParseSpokenDigits(s)
		for i, r := range d {
			if !(r >= '0' && r <= '9') && !(i == 0 && r == '+') {
				t.Fatalf("ParseSpokenDigits(%q) = %q: non-digit %q", s, d, r)
			}
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, v, ok := ParseDate(s, callStart)
		if !ok {
			return
		}
		if !strings.Contains(s, m) || m == "" {
			t.Fatalf("ParseDate(%q) matched %q, not a substring", s, m)
		}
		if v != "" && !(len(v) >= 5 && (v[2] == ':' || v[4] == '-' || v[0] == '-')) {
			t.Fatalf("ParseDate(%q) value %q is not ISO", s, v)
		}
	})
}

// FuzzExtractEntities checks spans always point at the reported text.
func FuzzExtractEntities(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		seg := []callscope.Segment{{SegmentID: 7, Speaker: "caller", Text: s}}
		for _, e := range ExtractEntities(seg, Options{CallStart: callStart}) {
			if !utf8.ValidString(s) {
				continue
			}
			r := []rune(s)
			if e.Start < 0 || e.End > len(r) || e.Start >= e.End {
				t.Fatalf("bad span [%d,%d) for %q", e.Start, e.End, s)
			}
			if string(r[e.Start:e.End]) != e.Text || e.SegmentID != 7 {
				t.Fatalf("span text %q != entity text %q", string(r[e.Start:e.End]), e.Text)
			}
		}
	})
}

// FuzzRedact checks that redacted text holds nothing the extractor would
// still call a phone number, e-mail, card or identity number.
func FuzzRedact(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in := []callscope.Segment{{SegmentID: 1, Speaker: "caller", Text: s}}
		out, _ := Redact(in, Options{})
		if in[0].Text != s {
			t.Fatal("input modified")
		}
		for _, e := range ExtractEntities(out, Options{}) {
			if _, ok := placeholders[e.Type]; ok && e.Type != EntityPerson {
				t.Fatalf("redacted %q still holds %s %q: %q", s, e.Type, e.Text, out[0].Text)
			}
		}
	})
}
