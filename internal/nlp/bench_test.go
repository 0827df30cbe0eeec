package nlp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/callscope/callscope"
)

// benchCall joins labelled calls into one transcript of about five minutes
// and 90 segments, renumbered and retimed.
func benchCall(tb testing.TB) []callscope.Segment {
	tb.Helper()
	files, err := filepath.Glob("testdata/eval/*.json")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no eval calls: %v", err)
	}
	sort.Strings(files)
	var out []callscope.Segment
	t := 0.0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var c EvalCall
		if err := json.Unmarshal(b, &c); err != nil {
			tb.Fatal(err)
		}
		if c.Language != "en" {
			continue
		}
		for _, s := range c.Segments {
			d := s.EndTime - s.StartTime
			s.SegmentID = len(out) + 1
			s.StartTime, s.EndTime = t, t+d
			t += d + 0.4
			out = append(out, s)
			if len(out) == 90 {
				return out
			}
		}
	}
	return out
}

// BenchmarkAnalyze runs every built-in analyzer (and redaction) on a
// five-minute, 90-segment transcript.
func BenchmarkAnalyze(b *testing.B) {
	segs := benchCall(b)
	e := Default()
	b.Logf("%d segments, %.0f s of speech", len(segs), segs[len(segs)-1].EndTime)
	opts := Options{CallStart: callStart}
	b.ReportAllocs()
	for b.Loop() {
		e.Analyze(segs, opts)
		e.Redact(segs, opts)
	}
}

// BenchmarkExtractEntities measures the entity extractor alone.
func BenchmarkExtractEntities(b *testing.B) {
	segs := benchCall(b)
	e := Default()
	b.ReportAllocs()
	for b.Loop() {
		e.ExtractEntities(segs, Options{CallStart: callStart})
	}
}

// BenchmarkNew measures compiling the default configuration.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := New(Config{}); err != nil {
			b.Fatal(err)
		}
	}
}
