package audio

import (
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/callscope/callscope"
)

// Codec names an encoding of a recording.
type Codec string

// Codecs the package decodes.
const (
	CodecUnknown Codec = ""     // let the content decide
	CodecWAV     Codec = "wav"  // RIFF/WAVE with any supported codec inside
	CodecMP3     Codec = "mp3"  // MPEG Layer III
	CodecGSM     Codec = "gsm"  // raw GSM 06.10 frames, 33 bytes each (Asterisk .gsm)
	CodecSlin    Codec = "slin" // headerless signed 16-bit little-endian PCM
	CodecULaw    Codec = "ulaw" // headerless G.711 μ-law
	CodecALaw    Codec = "alaw" // headerless G.711 A-law
)

// Format is what the caller knows about a recording before decoding it.
// Headerless codecs need it; for the others the content decides.
type Format struct {
	Codec      Codec
	SampleRate int // of headerless audio; 0 means 8000
	Channels   int // of headerless audio, interleaved; 0 means 1
}

// MaxInputBytes is the largest recording Decode reads.
const MaxInputBytes = 1 << 30

// FormatFromName guesses the format from a file name the way Asterisk names
// its recordings (.sln16 is 16 kHz slin, .ul is μ-law, .WAV is WAV49 …).
// It returns the zero Format for names it does not know.
func FormatFromName(name string) Format {
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(name), "."))
	switch ext {
	case "wav", "wav16", "wav49":
		return Format{Codec: CodecWAV}
	case "mp3":
		return Format{Codec: CodecMP3}
	case "gsm":
		return Format{Codec: CodecGSM, SampleRate: gsmSampleRate}
	case "ulaw", "ul", "mu", "pcmu", "ulw":
		return Format{Codec: CodecULaw, SampleRate: 8000}
	case "alaw", "al", "pcma", "alw":
		return Format{Codec: CodecALaw, SampleRate: 8000}
	case "sln", "slin", "raw", "pcm", "s16", "sw":
		return Format{Codec: CodecSlin, SampleRate: 8000}
	}
	for _, r := range []int{12, 16, 24, 32, 44, 48, 96, 192} {
		if ext == "sln"+strconv.Itoa(r) {
			rate := r * 1000
			if r == 44 {
				rate = 44100
			}
			return Format{Codec: CodecSlin, SampleRate: rate}
		}
	}
	return Format{}
}

// Detect returns the codec of data: a header (RIFF/WAVE, ID3 or an MPEG
// frame sync) or a run of GSM frames decides; the hint decides only for
// headerless audio. It returns CodecUnknown when neither does.
func Detect(data []byte, hint Format) Codec {
	switch {
	case isWAV(data):
		return CodecWAV
	case len(data) >= 3 && string(data[:3]) == "ID3":
		return CodecMP3
	}
	switch hint.Codec {
	case CodecSlin, CodecULaw, CodecALaw:
		return hint.Codec
	}
	switch {
	case isGSM(data):
		return CodecGSM
	case isMP3(data):
		return CodecMP3
	}
	if hint.Codec == CodecMP3 || hint.Codec == CodecGSM {
		return hint.Codec
	}
	return CodecUnknown
}

// Decode reads a whole recording from r and decodes it; see DecodeBytes.
// Returns ETOOLARGE past MaxInputBytes.
func Decode(r io.Reader, hint Format) (*PCM, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxInputBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxInputBytes {
		return nil, callscope.Errorf(callscope.ETOOLARGE, "audio: recording larger than %d bytes", MaxInputBytes)
	}
	return DecodeBytes(data, hint)
}

// DecodeBytes decodes a recording whose codec Detect finds from its content
// and the hint. Returns EINVALID for empty, truncated, corrupt or
// unrecognised input, and for headerless input without a declared codec.
func DecodeBytes(data []byte, hint Format) (*PCM, error) {
	if len(data) == 0 {
		return nil, callscope.Errorf(callscope.EINVALID, "audio: empty recording")
	}
	switch Detect(data, hint) {
	case CodecWAV:
		return decodeWAV(data)
	case CodecMP3:
		return decodeMP3(data)
	case CodecGSM:
		return decodeGSM(data)
	case CodecSlin:
		return decodeRaw(data, hint, 2)
	case CodecULaw, CodecALaw:
		return decodeRaw(data, hint, 1)
	}
	return nil, callscope.Errorf(callscope.EINVALID, "audio: unrecognised format; headerless audio needs a declared codec")
}

// decodeRaw decodes headerless slin, μ-law or A-law.
func decodeRaw(data []byte, f Format, size int) (*PCM, error) {
	rate, channels := f.SampleRate, f.Channels
	if rate == 0 {
		rate = 8000
	}
	if channels == 0 {
		channels = 1
	}
	if rate < MinSampleRate || rate > MaxSampleRate {
		return nil, callscope.Errorf(callscope.EINVALID, "%s: sample rate %d Hz out of range [%d, %d]", f.Codec, rate, MinSampleRate, MaxSampleRate)
	}
	if channels < 1 || channels > MaxChannels {
		return nil, callscope.Errorf(callscope.EINVALID, "%s: %d channels, want 1 to %d", f.Codec, channels, MaxChannels)
	}
	n := len(data) / (size * channels)
	if n == 0 {
		return nil, callscope.Errorf(callscope.EINVALID, "%s: %d bytes hold no whole sample", f.Codec, len(data))
	}
	data = data[:n*size*channels]
	p := &PCM{SampleRate: rate}
	switch f.Codec {
	case CodecULaw:
		p.Channels = decodeG711(data, ulawTable, channels)
	case CodecALaw:
		p.Channels = decodeG711(data, alawTable, channels)
	default:
		p.Channels = decodeLinear(data, 16, channels)
	}
	return p, nil
}
