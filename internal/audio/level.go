package audio

import (
	"math"
	"slices"
)

// LevelMode says what Normalize measures.
type LevelMode int

// Level measures.
const (
	LevelPeak LevelMode = iota // the largest absolute sample
	LevelRMS                   // the RMS of the active (non-silent) parts
)

// Level is a loudness target for Normalize.
type Level struct {
	Mode       LevelMode
	TargetDBFS float64 // e.g. -1 for peak, -20 for RMS
	MaxGainDB  float64 // cap on amplification so silence is not blown up; 0 means 30 dB
}

// clipCeiling is the highest peak Normalize produces (-0.01 dBFS).
const clipCeiling = 0.9988

// Normalize scales x in place to the target level and returns the gain
// applied, in dB. The gain never makes a sample clip and never exceeds
// MaxGainDB; all-zero input is left alone.
func Normalize(x []float32, l Level) float64 {
	var peak float64
	for _, v := range x {
		peak = max(peak, math.Abs(float64(v)))
	}
	if peak == 0 {
		return 0
	}
	measure := peak
	if l.Mode == LevelRMS {
		measure = activeRMS(x)
	}
	maxGain := l.MaxGainDB
	if maxGain == 0 {
		maxGain = 30
	}
	gain := math.Pow(10, l.TargetDBFS/20) / measure
	gain = min(gain, clipCeiling/peak, math.Pow(10, maxGain/20))
	g := float32(gain)
	for i := range x {
		x[i] *= g
	}
	return 20 * math.Log10(gain)
}

// activeRMS is the RMS over 50 ms blocks no more than 30 dB below the
// loudest block, so pauses do not drag the measure down.
func activeRMS(x []float32) float64 {
	const block = 400 // 50 ms at 8 kHz; the exact length hardly matters
	var powers []float64
	for i := 0; i < len(x); i += block {
		powers = append(powers, meanSquare(x[i:min(i+block, len(x))]))
	}
	loud := slices.Max(powers)
	var sum float64
	var n int
	for _, p := range powers {
		if p >= loud/1000 {
			sum += p
			n++
		}
	}
	return math.Sqrt(sum / float64(n))
}

func meanSquare(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s / float64(max(1, len(x)))
}

// ReduceNoise returns x with its quiet stretches attenuated by a downward
// expander: frames near the noise floor (its 10th percentile of 10 ms frame
// levels) lose up to depthDB, frames 12 dB or more above it are untouched.
// Gain rises at once ahead of a loud frame and falls slowly after it, so
// speech onsets and tails survive. It does not remove noise under speech.
func ReduceNoise(x []float32, sampleRate int, depthDB float64) []float32 {
	out := append([]float32(nil), x...)
	frame := max(1, sampleRate/100)
	nf := (len(x) + frame - 1) / frame
	if nf < 3 || depthDB <= 0 {
		return out
	}
	level := make([]float64, nf)
	for f := range nf {
		level[f] = 10 * math.Log10(meanSquare(x[f*frame:min((f+1)*frame, len(x))])+1e-12)
	}
	sorted := slices.Clone(level)
	slices.Sort(sorted)
	floor := sorted[nf/10]
	const knee = 6.0 // dB above the floor where attenuation starts to ease
	gain := make([]float64, nf)
	for f, l := range level {
		over := l - floor - knee
		switch {
		case over <= 0:
			gain[f] = -depthDB
		case over >= knee:
			gain[f] = 0
		default:
			gain[f] = -depthDB * (1 - over/knee)
		}
	}
	// Open one frame early and close at most 2 dB per frame.
	smooth := make([]float64, nf)
	prev := -depthDB
	for f := range nf {
		g := gain[f]
		if f+1 < nf {
			g = max(g, gain[f+1])
		}
		g = max(g, prev-2)
		smooth[f] = g
		prev = g
	}
	// Interpolate between frame centres, in linear gain.
	lin := make([]float64, nf)
	for f, g := range smooth {
		lin[f] = math.Pow(10, g/20)
	}
	for i := range out {
		pos := (float64(i)+0.5)/float64(frame) - 0.5
		f := int(math.Floor(pos))
		var g float64
		switch {
		case f < 0:
			g = lin[0]
		case f >= nf-1:
			g = lin[nf-1]
		default:
			frac := pos - float64(f)
			g = lin[f]*(1-frac) + lin[f+1]*frac
		}
		out[i] = float32(float64(out[i]) * g)
	}
	return out
}
