package stt

import (
	"context"
	"math"
	"sort"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/audio"
)

// Pipeline turns a call's recording into a speaker-labelled transcript,
// sending the engine only the audio in which someone speaks.
type Pipeline struct {
	// Engine transcribes the clips. A BatchTranscriber gets all of a
	// call's clips in as few runs as MaxBatch allows.
	Engine Transcriber
	// VAD tunes the speech detector; the zero value takes its defaults.
	VAD audio.VADConfig
	// Padding widens every voiced region on both sides, on top of the
	// detector's own, so word edges are not cut (default 200 ms).
	Padding time.Duration
	// JoinGap sends regions of one speaker that are closer than this as
	// one clip, with the audio between them, so a turn is not cut into
	// many short requests (default 1 s).
	JoinGap time.Duration
	// MaxClip is the longest clip sent at once; longer speech is cut into
	// equal parts (default 2 minutes, well inside servers' upload limits).
	MaxClip time.Duration
	// MaxBatch bounds the audio in one batch run (default 30 minutes).
	MaxBatch time.Duration
}

// Transcript is a transcribed call, with the figures to judge the cost.
type Transcript struct {
	// Segments are ordered by start time, numbered from 1, timed in
	// seconds on the call's timeline.
	Segments []callscope.Segment
	// Language is the language the engine reported, or the hint.
	Language string
	// AudioSeconds is the recording's length.
	AudioSeconds float64
	// SpeechSeconds is the audio sent to the engine, all speakers together.
	SpeechSeconds float64
	// EngineSeconds is the wall time spent in the engine; the rest of the
	// time Run took is the pipeline's overhead.
	EngineSeconds float64
	// EngineCPUSeconds is the CPU time a local engine used.
	EngineCPUSeconds float64
	// EngineCalls counts requests or recogniser runs.
	EngineCalls int
}

// clip is one stretch of one speaker's audio to transcribe.
type clip struct {
	speaker int     // index into the streams
	start   float64 // seconds on the call's timeline
	audio   Audio
}

// Run transcribes pcm: it splits it per speaker with m (see audio.Split;
// nil picks the default layout for the channel count), resamples each
// speaker to 16 kHz, finds their voiced regions, transcribes only those,
// and merges all speakers' segments by start time. language is a hint and
// may be empty. Silence and noise produce no segments and no engine calls.
// Returns EINVALID for unusable audio or a channel map that does not fit,
// EUNAVAILABLE without an engine, and the engine's errors as they are.
func (p *Pipeline) Run(ctx context.Context, pcm *audio.PCM, m audio.ChannelMap, language string) (*Transcript, error) {
	if p.Engine == nil {
		return nil, callscope.Errorf(callscope.EUNAVAILABLE, "stt: no transcription engine configured")
	}
	streams, err := audio.Split(pcm, m)
	if err != nil {
		return nil, err
	}
	t := &Transcript{AudioSeconds: pcm.Duration().Seconds(), Language: languageCode(language)}
	// Every speaker's stream is resampled and searched for speech in its
	// own goroutine; an engine that takes one clip at a time starts on the
	// first speaker while the others are still being analysed, so the
	// analysis hides behind the engine's time.
	ready := make([]chan analysis, len(streams))
	for i, s := range streams {
		ready[i] = make(chan analysis, 1)
		go func() { ready[i] <- p.analyse(i, s, language) }()
	}
	var clips []clip
	var results []Result
	if b, ok := p.Engine.(BatchTranscriber); ok {
		for _, ch := range ready {
			a := <-ch
			if a.err != nil {
				return nil, a.err
			}
			clips = append(clips, a.clips...)
		}
		if results, err = p.batch(ctx, b, clips, t); err != nil {
			return nil, err
		}
	} else {
		for _, ch := range ready {
			a := <-ch
			if a.err != nil {
				return nil, a.err
			}
			for _, c := range a.clips {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				r, err := p.Engine.Transcribe(ctx, c.audio)
				if err != nil {
					return nil, err
				}
				t.EngineCalls++
				t.add(r)
				clips, results = append(clips, c), append(results, r)
			}
		}
	}
	for _, c := range clips {
		t.SpeechSeconds += c.audio.Seconds()
	}

	type timed struct {
		seg     callscope.Segment
		speaker int
	}
	var all []timed
	for i, res := range results {
		c := clips[i]
		if t.Language == "" && res.Language != "" {
			t.Language = res.Language
		}
		for _, s := range res.Segments {
			all = append(all, timed{speaker: c.speaker, seg: callscope.Segment{
				Speaker:    streams[c.speaker].Speaker,
				StartTime:  round3(c.start + s.Start),
				EndTime:    round3(c.start + s.End),
				Text:       s.Text,
				Confidence: round3(s.Confidence),
			}})
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].seg.StartTime != all[j].seg.StartTime {
			return all[i].seg.StartTime < all[j].seg.StartTime
		}
		return all[i].speaker < all[j].speaker
	})
	t.Segments = make([]callscope.Segment, len(all))
	for i, a := range all {
		a.seg.SegmentID = i + 1
		t.Segments[i] = a.seg
	}
	return t, nil
}

// analysis is one speaker's clips, or why there are none.
type analysis struct {
	clips []clip
	err   error
}

// analyse resamples one speaker's stream and cuts its voiced regions into
// clips.
// analyse finds a speaker's speech at the recording's own rate (half the
// work of 16 kHz for telephone audio) and resamples only the clips that go
// to the engine, not the silence between them.
func (p *Pipeline) analyse(speaker int, s audio.Stream, language string) analysis {
	x, rate := s.Samples, s.SampleRate
	regions, err := audio.DetectSpeech(x, rate, p.VAD)
	if err != nil {
		// A rate the detector does not take: detect at the engine's rate.
		if x, err = audio.Resample(x, rate, SampleRate); err != nil {
			return analysis{err: err}
		}
		rate = SampleRate
		if regions, err = audio.DetectSpeech(x, rate, p.VAD); err != nil {
			return analysis{err: err}
		}
	}
	var a analysis
	for _, r := range p.plan(regions, len(x), rate) {
		samples := x[r[0]:r[1]]
		if rate != SampleRate {
			if samples, err = audio.Resample(samples, rate, SampleRate); err != nil {
				return analysis{err: err}
			}
		}
		a.clips = append(a.clips, clip{speaker: speaker, start: float64(r[0]) / float64(rate),
			audio: Audio{Samples: samples, SampleRate: SampleRate, Language: language}})
	}
	return a
}

// batch runs a batch engine over the clips in as few runs as MaxBatch
// allows and returns one result per clip.
func (p *Pipeline) batch(ctx context.Context, b BatchTranscriber, clips []clip, t *Transcript) ([]Result, error) {
	results := make([]Result, 0, len(clips))
	limit := p.maxBatch().Seconds()
	for i := 0; i < len(clips); {
		var batch []Audio
		var secs float64
		for ; i < len(clips) && (len(batch) == 0 || secs+clips[i].audio.Seconds() <= limit); i++ {
			batch = append(batch, clips[i].audio)
			secs += clips[i].audio.Seconds()
		}
		rs, err := b.TranscribeBatch(ctx, batch)
		if err != nil {
			return nil, err
		}
		if len(rs) != len(batch) {
			return nil, callscope.Errorf(callscope.EINTERNAL, "stt: engine returned %d results for %d clips", len(rs), len(batch))
		}
		t.EngineCalls++
		for _, r := range rs {
			t.add(r)
		}
		results = append(results, rs...)
	}
	return results, nil
}

// add counts an engine result's time.
func (t *Transcript) add(r Result) {
	t.EngineSeconds += r.EngineTime.Seconds()
	t.EngineCPUSeconds += r.EngineCPU.Seconds()
}

// plan turns speech regions into clips as sample ranges [start, end):
// padded, joined across short pauses, cut when too long.
func (p *Pipeline) plan(regions []audio.Region, n, rate int) [][2]int {
	pad := samplesOf(p.padding(), rate)
	join := samplesOf(p.joinGap(), rate)
	maxLen := samplesOf(p.maxClip(), rate)
	var spans [][2]int
	for _, r := range regions {
		s := max(samplesOf(r.Start, rate)-pad, 0)
		e := min(samplesOf(r.End, rate)+pad, n)
		if e <= s {
			continue
		}
		if k := len(spans) - 1; k >= 0 && s-spans[k][1] < join {
			spans[k][1] = max(spans[k][1], e)
			continue
		}
		spans = append(spans, [2]int{s, e})
	}
	var out [][2]int
	for _, sp := range spans {
		parts := (sp[1] - sp[0] + maxLen - 1) / maxLen
		step := (sp[1] - sp[0] + parts - 1) / parts
		for s := sp[0]; s < sp[1]; s += step {
			out = append(out, [2]int{s, min(s+step, sp[1])})
		}
	}
	return out
}

func (p *Pipeline) padding() time.Duration {
	if p.Padding > 0 {
		return p.Padding
	}
	return 200 * time.Millisecond
}

func (p *Pipeline) joinGap() time.Duration {
	if p.JoinGap > 0 {
		return p.JoinGap
	}
	return time.Second
}

func (p *Pipeline) maxClip() time.Duration {
	if p.MaxClip > 0 {
		return p.MaxClip
	}
	return 2 * time.Minute
}

func (p *Pipeline) maxBatch() time.Duration {
	if p.MaxBatch > 0 {
		return p.MaxBatch
	}
	return 30 * time.Minute
}

func samplesOf(d time.Duration, rate int) int {
	return int(d.Seconds() * float64(rate))
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
