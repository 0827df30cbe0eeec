package http

import (
	"math"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/callscope/callscope"
)

// FuzzDecodeSegments feeds the segments body decoder arbitrary bodies: it
// never panics, refuses with field errors, and what it accepts keeps the
// documented invariants.
func FuzzDecodeSegments(f *testing.F) {
	for _, s := range []string{
		`{"segments":[{"segment_id":0,"speaker":"agent","start_time":0,"end_time":1.5,"text":"hello","confidence":0.9}]}`,
		`[{"start_time":1,"end_time":1,"text":"x"},{"segment_id":7,"start_time":2,"end_time":3,"text":"y","confidence":0}]`,
		`{"segments":[]}`, `{"segments":null}`, `{"segments":{}}`, `[]`, ` `, `[1]`, `[{"segment_id":1,"start_time":0,"end_time":1,"text":"a"},{"segment_id":1,"start_time":0,"end_time":1,"text":"b"}]`,
		`[{"segment_id":-1,"start_time":-0,"end_time":-1,"text":" ","confidence":1.5}]`, `[{"start_time":1e308,"end_time":1e308,"text":"a"}]`,
		`[{"start_time":1e999,"end_time":1,"text":"a"}]`, `[{"start_time":"1","end_time":1,"text":"a"}]`, `[{"segment_id":2147483648,"start_time":0,"end_time":1,"text":"a"}]`,
		"[{\"start_time\":0,\"end_time\":1,\"text\":\"\xff\"}]", `[{"start_time":0,"end_time":1,"text":"a\u0000"}]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/api/v1/calls/c/segments", strings.NewReader(body))
		segs, err := decodeSegments(r)
		if err != nil {
			if callscope.ErrorCode(err) != callscope.EINVALID && callscope.ErrorCode(err) != callscope.ETOOLARGE {
				t.Fatalf("%q: error %v is not a refusal of the input", body, err)
			}
			if segs != nil {
				t.Fatalf("%q: segments with an error", body)
			}
			return
		}
		if len(segs) == 0 {
			t.Fatalf("%q: accepted no segments", body)
		}
		ids := map[int]bool{}
		for _, s := range segs {
			if !(s.StartTime >= 0 && s.StartTime <= s.EndTime) || math.IsInf(s.EndTime, 0) {
				t.Fatalf("%q: times %v..%v", body, s.StartTime, s.EndTime)
			}
			if strings.TrimSpace(s.Text) == "" || strings.ContainsRune(s.Text, 0) {
				t.Fatalf("%q: text %q", body, s.Text)
			}
			if !(s.Confidence >= 0 && s.Confidence <= 1) {
				t.Fatalf("%q: confidence %v", body, s.Confidence)
			}
			if s.SegmentID != -1 {
				if s.SegmentID < 0 || ids[s.SegmentID] {
					t.Fatalf("%q: segment id %d", body, s.SegmentID)
				}
				ids[s.SegmentID] = true
			}
		}
	})
}
