package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/callscope/callscope/internal/stt"
)

const benchSynopsis = `bench asr [--engine pocketsphinx|openai|whisper.cpp] [--url URL] [--model NAME]
           [--language CODE] [--limit N] [--direct=false] [--progress] MANIFEST

Measures speech recognition on a corpus with reference transcripts: each
file of MANIFEST (lines file<TAB>condition<TAB>seconds<TAB>reference, as
build-asterisk-corpus.sh writes them; WAV, raw .gsm and the other formats
callscope decodes) goes through the same transcription path as a call's
recording. Prints the word error rate and real-time factor per condition,
the same for pocketsphinx_continuous run directly on each whole file (when
it is installed), and the ten worst files. The API key of a server engine
is read from CALLSCOPE_STT_API_KEY.`

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "asr" {
		fmt.Fprintf(stderr, "Usage: callscope %s\n", benchSynopsis)
		return errUsage
	}
	fs, _ := newFlags("bench", benchSynopsis, stderr)
	engine := fs.String("engine", stt.ProviderPocketSphinx, "transcription `ENGINE`: pocketsphinx, openai or whisper.cpp")
	url := fs.String("url", "", "server base `URL` of a server engine")
	model := fs.String("model", "", "server `MODEL` name")
	language := fs.String("language", "en", "language hint `CODE`")
	limit := fs.Int("limit", 0, "only the first `N` files of each condition (0: all)")
	direct := fs.Bool("direct", true, "also run pocketsphinx_continuous directly on each file")
	progress := fs.Bool("progress", false, "print a line per file to stderr")
	timeout := fs.Duration("timeout", 2*time.Minute, "bound on each server request")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "callscope bench asr: give one MANIFEST")
		return errUsage
	}
	e, err := stt.New(stt.Config{Engine: *engine, BaseURL: *url, Model: *model, APIKey: os.Getenv("CALLSCOPE_STT_API_KEY"), Timeout: *timeout})
	if err != nil {
		return err
	}
	if err := e.Health(ctx); err != nil {
		return err
	}
	opt := stt.BenchOptions{Engine: e, Limit: *limit, Language: *language}
	if *direct {
		if ps := stt.NewPocketSphinx(stt.PocketSphinxConfig{}); ps.Health(ctx) == nil {
			opt.Direct = ps
		} else {
			fmt.Fprintln(stderr, "callscope bench asr: pocketsphinx is not installed; no direct comparison")
		}
	}
	if *progress {
		opt.Progress = stderr
	}
	return stt.BenchManifest(ctx, fs.Arg(0), opt, stdout)
}
