package audio

import (
	"math"
	"slices"
	"time"

	"github.com/callscope/callscope"
)

// Region is a stretch of a recording that contains speech.
type Region struct {
	Start, End time.Duration
}

// Duration returns the length of the region.
func (r Region) Duration() time.Duration { return r.End - r.Start }

// VADConfig tunes DetectSpeech; zero fields take the defaults shown.
type VADConfig struct {
	// Threshold is the score a frame needs to start speech: its mean band
	// SNR in dB (default 8; stationary noise alone scores about 4, never
	// above 5.5). Speech goes on while the score stays above 70 % of it.
	Threshold float64
	// MinSpeech drops shorter regions (default 200 ms).
	MinSpeech time.Duration
	// MinSilence bridges shorter pauses inside speech (default 300 ms).
	MinSilence time.Duration
	// Padding widens every region on both sides (default 50 ms).
	Padding time.Duration
}

func (c VADConfig) withDefaults() VADConfig {
	if c.Threshold == 0 {
		c.Threshold = 8
	}
	if c.MinSpeech == 0 {
		c.MinSpeech = 200 * time.Millisecond
	}
	if c.MinSilence == 0 {
		c.MinSilence = 300 * time.Millisecond
	}
	if c.Padding == 0 {
		c.Padding = 50 * time.Millisecond
	}
	return c
}

// VAD analysis constants.
const (
	vadHop           = 10 * time.Millisecond // frame step; regions are multiples of it
	vadWindow        = 0.025                 // analysis window, seconds
	vadBands         = 16                    // mel-spaced bands over the telephone band
	vadLowHz         = 200.0                 // speech band analysed, Hz
	vadHighHz        = 3800.0                // fits 8 kHz audio too
	vadFloorDBFS     = -65.0                 // frames quieter than this are never speech
	vadNoiseSpan     = 500                   // frames (5 s) before and after for the noise estimate
	vadNoiseBlock    = 50                    // frames sharing one noise estimate
	vadNoisePct      = 0.10                  // percentile of band energy taken as noise
	vadMinModulation = 3.0                   // dB of level spread a region needs (see modulation)
)

// DetectSpeech finds the speech regions of a mono recording. It compares
// each 10 ms frame's band energies (16 mel bands, 200-3800 Hz) with a noise
// floor taken as a low percentile of the five seconds before and after, so
// that stationary noise of any colour and level, and silence, score low; a
// hysteresis threshold, minimum durations and padding turn frame scores
// into regions, and a region must rise and fall like syllables do, which
// keeps loud but level noise out. Noise bursts of a few seconds whose
// level itself wobbles may still pass.
// Returns EINVALID for a sample rate below 8000 Hz or out of range.
func DetectSpeech(x []float32, sampleRate int, cfg VADConfig) ([]Region, error) {
	if sampleRate < 8000 || sampleRate > MaxSampleRate {
		return nil, callscope.Errorf(callscope.EINVALID, "vad: sample rate %d Hz out of range [8000, %d]", sampleRate, MaxSampleRate)
	}
	cfg = cfg.withDefaults()
	score, band := speechScores(x, sampleRate)
	return scoresToRegions(score, band, cfg), nil
}

// speechScores returns one score per 10 ms frame: the mean over bands of
// the positive part of the band's SNR in dB, or -1 for frames below the
// absolute floor; and the band levels in dB.
func speechScores(x []float32, rate int) ([]float64, [][vadBands]float64) {
	hop := rate / 100
	win := int(vadWindow * float64(rate))
	nfft := 1
	for nfft < win {
		nfft <<= 1
	}
	nf := len(x) / hop
	if nf == 0 {
		return nil, nil
	}
	edges := melEdges(rate, nfft)
	window := make([]float64, win)
	for i := range window {
		window[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(win))
	}
	var wsum float64
	for _, w := range window {
		wsum += w * w
	}

	band := make([][vadBands]float64, nf) // dB
	level := make([]float64, nf)          // dBFS of the analysed band
	re := make([]float64, nfft)
	im := make([]float64, nfft)
	for f := range nf {
		start := f*hop + hop/2 - win/2 // window centred on the frame
		clear(re)
		clear(im)
		for i := range win {
			if j := start + i; j >= 0 && j < len(x) {
				re[i] = float64(x[j]) * window[i]
			}
		}
		fft(re, im)
		var total float64
		for b := range vadBands {
			var e float64
			for k := edges[b]; k < edges[b+1]; k++ {
				e += re[k]*re[k] + im[k]*im[k]
			}
			total += e
			band[f][b] = 10 * math.Log10(e/float64(edges[b+1]-edges[b])+1e-10)
		}
		// Parseval: mean square of the band-limited frame.
		level[f] = 10 * math.Log10(2*total/(float64(nfft)*wsum)+1e-12)
	}

	noise := noiseFloor(band, level)
	score := make([]float64, nf)
	for f := range nf {
		if level[f] < vadFloorDBFS {
			score[f] = -1
			continue
		}
		var s float64
		for b := range vadBands {
			// Smooth over three frames to steady the estimate.
			e := band[f][b]
			if f > 0 && f+1 < nf {
				e = dbMean(band[f-1][b], e, band[f+1][b])
			}
			s += max(0, e-noise[f][b])
		}
		score[f] = s / vadBands
	}
	return score, band
}

// dbMean averages three levels in the power domain.
func dbMean(a, b, c float64) float64 {
	return 10 * math.Log10((math.Pow(10, a/10)+math.Pow(10, b/10)+math.Pow(10, c/10))/3)
}

// noiseFloor estimates each frame's band noise levels, once per block of
// frames, as the larger of a low percentile over the preceding and over the
// following vadNoiseSpan frames. Taking the larger follows a noise floor
// that steps up or down at once, where a centred window would call the
// louder noise speech for seconds. Frames below the absolute floor (digital
// silence) do not count.
func noiseFloor(band [][vadBands]float64, level []float64) [][vadBands]float64 {
	nf := len(band)
	out := make([][vadBands]float64, nf)
	buf := make([]float64, 0, vadNoiseSpan+vadNoiseBlock)
	pct := func(lo, hi, b int) (float64, bool) {
		buf = buf[:0]
		for f := lo; f < hi; f++ {
			if level[f] >= vadFloorDBFS {
				buf = append(buf, band[f][b])
			}
		}
		if len(buf) == 0 {
			return 0, false
		}
		slices.Sort(buf)
		return buf[int(vadNoisePct*float64(len(buf)-1))], true
	}
	for b0 := 0; b0 < nf; b0 += vadNoiseBlock {
		b1 := min(nf, b0+vadNoiseBlock)
		var est [vadBands]float64
		for b := range vadBands {
			past, okPast := pct(max(0, b1-vadNoiseSpan), b1, b)
			next, okNext := pct(b0, min(nf, b0+vadNoiseSpan), b)
			switch {
			case okPast && okNext:
				est[b] = max(past, next)
			case okPast:
				est[b] = past
			case okNext:
				est[b] = next
			default:
				est[b] = -100
			}
		}
		for f := b0; f < b1; f++ {
			out[f] = est
		}
	}
	return out
}

// melEdges returns vadBands+1 FFT bin edges spaced evenly on the mel scale
// between vadLowHz and vadHighHz, each band at least one bin wide.
func melEdges(rate, nfft int) []int {
	mel := func(hz float64) float64 { return 2595 * math.Log10(1+hz/700) }
	hz := func(m float64) float64 { return 700 * (math.Pow(10, m/2595) - 1) }
	lo, hi := mel(vadLowHz), mel(min(vadHighHz, 0.48*float64(rate)))
	edges := make([]int, vadBands+1)
	for i := range edges {
		f := hz(lo + (hi-lo)*float64(i)/vadBands)
		edges[i] = int(math.Round(f * float64(nfft) / float64(rate)))
		if i > 0 && edges[i] <= edges[i-1] {
			edges[i] = edges[i-1] + 1
		}
	}
	return edges
}

// modulation returns the spread, in dB, of the band levels over frames
// [a, b): the standard deviation over time of each band's level smoothed
// over 50 ms, averaged over bands. Speech rises and falls with every
// syllable; noise, even loud or changing noise, stays level.
func modulation(band [][vadBands]float64, a, b int) float64 {
	var total float64
	for k := range vadBands {
		var sum, sq float64
		n := 0
		for f := a; f < b; f++ {
			var e float64
			m := 0
			for g := max(0, f-2); g <= min(len(band)-1, f+2); g++ {
				e += band[g][k]
				m++
			}
			e /= float64(m)
			sum += e
			sq += e * e
			n++
		}
		mean := sum / float64(n)
		total += math.Sqrt(max(0, sq/float64(n)-mean*mean))
	}
	return total / vadBands
}

// scoresToRegions applies hysteresis, bridges short pauses, drops short
// or unmodulated regions and pads.
func scoresToRegions(score []float64, band [][vadBands]float64, cfg VADConfig) []Region {
	on, off := cfg.Threshold, 0.7*cfg.Threshold
	type span struct{ a, b int } // frames [a, b)
	var spans []span
	in := false
	for f, s := range score {
		switch {
		case !in && s >= on:
			// Extend back over the rising edge that was above off.
			a := f
			for a > 0 && score[a-1] >= off && (len(spans) == 0 || a-1 >= spans[len(spans)-1].b) {
				a--
			}
			spans = append(spans, span{a, f + 1})
			in = true
		case in && s >= off:
			spans[len(spans)-1].b = f + 1
		case in:
			in = false
		}
	}
	frames := func(d time.Duration) int { return int((d + vadHop/2) / vadHop) }
	minSil, minSp, pad := frames(cfg.MinSilence), frames(cfg.MinSpeech), frames(cfg.Padding)
	var merged []span
	for _, s := range spans {
		if n := len(merged); n > 0 && s.a-merged[n-1].b < minSil {
			merged[n-1].b = s.b
			continue
		}
		merged = append(merged, s)
	}
	var out []Region
	for _, s := range merged {
		if s.b-s.a < minSp {
			continue
		}
		if modulation(band, s.a, s.b) < vadMinModulation {
			continue
		}
		a, b := max(0, s.a-pad), min(len(score), s.b+pad)
		if n := len(out); n > 0 && time.Duration(a)*vadHop <= out[n-1].End {
			out[n-1].End = time.Duration(b) * vadHop
			continue
		}
		out = append(out, Region{Start: time.Duration(a) * vadHop, End: time.Duration(b) * vadHop})
	}
	return out
}

// fft is an in-place iterative radix-2 complex FFT; len(re) is a power of 2.
func fft(re, im []float64) {
	n := len(re)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j |= bit
		if i < j {
			re[i], re[j] = re[j], re[i]
			im[i], im[j] = im[j], im[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		step := -2 * math.Pi / float64(size)
		wr, wi := math.Cos(step), math.Sin(step)
		for start := 0; start < n; start += size {
			cr, ci := 1.0, 0.0
			for k := range size / 2 {
				a, b := start+k, start+k+size/2
				tr := re[b]*cr - im[b]*ci
				ti := re[b]*ci + im[b]*cr
				re[b], im[b] = re[a]-tr, im[a]-ti
				re[a] += tr
				im[a] += ti
				cr, ci = cr*wr-ci*wi, cr*wi+ci*wr
			}
		}
	}
}
