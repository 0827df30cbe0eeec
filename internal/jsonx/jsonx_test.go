package jsonx_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/callscope/callscope/internal/jsonx"
)

func TestObjectMatchesEncodingJSON(t *testing.T) {
	for _, doc := range []string{
		`{}`,
		`{"b": [1, 2, {"x": "y"}], "a": "text", "c": null}`,
		`{"k\u00e9y": "v", "quote\"d": {"n": 1.5e3}, "<tag>": true, "tab\t": "\u2028"}`,
		`{"nested": {"z": 1, "a": [ ]}, "s": "caf\u00e9 & <b>"}`,
	} {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		got, err := jsonx.Object(m)
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]any
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("Object(%s) = %s, not JSON: %v", doc, got, err)
		}
		var want map[string]any
		json.Unmarshal([]byte(doc), &want)
		wb, _ := json.Marshal(want)
		bb, _ := json.Marshal(back)
		if !bytes.Equal(wb, bb) {
			t.Fatalf("Object(%s) = %s, decodes to %s, want %s", doc, got, bb, wb)
		}
	}
}

func TestObjectRefusesInvalidValues(t *testing.T) {
	_, err := jsonx.Object(map[string]json.RawMessage{"bad": json.RawMessage(`{"x":`)})
	if err == nil {
		t.Fatal("invalid value encoded")
	}
	got, err := jsonx.Object(map[string]json.RawMessage{"empty": nil})
	if err != nil || string(got) != `{"empty":null}` {
		t.Fatalf("empty value: %s, %v", got, err)
	}
}

func FuzzObject(f *testing.F) {
	f.Add("key", `{"a": [1, "x"]}`)
	f.Add("k\"<", `"s\u00e9"`)
	f.Fuzz(func(t *testing.T, key, value string) {
		m := map[string]json.RawMessage{key: json.RawMessage(value), "other": json.RawMessage(`1`)}
		got, err := jsonx.Object(m)
		if (value == "" || json.Valid([]byte(value))) != (err == nil) {
			t.Fatalf("value %q: valid %v, error %v", value, json.Valid([]byte(value)), err)
		}
		if err != nil {
			return
		}
		var back map[string]json.RawMessage
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("Object = %q, not JSON: %v", got, err)
		}
		want := 2
		if key == "other" {
			want = 1
		}
		if len(back) != want {
			t.Fatalf("Object = %q has %d keys, want %d", got, len(back), want)
		}
	})
}
