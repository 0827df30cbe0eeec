package stt

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/audio"
)

// BenchOptions says what BenchManifest measures.
type BenchOptions struct {
	// Engine transcribes, through a Pipeline like a call's recording.
	Engine Transcriber
	// Direct, when set, also runs the recogniser directly on each whole
	// file (converted to a 16 kHz WAV, without voice detection) for
	// comparison.
	Direct *PocketSphinx
	// Reference, when set, also runs pocketsphinx_batch over each
	// condition's whole files (converted to 16 kHz WAV), one process per
	// condition, each file one utterance with its mean normalised over the
	// whole file: the recogniser's best offline figure, for comparison.
	Reference *PocketSphinx
	// Limit keeps the first Limit files of each condition; 0 keeps all.
	Limit int
	// Language is the hint passed to the engine.
	Language string
	// Jobs is how many files are transcribed at once (and reference
	// conditions run at once); 0 or 1 is one at a time. Word error rates
	// do not depend on it; wall-clock real-time factors do.
	Jobs int
	// Progress, if set, is called after every file and every reference
	// run, one call at a time.
	Progress func(BenchProgress)
}

// BenchProgress says how far BenchManifest has come.
type BenchProgress struct {
	// Done and Total count files; the reference runs come after all files.
	Done, Total int
	// AudioDone and AudioTotal are the manifest's seconds of audio, the
	// measure of the work left.
	AudioDone, AudioTotal float64
	// Line describes the last file: condition, name and errors.
	Line string
}

// benchFile is one manifest line and what became of it.
type benchFile struct {
	name, condition, reference string
	seconds                    float64
	hyp, directHyp, refHyp     string
	errs, words, directErrs    int
	refErrs                    int
	wav                        string  // the 16 kHz copy for the reference
	listed                     float64 // seconds, as the manifest says

	pipeWall, pipeCPU, pipeExtra float64
	pipeCalls                    int
	directWords                  int
	directWall, directCPU        float64
}

// benchTotals adds up one way of transcribing a condition.
type benchTotals struct {
	errs, words      int
	wall, cpu, extra float64 // extra: time outside the engine
	calls            int
	silentWords      int // words emitted on files whose reference has none
}

// BenchManifest transcribes every file of a manifest (lines
// "file<TAB>condition<TAB>seconds<TAB>reference text", as
// build-asterisk-corpus.sh writes them; files in any format the audio
// package decodes, raw .gsm included) through a Pipeline on opt.Engine, and
// writes to w the word error rate and real-time factor per condition, the
// same for the recogniser run directly if opt.Direct is set, and the ten
// worst files. Files whose reference is only a stage direction ("(3
// seconds of silence)") count the words emitted on them instead. Returns
// EINVALID for an unreadable manifest and the first decoding or engine
// error.
func BenchManifest(ctx context.Context, path string, opt BenchOptions, w io.Writer) error {
	files, err := readManifest(path, opt.Limit)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return callscope.Errorf(callscope.EINVALID, "bench: %s lists no files", path)
	}
	p := &Pipeline{Engine: opt.Engine}
	var conds []string
	pipe := map[string]*benchTotals{}
	direct := map[string]*benchTotals{}
	ref := map[string]*benchTotals{}
	// Work left is counted in audio seconds: the pipeline's, and the
	// reference's as much again.
	var audioTotal, audioDone float64
	for _, f := range files {
		audioTotal += f.listed
	}
	if opt.Reference != nil {
		audioTotal *= 2
	}
	var wavDir string
	if opt.Reference != nil {
		if wavDir, err = os.MkdirTemp(opt.Reference.cfg.TempDir, "callscope-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(wavDir)
	}
	for _, f := range files {
		if _, ok := pipe[f.condition]; !ok {
			conds = append(conds, f.condition)
			pipe[f.condition], direct[f.condition], ref[f.condition] = &benchTotals{}, &benchTotals{}, &benchTotals{}
		}
	}
	// One file: decode, transcribe through the pipeline, and directly.
	one := func(i int) error {
		f := &files[i]
		data, err := os.ReadFile(f.name)
		if err != nil {
			return err
		}
		pcm, err := audio.DecodeBytes(data, audio.FormatFromName(f.name))
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		f.seconds = pcm.Duration().Seconds()
		start := time.Now()
		tr, err := p.Run(ctx, pcm, audio.MonoMixed, opt.Language)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		f.pipeWall = time.Since(start).Seconds()
		f.pipeCPU, f.pipeExtra, f.pipeCalls = tr.EngineCPUSeconds, f.pipeWall-tr.EngineSeconds, tr.EngineCalls
		texts := make([]string, len(tr.Segments))
		for j, s := range tr.Segments {
			texts[j] = s.Text
		}
		f.hyp = strings.Join(texts, " ")
		f.errs, f.words = WordErrors(f.reference, f.hyp)

		var mono *audio.PCM
		if opt.Direct != nil || opt.Reference != nil {
			if mono, err = audio.ResamplePCM(&audio.PCM{SampleRate: pcm.SampleRate, Channels: [][]float32{pcm.Mono()}}, SampleRate); err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
		}
		if opt.Reference != nil {
			f.wav = fmt.Sprintf("%s/%05d.wav", wavDir, i)
			if err := writeWAVFile(f.wav, mono); err != nil {
				return err
			}
		}
		if opt.Direct != nil {
			words, took, cpu, err := opt.Direct.run(ctx, mono.Channels[0], mono.Channels[0])
			if err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
			texts := make([]string, len(words))
			for j, wd := range words {
				texts[j] = wd.Text
			}
			f.directHyp = strings.Join(texts, " ")
			f.directErrs, f.directWords = WordErrors(f.reference, f.directHyp)
			f.directWall, f.directCPU = took.Seconds(), cpu.Seconds()
		}
		return nil
	}
	var mu sync.Mutex // progress
	done := 0
	report := func(line string, audio float64, file bool) {
		mu.Lock()
		defer mu.Unlock()
		audioDone += audio
		if file {
			done++
		}
		if opt.Progress != nil {
			opt.Progress(BenchProgress{Done: done, Total: len(files), AudioDone: audioDone, AudioTotal: audioTotal, Line: line})
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, opt.Jobs))
	for i := range files {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if err := one(i); err != nil {
				return err
			}
			f := &files[i]
			report(fmt.Sprintf("%s %s: %d/%d errors", f.condition, f.name, f.errs, f.words), f.listed, true)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	audioSec := map[string]float64{}
	count := map[string]int{}
	for i := range files {
		f := &files[i]
		audioSec[f.condition] += f.seconds
		count[f.condition]++
		pipe[f.condition].add(f.errs, f.words, f.pipeWall, f.pipeCPU, f.pipeExtra, f.pipeCalls)
		if opt.Direct != nil {
			direct[f.condition].add(f.directErrs, f.directWords, f.directWall, f.directCPU, 0, 1)
		}
	}
	if opt.Reference != nil {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(max(1, opt.Jobs))
		for _, c := range conds {
			g.Go(func() error {
				var names []string
				var idx []int
				var secs float64
				for i := range files {
					if files[i].condition == c {
						names, idx = append(names, files[i].wav), append(idx, i)
						secs += files[i].listed
					}
				}
				texts, took, cpu, err := opt.Reference.DecodeFiles(gctx, names)
				if err != nil {
					return fmt.Errorf("reference on %s: %w", c, err)
				}
				rt := ref[c]
				rt.add(0, 0, took.Seconds(), cpu.Seconds(), 0, 1)
				for j, i := range idx {
					f := &files[i]
					f.refHyp = texts[j]
					var n int
					f.refErrs, n = WordErrors(f.reference, f.refHyp)
					rt.add(f.refErrs, n, 0, 0, 0, 0)
				}
				report(fmt.Sprintf("pocketsphinx_batch on %s: %s WER", c, pct(rt.errs, rt.words)), secs, false)
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	d := Description{Provider: "engine"}
	if e, ok := opt.Engine.(Engine); ok {
		d = e.Describe()
	}
	fmt.Fprintf(w, "pipeline: %s %s (voice detection, voiced regions only)\n", d.Provider, d.Model)
	if opt.Direct != nil {
		fmt.Fprintf(w, "direct:   %s on each whole file at 16 kHz\n", opt.Direct.Describe().Endpoint)
	}
	if opt.Reference != nil {
		fmt.Fprintf(w, "batch:    %s over each condition's whole files at 16 kHz (one process, each file one utterance)\n", opt.Reference.cfg.BatchBinary)
	}
	fmt.Fprintf(w, "RTF = seconds per audio second (wall, and CPU for a local engine); overhead = pipeline time outside the engine\n\n")
	header := "condition\tfiles\taudio s\tWER\tRTF wall\tRTF CPU\toverhead\truns\tsilent-file words\t"
	if opt.Direct != nil {
		header += "direct WER\tdirect RTF wall\tdirect RTF CPU\tdirect silent-file words\t"
	}
	if opt.Reference != nil {
		header += "batch WER\tbatch RTF CPU\t"
	}
	fmt.Fprintln(tw, header)
	for _, c := range conds {
		pt, a := pipe[c], audioSec[c]
		pt.silentWords, direct[c].silentWords = silentWords(files, c)
		line := fmt.Sprintf("%s\t%d\t%.1f\t%s\t%.3f\t%.3f\t%.1f%%\t%d\t%d\t", c, count[c], a, pct(pt.errs, pt.words),
			pt.wall/a, pt.cpu/a, 100*pt.extra/max(pt.wall-pt.extra, 1e-9), pt.calls, pt.silentWords)
		if opt.Direct != nil {
			dt := direct[c]
			line += fmt.Sprintf("%s\t%.3f\t%.3f\t%d\t", pct(dt.errs, dt.words), dt.wall/a, dt.cpu/a, dt.silentWords)
		}
		if opt.Reference != nil {
			rt := ref[c]
			line += fmt.Sprintf("%s\t%.3f\t", pct(rt.errs, rt.words), rt.cpu/a)
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()

	worst := make([]*benchFile, 0, len(files))
	for i := range files {
		if files[i].words > 0 {
			worst = append(worst, &files[i])
		}
	}
	sort.SliceStable(worst, func(i, j int) bool {
		a, b := worst[i], worst[j]
		ra, rb := float64(a.errs)/float64(a.words), float64(b.errs)/float64(b.words)
		if ra != rb {
			return ra > rb
		}
		return a.errs > b.errs
	})
	fmt.Fprintf(w, "\nworst files (pipeline):\n")
	for _, f := range worst[:min(10, len(worst))] {
		fmt.Fprintf(w, "  %s %s  WER %s\n    ref: %s\n    hyp: %s\n", f.condition, f.name, pct(f.errs, f.words),
			strings.Join(NormalizeWords(f.reference), " "), f.hyp)
		if opt.Direct != nil {
			fmt.Fprintf(w, "    direct (WER %s): %s\n", pct(f.directErrs, f.words), f.directHyp)
		}
		if opt.Reference != nil {
			fmt.Fprintf(w, "    batch (WER %s): %s\n", pct(f.refErrs, f.words), f.refHyp)
		}
	}
	return nil
}

// writeWAVFile writes p as a WAV file with the plain 44-byte header.
func writeWAVFile(name string, p *audio.PCM) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	err = audio.EncodeWAV(w, p)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (t *benchTotals) add(errs, words int, wall, cpu, extra float64, calls int) {
	t.errs += errs
	t.words += words
	t.wall += wall
	t.cpu += cpu
	t.extra += extra
	t.calls += calls
}

// silentWords counts the words each way emitted on a condition's files
// whose reference has no words.
func silentWords(files []benchFile, cond string) (pipe, direct int) {
	for _, f := range files {
		if f.condition == cond && f.words == 0 {
			pipe += len(NormalizeWords(f.hyp))
			direct += len(NormalizeWords(f.directHyp))
		}
	}
	return pipe, direct
}

func pct(errs, words int) string {
	if words == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(errs)/float64(words))
}

// readManifest reads the manifest, keeping the first limit files of each
// condition (all for limit 0). Relative file names are relative to the
// manifest.
func readManifest(path string, limit int) ([]benchFile, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	dir := path[:strings.LastIndexByte(path, '/')+1]
	var files []benchFile
	seen := map[string]int{}
	sc := bufio.NewScanner(fd)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, "\t", 4)
		if len(f) != 4 {
			return nil, callscope.Errorf(callscope.EINVALID, "bench: %s:%d: want file, condition, seconds and reference separated by tabs", path, n)
		}
		secs, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			return nil, callscope.Errorf(callscope.EINVALID, "bench: %s:%d: seconds %q is not a number", path, n, f[2])
		}
		if limit > 0 && seen[f[1]] >= limit {
			continue
		}
		seen[f[1]]++
		name := f[0]
		if !strings.HasPrefix(name, "/") {
			name = dir + name
		}
		files = append(files, benchFile{name: name, condition: f[1], seconds: secs, listed: secs, reference: f[3]})
	}
	return files, sc.Err()
}
