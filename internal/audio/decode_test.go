package audio

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/callscope/callscope"
)

// wavFile builds a WAV file from a fmt chunk and a data chunk, with extra
// chunks placed between them.
type wavFile struct {
	tag        uint16
	channels   uint16
	rate       uint32
	blockAlign uint16
	bits       uint16
	ext        []byte // fmt bytes after the 16 standard ones
	extra      []byte // raw chunks between fmt and data
	data       []byte
	dataSize   *uint32 // overrides the data chunk size
}

func (w wavFile) bytes() []byte {
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(0)) // writers often leave this wrong; the decoder ignores it
	b.WriteString("WAVEfmt ")
	le(uint32(16 + len(w.ext)))
	le(w.tag)
	le(w.channels)
	le(w.rate)
	le(w.rate * uint32(w.blockAlign))
	le(w.blockAlign)
	le(w.bits)
	b.Write(w.ext)
	b.Write(w.extra)
	b.WriteString("data")
	if w.dataSize != nil {
		le(*w.dataSize)
	} else {
		le(uint32(len(w.data)))
	}
	b.Write(w.data)
	return b.Bytes()
}

func u32(v uint32) *uint32 { return &v }

// extensible returns the fmt extension of WAVE_FORMAT_EXTENSIBLE for a
// sub-format tag.
func extensible(sub uint16, validBits uint16) []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint16(b[0:], 22)
	binary.LittleEndian.PutUint16(b[2:], validBits)
	binary.LittleEndian.PutUint32(b[4:], 0x3) // front left, front right
	binary.LittleEndian.PutUint16(b[8:], sub)
	copy(b[10:], wavGUIDTail)
	return b
}

func le16(vs ...int16) []byte {
	b := make([]byte, 2*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

func TestDecodeWAV(t *testing.T) {
	t.Parallel()
	f32 := func(vs ...float32) []byte {
		b := make([]byte, 4*len(vs))
		for i, v := range vs {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		return b
	}
	f64 := func(vs ...float64) []byte {
		b := make([]byte, 8*len(vs))
		for i, v := range vs {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
		}
		return b
	}
	odd := []byte("LIST\x03\x00\x00\x00abc\x00")  // odd size, padded
	oddNoPad := []byte("LIST\x03\x00\x00\x00abc") // odd size, pad byte missing
	tests := []struct {
		name string
		wav  wavFile
		rate int
		want [][]float32
	}{
		{"PCM16Mono", wavFile{tag: 1, channels: 1, rate: 8000, blockAlign: 2, bits: 16, data: le16(0, 16384, -32768, 32767)},
			8000, [][]float32{{0, 0.5, -1, 32767.0 / 32768}}},
		{"PCM16StereoDeinterleaves", wavFile{tag: 1, channels: 2, rate: 16000, blockAlign: 4, bits: 16, data: le16(100, -100, 200, -200)},
			16000, [][]float32{{100.0 / 32768, 200.0 / 32768}, {-100.0 / 32768, -200.0 / 32768}}},
		{"PCM8IsUnsigned", wavFile{tag: 1, channels: 1, rate: 8000, blockAlign: 1, bits: 8, data: []byte{128, 192, 0}},
			8000, [][]float32{{0, 0.5, -1}}},
		{"PCM24", wavFile{tag: 1, channels: 1, rate: 48000, blockAlign: 3, bits: 24, data: []byte{0, 0, 0x40, 0, 0, 0x80}},
			48000, [][]float32{{0.5, -1}}},
		{"PCM32", wavFile{tag: 1, channels: 1, rate: 44100, blockAlign: 4, bits: 32, data: []byte{0, 0, 0, 0x40, 0, 0, 0, 0xC0}},
			44100, [][]float32{{0.5, -0.5}}},
		{"Float32ClampsAndDropsNaN", wavFile{tag: 3, channels: 1, rate: 8000, blockAlign: 4, bits: 32, data: f32(0.25, 2, float32(math.NaN()))},
			8000, [][]float32{{0.25, 1, 0}}},
		{"Float64", wavFile{tag: 3, channels: 1, rate: 8000, blockAlign: 8, bits: 64, data: f64(-0.75, 0.125)},
			8000, [][]float32{{-0.75, 0.125}}},
		{"ULaw", wavFile{tag: 7, channels: 1, rate: 8000, blockAlign: 1, bits: 8, data: []byte{0xFF, 0x00, 0x80}},
			8000, [][]float32{{0, -32124.0 / 32768, 32124.0 / 32768}}},
		{"ALaw", wavFile{tag: 6, channels: 1, rate: 8000, blockAlign: 1, bits: 8, data: []byte{0xD5, 0x55, 0xAA}},
			8000, [][]float32{{8.0 / 32768, -8.0 / 32768, 32256.0 / 32768}}},
		{"ExtensiblePCM", wavFile{tag: 0xFFFE, channels: 2, rate: 8000, blockAlign: 4, bits: 16, ext: extensible(1, 16), data: le16(1, 2)},
			8000, [][]float32{{1.0 / 32768}, {2.0 / 32768}}},
		{"ExtensibleFloat", wavFile{tag: 0xFFFE, channels: 1, rate: 8000, blockAlign: 4, bits: 32, ext: extensible(3, 32), data: f32(0.5)},
			8000, [][]float32{{0.5}}},
		{"SkipsPaddedOddChunk", wavFile{tag: 1, channels: 1, rate: 8000, blockAlign: 2, bits: 16, extra: odd, data: le16(7)},
			8000, [][]float32{{7.0 / 32768}}},
		{"SkipsOddChunkWithoutPad", wavFile{tag: 1, channels: 1, rate: 8000, blockAlign: 2, bits: 16, extra: oddNoPad, data: le16(7)},
			8000, [][]float32{{7.0 / 32768}}},
		{"StreamingSizeZeroReadsToEnd", wavFile{tag: 1, channels: 1, rate: 8000, blockAlign: 2, bits: 16, data: le16(1, 2, 3), dataSize: u32(0)},
			8000, [][]float32{{1.0 / 32768, 2.0 / 32768, 3.0 / 32768}}},
		{"StreamingSizeMaxReadsToEnd", wavFile{tag: 1, channels: 1, rate: 8000, blockAlign: 2, bits: 16, data: le16(1, 2), dataSize: u32(0xFFFFFFFF)},
			8000, [][]float32{{1.0 / 32768, 2.0 / 32768}}},
		{"DropsTrailingPartialFrame", wavFile{tag: 1, channels: 2, rate: 8000, blockAlign: 4, bits: 16, data: append(le16(1, 2), 9, 9)},
			8000, [][]float32{{1.0 / 32768}, {2.0 / 32768}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := DecodeBytes(tt.wav.bytes(), Format{})
			if err != nil {
				t.Fatal(err)
			}
			if p.SampleRate != tt.rate {
				t.Errorf("sample rate %d, want %d", p.SampleRate, tt.rate)
			}
			assertChannels(t, p.Channels, tt.want)
		})
	}
}

func assertChannels(t *testing.T, got, want [][]float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d channels, want %d", len(got), len(want))
	}
	for c := range want {
		if len(got[c]) != len(want[c]) {
			t.Fatalf("channel %d: %d samples, want %d", c, len(got[c]), len(want[c]))
		}
		for i := range want[c] {
			if math.Abs(float64(got[c][i]-want[c][i])) > 1e-6 {
				t.Errorf("channel %d sample %d = %v, want %v", c, i, got[c][i], want[c][i])
			}
		}
	}
}

func TestDecodeRejectsBadInput(t *testing.T) {
	t.Parallel()
	good := wavFile{tag: 1, channels: 1, rate: 8000, blockAlign: 2, bits: 16, data: le16(1, 2, 3, 4)}
	with := func(f func(*wavFile)) []byte { w := good; f(&w); return w.bytes() }
	tests := []struct {
		name string
		data []byte
		hint Format
	}{
		{"Empty", nil, Format{}},
		{"HeaderOnly", []byte("RIFF\x00\x00\x00\x00WAVE"), Format{}},
		{"TruncatedHeader", good.bytes()[:20], Format{}},
		{"DataClaimsMoreThanPresent", with(func(w *wavFile) { w.dataSize = u32(1 << 20) }), Format{}},
		{"ZeroChannels", with(func(w *wavFile) { w.channels = 0 }), Format{}},
		{"AbsurdChannels", with(func(w *wavFile) { w.channels = 5000; w.blockAlign = 10000 }), Format{}},
		{"AbsurdSampleRate", with(func(w *wavFile) { w.rate = 4_000_000_000 }), Format{}},
		{"ZeroSampleRate", with(func(w *wavFile) { w.rate = 0 }), Format{}},
		{"ZeroBlockAlign", with(func(w *wavFile) { w.blockAlign = 0 }), Format{}},
		{"BlockAlignMismatch", with(func(w *wavFile) { w.blockAlign = 3 }), Format{}},
		{"OddBitDepth", with(func(w *wavFile) { w.bits = 12 }), Format{}},
		{"UnknownFormatTag", with(func(w *wavFile) { w.tag = 0x55 }), Format{}},
		{"UnknownExtensibleGUID", with(func(w *wavFile) { w.tag = 0xFFFE; w.ext = extensible(1, 16); w.ext[20] = 0xEE }), Format{}},
		{"DataWithoutSample", with(func(w *wavFile) { w.data = []byte{1} }), Format{}},
		{"NoFmtChunk", []byte("RIFF\x00\x00\x00\x00WAVEdata\x02\x00\x00\x00\x01\x02"), Format{}},
		{"NoDataChunk", with(func(w *wavFile) { w.data = nil })[:36], Format{}},
		{"ChunkClaimsTooMuch", []byte("RIFF\x00\x00\x00\x00WAVELIST\xff\xff\x00\x00abc"), Format{}},
		{"WAV49NeedsMonoAnd65ByteBlocks", with(func(w *wavFile) { w.tag = 0x31; w.blockAlign = 33 }), Format{}},
		{"HeaderlessWithoutHint", []byte{1, 2, 3, 4, 5, 6, 7, 8}, Format{}},
		{"SlinOddByte", []byte{1}, Format{Codec: CodecSlin}},
		{"SlinAbsurdRate", []byte{1, 2}, Format{Codec: CodecSlin, SampleRate: 10}},
		{"SlinAbsurdChannels", []byte{1, 2}, Format{Codec: CodecSlin, Channels: 1000}},
		{"GSMHintButNotGSM", bytes.Repeat([]byte{0x11}, 33), Format{Codec: CodecGSM}},
		{"GSMTruncatedFrame", append(bytes.Repeat([]byte{0xD0}, 33), 0xD0), Format{Codec: CodecGSM}},
		{"MP3HintButGarbage", bytes.Repeat([]byte{0x42}, 500), Format{Codec: CodecMP3}},
		{"ID3Only", []byte("ID3\x04\x00\x00\x00\x00\x00\x00"), Format{}},
		{"ID3ClaimsTooMuch", []byte("ID3\x04\x00\x00\x7f\x7f\x7f\x7f\xff\xfb"), Format{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := DecodeBytes(tt.data, tt.hint)
			if err == nil {
				t.Fatalf("decoded %d samples at %d Hz, want an error", p.Len(), p.SampleRate)
			}
			if code := callscope.ErrorCode(err); code != callscope.EINVALID {
				t.Errorf("error code %q (%v), want %q", code, err, callscope.EINVALID)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	t.Parallel()
	wav := wavFile{tag: 1, channels: 1, rate: 8000, blockAlign: 2, bits: 16, data: le16(1)}.bytes()
	gsm := bytes.Repeat(append([]byte{0xD5}, make([]byte, 32)...), 3)
	mp3, err := os.ReadFile("testdata/speech-mpeg2-mono.mp3")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		hint Format
		want Codec
	}{
		{"WAVHeaderBeatsHint", wav, Format{Codec: CodecSlin}, CodecWAV},
		{"GSMByMagicNibble", gsm, Format{}, CodecGSM},
		{"GSMByMagicDespiteWAVName", gsm, FormatFromName("call.wav"), CodecGSM},
		{"ULawHintForHeaderlessData", gsm, Format{Codec: CodecULaw}, CodecULaw},
		{"MP3ByID3", mp3, Format{}, CodecMP3},
		{"MP3ByFrameSync", mp3[45:], Format{}, CodecMP3},
		{"UnknownWithoutHint", []byte{1, 2, 3, 4}, Format{}, CodecUnknown},
		{"SlinHint", []byte{1, 2, 3, 4}, FormatFromName("x.sln16"), CodecSlin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect(tt.data, tt.hint); got != tt.want {
				t.Errorf("Detect = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFormatFromName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want Format
	}{
		{"rec/abc.gsm", Format{Codec: CodecGSM, SampleRate: 8000}},
		{"abc.WAV", Format{Codec: CodecWAV}},
		{"abc.sln", Format{Codec: CodecSlin, SampleRate: 8000}},
		{"abc.sln16", Format{Codec: CodecSlin, SampleRate: 16000}},
		{"abc.sln44", Format{Codec: CodecSlin, SampleRate: 44100}},
		{"abc.ulaw", Format{Codec: CodecULaw, SampleRate: 8000}},
		{"abc.al", Format{Codec: CodecALaw, SampleRate: 8000}},
		{"abc.mp3", Format{Codec: CodecMP3}},
		{"abc.ogg", Format{}},
		{"noext", Format{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatFromName(tt.name); got != tt.want {
				t.Errorf("FormatFromName(%q) = %+v, want %+v", tt.name, got, tt.want)
			}
		})
	}
}

func TestDecodeRaw(t *testing.T) {
	t.Parallel()
	t.Run("SlinAtDeclaredRate", func(t *testing.T) {
		p, err := Decode(bytes.NewReader(le16(1, -1, 2, -2)), Format{Codec: CodecSlin, SampleRate: 16000, Channels: 2})
		if err != nil {
			t.Fatal(err)
		}
		if p.SampleRate != 16000 {
			t.Errorf("rate %d", p.SampleRate)
		}
		assertChannels(t, p.Channels, [][]float32{{1.0 / 32768, 2.0 / 32768}, {-1.0 / 32768, -2.0 / 32768}})
	})
	t.Run("ULawDefaultsTo8kMono", func(t *testing.T) {
		p, err := DecodeBytes([]byte{0xFF, 0x7F, 0x00}, Format{Codec: CodecULaw})
		if err != nil {
			t.Fatal(err)
		}
		if p.SampleRate != 8000 || p.Duration() != 375*time.Microsecond {
			t.Errorf("rate %d duration %v", p.SampleRate, p.Duration())
		}
		assertChannels(t, p.Channels, [][]float32{{0, 0, -32124.0 / 32768}})
	})
}

// TestG711MatchesSox compares every μ-law and A-law code with sox's
// expansion.
func TestG711MatchesSox(t *testing.T) {
	t.Parallel()
	sox, err := exec.LookPath("sox")
	if err != nil {
		t.Skip("sox not installed (apt-get install sox)")
	}
	codes := make([]byte, 256)
	for i := range codes {
		codes[i] = byte(i)
	}
	for _, c := range []struct {
		codec Codec
		soxT  string
	}{{CodecULaw, "ul"}, {CodecALaw, "al"}} {
		t.Run(string(c.codec), func(t *testing.T) {
			cmd := exec.Command(sox, "-t", c.soxT, "-r", "8000", "-c", "1", "-", "-t", "raw", "-e", "signed", "-b", "16", "-")
			cmd.Stdin = bytes.NewReader(codes)
			want, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			p, err := DecodeBytes(codes, Format{Codec: c.codec})
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Int16LE(); !bytes.Equal(got, want) {
				t.Errorf("expansion differs from sox:\n got %x\nwant %x", got, want)
			}
		})
	}
}

// TestDecodeWAV49 checks Microsoft GSM in WAV against sox's decoding of the
// same file, kept in testdata.
func TestDecodeWAV49(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/tone-wav49.wav")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/tone-wav49.s16")
	if err != nil {
		t.Fatal(err)
	}
	p, err := DecodeBytes(data, FormatFromName("tone.WAV"))
	if err != nil {
		t.Fatal(err)
	}
	if p.SampleRate != 8000 || len(p.Channels) != 1 {
		t.Fatalf("rate %d, %d channels", p.SampleRate, len(p.Channels))
	}
	if got := p.Int16LE(); !bytes.Equal(got, want) {
		t.Errorf("WAV49 output differs from sox (%d vs %d bytes, SNR %.1f dB)", len(got), len(want), snrInt16(want, got))
	}
}

func TestDecodeMP3(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/speech-mpeg2-mono.mp3")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Decode(bytes.NewReader(data), Format{})
	if err != nil {
		t.Fatal(err)
	}
	if p.SampleRate != 22050 || len(p.Channels) != 1 {
		t.Fatalf("rate %d, %d channels; want 22050 Hz mono", p.SampleRate, len(p.Channels))
	}
	// 200 frames of 576 samples.
	if d := p.Duration(); d < 5*time.Second || d > 5300*time.Millisecond {
		t.Errorf("duration %v, want about 5.2 s", d)
	}
	if r := rms(p.Channels[0]); r < 0.01 {
		t.Errorf("RMS %.4f: decoded speech is silent", r)
	}
}

func TestPCMHelpers(t *testing.T) {
	t.Parallel()
	p := &PCM{SampleRate: 8000, Channels: [][]float32{{0.5, -1, 0}, {0.25, 1, 2}}}
	t.Run("MonoAverages", func(t *testing.T) {
		assertChannels(t, [][]float32{p.Mono()}, [][]float32{{0.375, 0, 1}})
	})
	t.Run("Int16LEInterleavesAndClamps", func(t *testing.T) {
		want := le16(16384, 8192, -32768, 32767, 0, 32767)
		if got := p.Int16LE(); !bytes.Equal(got, want) {
			t.Errorf("got %x, want %x", got, want)
		}
	})
	t.Run("WAVRoundTrips", func(t *testing.T) {
		q, err := DecodeBytes(p.WAV(), Format{})
		if err != nil {
			t.Fatal(err)
		}
		if q.SampleRate != 8000 {
			t.Errorf("rate %d", q.SampleRate)
		}
		assertChannels(t, q.Channels, [][]float32{{0.5, -1, 0}, {0.25, 32767.0 / 32768, 32767.0 / 32768}})
	})
	t.Run("EncodeWAVRejectsRaggedChannels", func(t *testing.T) {
		err := EncodeWAV(&bytes.Buffer{}, &PCM{SampleRate: 8000, Channels: [][]float32{{1}, {}}})
		if callscope.ErrorCode(err) != callscope.EINVALID {
			t.Errorf("err = %v, want EINVALID", err)
		}
	})
	t.Run("Duration", func(t *testing.T) {
		q := &PCM{SampleRate: 16000, Channels: [][]float32{make([]float32, 24000)}}
		if q.Duration() != 1500*time.Millisecond {
			t.Errorf("duration %v", q.Duration())
		}
	})
}

func rms(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(max(1, len(x))))
}
