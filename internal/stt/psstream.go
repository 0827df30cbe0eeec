package stt

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/callscope/callscope"
)

// StreamOpener is implemented by engines that can keep one recogniser for
// a whole live call (or one track of it) rather than start one for each
// utterance.
type StreamOpener interface {
	// OpenStream returns a transcriber for one stream's utterances, in
	// order. Close it when the stream ends.
	OpenStream() StreamTranscriber
}

// StreamTranscriber transcribes the utterances of one stream.
type StreamTranscriber interface {
	Transcriber
	io.Closer
}

var _ StreamOpener = (*PocketSphinx)(nil)

// OpenStream returns a recogniser kept for one live stream: one
// pocketsphinx_continuous process, started with the stream's first
// utterance and fed each utterance through a pipe, so the model is loaded
// once per call instead of once per utterance. Its cepstral mean starts
// from the one measured on the first utterance (see EstimateCMN) and then
// follows the call's speech.
func (p *PocketSphinx) OpenStream() StreamTranscriber { return &psStream{p: p} }

// psStream is a live stream's recogniser.
type psStream struct {
	p *PocketSphinx

	mu       sync.Mutex // one utterance at a time
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	fp       string  // the feat.params copy the process reads
	fed      float64 // seconds of audio written
	startErr error

	wmu   sync.Mutex
	words []Word  // recognised, in stream time, not yet handed out
	ended float64 // end of the last utterance the recogniser closed
	gone  bool    // the process exited
	more  chan struct{}
}

// psGap is the silence written after each utterance, for the recogniser's
// own detector to end it.
const psGap = time.Second

// Transcribe feeds one utterance (and a second of silence) to the stream's
// recogniser and returns the words it heard in it, timed from the
// utterance's start.
func (s *psStream) Transcribe(ctx context.Context, a Audio) (Result, error) {
	a, err := at16k(a)
	if err != nil {
		return Result{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil && s.startErr == nil {
		s.startErr = s.start(ctx, a)
	}
	if s.startErr != nil {
		return Result{}, s.startErr
	}
	began := time.Now()
	from := s.fed
	dur := a.Seconds()
	pcm := make([]byte, 0, 2*(len(a.Samples)+int(psGap.Seconds()*SampleRate)))
	for _, v := range a.Samples {
		pcm = binary.LittleEndian.AppendUint16(pcm, uint16(int16(math.Round(float64(max(-1, min(1, v)))*32767))))
	}
	pcm = append(pcm, make([]byte, 2*int(psGap.Seconds()*SampleRate))...)
	if _, err := s.stdin.Write(pcm); err != nil {
		return Result{}, retryable(callscope.EUNAVAILABLE, 0, 0, err, "pocketsphinx stream closed")
	}
	s.fed += dur + psGap.Seconds()
	// The recogniser ends its utterance in the silence after the clip;
	// if it heard no speech at all it says nothing, hence the bound.
	wait := time.NewTimer(time.Duration(dur*float64(time.Second)) + 3*time.Second)
	defer wait.Stop()
	for {
		s.wmu.Lock()
		done := s.ended >= from+dur-0.3 || s.gone
		more := s.more
		s.wmu.Unlock()
		if done {
			break
		}
		select {
		case <-more:
		case <-wait.C:
			done = true
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
		if done {
			break
		}
	}
	s.wmu.Lock()
	var mine, rest []Word
	for _, w := range s.words {
		switch {
		case w.Start >= from-0.05 && w.Start < from+dur+psGap.Seconds():
			w.Start, w.End = max(0, w.Start-from), max(0, w.End-from)
			mine = append(mine, w)
		case w.Start >= from+dur:
			rest = append(rest, w)
		}
	}
	s.words = rest
	s.wmu.Unlock()
	return Result{Segments: groupWords(mine, s.p.cfg.SegmentPause.Seconds()), EngineTime: time.Since(began)}, nil
}

// start runs the recogniser, its mean measured on the first utterance.
func (s *psStream) start(ctx context.Context, first Audio) error {
	if err := s.p.Health(ctx); err != nil {
		return err
	}
	args := []string{"-infile", "/dev/stdin", "-time", "yes"}
	args = append(args, s.p.modelArgs()...)
	mean := s.p.cfg.Mean
	if mean == nil && s.p.batchErr == nil {
		m, _, _, err := s.p.estimate(ctx, first.Samples)
		if err != nil {
			return err
		}
		mean = m
	}
	if mean != nil {
		// As in runFile: the model's feat.params would override the mean.
		fp, err := s.p.featParams()
		if err != nil {
			return err
		}
		s.fp = fp
		args = append(args, "-featparams", fp, "-cmninit", mean.String())
	}
	args = append(args, s.p.cfg.Args...)
	// The process outlives the request that started it: it ends with
	// the stream (Close).
	cmd := exec.Command(s.p.path, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return retryable(callscope.EUNAVAILABLE, 0, 0, err, "cannot run pocketsphinx_continuous")
	}
	s.cmd, s.stdin, s.more = cmd, stdin, make(chan struct{})
	// A WAV header first: the recogniser takes a headerless stream for
	// noise. Its sizes say "as long as it goes".
	if _, err := stdin.Write(streamWAVHeader()); err != nil {
		return retryable(callscope.EUNAVAILABLE, 0, 0, err, "pocketsphinx stream closed")
	}
	go s.read(stdout)
	return nil
}

// read collects the recogniser's word lines until it exits.
func (s *psStream) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) != 4 {
			continue
		}
		ws := ParsePocketSphinx([]byte(line))
		s.wmu.Lock()
		s.words = append(s.words, ws...)
		if f[0] == "</s>" {
			if end, err := strconv.ParseFloat(f[2], 64); err == nil && end > s.ended {
				s.ended = end
			}
			close(s.more)
			s.more = make(chan struct{})
		}
		s.wmu.Unlock()
	}
	s.wmu.Lock()
	s.gone = true
	close(s.more)
	s.more = make(chan struct{})
	s.wmu.Unlock()
}

// Close ends the recogniser.
func (s *psStream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fp != "" {
		defer os.Remove(s.fp)
	}
	if s.cmd == nil {
		return nil
	}
	_ = s.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	return nil
}

// streamWAVHeader is a 16 kHz mono 16-bit WAV header whose sizes are the
// largest a WAV file can say.
func streamWAVHeader() []byte {
	h := make([]byte, 44)
	copy(h, "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 0xFFFFFFFF-8)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], 1)
	binary.LittleEndian.PutUint32(h[24:], SampleRate)
	binary.LittleEndian.PutUint32(h[28:], SampleRate*2)
	binary.LittleEndian.PutUint16(h[32:], 2)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], 0xFFFFFFFF-44)
	return h
}
