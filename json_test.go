package callscope

import (
	"strings"
	"testing"
)

// FuzzJSONProblem holds the quick test to the walk it saves: whenever the
// walk finds a number that does not fit, the quick test said it might.
func FuzzJSONProblem(f *testing.F) {
	for _, s := range []string{`{"a":1e999}`, `{"a":[-1E+400]}`, `{"a":1.5e3}`, `{"t":"2025-10-24T08:58:25Z","n":0.92}`,
		`{"a":` + strings.Repeat("9", 320) + `}`, `{"a":"1e999"}`, `[1,2,3]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		walked := func() *FieldError {
			defer func() { recover() }()
			return JSONProblem(raw, true) // dupKeys forces the walk
		}()
		if walked != nil && walked.Type == "value_error" && !mayOverflow(raw) {
			t.Fatalf("%s: the walk found %v but the quick test said no", raw, walked.Loc)
		}
	})
}

func TestJSONProblemNumbers(t *testing.T) {
	for body, want := range map[string]bool{
		`{"a":1e999}`: true, `{"a":{"b":[0,-1e999]}}`: true, `{"a":1e308}`: false, `{"a":"1e999"}`: false,
		`{"a":12345678901234567890}`: false, `{"t":"2025-10-24T08:58:25Z","c":0.92}`: false,
	} {
		if got := JSONProblem([]byte(body), false) != nil; got != want {
			t.Errorf("%s: problem %v, want %v", body, got, want)
		}
	}
}
