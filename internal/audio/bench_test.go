package audio

import (
	"math/rand/v2"
	"testing"
)

const benchSeconds = 60

// benchDecodeTo16k decodes one minute of 8 kHz input and resamples it to
// 16 kHz, reporting how many times faster than real time that runs.
func benchDecodeTo16k(b *testing.B, data []byte, hint Format) {
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		p, err := DecodeBytes(data, hint)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ResamplePCM(p, 16000); err != nil {
			b.Fatal(err)
		}
	}
	reportRealtime(b)
}

func reportRealtime(b *testing.B) {
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(benchSeconds/perOp, "x_realtime")
}

// BenchmarkDecodeGSMTo16k decodes raw GSM 06.10 frames (random parameters,
// which cost the same as speech) and resamples to 16 kHz.
func BenchmarkDecodeGSMTo16k(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, benchSeconds*50*gsmFrameSize)
	for i := range data {
		data[i] = byte(r.Uint32())
		if i%gsmFrameSize == 0 {
			data[i] = 0xD0 | data[i]&0x0F
		}
	}
	benchDecodeTo16k(b, data, Format{})
}

// BenchmarkDecodeULawTo16k decodes headerless 8 kHz μ-law and resamples to
// 16 kHz.
func BenchmarkDecodeULawTo16k(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, benchSeconds*8000)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	benchDecodeTo16k(b, data, Format{Codec: CodecULaw, SampleRate: 8000})
}

// BenchmarkResample44kTo16k converts one minute of 44.1 kHz audio.
func BenchmarkResample44kTo16k(b *testing.B) {
	x := whiteNoise(benchSeconds*44100, 0.1, 5)
	for b.Loop() {
		if _, err := Resample(x, 44100, 16000); err != nil {
			b.Fatal(err)
		}
	}
	reportRealtime(b)
}

// BenchmarkDetectSpeech16k runs the VAD over one minute of 16 kHz audio.
func BenchmarkDetectSpeech16k(b *testing.B) {
	x := pinkNoise(benchSeconds*16000, 0.01, 6)
	for b.Loop() {
		if _, err := DetectSpeech(x, 16000, VADConfig{}); err != nil {
			b.Fatal(err)
		}
	}
	reportRealtime(b)
}
