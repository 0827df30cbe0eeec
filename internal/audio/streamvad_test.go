package audio

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// syllables is speech-like sound: a tone whose loudness rises and falls
// four times a second down to the noise between them, as syllables do.
func syllables(rate int, d time.Duration, r *rand.Rand) []float32 {
	n := int(int64(rate) * int64(d) / int64(time.Second))
	x := make([]float32, n)
	for i := range x {
		t := float64(i) / float64(rate)
		env := math.Pow(math.Abs(math.Sin(2*math.Pi*2*t)), 2)
		x[i] = float32(0.15*env*math.Sin(2*math.Pi*220*t) + 0.01*r.NormFloat64())
	}
	return x
}

func noise(rate int, d time.Duration, level float64, r *rand.Rand) []float32 {
	x := make([]float32, int(int64(rate)*int64(d)/int64(time.Second)))
	for i := range x {
		x[i] = float32(level * r.NormFloat64())
	}
	return x
}

func TestStreamVAD(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		r := rand.New(rand.NewPCG(1, 2))
		sec := func(d float64) int64 { return int64(d * float64(rate)) }
		var x []float32
		x = append(x, noise(rate, 500*time.Millisecond, 0.002, r)...) // line noise
		x = append(x, syllables(rate, time.Second, r)...)             // 0.5-1.5 s
		x = append(x, noise(rate, time.Second, 0.002, r)...)          // 1.5-2.5 s
		x = append(x, syllables(rate, 50*time.Millisecond, r)...)     // a click: too short
		x = append(x, noise(rate, time.Second, 0.002, r)...)          // 2.55-3.55 s
		x = append(x, syllables(rate, 1500*time.Millisecond, r)...)   // 3.55-5.05 s, cut off
		v := NewStreamVAD(rate, 600*time.Millisecond)
		var spans []Span
		// In frames of 20 ms, as streams deliver them.
		for i := 0; i < len(x); i += rate / 50 {
			spans = append(spans, v.Push(x[i:min(len(x), i+rate/50)])...)
		}
		if len(spans) != 1 {
			t.Fatalf("%d Hz: %d utterances closed before the end, want 1: %v", rate, len(spans), spans)
		}
		if a, ok := v.Active(); !ok || a < sec(3.3) || a > sec(3.6) {
			t.Fatalf("%d Hz: utterance in progress from %d (%v), want about %d", rate, a, ok, sec(3.55))
		}
		spans = append(spans, v.Flush()...)
		want := []Span{{sec(0.5), sec(1.5)}, {sec(3.55), sec(5.05)}}
		if len(spans) != 2 {
			t.Fatalf("%d Hz: spans %v, want about %v", rate, spans, want)
		}
		for i, sp := range spans {
			if d := math.Abs(float64(sp.Start-want[i].Start)) / float64(rate); d > 0.15 {
				t.Errorf("%d Hz: utterance %d starts at %.2f s, want %.2f", rate, i, float64(sp.Start)/float64(rate), float64(want[i].Start)/float64(rate))
			}
			if d := math.Abs(float64(sp.End-want[i].End)) / float64(rate); d > 0.15 {
				t.Errorf("%d Hz: utterance %d ends at %.2f s, want %.2f", rate, i, float64(sp.End)/float64(rate), float64(want[i].End)/float64(rate))
			}
		}
	}
}

// TestStreamVADSilenceAndNoise: digital silence and steady noise of any
// level are never speech.
func TestStreamVADSilenceAndNoise(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, x := range [][]float32{make([]float32, 8000*10), noise(8000, 10*time.Second, 0.05, r), noise(8000, 10*time.Second, 0.3, r)} {
		v := NewStreamVAD(8000, 600*time.Millisecond)
		spans := append(v.Push(x), v.Flush()...)
		// Noise that starts loud may open one short utterance before the
		// floor has learnt it; never more.
		if len(spans) > 1 {
			t.Errorf("%d utterances in noise: %v", len(spans), spans)
		}
	}
}

// TestStreamVADLongSpeechCut: speech without a pause is cut at MaxSpeech.
func TestStreamVADLongSpeechCut(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	v := NewStreamVAD(8000, 600*time.Millisecond)
	v.MaxSpeech = 5 * time.Second
	spans := v.Push(syllables(8000, 12*time.Second, r))
	if len(spans) != 2 {
		t.Fatalf("12 s of speech with MaxSpeech 5 s: %v", spans)
	}
}

// BenchmarkStreamVAD8k measures the detector on a minute of 8 kHz audio.
func BenchmarkStreamVAD8k(b *testing.B) {
	x := syllables(8000, time.Minute, rand.New(rand.NewPCG(7, 8)))
	for b.Loop() {
		v := NewStreamVAD(8000, 600*time.Millisecond)
		for i := 0; i < len(x); i += 160 {
			v.Push(x[i : i+160])
		}
	}
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/60e9*100, "%cpu_per_stream")
}
