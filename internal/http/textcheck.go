package http

import (
	"bytes"
	"encoding/json"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/callscope/callscope"
)

// nulProblem finds a string (or key) with a NUL character, written \u0000,
// in a well-formed JSON body: PostgreSQL text and jsonb cannot hold one, and
// no field of callscope means it.
func nulProblem(body []byte) *callscope.FieldError {
	if !bytes.Contains(body, []byte(`\u0000`)) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var path []string
	// Each open container holds its kind and, for arrays, the next index;
	// in objects, expectKey says whether the next string is a key.
	type frame struct {
		array     bool
		index     int
		expectKey bool
	}
	var stack []frame
	for {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		// A value in an array takes the next index as its location.
		if n := len(stack); n > 0 && stack[n-1].array {
			if d, ok := t.(json.Delim); !ok || d != ']' {
				path = append(path[:n-1], strconv.Itoa(stack[n-1].index))
				stack[n-1].index++
			}
		}
		switch t := t.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, frame{array: t == '[', expectKey: t == '{'})
				path = append(path, "")
				continue
			default:
				stack = stack[:len(stack)-1]
				path = path[:len(path)-1]
			}
		case string:
			n := len(stack)
			if n > 0 && !stack[n-1].array && stack[n-1].expectKey {
				path = append(path[:n-1], t)
				stack[n-1].expectKey = false
				if strings.ContainsRune(t, 0) {
					return &callscope.FieldError{Loc: append([]string{"body"}, path...), Msg: "Keys may not contain NUL characters (\\u0000)", Type: "string_type"}
				}
				continue
			}
			if strings.ContainsRune(t, 0) {
				return &callscope.FieldError{Loc: append([]string{"body"}, path[:n]...), Msg: "Text may not contain NUL characters (\\u0000)", Type: "string_type"}
			}
		}
		// A value ends; an object then expects a key again.
		if n := len(stack); n > 0 && !stack[n-1].array {
			stack[n-1].expectKey = true
		}
	}
}

// checkRequestText refuses path ids and query values no store can hold:
// invalid UTF-8 or a NUL byte (PostgreSQL text refuses both, and no id or
// filter has them).
func checkRequestText(r *http.Request, pattern string) error {
	bad := func(v string) bool { return !utf8.ValidString(v) || strings.ContainsRune(v, 0) }
	for _, part := range strings.Split(pattern, "/") {
		name, ok := strings.CutPrefix(part, "{")
		if !ok {
			continue
		}
		name = strings.TrimSuffix(name, "}")
		if bad(r.PathValue(name)) {
			return callscope.ValidationError(callscope.FieldError{Loc: []string{"path", name},
				Msg: "Input should be valid UTF-8 text without NUL characters", Type: "string_type"})
		}
	}
	for name, vs := range r.URL.Query() {
		for _, v := range vs {
			if bad(name) || bad(v) {
				return callscope.ValidationError(callscope.FieldError{Loc: []string{"query", strings.ToValidUTF8(strings.ReplaceAll(name, "\x00", ""), "\uFFFD")},
					Msg: "Input should be valid UTF-8 text without NUL characters", Type: "string_type"})
			}
		}
	}
	return nil
}

// inexactProblem finds a number that would not read back as written: one
// with more digits than a float64 keeps (12345678901234567890 would come
// back as 12345678901234567000). Such numbers are refused in callscope's own
// bodies, whose free-form fields (metadata, output schemas) are stored as
// float64s.
func inexactProblem(body []byte) *callscope.FieldError {
	if !longDigitRun(body) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var walk func(path []string) *callscope.FieldError
	walk = func(path []string) *callscope.FieldError {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		switch t := t.(type) {
		case json.Number:
			if !exactFloat(string(t)) {
				return &callscope.FieldError{Loc: append([]string{"body"}, path...),
					Msg: "Number " + string(t) + " has more digits than are kept; send at most 15 significant digits, or a string", Type: "value_error"}
			}
		case json.Delim:
			switch t {
			case '{':
				for dec.More() {
					kt, err := dec.Token()
					if err != nil {
						return nil
					}
					k, _ := kt.(string)
					if p := walk(append(path, k)); p != nil {
						return p
					}
				}
				dec.Token()
			case '[':
				for i := 0; dec.More(); i++ {
					if p := walk(append(path, strconv.Itoa(i))); p != nil {
						return p
					}
				}
				dec.Token()
			}
		}
		return nil
	}
	return walk(nil)
}

// longDigitRun tells whether body has 16 or more digits in a row (a '.'
// between them counting as a digit): shorter numbers always read back.
func longDigitRun(body []byte) bool {
	n := 0
	for _, c := range body {
		if c >= '0' && c <= '9' || c == '.' {
			if n++; n >= 16 {
				return true
			}
		} else {
			n = 0
		}
	}
	return false
}

// exactFloat tells whether the float64 nearest to the decimal s, written
// back in its shortest form, has the same value as s.
func exactFloat(s string) bool {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return false
	}
	want, ok := new(big.Rat).SetString(s)
	if !ok {
		return false
	}
	got, ok := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, 64))
	return ok && got.Cmp(want) == 0
}
