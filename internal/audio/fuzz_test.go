package audio

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"

	"github.com/callscope/callscope"
)

// checkDecoded asserts what every decoder promises: an EINVALID error, or
// PCM whose channels agree, whose samples are in [-1, 1] and whose size is
// in proportion to the input.
func checkDecoded(t *testing.T, in []byte, p *PCM, err error) {
	t.Helper()
	if err != nil {
		if code := callscope.ErrorCode(err); code != callscope.EINVALID {
			t.Fatalf("error code %q (%v), want %q", code, err, callscope.EINVALID)
		}
		return
	}
	if verr := p.validate(); verr != nil {
		t.Fatalf("decoded PCM is invalid: %v", verr)
	}
	if p.Len() == 0 {
		t.Fatalf("decoded no samples without an error")
	}
	// GSM expands most: 33 bytes to 160 samples. MP3 is bounded separately.
	if total := p.Len() * len(p.Channels); total > 8*len(in)+mp3Expansion*len(in)/4+(1<<20) {
		t.Fatalf("%d input bytes decoded to %d samples", len(in), total)
	}
	for c, ch := range p.Channels {
		for i, v := range ch {
			if !(v >= -1 && v <= 1) {
				t.Fatalf("channel %d sample %d = %v, outside [-1, 1]", c, i, v)
			}
		}
	}
}

// readPrefix returns the first n bytes of a test file; seeds stay small
// because the fuzzer spends long minimising large ones.
func readPrefix(f *testing.F, name string, n int) []byte {
	data, err := os.ReadFile(name)
	if err != nil {
		f.Fatal(err)
	}
	return data[:min(n, len(data))]
}

// binaryPutData fixes the data chunk size of a shortened WAV49 seed.
func binaryPutData(wav []byte) {
	binary.LittleEndian.PutUint32(wav[56:], uint32(len(wav)-60))
}

func FuzzDecodeWAV(f *testing.F) {
	wav49 := readPrefix(f, "testdata/tone-wav49.wav", 60+2*65)
	binaryPutData(wav49)
	f.Add(wav49)
	f.Add(wavFile{tag: 1, channels: 2, rate: 8000, blockAlign: 4, bits: 16, data: le16(1, 2, 3, 4)}.bytes())
	f.Add(wavFile{tag: 1, channels: 1, rate: 8000, blockAlign: 3, bits: 24, data: []byte{1, 2, 3}}.bytes())
	f.Add(wavFile{tag: 3, channels: 1, rate: 8000, blockAlign: 8, bits: 64, data: make([]byte, 16)}.bytes())
	f.Add(wavFile{tag: 7, channels: 1, rate: 8000, blockAlign: 1, bits: 8, data: []byte{1, 2, 3}, dataSize: u32(0)}.bytes())
	f.Add(wavFile{tag: 0xFFFE, channels: 2, rate: 8000, blockAlign: 4, bits: 16, ext: extensible(1, 16), data: le16(1, 2)}.bytes())
	f.Add(wavFile{tag: 1, channels: 1, rate: 8000, blockAlign: 2, bits: 16, extra: []byte("LIST\x03\x00\x00\x00abc"), data: le16(7)}.bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := decodeWAV(data)
		checkDecoded(t, data, p, err)
	})
}

func FuzzDecodeGSM(f *testing.F) {
	prompt := readPrefix(f, "testdata/tone-wav49.wav", 100)
	frame := make([]byte, 33)
	for i := range frame {
		frame[i] = prompt[60+i] // arbitrary bit patterns
	}
	frame[0] = 0xD0 | frame[0]&0x0F
	f.Add(bytes.Repeat(frame, 4))
	f.Add(bytes.Repeat([]byte{0xDF}, 66))
	f.Add(bytes.Repeat([]byte{0xD0}, 33))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := decodeGSM(data)
		checkDecoded(t, data, p, err)
		if err == nil && p.Len() != len(data)/33*160 {
			t.Fatalf("%d frames gave %d samples", len(data)/33, p.Len())
		}
		// WAV49 packs the same parameters differently; any bytes decode.
		if out := decodeWAV49(data); len(out) != len(data)/65*320 {
			t.Fatalf("%d blocks gave %d samples", len(data)/65, len(out))
		}
	})
}

func FuzzDecodeMP3(f *testing.F) {
	data := readPrefix(f, "testdata/speech-mpeg2-mono.mp3", 45+3*156)
	f.Add(data)
	f.Add(data[45:])
	f.Add([]byte("ID3\x04\x00\x00\x00\x00\x00\x00\xff\xf3\x60\xc4"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := decodeMP3(data)
		checkDecoded(t, data, p, err)
	})
}

func FuzzDecodeRaw(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3}, uint8(0), uint16(8000), uint8(1))
	f.Add([]byte{0xFF, 0x7F}, uint8(1), uint16(16000), uint8(2))
	f.Add([]byte{0xD5}, uint8(2), uint16(0), uint8(0))
	codecs := []Codec{CodecSlin, CodecULaw, CodecALaw}
	f.Fuzz(func(t *testing.T, data []byte, codec uint8, rate uint16, channels uint8) {
		hint := Format{Codec: codecs[int(codec)%len(codecs)], SampleRate: int(rate), Channels: int(channels)}
		p, err := DecodeBytes(data, hint)
		checkDecoded(t, data, p, err)
	})
}

func FuzzDecode(f *testing.F) {
	f.Add(readPrefix(f, "testdata/tone-wav49.wav", 60+65), "")
	f.Add(readPrefix(f, "testdata/speech-mpeg2-mono.mp3", 45+2*156), "")
	f.Add(bytes.Repeat([]byte{0xD3}, 66), "x.gsm")
	f.Add([]byte{1, 2, 3, 4}, "x.sln16")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		p, err := DecodeBytes(data, FormatFromName(name))
		checkDecoded(t, data, p, err)
	})
}
