package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/callscope/callscope/internal/stt"
)

const benchSynopsis = `bench asr [--engine pocketsphinx|openai|whisper.cpp] [--url URL] [--model NAME]
           [--language CODE] [--limit N] [--direct] [--reference=false]
           [--ps-args "-lw 10 …"] [--ps-plain] [--jobs N] [--progress=false] MANIFEST

Measures speech recognition on a corpus with reference transcripts: each
file of MANIFEST (lines file<TAB>condition<TAB>seconds<TAB>reference, as
scripts/flite-corpus.sh writes them; WAV, raw .gsm and the other formats
callscope decodes) goes through the same transcription path as a call's
recording. Prints the word error rate and real-time factor per condition,
the same for pocketsphinx_batch over each condition's whole files (the
recogniser's own batch figure, when it is installed) and, with --direct, for
pocketsphinx_continuous run directly on each whole file (its mean measured
first, without voice detection), and the ten worst files. --ps-plain runs
the pipeline's recogniser as Debian ships it, as callscope did before it
measured each call's cepstral mean: the "before" of a before-and-after
comparison. --jobs N transcribes N files at a time (word error rates do not
change; the wall-clock real-time factors then include the waiting). Progress goes to stderr: a bar with the time left on a terminal, a
line per file otherwise. The API key of a server engine is read from
CALLSCOPE_STT_API_KEY.`

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "asr" {
		fmt.Fprintf(stderr, "Usage: callscope %s\n", benchSynopsis)
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return nil
		}
		return errUsage
	}
	fs, _ := newFlags("bench", benchSynopsis, stderr)
	engine := fs.String("engine", stt.ProviderPocketSphinx, "transcription `ENGINE`: pocketsphinx, openai or whisper.cpp")
	url := fs.String("url", "", "server base `URL` of a server engine")
	model := fs.String("model", "", "server `MODEL` name")
	language := fs.String("language", "en", "language hint `CODE`")
	limit := fs.Int("limit", 0, "only the first `N` files of each condition (0: all)")
	direct := fs.Bool("direct", false, "also run pocketsphinx_continuous directly on each file")
	reference := fs.Bool("reference", true, "also run pocketsphinx_batch over the files")
	psArgs := fs.String("ps-args", "", "further pocketsphinx_continuous `OPTIONS` for the pipeline's engine, such as \"-lw 10 -wip 0.5\"")
	psPlain := fs.Bool("ps-plain", false, "run the pipeline's pocketsphinx as Debian ships it, without measuring each call's cepstral mean first (the figures before the telephone-band fix)")
	progress := fs.Bool("progress", true, "show progress on stderr")
	jobs := fs.Int("jobs", 1, "transcribe `N` files at a time")
	timeout := fs.Duration("timeout", 2*time.Minute, "bound on each server request")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "callscope bench asr: give one MANIFEST")
		return errUsage
	}
	e, err := stt.New(stt.Config{Engine: *engine, BaseURL: *url, Model: *model, APIKey: os.Getenv("CALLSCOPE_STT_API_KEY"), Timeout: *timeout,
		PocketSphinx: stt.PocketSphinxConfig{Args: strings.Fields(*psArgs), Plain: *psPlain}})
	if err != nil {
		return err
	}
	if err := e.Health(ctx); err != nil {
		return err
	}
	if *jobs < 1 {
		fmt.Fprintln(stderr, "callscope bench asr: --jobs must be at least 1")
		return errUsage
	}
	opt := stt.BenchOptions{Engine: e, Limit: *limit, Language: *language, Jobs: *jobs}
	if *direct {
		if ps := stt.NewPocketSphinx(stt.PocketSphinxConfig{}); ps.Health(ctx) == nil {
			opt.Direct = ps
		} else {
			fmt.Fprintln(stderr, "callscope bench asr: pocketsphinx is not installed; no direct comparison")
		}
	}
	if *reference {
		if ps := stt.NewPocketSphinx(stt.PocketSphinxConfig{}); ps.Health(ctx) == nil {
			opt.Reference = ps
		} else {
			fmt.Fprintln(stderr, "callscope bench asr: pocketsphinx is not installed; no pocketsphinx_batch reference")
		}
	}
	if *progress {
		m := newMeter(stderr, time.Second)
		defer m.close()
		opt.Progress = func(p stt.BenchProgress) {
			frac := p.AudioDone / max(p.AudioTotal, 1e-9)
			if m.tty {
				m.set("measuring", fmt.Sprintf("%d/%d files", p.Done, p.Total), frac)
				return
			}
			m.set("", "", frac)
			line := fmt.Sprintf("%d/%d %s", p.Done, p.Total, p.Line)
			if left := m.leftText(); left != "" {
				line += " (" + left + ")"
			}
			m.println("%s", line)
		}
	}
	return stt.BenchManifest(ctx, fs.Arg(0), opt, stdout)
}
