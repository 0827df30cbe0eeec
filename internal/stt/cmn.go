package stt

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/callscope/callscope"
)

// CMN is a cepstral mean: the average of each of the recogniser's cepstral
// coefficients (13 for the en-US model) over a stretch of speech.
//
// pocketsphinx_continuous subtracts a running mean from every frame, and
// starts it from the model's default, measured on wideband speech. On
// telephone audio (8 kHz, resampled to 16 kHz) the true mean is far from
// that default, the running mean only catches up at utterance ends, and
// the recogniser drops most words. Starting it from the mean of the call's
// own audio lets the same model hear narrowband speech.
type CMN []float64

// minSpeechC0 is the lowest mean log energy (the first coefficient) of a
// stretch that has speech in it; below it the audio is silence or a faint
// hiss and its mean says nothing about a voice.
const minSpeechC0 = 20

// String formats the mean as the recogniser's -cmninit option takes it.
func (m CMN) String() string {
	parts := make([]string, len(m))
	for i, c := range m {
		parts[i] = strconv.FormatFloat(c, 'f', 2, 64)
	}
	return strings.Join(parts, ",")
}

// EstimateCMN measures the cepstral mean of a, the speech of one call or
// one speaker, with a cheap pass of pocketsphinx_batch (the model's front
// end and batch normalisation, with a one-word keyword search instead of
// the language model). ok is false when a has too little energy to be
// speech; the recogniser then keeps the model's default. The result can be
// given to WithMean and reused for every later stretch of the same call.
// Returns EUNAVAILABLE when the recogniser is missing or fails.
func (p *PocketSphinx) EstimateCMN(ctx context.Context, a Audio) (m CMN, ok bool, err error) {
	if err := p.Health(ctx); err != nil {
		return nil, false, err
	}
	if p.batchErr != nil {
		return nil, false, permanent(callscope.EUNAVAILABLE, 0, p.batchErr, "%s is not installed (apt-get install pocketsphinx)", p.cfg.BatchBinary)
	}
	a, err = at16k(a)
	if err != nil {
		return nil, false, err
	}
	m, _, _, err = p.estimate(ctx, a.Samples)
	return m, m != nil, err
}

// estimate measures the cepstral mean of 16 kHz samples; nil when they
// are not speech.
func (p *PocketSphinx) estimate(ctx context.Context, samples []float32) (CMN, time.Duration, time.Duration, error) {
	if len(samples) < SampleRate/10 {
		return nil, 0, 0, nil
	}
	name, err := p.writeWAV(samples)
	if err != nil {
		return nil, 0, 0, err
	}
	defer os.Remove(name)
	ctl, err := p.writeCtl([]string{name})
	if err != nil {
		return nil, 0, 0, err
	}
	defer os.Remove(ctl)
	args := []string{"-adcin", "yes", "-adchdr", "44", "-cepdir", "/", "-cepext", ".wav", "-ctl", ctl,
		"-cmn", "batch", "-hyp", os.DevNull, "-keyphrase", p.keyword()}
	if p.cfg.HMM != "" {
		args = append(args, "-hmm", p.cfg.HMM)
	}
	if p.cfg.Dict != "" {
		args = append(args, "-dict", p.cfg.Dict)
	}
	_, log, took, cpu, err := p.exec(ctx, p.batchPath, args)
	if err != nil {
		return nil, took, cpu, err
	}
	m, err := parseCMN(log)
	if err != nil {
		return nil, took, cpu, permanent(callscope.EUNAVAILABLE, 0, err, "%s", err)
	}
	if m == nil || m[0] <= minSpeechC0 {
		return nil, took, cpu, nil
	}
	return m, took, cpu, nil
}

var cmnLine = regexp.MustCompile(`CMN:((?:\s+-?[0-9.]+)+)`)

// parseCMN reads the last mean pocketsphinx_batch logs ("CMN: 41.00 -5.29 …"),
// nil when it logs none: it skips audio without a single frame of signal,
// such as digital silence.
func parseCMN(log []byte) (CMN, error) {
	all := cmnLine.FindAllSubmatch(log, -1)
	if len(all) == 0 {
		return nil, nil
	}
	var m CMN
	for _, f := range strings.Fields(string(all[len(all)-1][1])) {
		c, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, fmt.Errorf("pocketsphinx_batch logged cepstral mean %q: %v", f, err)
		}
		m = append(m, c)
	}
	return m, nil
}

// DecodeFiles runs pocketsphinx_batch with the full language model over
// 16 kHz mono WAV files with 44-byte headers, each file one utterance with
// the mean normalised over the whole file, and returns the text heard in
// each, with the process's wall and CPU time: the reference the continuous
// recogniser is measured against. Returns EUNAVAILABLE when it is missing
// or fails.
func (p *PocketSphinx) DecodeFiles(ctx context.Context, names []string) ([]string, time.Duration, time.Duration, error) {
	if p.batchErr != nil {
		return nil, 0, 0, permanent(callscope.EUNAVAILABLE, 0, p.batchErr, "%s is not installed (apt-get install pocketsphinx)", p.cfg.BatchBinary)
	}
	if len(names) == 0 {
		return nil, 0, 0, nil
	}
	ctl, err := p.writeCtl(names)
	if err != nil {
		return nil, 0, 0, err
	}
	defer os.Remove(ctl)
	hyp, err := os.CreateTemp(p.cfg.TempDir, "callscope-stt-*.hyp")
	if err != nil {
		return nil, 0, 0, retryable(callscope.EUNAVAILABLE, 0, 0, err, "cannot write for pocketsphinx")
	}
	hyp.Close()
	defer os.Remove(hyp.Name())
	args := []string{"-adcin", "yes", "-adchdr", "44", "-cepdir", "/", "-cepext", ".wav", "-ctl", ctl,
		"-cmn", "batch", "-hyp", hyp.Name()}
	args = append(args, p.modelArgs()...)
	args = append(args, p.cfg.Args...)
	_, _, took, cpu, err := p.exec(ctx, p.batchPath, args)
	if err != nil {
		return nil, took, cpu, err
	}
	out, err := os.ReadFile(hyp.Name())
	if err != nil {
		return nil, took, cpu, err
	}
	// One line per utterance, in the control file's order:
	// "words heard (utterance-id score)".
	texts := make([]string, len(names))
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for i := 0; i < len(names) && sc.Scan(); i++ {
		line := sc.Text()
		if j := strings.LastIndexByte(line, '('); j >= 0 {
			line = line[:j]
		}
		texts[i] = strings.TrimSpace(line)
	}
	return texts, took, cpu, nil
}

// writeCtl writes a pocketsphinx_batch control file naming WAV files by
// their absolute path without the extension (the recogniser adds -cepext
// to -cepdir "/" and the name).
func (p *PocketSphinx) writeCtl(names []string) (string, error) {
	var b strings.Builder
	for _, n := range names {
		abs, err := filepath.Abs(n)
		if err != nil {
			return "", err
		}
		fmt.Fprintln(&b, strings.TrimPrefix(strings.TrimSuffix(abs, ".wav"), "/"))
	}
	f, err := os.CreateTemp(p.cfg.TempDir, "callscope-stt-*.ctl")
	if err != nil {
		return "", retryable(callscope.EUNAVAILABLE, 0, 0, err, "cannot write for pocketsphinx")
	}
	_, err = f.WriteString(b.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", retryable(callscope.EUNAVAILABLE, 0, 0, err, "cannot write for pocketsphinx")
	}
	return f.Name(), nil
}

// keyword is the one word the mean-measuring pass searches for: any word
// of the dictionary will do, the search only has to be cheap.
func (p *PocketSphinx) keyword() string {
	dict := p.cfg.Dict
	if dict == "" {
		return "hello"
	}
	f, err := os.Open(dict)
	if err != nil {
		return "hello"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if w := strings.Fields(sc.Text()); len(w) > 1 && !strings.ContainsAny(w[0], "()") {
			return w[0]
		}
	}
	return "hello"
}

// modelDir is the acoustic model's directory.
func (p *PocketSphinx) modelDir() string {
	if p.cfg.HMM != "" {
		return p.cfg.HMM
	}
	return defaultModelDir
}

// featParams writes a temporary copy of the model's feat.params without
// its -cmninit line, so the one given on the command line counts, and
// returns its name.
func (p *PocketSphinx) featParams() (string, error) {
	p.featOnce.Do(func() {
		var b []byte
		b, p.featErr = os.ReadFile(filepath.Join(p.modelDir(), "feat.params"))
		if os.IsNotExist(p.featErr) {
			b, p.featErr = nil, nil
		}
		for _, line := range strings.SplitAfter(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == "-cmninit" {
				continue
			}
			p.feat = append(p.feat, line...)
		}
	})
	if p.featErr != nil {
		return "", permanent(callscope.EUNAVAILABLE, 0, p.featErr, "cannot read the model's feat.params")
	}
	f, err := os.CreateTemp(p.cfg.TempDir, "callscope-stt-*.params")
	if err != nil {
		return "", retryable(callscope.EUNAVAILABLE, 0, 0, err, "cannot write for pocketsphinx")
	}
	_, err = f.Write(p.feat)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", retryable(callscope.EUNAVAILABLE, 0, 0, err, "cannot write for pocketsphinx")
	}
	return f.Name(), nil
}
