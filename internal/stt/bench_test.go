package stt_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/callscope/callscope/internal/audio"
	"github.com/callscope/callscope/internal/stt"
)

// BenchmarkPipelineOverhead measures what the transcription path costs
// beyond the engine's own time (target: under 5 %): splitting an 8 kHz
// stereo call per speaker, resampling to 16 kHz, voice detection, clip
// planning, time mapping and merging. The engine is a fake that sleeps a
// known time per second of audio: 0.25 s, the speed of pocketsphinx on
// this hardware class, and 0.05 s, a GPU Whisper server.
func BenchmarkPipelineOverhead(b *testing.B) {
	needTools(b, "flite", "sox")
	name, _ := MustDialogue(b)
	pcm, err := audio.ResamplePCM(MustDecodeFile(b, name), 8000)
	if err != nil {
		b.Fatal(err)
	}
	for _, rtf := range []float64{0.25, 0.05} {
		b.Run(fmt.Sprintf("EngineRTF=%.2f", rtf), func(b *testing.B) {
			e := &countingEngine{sleep: rtf}
			p := &stt.Pipeline{Engine: plainEngine{e}}
			var engine, total time.Duration
			for b.Loop() {
				start := time.Now()
				tr, err := p.Run(context.Background(), pcm, audio.MixMonitorStereo, "en")
				if err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				engine += time.Duration(tr.EngineSeconds * float64(time.Second))
			}
			b.ReportMetric(100*float64(total-engine)/float64(engine), "overhead-%")
			b.ReportMetric(float64(total-engine)/float64(b.N)/1e6, "overhead-ms/call")
			b.ReportMetric(pcm.Duration().Seconds(), "audio-s/call")
		})
	}
}
