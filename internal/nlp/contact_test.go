package nlp

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/callscope/callscope"
)

// entitiesOf returns "type text=value" for every entity of one line.
func entitiesOf(e *Engine, line string) []string {
	var out []string
	for _, en := range e.ExtractEntities(segs(line), Options{CallStart: callStart}) {
		out = append(out, fmt.Sprintf("%s %s=%s", en.Type, en.Text, en.Value))
	}
	return out
}

func TestSpokenEmail(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, line, want string }{
		{"WordsJoinedNumberWordAsDigit", "caller: my email is jane doe seven at example dot com", "email jane doe seven at example dot com=janedoe7@example.com"},
		{"SpelledLettersAndUnderscore", "caller: write to m w a n g i underscore p at gmail dot com please", "email m w a n g i underscore p at gmail dot com=mwangi_p@gmail.com"},
		{"DotAndDashAndTens", "caller: it is k dot otieno dash twenty one at yahoo dot co dot uk", "email k dot otieno dash twenty one at yahoo dot co dot uk=k.otieno-21@yahoo.co.uk"},
		{"SpelledDomain", "counsellor: send it to peter at j k u a t dot ac dot ke", "email peter at j k u a t dot ac dot ke=peter@jkuat.ac.ke"},
		{"DoubleDigit", "caller: yes it's amina double four at outlook dot com", "email amina double four at outlook dot com=amina44@outlook.com"},
		{"WrittenDigits", "caller: brian 2008 at hotmail dot com", "email brian 2008 at hotmail dot com=brian2008@hotmail.com"},
		{"StopWordOrganisationDomain", "agent: the address is info at red-cross dot or dot ke", "email info at red-cross dot or dot ke=info@red-cross.or.ke"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := entitiesOf(Default(), tc.line)
			if !contains(got, tc.want) {
				t.Errorf("%q: got %q, want %q", tc.line, got, tc.want)
			}
		})
	}
	t.Run("NotAnAddress", func(t *testing.T) {
		for _, line := range []string{
			"caller: she is at school dot com they said",
			"caller: I was at home and then at work",
			"caller: we met at the market",
		} {
			for _, e := range entitiesOf(Default(), line) {
				if strings.HasPrefix(e, "email") {
					t.Errorf("%q: found %s", line, e)
				}
			}
		}
	})
	t.Run("AtMostThreeWords", func(t *testing.T) {
		got := entitiesOf(Default(), "caller: tell big brown fox jane doe at example dot com")
		if want := "email fox jane doe at example dot com=foxjanedoe@example.com"; !contains(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

func TestNorthAmericanPhones(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, line, want string }{
		{"Parentheses", "caller: my cousin in Toronto is on (416) 555-0199 okay", "phone (416) 555-0199=+14165550199"},
		{"PlusOneParentheses", "caller: call me on +1 (212) 555 0147 tomorrow", "phone +1 (212) 555 0147=+12125550147"},
		{"OneParentheses", "caller: or 1 (305) 555-0123 at the office", "phone 1 (305) 555-0123=+13055550123"},
		{"Dashes", "caller: the clinic in Boston, 617-555-0111, closes at six", "phone 617-555-0111=+16175550111"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := entitiesOf(Default(), tc.line); !contains(got, tc.want) {
				t.Errorf("%q: got %q, want %q", tc.line, got, tc.want)
			}
		})
	}
	t.Run("KenyanNumbersUnchanged", func(t *testing.T) {
		got := entitiesOf(Default(), "caller: my number is 0712-345-678")
		if !contains(got, "phone 0712-345-678=+254712345678") {
			t.Errorf("got %q", got)
		}
	})
	t.Run("AreaCodeCannotStartWithOne", func(t *testing.T) {
		for _, e := range entitiesOf(Default(), "caller: box (123) 456-7890") {
			if strings.Contains(e, "+1123") {
				t.Errorf("took %s", e)
			}
		}
	})
}

func TestShortCodes(t *testing.T) {
	t.Parallel()
	e := MustNew(Config{ShortCodes: []string{"116", "999", "112"}})
	tests := []struct{ name, line, want string }{
		{"WrittenAfterCue", "agent: you can call 116 any time, it is free", "phone 116=116"},
		{"SpokenAfterCue", "agent: dial one one six from any phone", "phone one one six=116"},
		{"BeforeHelpline", "agent: this is the 116 helpline, how can I help", "phone 116=116"},
		{"Swahili", "mhudumu: piga 999 sasa hivi", "phone 999=999"},
		{"ListedAfterAnother", "agent: call 116 or 999 in an emergency", "phone 999=999"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := entitiesOf(e, tc.line); !contains(got, tc.want) {
				t.Errorf("%q: got %q, want %q", tc.line, got, tc.want)
			}
		})
	}
	t.Run("NotWithoutCue", func(t *testing.T) {
		for _, line := range []string{"caller: I paid 116 shillings", "caller: there were 112 pupils in the class", "caller: room 999"} {
			for _, x := range entitiesOf(e, line) {
				if strings.HasPrefix(x, "phone") {
					t.Errorf("%q: found %s", line, x)
				}
			}
		}
	})
	t.Run("OnlyListedCodes", func(t *testing.T) {
		for _, x := range entitiesOf(Default(), "agent: you can call 116 any time") {
			if strings.HasPrefix(x, "phone") {
				t.Errorf("default engine found %s", x)
			}
		}
		if got := entitiesOf(e, "agent: you can call 911 any time"); len(got) != 0 && strings.HasPrefix(got[0], "phone") {
			t.Errorf("unlisted 911 found: %q", got)
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		if _, err := New(Config{ShortCodes: []string{"1a6"}}); callscope.ErrorCode(err) != callscope.EINVALID {
			t.Errorf("New with short code 1a6: %v", err)
		}
	})
}

func TestYearsInContext(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, line, want string }{
		{"BornIn", "caller: the boy was born in 2011 in Nakuru", "date 2011=2011"},
		{"BackIn", "caller: it started back in 2019 when his father left", "date 2019=2019"},
		{"Since", "caller: she has lived with her aunt since 2015.", "date 2015=2015"},
		{"SpokenNineteen", "caller: I was born in nineteen eighty seven", "date nineteen eighty seven=1987"},
		{"SpokenTwentyNineteen", "caller: that was in twenty nineteen", "date twenty nineteen=2019"},
		{"SpokenTwoThousand", "caller: they married in two thousand and twelve", "date two thousand and twelve=2012"},
		{"InTheYear", "caller: in the year 2001 we moved", "date 2001=2001"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := entitiesOf(Default(), tc.line); !contains(got, tc.want) {
				t.Errorf("%q: got %q, want %q", tc.line, got, tc.want)
			}
		})
	}
	t.Run("NotAYear", func(t *testing.T) {
		for _, line := range []string{"caller: I paid in 2000 shillings", "caller: about 1987 people came", "caller: in 2019 2020 2021", "caller: room 2015 please"} {
			for _, x := range entitiesOf(Default(), line) {
				if strings.HasPrefix(x, "date") {
					t.Errorf("%q: found %s", line, x)
				}
			}
		}
	})
}

var emailShape = regexp.MustCompile(`^[a-z0-9._-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$`)

// FuzzSpokenContacts checks that spoken addresses, North American numbers
// and short codes keep their spans on the text and their values well formed.
func FuzzSpokenContacts(f *testing.F) {
	for _, s := range []string{
		"jane doe seven at example dot com", "m w a n g i underscore p at gmail dot com",
		"k dot otieno dash twenty one at yahoo dot co dot uk", "peter at j k u a t dot ac dot ke",
		"(416) 555-0199", "+1 (212) 555 0147", "1 (305) 555-0123", "617-555-0111", "((((555) 555-5555",
		"call 116", "dial one one six", "116 helpline", "born in 1987", "back in twenty nineteen",
		"in two thousand and", "at dot com at dot", "double at triple dot com", "a a a a at b dot com",
	} {
		f.Add(s)
	}
	e := MustNew(Config{ShortCodes: []string{"116", "999"}})
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		r := []rune(s)
		for _, en := range e.ExtractEntities([]callscope.Segment{{SegmentID: 3, Speaker: "caller", Text: s}}, Options{}) {
			if en.Start < 0 || en.End > len(r) || en.Start >= en.End || string(r[en.Start:en.End]) != en.Text {
				t.Fatalf("bad span [%d,%d) %q for %q", en.Start, en.End, en.Text, s)
			}
			switch {
			case en.Type == EntityEmail && en.Source == "spoken" && !emailShape.MatchString(en.Value):
				t.Fatalf("spoken address %q of %q is not an address", en.Value, s)
			case en.Type == EntityPhone && strings.TrimLeft(en.Value, "+") == "":
				t.Fatalf("phone without digits in %q", s)
			}
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
