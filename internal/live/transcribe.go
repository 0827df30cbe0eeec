package live

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/audio"
	"github.com/callscope/callscope/internal/stt"
)

// Live transcription cuts each track into utterances with the voice
// activity detector and transcribes them on a small worker pool of its
// own, apart from the post-call pipeline's.
const (
	// DefaultSpeechWorkers is how many utterances are transcribed at once
	// across all live calls.
	DefaultSpeechWorkers = 2
	// utteranceTail is the silence after speech that closes an utterance.
	utteranceTail = 600 * time.Millisecond
	// maxUtterance cuts speech that goes on without a pause.
	maxUtterance = 25 * time.Second
	// maxQueued bounds the utterances waiting for a worker; beyond it
	// utterances are dropped with a log line (the post-call pipeline
	// transcribes the whole recording in hybrid mode).
	maxQueued = 4096
)

// utterance is one stretch of speech of a track, to transcribe.
type utterance struct {
	s       *session
	track   int
	speaker string
	start   time.Duration // from the start of the stream
	audio   stt.Audio
}

// speech starts the worker pool once.
func (m *Sessions) speech() chan<- utterance {
	m.sttOnce.Do(func() {
		m.sttJobs = make(chan utterance, maxQueued)
		n := m.SpeechWorkers
		if n <= 0 {
			n = DefaultSpeechWorkers
		}
		for range n {
			go func() {
				for u := range m.sttJobs {
					u.s.transcribe(u)
				}
			}()
		}
	})
	return m.sttJobs
}

// trackBuf is one track's audio as the voice activity detector cuts it:
// the detector sees each sample once, as it arrives, and buf keeps what an
// utterance in progress (or about to start) may still need.
type trackBuf struct {
	vad   *audio.StreamVAD
	buf   []float32
	start int64 // sample position of buf[0]
}

// keepBefore is how much audio before the detector's position is kept when
// no utterance is in progress: the padding an utterance starts with.
const keepBefore = 300 * time.Millisecond

// hear adds pcm of a track, at offset at of the stream, to what the
// detector cuts, and queues the utterances it closes; the caller holds
// s.mu.
func (s *session) hear(track int, pcm []int16, at time.Duration) {
	if s.heard == nil {
		return
	}
	t := &s.heard[track]
	if t.vad == nil {
		t.vad = audio.NewStreamVAD(s.rate, utteranceTail)
		t.vad.MaxSpeech = maxUtterance
	}
	pos := int64(at) * int64(s.rate) / int64(time.Second)
	if gap := pos - t.vad.Pos(); gap > 0 {
		// A gap in the stream is silence.
		z := make([]float32, min(gap, int64(s.rate)*60))
		t.buf = append(t.buf, z...)
		s.closed(track, t.vad.Push(z))
	} else if gap < 0 {
		skip := int(-gap)
		if skip >= len(pcm) {
			return
		}
		pcm = pcm[skip:]
	}
	n := len(t.buf)
	t.buf = slices.Grow(t.buf, len(pcm))[:n+len(pcm)]
	x := t.buf[n:]
	for i, v := range pcm {
		x[i] = float32(v) / 32768
	}
	s.closed(track, t.vad.Push(x))
	// Drop what no utterance can need any more, a second at a time; the
	// array is copied down only once most of it is dropped.
	keep := t.vad.Pos() - int64(keepBefore)*int64(s.rate)/int64(time.Second)
	if a, ok := t.vad.Active(); ok {
		keep = a
	}
	if drop := keep - t.start; drop > int64(s.rate) {
		t.buf = t.buf[drop:]
		t.start += drop
		if len(t.buf) < cap(t.buf)/4 {
			t.buf = append(make([]float32, 0, 2*len(t.buf)+s.rate), t.buf...)
		}
	}
}

// closed queues the utterances the detector closed on a track; the caller
// holds s.mu.
func (s *session) closed(track int, spans []audio.Span) {
	t := &s.heard[track]
	for _, sp := range spans {
		a, b := max(0, sp.Start-t.start), min(int64(len(t.buf)), sp.End-t.start)
		if b > a {
			s.queue(track, t.start+a, t.buf[a:b])
		}
	}
}

// flushSpeech queues, at the end of the stream, the utterances still in
// progress.
func (s *session) flushSpeech() {
	if s.heard == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.heard {
		if v := s.heard[i].vad; v != nil {
			s.closed(i, v.Flush())
		}
	}
}

func (s *session) queue(track int, at int64, x []float32) {
	if len(x) == 0 {
		return
	}
	speaker := ""
	if track < len(s.tracks) {
		speaker = s.tracks[track]
	}
	u := utterance{s: s, track: track, speaker: speaker, start: time.Duration(at) * time.Second / time.Duration(s.rate),
		audio: stt.Audio{Samples: append([]float32(nil), x...), SampleRate: s.rate}}
	s.speaking.Add(1)
	select {
	case s.m.speech() <- u:
	default:
		s.speaking.Done()
		s.log.Warn("live transcription: too many utterances waiting; one dropped", "start", u.start.String())
	}
}

// transcribe runs on a worker: the utterance's text becomes segments of
// the call's transcript.
func (s *session) transcribe(u utterance) {
	defer s.speaking.Done()
	ctx, cancel := context.WithTimeout(context.Background(), finishTimeout)
	defer cancel()
	// At the stream's rate: an engine that needs another resamples.
	a := u.audio
	res, err := s.recognizer(u.track).Transcribe(ctx, a)
	if err != nil {
		s.log.Warn("live transcription failed", "start", u.start.String(), "err", err)
		return
	}
	off := u.start.Seconds()
	var segs []callscope.Segment
	for _, sg := range res.Segments {
		text := strings.TrimSpace(sg.Text)
		if text == "" {
			continue
		}
		end := sg.End
		if end <= sg.Start {
			end = a.Seconds()
		}
		segs = append(segs, callscope.Segment{SegmentID: -1, Speaker: u.speaker, Text: text,
			StartTime: round3(off + sg.Start), EndTime: round3(off + end), Confidence: sg.Confidence})
	}
	if len(segs) == 0 {
		return
	}
	s.appendSegments(segs)
}

// speechDone waits (bounded by ctx) for the session's utterances.
func (s *session) speechDone(ctx context.Context) {
	done := make(chan struct{})
	go func() { s.speaking.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

// recognizer is the engine for a track's utterances: one kept for the
// track's whole stream when the engine can (stt.StreamOpener), so a local
// recogniser loads its model once per call.
func (s *session) recognizer(track int) stt.Transcriber {
	op, ok := s.m.Speech.(stt.StreamOpener)
	if !ok {
		return s.m.Speech
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recsDone {
		return s.m.Speech // late, after the stream ended
	}
	if s.recs == nil {
		s.recs = make([]stt.StreamTranscriber, len(s.heard))
	}
	if track < 0 || track >= len(s.recs) {
		return s.m.Speech
	}
	if s.recs[track] == nil {
		s.recs[track] = op.OpenStream()
	}
	return s.recs[track]
}

// closeRecognizers ends the session's kept recognisers.
func (s *session) closeRecognizers() {
	s.mu.Lock()
	recs := s.recs
	s.recs, s.recsDone = nil, true
	s.mu.Unlock()
	for _, r := range recs {
		if r != nil {
			_ = r.Close()
		}
	}
}
