package stt

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
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
}

// defaultModelDir is where Debian's pocketsphinx-en-us installs the model
// pocketsphinx_continuous uses when -hmm is not given.
const defaultModelDir = "/usr/share/pocketsphinx/model/en-us/en-us"

// PocketSphinx transcribes offline with Debian's pocketsphinx_continuous.
// Every batch of clips is one process run: the clips are joined with
// silence in one 16 kHz WAV file, so the model is loaded once per call, and
// the recogniser's word times are mapped back to each clip. It is safe for
// concurrent use.
type PocketSphinx struct {
	cfg     PocketSphinxConfig
	path    string
	lookErr error
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
	p := &PocketSphinx{cfg: cfg}
	p.path, p.lookErr = exec.LookPath(cfg.Binary)
	return p
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
	dir := p.cfg.HMM
	if dir == "" {
		dir = defaultModelDir
	}
	if _, err := os.Stat(dir); err != nil {
		return permanent(callscope.EUNAVAILABLE, 0, err, "acoustic model %s is missing (apt-get install pocketsphinx-en-us)", dir)
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
// silence, and returns one result per clip; the process's time is shared
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
	gap := int(p.cfg.Gap.Seconds() * SampleRate)
	offsets := make([]float64, len(clips))
	durs := make([]float64, len(clips))
	total := 0
	for i := range clips {
		if l := languageCode(clips[i].Language); l != "" && !p.speaks(l) {
			return nil, permanent(callscope.EINVALID, 0, nil, "pocketsphinx model speaks %s, not %q", strings.Join(p.cfg.Languages, ", "), clips[i].Language)
		}
		c, err := at16k(clips[i])
		if err != nil {
			return nil, err
		}
		clips[i] = c
		total += len(c.Samples) + gap
	}
	// Leading silence too, so the first word is not clipped by the
	// recogniser's own speech detector.
	joined := make([]float32, gap, gap+total)
	for i, c := range clips {
		offsets[i] = float64(len(joined)) / SampleRate
		durs[i] = c.Seconds()
		joined = append(joined, c.Samples...)
		joined = append(joined, make([]float32, gap)...)
	}
	words, took, cpu, err := p.run(ctx, joined)
	if err != nil {
		return nil, err
	}

	results := make([]Result, len(clips))
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

// run writes samples to a WAV file and recognises it, returning the words
// with times in the file, the wall time and the CPU time of the run.
func (p *PocketSphinx) run(ctx context.Context, samples []float32) ([]Word, time.Duration, time.Duration, error) {
	f, err := os.CreateTemp(p.cfg.TempDir, "callscope-stt-*.wav")
	if err != nil {
		return nil, 0, 0, retryable(callscope.EUNAVAILABLE, 0, 0, err, "cannot write audio for pocketsphinx")
	}
	defer os.Remove(f.Name())
	w := bufio.NewWriterSize(f, 1<<16)
	err = audio.EncodeWAV(w, &audio.PCM{SampleRate: SampleRate, Channels: [][]float32{samples}})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, 0, 0, retryable(callscope.EUNAVAILABLE, 0, 0, err, "cannot write audio for pocketsphinx")
	}
	return p.runFile(ctx, f.Name())
}

// runFile recognises a 16 kHz mono 16-bit WAV file.
func (p *PocketSphinx) runFile(ctx context.Context, name string) ([]Word, time.Duration, time.Duration, error) {
	args := []string{"-infile", name, "-time", "yes"}
	for _, o := range [][2]string{{"-hmm", p.cfg.HMM}, {"-lm", p.cfg.LM}, {"-dict", p.cfg.Dict}} {
		if o[1] != "" {
			args = append(args, o[0], o[1])
		}
	}
	cmd := exec.CommandContext(ctx, p.path, args...)
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: 4096}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	var cpu time.Duration
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, took, cpu, ctx.Err()
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, took, cpu, permanent(callscope.EUNAVAILABLE, 0, err, "pocketsphinx failed: %s", strings.TrimSpace(stderr.String()))
		}
		return nil, took, cpu, retryable(callscope.EUNAVAILABLE, 0, 0, err, "cannot run pocketsphinx")
	}
	return ParsePocketSphinx(stdout.Bytes()), took, cpu, nil
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
