package stt_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/callscope/callscope/internal/stt"
)

// sameWords answers every clip with the same words.
type sameWords struct{ calls atomic.Int64 }

func (h *sameWords) Transcribe(_ context.Context, a stt.Audio) (stt.Result, error) {
	h.calls.Add(1)
	return stt.Result{Segments: []stt.Segment{{Start: 0, End: 1, Text: "hello world"}}}, nil
}

// TestBenchManifestJobs: files transcribed several at a time give the same
// word error rates as one at a time, and progress counts every file once.
func TestBenchManifestJobs(t *testing.T) {
	needTools(t, "flite")
	dir := t.TempDir()
	refs := []string{"hello world", "hello there", "good morning world", "goodbye"}
	var m strings.Builder
	for i, ref := range refs {
		wav := MustFlite(t, dir, "slt", ref)
		for _, cond := range []string{"a", "b"} {
			fmt.Fprintf(&m, "%s\t%s\t1.0\t%s\n", wav, cond, refs[(i+len(cond))%len(refs)])
		}
	}
	manifest := filepath.Join(dir, "manifest.tsv")
	if err := os.WriteFile(manifest, []byte(m.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	wer := regexp.MustCompile(`(?m)^\s+(a|b)\s+\d+\s+[\d.]+\s+([\d.]+%)`)
	run := func(jobs int) string {
		var out bytes.Buffer
		var last stt.BenchProgress
		calls := 0
		err := stt.BenchManifest(context.Background(), manifest, stt.BenchOptions{Engine: &sameWords{}, Jobs: jobs,
			Progress: func(p stt.BenchProgress) { calls++; last = p }}, &out)
		if err != nil {
			t.Fatal(err)
		}
		if calls != 8 || last.Done != 8 || last.Total != 8 || last.AudioDone != last.AudioTotal {
			t.Fatalf("jobs %d: %d progress calls, last %+v", jobs, calls, last)
		}
		var rates []string
		for _, g := range wer.FindAllStringSubmatch(out.String(), -1) {
			rates = append(rates, g[1]+" "+g[2])
		}
		if len(rates) != 2 {
			t.Fatalf("jobs %d: no rates in\n%s", jobs, out.String())
		}
		return strings.Join(rates, ", ")
	}
	one, four := run(1), run(4)
	if one != four {
		t.Fatalf("word error rates differ: one at a time %s, four at a time %s", one, four)
	}
	t.Logf("word error rates: %s", one)
}
