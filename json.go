package callscope

// Strict reading of JSON documents that callers send: what callscope stores
// it must be able to read back, and a misspelt field must not pass unseen.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// DecodeStrict decodes one JSON value into dst the way callscope's own
// request bodies are read: unknown fields, duplicate keys, wrong types and
// numbers that do not fit are EINVALID errors that name the field under
// loc, and nothing may follow the value. Field names match exactly: a key
// that differs from a field's name only in case is unknown too.
func DecodeStrict(raw []byte, dst any, loc ...string) error {
	if p := JSONProblem(raw, true); p != nil {
		p.Loc = append(append([]string{}, loc...), p.Loc...)
		return ValidationError(*p)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	err := dec.Decode(dst)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return ValidationError(FieldError{Loc: loc, Msg: "Unexpected data after the JSON value", Type: "json_invalid"})
		}
		if p := wrongCaseKey(raw, dst); p != nil {
			return ValidationError(FieldError{Loc: append(append([]string{}, loc...), p...),
				Msg: "Extra inputs are not permitted (field names are case-sensitive)", Type: "extra_forbidden"})
		}
		return nil
	}
	var ut *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return ValidationError(FieldError{Loc: append(append([]string{}, loc...), unknownFieldPath(raw, name)...),
			Msg: "Extra inputs are not permitted", Type: "extra_forbidden"})
	case errors.As(err, &ut):
		l := append([]string{}, loc...)
		if ut.Field != "" {
			l = append(l, strings.Split(ut.Field, ".")...)
		}
		msg := "Input should be " + jsonKindName(ut.Type.Kind().String())
		if ut.Value == "number" {
			msg = "Input should be a number that fits: " + jsonKindName(ut.Type.Kind().String())
		}
		return ValidationError(FieldError{Loc: l, Msg: msg, Type: "type_error"})
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return ValidationError(FieldError{Loc: loc, Msg: "Invalid JSON", Type: "json_invalid"})
	}
	return ValidationError(FieldError{Loc: loc, Msg: err.Error(), Type: "value_error"})
}

func jsonKindName(k string) string {
	switch {
	case k == "string":
		return "a valid string"
	case k == "bool":
		return "a valid boolean"
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "a valid integer"
	case strings.HasPrefix(k, "float"):
		return "a valid number"
	case k == "slice" || k == "array":
		return "a valid list"
	case k == "map" || k == "struct" || k == "ptr":
		return "a valid object"
	}
	return "of the right type"
}

// unknownFieldPath finds where an unknown field named name sits in raw, as
// a path of keys (and list indexes), for the error's loc.
func unknownFieldPath(raw []byte, name string) []string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return []string{name}
	}
	if p := findKey(v, name, nil); p != nil {
		return p
	}
	return []string{name}
}

func findKey(v any, name string, path []string) []string {
	switch v := v.(type) {
	case map[string]any:
		if _, ok := v[name]; ok {
			return append(append([]string{}, path...), name)
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p := findKey(v[k], name, append(path, k)); p != nil {
				return p
			}
		}
	case []any:
		for i, x := range v {
			if p := findKey(x, name, append(path, fmt.Sprint(i))); p != nil {
				return p
			}
		}
	}
	return nil
}

// mayOverflow reports whether raw could hold a number too large for a
// float64: one with an exponent, or a run of more than 300 digits. It errs
// towards yes; a yes only means the document is walked.
func mayOverflow(raw []byte) bool {
	run := 0
	for _, c := range raw {
		switch {
		case c >= '0' && c <= '9':
			if run++; run > 300 {
				return true
			}
		case (c == 'e' || c == 'E') && run > 0:
			return true
		case c != '.':
			run = 0
		}
	}
	return false
}

// JSONProblem finds what a well-formed JSON document holds that callscope
// cannot store and read back: a number too large for a float64 (1e999)
// and, when dupKeys is set, a key that appears twice in one object. It
// returns the problem with its path, or nil.
func JSONProblem(raw []byte, dupKeys bool) *FieldError {
	if !dupKeys && !mayOverflow(raw) {
		return nil // the common case, without walking the document
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var walk func(path []string) (*FieldError, error)
	walk = func(path []string) (*FieldError, error) {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case json.Number:
			if _, err := strconv.ParseFloat(string(t), 64); err != nil {
				return &FieldError{Loc: append([]string{}, path...), Msg: "Number " + quote(string(t)) + " is out of range", Type: "value_error"}, nil
			}
		case json.Delim:
			switch t {
			case '{':
				seen := map[string]bool{}
				for dec.More() {
					kt, err := dec.Token()
					if err != nil {
						return nil, err
					}
					k, _ := kt.(string)
					if dupKeys && seen[k] {
						return &FieldError{Loc: append(append([]string{}, path...), k), Msg: "Duplicate key in JSON object", Type: "duplicate_key"}, nil
					}
					seen[k] = true
					if p, err := walk(append(path, k)); p != nil || err != nil {
						return p, err
					}
				}
				_, err = dec.Token()
				return nil, err
			case '[':
				for i := 0; dec.More(); i++ {
					if p, err := walk(append(path, strconv.Itoa(i))); p != nil || err != nil {
						return p, err
					}
				}
				_, err = dec.Token()
				return nil, err
			}
		}
		return nil, nil
	}
	p, _ := walk(nil)
	return p
}
