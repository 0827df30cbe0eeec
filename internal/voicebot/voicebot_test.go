package voicebot_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/voicebot"
)

func TestStatusFrom(t *testing.T) {
	for in, want := range map[string]callscope.CallStatus{
		"error": callscope.CallFailed, "no_answer": callscope.CallFailed, "rejected": callscope.CallFailed, "NO_ANSWER": callscope.CallFailed,
		"voicemail": callscope.CallVoicemail, "user": callscope.CallCompleted, "assistant": callscope.CallCompleted, "": callscope.CallCompleted,
	} {
		if got := voicebot.StatusFrom(in); got != want {
			t.Errorf("StatusFrom(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestParseNamesTheField(t *testing.T) {
	for _, tc := range []struct{ body, field string }{
		{`{"session_id": 5}`, "session_id"},
		{`{"call_duration_seconds": "long"}`, "session_id"}, // missing session_id reported too
		{`{"session_id": "s", "call_duration_seconds": "long"}`, "call_duration_seconds"},
		{`{"session_id": "s", "transcript": {"a": 1}}`, "transcript"},
		{`{"session_id": "s", "was_transferred": "yes"}`, "was_transferred"},
		{`{"session_id": "s", "post_call_analysis": []}`, "post_call_analysis"},
		{`{"session_id": ""}`, "session_id"},
		{`{"session_id": "a/b"}`, "session_id"},
	} {
		_, err := voicebot.Parse([]byte(tc.body))
		var e *callscope.Error
		if !errors.As(err, &e) || e.Code != callscope.EINVALID {
			t.Fatalf("Parse(%s) = %v, want EINVALID", tc.body, err)
		}
		found := false
		for _, f := range e.Fields {
			found = found || (len(f.Loc) == 2 && f.Loc[1] == tc.field)
		}
		if !found {
			t.Errorf("Parse(%s) errors %v do not name %s", tc.body, e.Fields, tc.field)
		}
	}
	p, err := voicebot.Parse([]byte(`{"session_id": "s1", "custom_field": {"x": 1}, "transfer_target": "+1555", "stream_id": null}`))
	if err != nil || string(p["custom_field"]) != `{"x": 1}` || p.Has("stream_id") {
		t.Fatalf("Parse kept %v, %v", p, err)
	}
}

func TestMergeNeverClobbers(t *testing.T) {
	stored, _ := voicebot.Parse([]byte(`{"session_id": "s", "caller_id": "+254700", "connected_event": {"at": 1}, "post_call_analysis": {"a": 1, "b": 2}}`))
	incoming, _ := voicebot.Parse([]byte(`{"session_id": "s", "caller_id": null, "connected_event": null, "post_call_analysis": {"a": 3}, "disconnected_by": "user"}`))
	m := voicebot.Merge(stored, incoming)
	if m.String("caller_id") != "+254700" || string(m["connected_event"]) != `{"at": 1}` || m.String("disconnected_by") != "user" {
		t.Fatalf("merge = %v", m)
	}
	if string(m["post_call_analysis"]) != `{"a": 3}` {
		t.Fatalf("objects are replaced whole: %s", m["post_call_analysis"])
	}
}

func TestCacheSummary(t *testing.T) {
	t.Run("ByStageObject", func(t *testing.T) {
		s, ok := voicebot.CacheSummary(json.RawMessage(`{
			"post_call": {"prompt_tokens": 1200, "completion_tokens": 150, "prompt_tokens_details": {"cached_tokens": 1000}, "cost_usd": 0.01},
			"qc": [{"input_tokens": 300, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 900, "output_tokens": 80, "status": "ok"}],
			"realtime": {"prompt_tokens": 99999}}`))
		if !ok {
			t.Fatal("no summary")
		}
		want := map[string]any{"cache_read_input_tokens": int64(1000), "cache_creation_input_tokens": int64(900),
			"fresh_prompt_tokens": int64(200 + 300), "completion_tokens": int64(230), "enabled": true, "worked": true}
		for k, v := range want {
			if s[k] != v {
				t.Errorf("%s = %v, want %v", k, s[k], v)
			}
		}
		b, _ := json.Marshal(s)
		for _, money := range []string{"cost", "usd", "price"} {
			if json.Valid(b) && contains(string(b), money) {
				t.Errorf("summary mentions money: %s", b)
			}
		}
	})
	t.Run("ArrayWithStages", func(t *testing.T) {
		s, ok := voicebot.CacheSummary(json.RawMessage(`[{"stage": "post_call", "prompt_tokens": 500, "completion_tokens": 20, "status": "error"}, {"type": "other"}]`))
		if !ok || s["worked"] != false || s["enabled"] != false || s["fresh_prompt_tokens"] != int64(500) {
			t.Fatalf("summary = %v", s)
		}
		if st := s["statuses"].(map[string]string); st["post_call"] != "error" {
			t.Fatalf("statuses = %v", st)
		}
	})
	t.Run("Nothing", func(t *testing.T) {
		if _, ok := voicebot.CacheSummary(json.RawMessage(`{"tts": {"chars": 10}}`)); ok {
			t.Fatal("summary without post_call or qc entries")
		}
	})
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestSegments(t *testing.T) {
	segs := voicebot.Segments(json.RawMessage(`[
		{"role": "assistant", "content": "Hello, this is Amina from Acme.", "start_time": 0.4, "end_time": 2.1},
		{"role": "user", "text": "Hi, I wanted to ask about my bill.", "start": 2.5, "end": 4.8, "confidence": 0.92},
		{"role": "user", "content": "   "},
		{"speaker": "agent", "message": "Sure.", "start_ms": 5000, "end_ms": 5600}]`))
	if len(segs) != 3 {
		t.Fatalf("segments = %+v", segs)
	}
	if segs[0].Speaker != "agent" || segs[1].Speaker != "caller" || segs[1].Confidence != 0.92 || segs[2].StartTime != 5 || segs[2].EndTime != 5.6 || segs[2].SegmentID != 3 {
		t.Fatalf("segments = %+v", segs)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"session_id":"s","transcript":[{"role":"user","content":"hi","start":1}]}`, `{}`, `[]`, `{"usage_metrics":{"post_call":[{"prompt_tokens":1e308}]}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		p, err := voicebot.Parse([]byte(body))
		if err != nil {
			return
		}
		voicebot.Merge(p, p)
		voicebot.Segments(p["transcript"])
		voicebot.CacheSummary(p["usage_metrics"])
		voicebot.StatusFrom(p.String("disconnected_by"))
	})
}

// TestFieldReadersAgreeWithEncodingJSON checks the fast paths of String and
// Number against encoding/json.
func TestFieldReadersAgreeWithEncodingJSON(t *testing.T) {
	for _, raw := range []string{
		`"plain"`, `""`, `"esc\"aped"`, `"caf\u00e9"`, `"café"`, `"tab\tx"`, `"line\nbreak"`, `"\ud83d\ude00"`, `"back\\slash"`,
		`12`, `-0.5`, `1e3`, `1E-2`, `0`, `-0`, `184.5`, `1.7976931348623157e309`, `true`, `null`, `{"a":1}`, `[1]`,
	} {
		p := voicebot.Payload{"f": json.RawMessage(raw)}
		var wantS string
		if err := json.Unmarshal([]byte(raw), &wantS); err != nil {
			wantS = ""
		}
		if got := p.String("f"); got != wantS {
			t.Errorf("String(%s) = %q, want %q", raw, got, wantS)
		}
		var wantN float64
		wantOK := raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')
		if wantOK && json.Unmarshal([]byte(raw), &wantN) != nil {
			wantOK = false
		}
		got, ok := p.Number("f")
		if ok != wantOK || (ok && got != wantN) {
			t.Errorf("Number(%s) = %v, %v; want %v, %v", raw, got, ok, wantN, wantOK)
		}
	}
}

func FuzzFieldReaders(f *testing.F) {
	f.Add(`"x"`)
	f.Add(`-1.5e3`)
	f.Fuzz(func(t *testing.T, raw string) {
		if !json.Valid([]byte(raw)) {
			return // payload fields are always valid JSON: Parse checked them
		}
		p := voicebot.Payload{"f": json.RawMessage(raw)}
		var wantS string
		if json.Unmarshal([]byte(raw), &wantS) != nil {
			wantS = ""
		}
		if got := p.String("f"); got != wantS {
			t.Fatalf("String(%s) = %q, want %q", raw, got, wantS)
		}
		var wantN float64
		errN := json.Unmarshal([]byte(raw), &wantN)
		if got, ok := p.Number("f"); ok && (errN != nil || got != wantN) {
			t.Fatalf("Number(%s) = %v, want %v (%v)", raw, got, wantN, errN)
		}
	})
}
