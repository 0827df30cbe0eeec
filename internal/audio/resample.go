package audio

import (
	"math"

	"github.com/callscope/callscope"
)

// Resampler design: a Kaiser-windowed sinc low-pass evaluated on the
// polyphase grid of the rational ratio out/in. The cut-off sits at the
// lower of the two Nyquist frequencies; the pass band is flat to 85 % of it
// and the stop band starts at it, attenuated by at least 70 dB.
const (
	resamplePassband    = 0.85 // fraction of the lower Nyquist kept flat
	resampleAttenuation = 70.0 // stop-band attenuation in dB
)

// Resample converts mono samples from one sample rate to another with an
// anti-aliasing filter; the output has the same duration and no delay.
// Returns EINVALID for rates outside [MinSampleRate, MaxSampleRate].
func Resample(x []float32, from, to int) ([]float32, error) {
	for _, r := range []int{from, to} {
		if r < MinSampleRate || r > MaxSampleRate {
			return nil, callscope.Errorf(callscope.EINVALID, "resample: sample rate %d Hz out of range [%d, %d]", r, MinSampleRate, MaxSampleRate)
		}
	}
	if from == to {
		return append([]float32(nil), x...), nil
	}
	return newPolyphase(from, to).apply(x), nil
}

// ResamplePCM returns p converted to the given sample rate, every channel
// filtered alike. Returns EINVALID for an invalid p or rate.
func ResamplePCM(p *PCM, to int) (*PCM, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	out := &PCM{SampleRate: to, Channels: make([][]float32, len(p.Channels))}
	for c, ch := range p.Channels {
		y, err := Resample(ch, p.SampleRate, to)
		if err != nil {
			return nil, err
		}
		out.Channels[c] = y
	}
	return out, nil
}

// polyphase is the filter bank for one rational ratio up/down.
type polyphase struct {
	up, down int
	taps     int         // taps per phase
	half     int         // input samples on each side of the centre
	coef     [][]float32 // [phase][tap]
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func newPolyphase(from, to int) *polyphase {
	g := gcd(from, to)
	up, down := to/g, from/g
	nyq := 0.5 * float64(min(from, to))
	fc := nyq * (1 + resamplePassband) / 2 // centre of the transition band
	width := nyq * (1 - resamplePassband)
	// Kaiser's formula for the filter length, in input samples.
	beta := 0.1102 * (resampleAttenuation - 8.7)
	length := (resampleAttenuation - 7.95) / (2.285 * 2 * math.Pi * width / float64(from))
	half := int(math.Ceil(length/2)) + 1

	p := &polyphase{up: up, down: down, taps: 2 * half, half: half}
	p.coef = make([][]float32, up)
	i0b := besselI0(beta)
	span := float64(half) // window half-width in input samples
	for ph := range up {
		row := make([]float32, 2*half)
		for k := range 2 * half {
			// Distance, in input samples, from the output instant to the
			// input that tap k multiplies (see apply).
			d := float64(k-half+1) - float64(ph)/float64(up)
			if math.Abs(d) >= span {
				continue
			}
			w := besselI0(beta*math.Sqrt(1-(d/span)*(d/span))) / i0b
			row[k] = float32(2 * fc / float64(from) * sinc(2*fc*d/float64(from)) * w)
		}
		p.coef[ph] = row
	}
	return p
}

// apply filters x. Output sample i lies at input position i*down/up; with
// j0 the integer part of that, tap k multiplies input j0-half+1+k.
func (p *polyphase) apply(x []float32) []float32 {
	n := int((int64(len(x))*int64(p.up) + int64(p.down) - 1) / int64(p.down))
	out := make([]float32, n)
	for i := range out {
		t := int64(i) * int64(p.down)
		j0 := int(t / int64(p.up))
		ph := int(t % int64(p.up))
		row := p.coef[ph]
		lo := j0 - p.half + 1
		k0 := 0
		if lo < 0 {
			k0 = -lo
		}
		k1 := p.taps
		if hi := lo + p.taps; hi > len(x) {
			k1 -= hi - len(x)
		}
		if k1 <= k0 {
			continue
		}
		taps, in := row[k0:k1], x[lo+k0:lo+k1]
		in = in[:len(taps)]
		var acc float32
		for k, c := range taps {
			acc += c * in[k]
		}
		out[i] = acc
	}
	return out
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the zeroth-order modified Bessel function of the first kind,
// by its power series.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / 2) / float64(k)
		sum += term * term
		if term*term < sum*1e-12 {
			break
		}
	}
	return sum
}
