package http

import (
	"bytes"
	"encoding/json"
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
