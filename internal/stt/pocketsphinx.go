package stt

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/audio"
)

// PocketSphinxConfig says how to run the offline recogniser.
type PocketSphinxConfig struct {
	// Binary is the recogniser, looked up in PATH (default
	// "pocketsphinx_continuous", from Debian's pocketsphinx package).
	Binary string
	// HMM, LM and Dict replace the acoustic model directory, language model
	// and pronunciation dictionary; empty uses the en-US model of Debian's
	// pocketsphinx-en-us package.
	HMM, LM, Dict string
	// Languages the model speaks, as ISO-639-1 codes (default ["en"]).
	// A clip with another language hint is refused.
	Languages []string
	// SegmentPause starts a new segment when words are further apart
	// (default 750 ms).
	SegmentPause time.Duration
	// Gap is the silence put between clips transcribed in one run, long
	// enough that the recogniser ends its utterance (default 1 s).
	Gap time.Duration
	// TempDir holds the audio handed to the recogniser (default os.TempDir).
	TempDir string
	// BatchBinary is the recogniser that measures the cepstral mean of a
	// run's audio before it is decoded (default "pocketsphinx_batch", from
	// the same package).
	BatchBinary string
	// Mean, when set, is the cepstral mean every run starts from, instead
	// of one measured on each run's own audio (see EstimateCMN).
	Mean CMN
	// Plain runs the recogniser as Debian ships it, from the model's own
	// starting cepstral mean with its own speech detector, without
	// measuring each run's mean first: how telephone audio was heard before
	// (nearly nothing at 8 kHz). For before-and-after measurements only.
	Plain bool
	// WordPenalty is the word insertion penalty of a call's decoding runs
	// (-wip; default 0.1, where pocketsphinx's own is 0.65). It was chosen
	// on one half of the Asterisk-prompt corpus (language weights and wip
	// tried; see the README's offline speech recognition) and checked on
	// the other: it cuts the words the recogniser inserts on telephone
	// audio. Not used with Plain, nor when Args gives -wip.
	WordPenalty float64
	// Args are further recogniser options, such as "-lw", "10".
	Args []string
	// MaxRun bounds the audio decoded in one recogniser process (default
	// 5 minutes); a longer batch takes several, with one measured mean.
	MaxRun time.Duration
}

// DefaultWordPenalty is PocketSphinxConfig.WordPenalty's default.
const DefaultWordPenalty = 0.1

// defaultModelDir is where Debian's pocketsphinx-en-us installs the model
// pocketsphinx_continuous uses when -hmm is not given.
const defaultModelDir = "/usr/share/pocketsphinx/model/en-us/en-us"

// PocketSphinx transcribes offline with Debian's pocketsphinx_continuous.
// Every batch of clips is one process run: the clips are joined with
// silence in one 16 kHz WAV file, so the model is loaded once per call, and
// the recogniser's word times are mapped back to each clip. Each run starts
// from the cepstral mean of its own audio, so telephone calls are heard as
// well as wideband ones. It is safe for concurrent use.
type PocketSphinx struct {
	cfg       PocketSphinxConfig
	path      string
	lookErr   error
	batchPath string
	batchErr  error

	featOnce sync.Once
	feat     []byte // the model's feat.params without its -cmninit line
	featErr  error
}

var (
	_ Engine           = (*PocketSphinx)(nil)
	_ BatchTranscriber = (*PocketSphinx)(nil)
)

// NewPocketSphinx returns the offline engine. It always succeeds; when the
// recogniser is not installed, Health says so and Transcribe fails with
// EUNAVAILABLE.
func NewPocketSphinx(cfg PocketSphinxConfig) *PocketSphinx {
	if cfg.Binary == "" {
		cfg.Binary = "pocketsphinx_continuous"
	}
	if len(cfg.Languages) == 0 {
		cfg.Languages = []string{"en"}
	}
	if cfg.SegmentPause <= 0 {
		cfg.SegmentPause = 750 * time.Millisecond
	}
	if cfg.Gap <= 0 {
		cfg.Gap = time.Second
	}
	if cfg.BatchBinary == "" {
		cfg.BatchBinary = "pocketsphinx_batch"
	}
	if cfg.MaxRun <= 0 {
		cfg.MaxRun = 5 * time.Minute
	}
	if cfg.WordPenalty <= 0 {
		cfg.WordPenalty = DefaultWordPenalty
	}
	p := &PocketSphinx{cfg: cfg}
	p.path, p.lookErr = exec.LookPath(cfg.Binary)
	p.batchPath, p.batchErr = exec.LookPath(cfg.BatchBinary)
	return p
}

// WithMean returns a copy of the engine whose runs all start from the
// cepstral mean m instead of measuring one each time: a recogniser kept
// for one live call measures the mean once, on the call's first speech,
// and reuses it.
func (p *PocketSphinx) WithMean(m CMN) *PocketSphinx {
	cfg := p.cfg
	cfg.Mean = m
	return NewPocketSphinx(cfg)
}

// PocketSphinxInstalled reports whether Debian's pocketsphinx_continuous
// is in PATH, which makes it the default engine.
func PocketSphinxInstalled() bool {
	_, err := exec.LookPath("pocketsphinx_continuous")
	return err == nil
}

// Describe says which recogniser and model the engine runs.
func (p *PocketSphinx) Describe() Description {
	model := p.cfg.HMM
	if model == "" {
		model = "en-us"
	}
	if p.cfg.Plain {
		model += " (as shipped: the model's own cepstral mean)"
	}
	bin := p.path
	if bin == "" {
		bin = p.cfg.Binary
	}
	return Description{Provider: ProviderPocketSphinx, Model: model, Endpoint: bin}
}

// Health returns EUNAVAILABLE when the recogniser or its model is not
// installed.
func (p *PocketSphinx) Health(context.Context) error {
	if p.lookErr != nil {
		return permanent(callscope.EUNAVAILABLE, 0, p.lookErr, "%s is not installed (apt-get install pocketsphinx pocketsphinx-en-us)", p.cfg.Binary)
	}
	if p.batchErr != nil && p.cfg.Mean == nil {
		return permanent(callscope.EUNAVAILABLE, 0, p.batchErr, "%s is not installed (apt-get install pocketsphinx pocketsphinx-en-us)", p.cfg.BatchBinary)
	}
	if _, err := os.Stat(p.modelDir()); err != nil {
		return permanent(callscope.EUNAVAILABLE, 0, err, "acoustic model %s is missing (apt-get install pocketsphinx-en-us)", p.modelDir())
	}
	return nil
}

// Transcribe runs the recogniser on one clip.
func (p *PocketSphinx) Transcribe(ctx context.Context, a Audio) (Result, error) {
	rs, err := p.TranscribeBatch(ctx, []Audio{a})
	if err != nil {
		return Result{}, err
	}
	return rs[0], nil
}

// TranscribeBatch runs the recogniser once over all clips, joined with
// silence, and returns one result per clip. Unless the engine has a fixed
// Mean, the clips' cepstral mean is measured first (see EstimateCMN) and
// the recogniser starts from it. The processes' time is shared
// among the clips by their length. Returns EUNAVAILABLE when the recogniser
// is missing or fails, and EINVALID for a language the model does not
// speak.
func (p *PocketSphinx) TranscribeBatch(ctx context.Context, clips []Audio) ([]Result, error) {
	if err := p.Health(ctx); err != nil {
		return nil, err
	}
	if len(clips) == 0 {
		return nil, nil
	}
	durs := make([]float64, len(clips))
	var speech []float32
	for i := range clips {
		if l := languageCode(clips[i].Language); l != "" && !p.speaks(l) {
			return nil, permanent(callscope.EINVALID, 0, nil, "pocketsphinx model speaks %s, not %q", strings.Join(p.cfg.Languages, ", "), clips[i].Language)
		}
		c, err := at16k(clips[i])
		if err != nil {
			return nil, err
		}
		clips[i] = c
		durs[i] = c.Seconds()
		if p.cfg.Mean == nil && !p.cfg.Plain {
			speech = append(speech, c.Samples...)
		}
	}
	var took, cpu time.Duration
	mean := p.cfg.Mean
	if mean == nil && !p.cfg.Plain {
		m, wall, c, err := p.estimate(ctx, speech)
		took, cpu = took+wall, cpu+c
		if err != nil {
			return nil, err
		}
		mean = m // nil when there is no speech: the model's own default
	}
	// With the recogniser's speech detector off a run is one utterance,
	// whose search grows with its length: long batches are cut into runs
	// of at most MaxRun, all starting from the same mean.
	perClip := make([][]Word, len(clips))
	for start := 0; start < len(clips); {
		end, secs := start+1, durs[start]
		for end < len(clips) && secs+durs[end] <= p.cfg.MaxRun.Seconds() {
			secs += durs[end]
			end++
		}
		words, wall, c, err := p.decode(ctx, clips[start:end], mean)
		took, cpu = took+wall, cpu+c
		if err != nil {
			return nil, err
		}
		copy(perClip[start:end], words)
		start = end
	}

	results := make([]Result, len(clips))
	var totalSec float64
	for _, d := range durs {
		totalSec += d
	}
	for i := range clips {
		results[i].Segments = groupWords(perClip[i], p.cfg.SegmentPause.Seconds())
		if totalSec > 0 {
			share := durs[i] / totalSec
			results[i].EngineTime = time.Duration(float64(took) * share)
			results[i].EngineCPU = time.Duration(float64(cpu) * share)
		}
		results[i].Language = p.cfg.Languages[0]
	}
	return results, nil
}

// decode recognises 16 kHz clips in one run, joined with silence, starting
// from mean, and returns each clip's words timed from the clip's start.
func (p *PocketSphinx) decode(ctx context.Context, clips []Audio, mean CMN) ([][]Word, time.Duration, time.Duration, error) {
	gap := int(p.cfg.Gap.Seconds() * SampleRate)
	offsets := make([]float64, len(clips))
	durs := make([]float64, len(clips))
	total := gap
	for _, c := range clips {
		total += len(c.Samples) + gap
	}
	// Leading silence too, so the first word is not clipped and, on long
	// runs, word times are not reported late.
	joined := make([]float32, gap, total)
	for i, c := range clips {
		offsets[i] = float64(len(joined)) / SampleRate
		durs[i] = c.Seconds()
		joined = append(joined, c.Samples...)
		joined = append(joined, make([]float32, gap)...)
	}
	addHiss(joined)
	name, err := p.writeWAV(joined)
	if err != nil {
		return nil, 0, 0, err
	}
	defer os.Remove(name)
	words, took, cpu, err := p.runFile(ctx, name, mean)
	if err != nil {
		return nil, took, cpu, err
	}
	perClip := make([][]Word, len(clips))
	half := p.cfg.Gap.Seconds() / 2
	for _, w := range words {
		mid := (w.Start + w.End) / 2
		i := clipAt(offsets, mid+half)
		if i < 0 || mid > offsets[i]+durs[i]+half {
			continue // in the leading silence or a gap: noise, not speech
		}
		w.Start = clampTime(w.Start-offsets[i], durs[i])
		w.End = clampTime(w.End-offsets[i], durs[i])
		perClip[i] = append(perClip[i], w)
	}
	return perClip, took, cpu, nil
}

// addHiss adds faint white noise to x, about 90 dB below full scale. The
// recogniser takes the onset of digital silence (between clips, or in the
// recording itself) for an utterance and resets its running cepstral mean
// to the mean of nothing, losing the call's own; a floor of noise no one
// can hear keeps it from doing so.
func addHiss(x []float32) {
	var r uint32 = 2463534242
	for i := range x {
		// xorshift32: cheap, and the same every run.
		r ^= r << 13
		r ^= r >> 17
		r ^= r << 5
		x[i] += (float32(r)/float32(1<<32) - 0.5) * 2e-4
	}
}

func (p *PocketSphinx) speaks(lang string) bool {
	for _, l := range p.cfg.Languages {
		if languageCode(l) == lang {
			return true
		}
	}
	return false
}

// clipAt returns the index of the last clip starting at or before t, -1 if
// none does.
func clipAt(offsets []float64, t float64) int {
	i := -1
	for j, o := range offsets {
		if o > t {
			break
		}
		i = j
	}
	return i
}

// run recognises samples as one run, starting from the mean of speech (the
// engine's Mean if it has one), returning the words timed in samples and
// the wall and CPU time, the measuring of the mean included.
func (p *PocketSphinx) run(ctx context.Context, samples, speech []float32) ([]Word, time.Duration, time.Duration, error) {
	mean := p.cfg.Mean
	var took, cpu time.Duration
	if mean == nil && !p.cfg.Plain {
		m, wall, c, err := p.estimate(ctx, speech)
		took, cpu = took+wall, cpu+c
		if err != nil {
			return nil, took, cpu, err
		}
		mean = m // nil when there is no speech: the model's own default
	}
	name, err := p.writeWAV(samples)
	if err != nil {
		return nil, took, cpu, err
	}
	defer os.Remove(name)
	words, wall, c, err := p.runFile(ctx, name, mean)
	return words, took + wall, cpu + c, err
}

// writeWAV writes 16 kHz samples to a temporary WAV file with the plain
// 44-byte header the recognisers skip, and returns its name.
func (p *PocketSphinx) writeWAV(samples []float32) (string, error) {
	f, err := os.CreateTemp(p.cfg.TempDir, "callscope-stt-*.wav")
	if err != nil {
		return "", retryable(callscope.EUNAVAILABLE, 0, 0, err, "cannot write audio for pocketsphinx")
	}
	w := bufio.NewWriterSize(f, 1<<16)
	err = audio.EncodeWAV(w, &audio.PCM{SampleRate: SampleRate, Channels: [][]float32{samples}})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", retryable(callscope.EUNAVAILABLE, 0, 0, err, "cannot write audio for pocketsphinx")
	}
	return f.Name(), nil
}

// runFile recognises a 16 kHz mono 16-bit WAV file, starting the live
// cepstral mean at mean (the model's default when nil).
func (p *PocketSphinx) runFile(ctx context.Context, name string, mean CMN) ([]Word, time.Duration, time.Duration, error) {
	args := []string{"-infile", name, "-time", "yes"}
	args = append(args, p.modelArgs()...)
	if mean != nil {
		// A -cmninit on the command line is overridden by the model's
		// feat.params, so the recogniser gets a copy without it.
		fp, err := p.featParams()
		if err != nil {
			return nil, 0, 0, err
		}
		defer os.Remove(fp)
		// The recogniser's own speech detector would end an utterance
		// at every pause and reset the mean to that utterance's, which
		// for the silence before the first word is the mean of nothing:
		// the clips are speech already, so it stays off.
		args = append(args, "-featparams", fp, "-cmninit", mean.String(), "-remove_silence", "no")
	}
	if !p.cfg.Plain && !slices.Contains(p.cfg.Args, "-wip") {
		args = append(args, "-wip", strconv.FormatFloat(p.cfg.WordPenalty, 'g', -1, 64))
	}
	args = append(args, p.cfg.Args...)
	out, _, took, cpu, err := p.exec(ctx, p.path, args)
	if err != nil {
		return nil, took, cpu, err
	}
	return ParsePocketSphinx(out), took, cpu, nil
}

// modelArgs are the options that choose the model, dictionary and
// language model.
func (p *PocketSphinx) modelArgs() []string {
	var args []string
	for _, o := range [][2]string{{"-hmm", p.cfg.HMM}, {"-lm", p.cfg.LM}, {"-dict", p.cfg.Dict}} {
		if o[1] != "" {
			args = append(args, o[0], o[1])
		}
	}
	return args
}

// exec runs a recogniser and returns its standard output, the end of its
// log (standard error), and its wall and CPU time.
func (p *PocketSphinx) exec(ctx context.Context, bin string, args []string) (out, log []byte, took, cpu time.Duration, err error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	start := time.Now()
	err = cmd.Run()
	took = time.Since(start)
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, took, cpu, ctx.Err()
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg := stderr.String()
			msg = msg[max(0, len(msg)-2000):]
			return nil, nil, took, cpu, permanent(callscope.EUNAVAILABLE, 0, err, "%s failed: %s", filepath.Base(bin), strings.TrimSpace(msg))
		}
		return nil, nil, took, cpu, retryable(callscope.EUNAVAILABLE, 0, 0, err, "cannot run %s", filepath.Base(bin))
	}
	return stdout.Bytes(), stderr.b, took, cpu, nil
}

// ParsePocketSphinx reads the word lines pocketsphinx_continuous prints with
// -time yes ("word start end posterior", times in seconds) and returns the
// words, without sentence and silence markers, filler words or the
// alternative-pronunciation suffix ("was(2)"). Hypothesis lines are skipped.
func ParsePocketSphinx(out []byte) []Word {
	var words []Word
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 {
			continue
		}
		start, err1 := strconv.ParseFloat(f[1], 64)
		end, err2 := strconv.ParseFloat(f[2], 64)
		post, err3 := strconv.ParseFloat(f[3], 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		w := f[0]
		if i := strings.IndexByte(w, '('); i > 0 && strings.HasSuffix(w, ")") {
			w = w[:i]
		}
		if w == "" || strings.HasPrefix(w, "<") || strings.HasPrefix(w, "[") || strings.HasPrefix(w, "++") {
			continue
		}
		words = append(words, Word{Text: w, Start: start, End: end, Confidence: clamp01(post)})
	}
	return words
}

// groupWords makes segments of words, starting a new one at every pause of
// at least pause seconds.
func groupWords(words []Word, pause float64) []Segment {
	var segs []Segment
	for i, w := range words {
		if i == 0 || w.Start-words[i-1].End >= pause {
			segs = append(segs, Segment{Start: w.Start})
		}
		s := &segs[len(segs)-1]
		s.Words = append(s.Words, w)
		s.End = w.End
	}
	for i := range segs {
		s := &segs[i]
		texts := make([]string, len(s.Words))
		var sum float64
		for j, w := range s.Words {
			texts[j] = w.Text
			sum += w.Confidence
		}
		s.Text = strings.Join(texts, " ")
		s.Confidence = sum / float64(len(s.Words))
	}
	return segs
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	if len(t.b) == 0 {
		return "no message"
	}
	return fmt.Sprintf("%s", t.b)
}
