// Package audio turns call recordings into PCM and speech regions.
//
// It decodes the formats telephony systems write (WAV in its many codecs,
// raw signed linear, G.711 μ-law and A-law, GSM 06.10 as Asterisk and
// Microsoft write it, and MP3) into float32 samples, converts sample rates
// with an anti-aliasing filter, splits stereo recordings into one stream per
// speaker, normalises levels and finds the regions that contain speech.
//
// Everything is pure Go. Decoders never trust a header: input that is empty,
// truncated or inconsistent is rejected with an EINVALID error, and no
// allocation is larger than a constant times the input size.
package audio

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"time"

	"github.com/callscope/callscope"
)

// PCM is decoded audio: one slice of samples per channel, all of the same
// length, as float32 in [-1, 1].
type PCM struct {
	SampleRate int
	Channels   [][]float32
}

// Len returns the number of samples in each channel.
func (p *PCM) Len() int {
	if p == nil || len(p.Channels) == 0 {
		return 0
	}
	return len(p.Channels[0])
}

// Duration returns the playing time of the audio.
func (p *PCM) Duration() time.Duration {
	if p == nil || p.SampleRate <= 0 {
		return 0
	}
	return samplesToDuration(p.Len(), p.SampleRate)
}

// Mono returns the average of all channels; for a single channel it returns
// that channel itself, not a copy.
func (p *PCM) Mono() []float32 {
	switch len(p.Channels) {
	case 0:
		return nil
	case 1:
		return p.Channels[0]
	}
	out := make([]float32, p.Len())
	scale := 1 / float32(len(p.Channels))
	for _, ch := range p.Channels {
		for i, v := range ch {
			out[i] += v * scale
		}
	}
	return out
}

// Int16LE returns the audio as interleaved signed 16-bit little-endian
// samples, the layout of raw slin and of WAV data chunks.
func (p *PCM) Int16LE() []byte {
	n, c := p.Len(), len(p.Channels)
	out := make([]byte, 2*n*c)
	o := 0
	for i := range n {
		for _, ch := range p.Channels {
			binary.LittleEndian.PutUint16(out[o:], uint16(toInt16(ch[i])))
			o += 2
		}
	}
	return out
}

// WAV returns the audio as a 16-bit PCM WAV file.
func (p *PCM) WAV() []byte {
	var b bytes.Buffer
	_ = EncodeWAV(&b, p) // bytes.Buffer writes do not fail
	return b.Bytes()
}

// EncodeWAV writes p to w as a canonical 16-bit PCM WAV file.
// Returns EINVALID if p has no channels, channels of different lengths, or
// a sample rate out of range.
func EncodeWAV(w io.Writer, p *PCM) error {
	if err := p.validate(); err != nil {
		return err
	}
	data := p.Int16LE()
	if uint64(len(data)) > math.MaxUint32-36 {
		return callscope.Errorf(callscope.ETOOLARGE, "wav: %d bytes of audio do not fit in a WAV file", len(data))
	}
	c := len(p.Channels)
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+len(data)))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], wavFormatPCM)
	binary.LittleEndian.PutUint16(h[22:], uint16(c))
	binary.LittleEndian.PutUint32(h[24:], uint32(p.SampleRate))
	binary.LittleEndian.PutUint32(h[28:], uint32(p.SampleRate*2*c))
	binary.LittleEndian.PutUint16(h[32:], uint16(2*c))
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(len(data)))
	if _, err := w.Write(h); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}

// validate checks the invariants every function taking a *PCM relies on.
func (p *PCM) validate() error {
	if p == nil || len(p.Channels) == 0 {
		return callscope.Errorf(callscope.EINVALID, "audio: no channels")
	}
	if len(p.Channels) > MaxChannels {
		return callscope.Errorf(callscope.EINVALID, "audio: %d channels, at most %d are supported", len(p.Channels), MaxChannels)
	}
	if p.SampleRate < MinSampleRate || p.SampleRate > MaxSampleRate {
		return callscope.Errorf(callscope.EINVALID, "audio: sample rate %d Hz out of range [%d, %d]", p.SampleRate, MinSampleRate, MaxSampleRate)
	}
	n := len(p.Channels[0])
	for i, ch := range p.Channels {
		if len(ch) != n {
			return callscope.Errorf(callscope.EINVALID, "audio: channel %d has %d samples, channel 0 has %d", i, len(ch), n)
		}
	}
	return nil
}

// Limits every decoder enforces on what a header may declare.
const (
	MinSampleRate = 1000   // lowest sample rate accepted, in Hz
	MaxSampleRate = 384000 // highest sample rate accepted, in Hz
	MaxChannels   = 32     // most channels accepted in one recording
)

// toInt16 converts a float sample to 16 bits, so that int16 input decoded
// as s/32768 comes back unchanged, and clamps anything outside [-1, 1).
func toInt16(v float32) int16 {
	x := math.Round(float64(v) * 32768)
	switch {
	case x != x: // NaN
		return 0
	case x > math.MaxInt16:
		return math.MaxInt16
	case x < math.MinInt16:
		return math.MinInt16
	}
	return int16(x)
}

// samplesToDuration converts a sample count to a duration without overflow
// for any realistic length.
func samplesToDuration(n, rate int) time.Duration {
	sec := n / rate
	rem := n % rate
	return time.Duration(sec)*time.Second + time.Duration(rem)*time.Second/time.Duration(rate)
}
