package dial

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/callscope/callscope/internal/audio"
)

// Speaker turns text into a spoken WAV recording and returns its length
// in seconds.
type Speaker interface {
	Speak(ctx context.Context, text string) (wav []byte, seconds float64, err error)
}

// Flite speaks with the flite command (Debian package flite).
type Flite struct {
	// Path is the flite binary; "" looks it up on PATH.
	Path string
}

var _ Speaker = Flite{}

// FliteInstalled returns a Flite speaker when flite is on PATH.
func FliteInstalled() (Flite, bool) {
	p, err := exec.LookPath("flite")
	if err != nil {
		return Flite{}, false
	}
	return Flite{Path: p}, true
}

// maxSpeech bounds the text spoken into one recording.
const maxSpeech = 20000

// Speak implements Speaker.
func (f Flite) Speak(ctx context.Context, text string) ([]byte, float64, error) {
	bin := f.Path
	if bin == "" {
		bin = "flite"
	}
	if len(text) > maxSpeech {
		text = text[:maxSpeech]
	}
	dir, err := os.MkdirTemp("", "callscope-flite-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(dir)
	txt, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.wav")
	// The text goes in a file, never on the command line: it comes from
	// users' scripts.
	if err := os.WriteFile(txt, []byte(text), 0o600); err != nil {
		return nil, 0, err
	}
	cmd := exec.CommandContext(ctx, bin, "-f", txt, "-o", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, 0, fmt.Errorf("flite: %w: %s", err, msg)
	}
	wav, err := os.ReadFile(out)
	if err != nil {
		return nil, 0, err
	}
	pcm, err := audio.DecodeBytes(wav, audio.Format{})
	if err != nil {
		return nil, 0, fmt.Errorf("flite output: %w", err)
	}
	return wav, pcm.Duration().Seconds(), nil
}

// ToneWAV is a recording of a quiet 440 Hz tone, seconds long (8 kHz mono),
// for when no speech synthesiser is installed.
func ToneWAV(seconds float64) []byte {
	const rate = 8000
	n := int(seconds * rate)
	ch := make([]float32, n)
	for i := range ch {
		ch[i] = float32(0.1 * math.Sin(2*math.Pi*440*float64(i)/rate))
	}
	return (&audio.PCM{SampleRate: rate, Channels: [][]float32{ch}}).WAV()
}
