package http_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"testing"

	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// TestAcceptedValuesReadBack checks that what the API accepts in a
// free-form field reads back the same: extreme numbers, -0, long integers,
// unicode and escapes.
func TestAcceptedValuesReadBack(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			free := `{"big":1e308,"small":-1.5e-300,"long":12345678901234567890,"maxsafe":9007199254740993e-10,"pi":3.14159265358979323846264,"negzero":-0,"float":0.1,` +
				`"u":"ünï 😀 \u202e \u0001","esc":"a\\u0000b \"q\" <b>&","nested":{"l":[1,"x",null,true,{"":[]}]},"":"empty key"}`
			body := `{"call_id":"readback-1","title":"ünï 😀","metadata":` + free + `}`
			wantStatus(t, e.do("POST", "/api/v1/calls", e.key, body), 201)
			r := e.do("GET", "/api/v1/calls/readback-1", e.key, nil)
			wantStatus(t, r, 200)
			sameJSON(t, "metadata", field(t, r.Body, "metadata"), []byte(free))
			sameJSON(t, "title", field(t, r.Body, "title"), []byte(`"ünï 😀"`))

			schema := `{"type":"object","properties":{"x":{"type":"number","maximum":1e308,"minimum":-0,"multipleOf":0.1}},"title":"ünï 😀"}`
			r = e.do("POST", "/api/analyzers", e.key, `{"name":"ünï 😀","kind":"llm","prompt":"p","output_schema":`+schema+`,"active":false}`)
			wantStatus(t, r, 201)
			id := fmt.Sprint(r.json(t)["id"])
			r = e.do("GET", "/api/analyzers/"+id, e.key, nil)
			wantStatus(t, r, 200)
			sameJSON(t, "output_schema", field(t, r.Body, "output_schema"), []byte(schema))

			segs := `{"segments":[{"segment_id":0,"speaker":"ünï","start_time":0,"end_time":1e308,"text":"😀 \u202e a\\u0000b","confidence":1}]}`
			wantStatus(t, e.do("POST", "/api/v1/calls/readback-1/segments", e.key, segs), 200)
			r = e.do("GET", "/api/v1/calls/readback-1/segments", e.key, nil)
			wantStatus(t, r, 200)
			var got []struct {
				Speaker   string          `json:"speaker"`
				StartTime json.RawMessage `json:"start_time"`
				EndTime   json.RawMessage `json:"end_time"`
				Text      string          `json:"text"`
			}
			if err := json.Unmarshal(r.Body, &got); err != nil || len(got) != 1 {
				t.Fatalf("segments: %v: %s", err, r.Body)
			}
			s := got[0]
			if s.Speaker != "ünï" || s.Text != "😀 \u202e a\\u0000b" {
				t.Fatalf("segment text = %q %q", s.Speaker, s.Text)
			}
			sameJSON(t, "end_time", s.EndTime, []byte("1e308"))

			// A NUL character is refused where it is, not stored.
			r = e.do("POST", "/api/v1/calls", e.key, `{"call_id":"readback-2","metadata":{"a":["x","b\u0000"]}}`)
			wantStatus(t, r, 422)
			loc := r.json(t)["detail"].([]any)[0].(map[string]any)["loc"]
			if fmt.Sprint(loc) != "[body metadata a 1]" {
				t.Fatalf("loc = %v: %s", loc, r.Body)
			}
		})
	}
}

// field is the raw JSON of a top-level field of an object.
func field(t *testing.T, body []byte, name string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	v, ok := m[name]
	if !ok {
		t.Fatalf("no %s in %s", name, body)
	}
	return v
}

// sameJSON compares two JSON documents as values, numbers by their exact
// decimal value (so 1e308 and 1E+308 are the same, 12345678901234567890 and
// 12345678901234567000 are not).
func sameJSON(t *testing.T, what string, got, want []byte) {
	t.Helper()
	norm := func(b []byte) any {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: %v: %s", what, err, b)
		}
		return canonNumbers(v)
	}
	g, w := norm(got), norm(want)
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("%s reads back as %s, want %s", what, got, want)
	}
}

func canonNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		r, ok := new(big.Rat).SetString(string(x))
		if !ok {
			return "bad number " + string(x)
		}
		// -0 is 0: PostgreSQL's jsonb keeps no sign on zero.
		return "n:" + r.RatString()
	case map[string]any:
		for k, e := range x {
			x[k] = canonNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = canonNumbers(e)
		}
	}
	return v
}
