package live

import (
	"context"
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
	// keepSilence is how much audio without speech is kept for the
	// detector's context.
	keepSilence = time.Second
	// maxQueued bounds the utterances waiting for a worker; beyond it
	// utterances are dropped with a log line (the post-call pipeline
	// transcribes the whole recording in hybrid mode).
	maxQueued = 64
)

// utterance is one stretch of speech of a track, to transcribe.
type utterance struct {
	s       *session
	speaker string
	start   time.Duration // from the start of the stream
	audio   stt.Audio
}

// track is one track's audio not yet cut into utterances.
type trackBuf struct {
	buf   []float32
	start int64 // sample position of buf[0]
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

// hear adds pcm of a track to what the detector will cut; the caller
// holds s.mu.
func (s *session) hear(track int, pcm []int16, at time.Duration) {
	if s.heard == nil {
		return
	}
	t := &s.heard[track]
	pos := int64(at) * int64(s.rate) / int64(time.Second)
	if len(t.buf) == 0 {
		t.start = pos
	}
	if end := t.start + int64(len(t.buf)); pos > end {
		t.buf = append(t.buf, make([]float32, pos-end)...)
	} else if pos < end {
		skip := int(end - pos)
		if skip >= len(pcm) {
			return
		}
		pcm = pcm[skip:]
	}
	for _, v := range pcm {
		t.buf = append(t.buf, float32(v)/32768)
	}
}

// cut finds the utterances the tracks have closed (all of them, at the end
// of the stream) and queues them for transcription.
func (s *session) cut(final bool) {
	if s.heard == nil {
		return
	}
	for i := range s.heard {
		s.mu.Lock()
		t := &s.heard[i]
		x := append([]float32(nil), t.buf...)
		start := t.start
		s.mu.Unlock()
		if len(x) == 0 {
			continue
		}
		regions, err := audio.DetectSpeech(x, s.rate, audio.VADConfig{})
		if err != nil {
			s.log.Warn("live transcription: voice detection failed", "err", err)
			continue
		}
		n := len(x)
		tail := int(int64(utteranceTail) * int64(s.rate) / int64(time.Second))
		done := 0 // samples of x consumed
		for _, r := range regions {
			a := int(int64(r.Start) * int64(s.rate) / int64(time.Second))
			b := min(n, int(int64(r.End)*int64(s.rate)/int64(time.Second)))
			if !final && b > n-tail {
				break // may go on
			}
			s.queue(i, start+int64(a), x[a:b])
			done = b
		}
		longest := int(int64(maxUtterance) * int64(s.rate) / int64(time.Second))
		keep := int(int64(keepSilence) * int64(s.rate) / int64(time.Second))
		switch {
		case final:
			done = n
		case done == 0 && len(regions) == 0 && n > keep:
			done = n - keep // silence only
		case n-done > longest:
			s.queue(i, start+int64(done), x[done:])
			done = n
		}
		s.mu.Lock()
		t.buf = append(t.buf[:0], t.buf[done:]...)
		t.start += int64(done)
		s.mu.Unlock()
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
	u := utterance{s: s, speaker: speaker, start: time.Duration(at) * time.Second / time.Duration(s.rate),
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
	a := u.audio
	if a.SampleRate != stt.SampleRate {
		x, err := audio.Resample(a.Samples, a.SampleRate, stt.SampleRate)
		if err != nil {
			s.log.Warn("live transcription: resampling failed", "err", err)
			return
		}
		a = stt.Audio{Samples: x, SampleRate: stt.SampleRate}
	}
	res, err := s.m.Speech.Transcribe(ctx, a)
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
	if _, err := s.m.Calls.AppendSegments(ctx, s.call.TenantID, s.call.ID, segs); err != nil {
		s.log.Warn("live transcript segments not stored", "err", err)
		return
	}
	n := 0
	for _, sg := range segs {
		n += len(sg.Text) + 1
	}
	s.heardText(n)
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
