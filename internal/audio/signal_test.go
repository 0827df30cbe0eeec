package audio

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/callscope/callscope"
)

func tone(freq float64, rate int, seconds, amp float64) []float32 {
	x := make([]float32, int(seconds*float64(rate)))
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return x
}

// toneAmplitude estimates the amplitude of the component at freq with a
// windowless DFT bin over whole cycles of the middle of x (edges skipped).
func toneAmplitude(x []float32, rate int, freq float64) float64 {
	skip := len(x) / 10
	x = x[skip : len(x)-skip]
	var re, im float64
	for i, v := range x {
		ph := 2 * math.Pi * freq * float64(i) / float64(rate)
		re += float64(v) * math.Cos(ph)
		im += float64(v) * math.Sin(ph)
	}
	return 2 * math.Hypot(re, im) / float64(len(x))
}

func db(ratio float64) float64 { return 20 * math.Log10(ratio) }

func TestResample(t *testing.T) {
	t.Parallel()
	t.Run("KeepsInBandTonesWithin1dB", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			from, to int
			freq     float64
		}{
			{8000, 16000, 300}, {8000, 16000, 1000}, {8000, 16000, 3300},
			{44100, 16000, 1000}, {44100, 16000, 6500},
			{48000, 16000, 440}, {48000, 16000, 3400},
			{16000, 8000, 1000}, {16000, 8000, 3300},
			{22050, 16000, 2000}, {11025, 16000, 4000},
		} {
			y, err := Resample(tone(c.freq, c.from, 1, 0.5), c.from, c.to)
			if err != nil {
				t.Fatal(err)
			}
			if got := db(toneAmplitude(y, c.to, c.freq) / 0.5); math.Abs(got) > 1 {
				t.Errorf("%d→%d Hz: %.0f Hz tone changed by %.2f dB", c.from, c.to, c.freq, got)
			}
		}
	})
	t.Run("AttenuatesTonesAboveNewNyquistBy40dB", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			from, to int
			freq     float64
		}{
			{48000, 16000, 9000}, {48000, 16000, 12000}, {44100, 16000, 8500},
			{44100, 16000, 15000}, {16000, 8000, 4200}, {16000, 8000, 6000},
		} {
			y, err := Resample(tone(c.freq, c.from, 1, 0.5), c.from, c.to)
			if err != nil {
				t.Fatal(err)
			}
			mid := y[len(y)/10 : len(y)-len(y)/10]
			if got := db(math.Sqrt(2*meanSquare(mid)) / 0.5); got > -40 {
				t.Errorf("%d→%d Hz: %.0f Hz tone only %.1f dB down", c.from, c.to, c.freq, got)
			}
		}
	})
	t.Run("UpsamplingAddsNoImages", func(t *testing.T) {
		t.Parallel()
		y, err := Resample(tone(3000, 8000, 1, 0.5), 8000, 16000)
		if err != nil {
			t.Fatal(err)
		}
		if got := db(toneAmplitude(y, 16000, 5000) / 0.5); got > -40 {
			t.Errorf("image at 5 kHz only %.1f dB down", got)
		}
	})
	t.Run("KeepsDuration", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct{ from, to, n, want int }{
			{8000, 16000, 8000, 16000}, {44100, 16000, 44100, 16000}, {48000, 16000, 4, 2}, {16000, 16000, 5, 5},
		} {
			y, err := Resample(make([]float32, c.n), c.from, c.to)
			if err != nil {
				t.Fatal(err)
			}
			if len(y) != c.want {
				t.Errorf("%d→%d Hz: %d samples became %d, want %d", c.from, c.to, c.n, len(y), c.want)
			}
		}
	})
	t.Run("RejectsAbsurdRates", func(t *testing.T) {
		t.Parallel()
		if _, err := Resample([]float32{1}, 0, 16000); callscope.ErrorCode(err) != callscope.EINVALID {
			t.Errorf("err = %v, want EINVALID", err)
		}
	})
	t.Run("ResamplePCMConvertsEveryChannel", func(t *testing.T) {
		t.Parallel()
		p := &PCM{SampleRate: 8000, Channels: [][]float32{tone(500, 8000, 0.5, 0.5), tone(700, 8000, 0.5, 0.5)}}
		q, err := ResamplePCM(p, 16000)
		if err != nil {
			t.Fatal(err)
		}
		if q.SampleRate != 16000 || len(q.Channels) != 2 || q.Len() != 8000 {
			t.Fatalf("got %d Hz, %d channels, %d samples", q.SampleRate, len(q.Channels), q.Len())
		}
		if a := toneAmplitude(q.Channels[1], 16000, 700); math.Abs(db(a/0.5)) > 1 {
			t.Errorf("channel 1 tone at %.2f dB", db(a/0.5))
		}
	})
}

func TestSplit(t *testing.T) {
	t.Parallel()
	stereo := &PCM{SampleRate: 8000, Channels: [][]float32{{0.1, 0.2}, {0.3, 0.4}}}
	tests := []struct {
		name     string
		p        *PCM
		m        ChannelMap
		speakers []string
		first    []float32
	}{
		{"TwilioCallerIsChannel0", stereo, TwilioDualChannel, []string{"caller", "agent"}, []float32{0.1, 0.2}},
		{"SwappedMap", stereo, ChannelMap{"agent", "caller"}, []string{"agent", "caller"}, []float32{0.1, 0.2}},
		{"DefaultStereoIsTwilio", stereo, nil, []string{"caller", "agent"}, []float32{0.1, 0.2}},
		{"DefaultMonoIsMixed", &PCM{SampleRate: 8000, Channels: [][]float32{{0.5}}}, nil, []string{"mixed"}, []float32{0.5}},
		{"SameLabelMixes", stereo, ChannelMap{"mixed", "mixed"}, []string{"mixed"}, []float32{0.2, 0.3}},
		{"EmptyLabelDrops", stereo, ChannelMap{"", "agent"}, []string{"agent"}, []float32{0.3, 0.4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			streams, err := Split(tt.p, tt.m)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range streams {
				got = append(got, s.Speaker)
				if s.SampleRate != 8000 {
					t.Errorf("%s: rate %d", s.Speaker, s.SampleRate)
				}
			}
			if len(got) != len(tt.speakers) {
				t.Fatalf("speakers %v, want %v", got, tt.speakers)
			}
			for i := range got {
				if got[i] != tt.speakers[i] {
					t.Fatalf("speakers %v, want %v", got, tt.speakers)
				}
			}
			assertChannels(t, [][]float32{streams[0].Samples}, [][]float32{tt.first})
		})
	}
	t.Run("StreamsDoNotAliasInput", func(t *testing.T) {
		streams, err := Split(stereo, TwilioDualChannel)
		if err != nil {
			t.Fatal(err)
		}
		streams[0].Samples[0] = 9
		if stereo.Channels[0][0] != 0.1 {
			t.Error("writing to a stream changed the recording")
		}
	})
	for name, m := range map[string]ChannelMap{"MapTooShort": {"caller"}, "MapDropsAll": {"", ""}} {
		t.Run(name, func(t *testing.T) {
			if _, err := Split(stereo, m); callscope.ErrorCode(err) != callscope.EINVALID {
				t.Errorf("err = %v, want EINVALID", err)
			}
		})
	}
}

func TestSpeakerStreams(t *testing.T) {
	t.Parallel()
	p := &PCM{SampleRate: 8000, Channels: [][]float32{tone(300, 8000, 1, 0.5), tone(600, 8000, 1, 0.5)}}
	streams, err := SpeakerStreams(p, ChannelMap{SpeakerAgent, SpeakerCaller}, 16000)
	if err != nil {
		t.Fatal(err)
	}
	if len(streams) != 2 {
		t.Fatalf("%d streams, want 2", len(streams))
	}
	for i, want := range []struct {
		speaker string
		freq    float64
	}{{SpeakerAgent, 300}, {SpeakerCaller, 600}} {
		s := streams[i]
		if s.Speaker != want.speaker || s.SampleRate != 16000 || len(s.Samples) != 16000 {
			t.Errorf("stream %d: %s at %d Hz, %d samples", i, s.Speaker, s.SampleRate, len(s.Samples))
		}
		if a := toneAmplitude(s.Samples, 16000, want.freq); math.Abs(db(a/0.5)) > 1 {
			t.Errorf("stream %d: %.0f Hz tone at %.2f dB", i, want.freq, db(a/0.5))
		}
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	peakOf := func(x []float32) float64 {
		var p float64
		for _, v := range x {
			p = max(p, math.Abs(float64(v)))
		}
		return p
	}
	t.Run("PeakReachesTarget", func(t *testing.T) {
		x := tone(440, 8000, 0.5, 0.1)
		Normalize(x, Level{Mode: LevelPeak, TargetDBFS: -3})
		if got := db(peakOf(x)); math.Abs(got+3) > 0.1 {
			t.Errorf("peak %.2f dBFS, want -3", got)
		}
	})
	t.Run("RMSIgnoresSilence", func(t *testing.T) {
		x := append(tone(440, 8000, 0.5, 0.01), make([]float32, 40000)...)
		Normalize(x, Level{Mode: LevelRMS, TargetDBFS: -20})
		if got := db(math.Sqrt(meanSquare(x[:4000]))); math.Abs(got+20) > 0.2 {
			t.Errorf("speech RMS %.2f dBFS, want -20", got)
		}
	})
	t.Run("NeverClips", func(t *testing.T) {
		x := tone(440, 8000, 0.5, 0.1)
		x[100] = 0.9 // one click dominates the peak
		Normalize(x, Level{Mode: LevelRMS, TargetDBFS: -6})
		if p := peakOf(x); p > 1 {
			t.Errorf("peak %.3f clips", p)
		}
	})
	t.Run("CapsGain", func(t *testing.T) {
		x := tone(440, 8000, 0.5, 0.0001)
		if g := Normalize(x, Level{Mode: LevelPeak, TargetDBFS: -1, MaxGainDB: 12}); math.Abs(g-12) > 0.01 {
			t.Errorf("gain %.2f dB, want the 12 dB cap", g)
		}
	})
	t.Run("LeavesSilenceAlone", func(t *testing.T) {
		x := make([]float32, 100)
		if g := Normalize(x, Level{Mode: LevelRMS, TargetDBFS: -20}); g != 0 || peakOf(x) != 0 {
			t.Errorf("gain %v on silence", g)
		}
	})
}

func whiteNoise(n int, amp float64, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(amp * r.NormFloat64())
	}
	return x
}

// pinkNoise uses Paul Kellet's economy filter on white noise.
func pinkNoise(n int, amp float64, seed uint64) []float32 {
	w := whiteNoise(n, 1, seed)
	x := make([]float32, n)
	var b0, b1, b2 float64
	for i, v := range w {
		wv := float64(v)
		b0 = 0.99765*b0 + wv*0.0990460
		b1 = 0.96300*b1 + wv*0.2965164
		b2 = 0.57000*b2 + wv*1.0526913
		x[i] = float32(b0 + b1 + b2 + wv*0.1848)
	}
	s := amp / math.Sqrt(meanSquare(x))
	for i := range x {
		x[i] *= float32(s)
	}
	return x
}

func TestReduceNoise(t *testing.T) {
	t.Parallel()
	const rate = 8000
	noise := whiteNoise(3*rate, 0.003, 7) // about -50 dBFS
	x := append([]float32(nil), noise...)
	signal := tone(500, rate, 1, 0.1) // -23 dBFS RMS
	for i, v := range signal {
		x[rate+i] += v
	}
	y := ReduceNoise(x, rate, 20)
	section := func(v []float32, from, to float64) float64 {
		return 10 * math.Log10(meanSquare(v[int(from*rate):int(to*rate)]))
	}
	t.Run("AttenuatesNoiseOnlyStretches", func(t *testing.T) {
		for _, s := range [][2]float64{{0.1, 0.8}, {2.2, 2.9}} {
			if drop := section(x, s[0], s[1]) - section(y, s[0], s[1]); drop < 15 {
				t.Errorf("noise %.1f–%.1f s reduced by %.1f dB, want ≥ 15", s[0], s[1], drop)
			}
		}
	})
	t.Run("KeepsLoudSignal", func(t *testing.T) {
		if d := section(x, 1.05, 1.95) - section(y, 1.05, 1.95); math.Abs(d) > 0.5 {
			t.Errorf("signal level changed by %.2f dB", d)
		}
	})
	t.Run("ZeroDepthIsIdentity", func(t *testing.T) {
		z := ReduceNoise(x, rate, 0)
		for i := range z {
			if z[i] != x[i] {
				t.Fatal("zero depth changed the signal")
			}
		}
	})
}
