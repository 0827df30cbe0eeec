package stt_test

import (
	"strings"
	"testing"

	"github.com/callscope/callscope/internal/stt"
)

func TestNormalizeWords(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Press 5 to leave a message.":                     "press five to leave a message",
		"Use the 7 key for Q, and the 9 key for Z.":       "use the seven key for q and the nine key for z",
		"Enter a filename followed by # or *":             "enter a filename followed by pound or star",
		"(3 seconds of silence)":                          "",
		"<beep ascending> Hello":                          "hello",
		"3D audio enabled":                                "three d audio enabled",
		"the 21st caller, 42 calls, 100 percent, 1,250":   "the twenty first caller forty two calls one hundred percent one two hundred fifty",
		"a polite \"don't call\" menu - now and forever.": "a polite don't call menu now and forever",
		"Your 2nd and 3rd and 12th and 20th":              "your second and third and twelfth and twentieth",
		"PIN 007":                                         "pin zero zero seven",
	} {
		if got := strings.Join(stt.NormalizeWords(in), " "); got != want {
			t.Errorf("NormalizeWords(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWordErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ref, hyp    string
		errs, words int
	}{
		{"Press 5 to leave a message.", "press five to leave a message", 0, 6},
		{"the cat sat", "the cat sat down", 1, 3},
		{"the cat sat", "the sat", 1, 3},
		{"the cat sat", "a cat sat", 1, 3},
		{"the cat sat", "", 3, 3},
		{"", "noise", 1, 0},
		{"one two three four", "two three four five", 2, 4},
	} {
		e, n := stt.WordErrors(tc.ref, tc.hyp)
		if e != tc.errs || n != tc.words {
			t.Errorf("WordErrors(%q, %q) = %d/%d, want %d/%d", tc.ref, tc.hyp, e, n, tc.errs, tc.words)
		}
	}
}
