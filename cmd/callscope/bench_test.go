package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestBenchASR(t *testing.T) {
	for _, tool := range []string{"pocketsphinx_continuous", "flite", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install pocketsphinx pocketsphinx-en-us flite sox)", tool)
		}
	}
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	var manifest strings.Builder
	for i, text := range []string{"Please press one to speak to an agent.", "Your call is important to us."} {
		wb := filepath.Join(dir, fmt.Sprintf("wb%d.wav", i))
		nb := filepath.Join(dir, fmt.Sprintf("nb%d.wav", i))
		run("flite", "-voice", "slt", "-t", text, "-o", wb)
		run("sox", wb, "-r", "8000", nb)
		fmt.Fprintf(&manifest, "%s\twb16\t2.0\t%s\n", wb, text)
		fmt.Fprintf(&manifest, "nb%d.wav\tnb8\t2.0\t%s\n", i, text) // relative to the manifest
	}
	silence := filepath.Join(dir, "silence.wav")
	run("sox", "-n", "-r", "8000", "-c", "1", "-b", "16", silence, "trim", "0", "3")
	fmt.Fprintf(&manifest, "%s\tnb8\t3.0\t(3 seconds of silence)\n", silence)
	name := filepath.Join(dir, "manifest.tsv")
	if err := os.WriteFile(name, []byte(manifest.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	if err := cmdBench(context.Background(), []string{"asr", "--limit", "3", name}, &stdout, &stderr); err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	t.Log("\n" + out)
	for _, cond := range []string{"wb16", "nb8"} {
		// condition, files, audio s, WER, RTF wall, RTF CPU, overhead, runs, silent words, then pocketsphinx_batch's WER and RTF.
		re := regexp.MustCompile(`(?m)^\s*` + cond + `\s+\d+\s+[\d.]+\s+[\d.]+%\s+[\d.]+\s+[\d.]+\s+[\d.]+%\s+\d+\s+0\s+[\d.]+%\s+[\d.]+\s*$`)
		if !re.MatchString(out) {
			t.Errorf("no figures for %s in:\n%s", cond, out)
		}
		// Telephone speech is heard: well under the 100 % of a
		// recogniser that deletes everything (two short sentences: the
		// bound is loose).
		if m := regexp.MustCompile(`(?m)^\s*` + cond + `\s+\d+\s+[\d.]+\s+([\d.]+)%`).FindStringSubmatch(out); m != nil {
			if w, _ := strconv.ParseFloat(m[1], 64); w > 80 {
				t.Errorf("%s WER %s%%, want at most 80%%", cond, m[1])
			}
		}
	}
	// Not a terminal: a line per file with the time left, then one per
	// reference run, and no control characters.
	progress := stderr.String()
	for _, want := range []string{"1/5 wb16 " + filepath.Join(dir, "wb0.wav") + ": ", "5/5 nb8 " + silence + ": 0/0 errors", " left)", "5/5 pocketsphinx_batch on nb8: "} {
		if !strings.Contains(progress, want) {
			t.Errorf("progress lacks %q:\n%s", want, progress)
		}
	}
	if strings.ContainsAny(progress, "\r\033") {
		t.Errorf("control characters in progress written to a file: %q", progress)
	}
	if !strings.Contains(out, "worst files") || !strings.Contains(out, "ref: please press one to speak to an agent") {
		t.Errorf("worst files missing from:\n%s", out)
	}

	t.Run("Usage", func(t *testing.T) {
		for _, args := range [][]string{nil, {"tts"}, {"asr"}, {"asr", "--limit", "x", name}, {"asr", name, name}} {
			if err := cmdBench(context.Background(), args, &stdout, &stderr); !errors.Is(err, errUsage) {
				t.Errorf("bench %q: %v, want a usage error", args, err)
			}
		}
	})
}
