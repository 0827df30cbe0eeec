package audio

import (
	"bytes"
	"encoding/binary"
	"math"

	"github.com/callscope/callscope"
)

// WAVE format tags.
const (
	wavFormatPCM        = 0x0001
	wavFormatFloat      = 0x0003
	wavFormatALaw       = 0x0006
	wavFormatULaw       = 0x0007
	wavFormatGSM610     = 0x0031
	wavFormatExtensible = 0xFFFE
)

// wavGUIDTail is the fixed part of a WAVE_FORMAT_EXTENSIBLE sub-format GUID
// (KSDATAFORMAT_SUBTYPE_*): the format tag followed by these 14 bytes.
var wavGUIDTail = []byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

// wavFormat is the parsed "fmt " chunk.
type wavFormat struct {
	tag        uint16
	channels   int
	sampleRate int
	blockAlign int
	bits       int
}

// isWAV reports whether data starts with a RIFF/WAVE (or RF64) header.
func isWAV(data []byte) bool {
	return len(data) >= 12 && (string(data[0:4]) == "RIFF" || string(data[0:4]) == "RF64") && string(data[8:12]) == "WAVE"
}

// decodeWAV decodes a WAV file. It walks the RIFF chunks (honouring
// odd-size padding), reads the data chunk to the end of the input when its
// size is 0 or 0xFFFFFFFF as streaming writers leave it, and rejects a data
// chunk that claims more bytes than are present.
// Returns EINVALID for anything it cannot decode.
func decodeWAV(data []byte) (*PCM, error) {
	if !isWAV(data) {
		return nil, callscope.Errorf(callscope.EINVALID, "wav: missing RIFF/WAVE header")
	}
	var (
		fmtChunk []byte
		body     []byte
		haveData bool
	)
	pos := 12
	for pos+8 <= len(data) && !haveData {
		id := string(data[pos : pos+4])
		size := binary.LittleEndian.Uint32(data[pos+4:])
		pos += 8
		remain := len(data) - pos
		switch id {
		case "data":
			switch {
			case size == 0 || size == math.MaxUint32:
				body = data[pos:]
			case uint64(size) > uint64(remain):
				return nil, callscope.Errorf(callscope.EINVALID, "wav: data chunk claims %d bytes but only %d are present (truncated file?)", size, remain)
			default:
				body = data[pos : pos+int(size)]
			}
			haveData = true
		default:
			if uint64(size) > uint64(remain) {
				return nil, callscope.Errorf(callscope.EINVALID, "wav: %q chunk claims %d bytes but only %d are present", id, size, remain)
			}
			if id == "fmt " {
				fmtChunk = data[pos : pos+int(size)]
			}
			pos = nextChunk(data, pos+int(size), size&1 == 1)
		}
	}
	if fmtChunk == nil {
		return nil, callscope.Errorf(callscope.EINVALID, "wav: no fmt chunk before the data")
	}
	if !haveData {
		return nil, callscope.Errorf(callscope.EINVALID, "wav: no data chunk")
	}
	f, err := parseWAVFormat(fmtChunk)
	if err != nil {
		return nil, err
	}
	return f.decode(body)
}

// nextChunk returns where the chunk after one ending at end starts. RIFF
// pads odd-sized chunks to an even size, but some writers omit the pad
// byte; when the padded position does not hold a chunk id and the unpadded
// one does, the unpadded one is taken.
func nextChunk(data []byte, end int, odd bool) int {
	if !odd {
		return end
	}
	if end+5 <= len(data) && !isChunkID(data[end+1:end+5]) && isChunkID(data[end:end+4]) {
		return end
	}
	return end + 1
}

// isChunkID reports whether b looks like a RIFF chunk id: four printable
// ASCII characters.
func isChunkID(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7E {
			return false
		}
	}
	return true
}

// parseWAVFormat parses and validates a "fmt " chunk.
func parseWAVFormat(b []byte) (wavFormat, error) {
	if len(b) < 16 {
		return wavFormat{}, callscope.Errorf(callscope.EINVALID, "wav: fmt chunk of %d bytes is too short", len(b))
	}
	f := wavFormat{
		tag:        binary.LittleEndian.Uint16(b[0:]),
		channels:   int(binary.LittleEndian.Uint16(b[2:])),
		sampleRate: int(binary.LittleEndian.Uint32(b[4:])),
		blockAlign: int(binary.LittleEndian.Uint16(b[12:])),
		bits:       int(binary.LittleEndian.Uint16(b[14:])),
	}
	if f.tag == wavFormatExtensible {
		if len(b) < 40 {
			return wavFormat{}, callscope.Errorf(callscope.EINVALID, "wav: extensible fmt chunk of %d bytes is too short", len(b))
		}
		guid := b[24:40]
		if !bytes.Equal(guid[2:], wavGUIDTail) {
			return wavFormat{}, callscope.Errorf(callscope.EINVALID, "wav: unsupported extensible sub-format %x", guid)
		}
		f.tag = binary.LittleEndian.Uint16(guid[0:])
	}
	if f.channels < 1 || f.channels > MaxChannels {
		return wavFormat{}, callscope.Errorf(callscope.EINVALID, "wav: %d channels, want 1 to %d", f.channels, MaxChannels)
	}
	if f.sampleRate < MinSampleRate || f.sampleRate > MaxSampleRate {
		return wavFormat{}, callscope.Errorf(callscope.EINVALID, "wav: sample rate %d Hz out of range [%d, %d]", f.sampleRate, MinSampleRate, MaxSampleRate)
	}
	if f.blockAlign == 0 {
		return wavFormat{}, callscope.Errorf(callscope.EINVALID, "wav: block align is 0")
	}
	switch f.tag {
	case wavFormatPCM:
		if f.bits != 8 && f.bits != 16 && f.bits != 24 && f.bits != 32 {
			return wavFormat{}, callscope.Errorf(callscope.EINVALID, "wav: %d-bit PCM is not supported", f.bits)
		}
	case wavFormatFloat:
		if f.bits != 32 && f.bits != 64 {
			return wavFormat{}, callscope.Errorf(callscope.EINVALID, "wav: %d-bit float is not supported", f.bits)
		}
	case wavFormatULaw, wavFormatALaw:
		if f.bits != 8 {
			return wavFormat{}, callscope.Errorf(callscope.EINVALID, "wav: G.711 with %d bits per sample", f.bits)
		}
	case wavFormatGSM610:
		if f.channels != 1 || f.blockAlign != wav49BlockSize {
			return wavFormat{}, callscope.Errorf(callscope.EINVALID, "wav: GSM 6.10 needs 1 channel and %d-byte blocks, got %d channels and %d-byte blocks", wav49BlockSize, f.channels, f.blockAlign)
		}
		return f, nil
	default:
		return wavFormat{}, callscope.Errorf(callscope.EINVALID, "wav: format tag 0x%04x is not supported", f.tag)
	}
	if want := f.channels * f.bits / 8; f.blockAlign != want {
		return wavFormat{}, callscope.Errorf(callscope.EINVALID, "wav: block align %d does not match %d channels of %d bits", f.blockAlign, f.channels, f.bits)
	}
	return f, nil
}

// decode converts the data chunk. A trailing partial sample frame, as a
// recorder killed mid-write leaves, is dropped.
func (f wavFormat) decode(body []byte) (*PCM, error) {
	if f.tag == wavFormatGSM610 {
		if len(body) < wav49BlockSize {
			return nil, callscope.Errorf(callscope.EINVALID, "wav: GSM data of %d bytes holds no whole %d-byte block", len(body), wav49BlockSize)
		}
		return &PCM{SampleRate: f.sampleRate, Channels: [][]float32{decodeWAV49(body)}}, nil
	}
	n := len(body) / f.blockAlign
	if n == 0 {
		return nil, callscope.Errorf(callscope.EINVALID, "wav: data chunk holds no whole sample (%d bytes, %d-byte frames)", len(body), f.blockAlign)
	}
	body = body[:n*f.blockAlign]
	p := &PCM{SampleRate: f.sampleRate}
	switch f.tag {
	case wavFormatULaw:
		p.Channels = decodeG711(body, ulawTable, f.channels)
	case wavFormatALaw:
		p.Channels = decodeG711(body, alawTable, f.channels)
	case wavFormatFloat:
		p.Channels = decodeFloat(body, f.bits, f.channels)
	default:
		p.Channels = decodeLinear(body, f.bits, f.channels)
	}
	return p, nil
}

// decodeLinear converts interleaved integer PCM: 8-bit is unsigned, wider
// samples are signed little-endian.
func decodeLinear(body []byte, bits, channels int) [][]float32 {
	size := bits / 8
	n := len(body) / (size * channels)
	out := makeChannels(channels, n)
	o := 0
	for i := range n {
		for c := range channels {
			var v float32
			switch bits {
			case 8:
				v = float32(int(body[o])-128) / 128
			case 16:
				v = float32(int16(binary.LittleEndian.Uint16(body[o:]))) / (1 << 15)
			case 24:
				x := int32(uint32(body[o]) | uint32(body[o+1])<<8 | uint32(body[o+2])<<16)
				v = float32(x<<8>>8) / (1 << 23)
			case 32:
				v = float32(float64(int32(binary.LittleEndian.Uint32(body[o:]))) / (1 << 31))
			}
			out[c][i] = v
			o += size
		}
	}
	return out
}

// decodeFloat converts interleaved IEEE float samples, replacing NaN and
// infinities with silence and clamping to [-1, 1].
func decodeFloat(body []byte, bits, channels int) [][]float32 {
	size := bits / 8
	n := len(body) / (size * channels)
	out := makeChannels(channels, n)
	o := 0
	for i := range n {
		for c := range channels {
			var v float64
			if bits == 32 {
				v = float64(math.Float32frombits(binary.LittleEndian.Uint32(body[o:])))
			} else {
				v = math.Float64frombits(binary.LittleEndian.Uint64(body[o:]))
			}
			out[c][i] = clampSample(v)
			o += size
		}
	}
	return out
}

// clampSample maps a float sample into [-1, 1], NaN to 0.
func clampSample(v float64) float32 {
	switch {
	case v != v:
		return 0
	case v > 1:
		return 1
	case v < -1:
		return -1
	}
	return float32(v)
}
