package stt

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callscope/callscope/internal/audio"
)

// TestPocketSphinxStream feeds a stream's recogniser three utterances of
// telephone audio (flite at 8 kHz) one after another, as a live call
// does: one process serves them all, and each utterance comes back with
// its own words, timed from its start.
func TestPocketSphinxStream(t *testing.T) {
	p := NewPocketSphinx(PocketSphinxConfig{})
	if p.Health(context.Background()) != nil {
		t.Skip("pocketsphinx is not installed")
	}
	if _, err := exec.LookPath("flite"); err != nil {
		t.Skip("flite is not installed")
	}
	say := func(text string) Audio {
		wav := filepath.Join(t.TempDir(), "u.wav")
		if out, err := exec.Command("flite", "-voice", "slt", "-t", text, "-o", wav).CombinedOutput(); err != nil {
			t.Fatalf("flite: %v\n%s", err, out)
		}
		data, err := os.ReadFile(wav)
		if err != nil {
			t.Fatal(err)
		}
		pcm, err := audio.DecodeBytes(data, audio.Format{})
		if err != nil {
			t.Fatal(err)
		}
		x, err := audio.Resample(pcm.Channels[0], pcm.SampleRate, 8000)
		if err != nil {
			t.Fatal(err)
		}
		return Audio{Samples: x, SampleRate: 8000}
	}
	s := p.OpenStream()
	defer s.Close()
	ctx := context.Background()
	var hits, total int
	for _, line := range []string{"hello my name is amina", "are you safe right now", "thank you for calling"} {
		a := say(line)
		res, err := s.Transcribe(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		var words []string
		for _, sg := range res.Segments {
			if sg.Start < 0 || sg.End > a.Seconds()+0.5 {
				t.Errorf("%q: segment %.2f-%.2f outside the clip of %.2f s", line, sg.Start, sg.End, a.Seconds())
			}
			words = append(words, sg.Text)
		}
		got := strings.Join(words, " ")
		t.Logf("%q heard as %q in %v", line, got, res.EngineTime)
		for _, w := range strings.Fields(line) {
			total++
			if strings.Contains(" "+got+" ", " "+w+" ") {
				hits++
			}
		}
	}
	// Telephone audio: most words, not all.
	if hits*2 < total {
		t.Errorf("%d of %d words heard", hits, total)
	}
}
