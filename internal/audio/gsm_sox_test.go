package audio

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
)

// asteriskSounds is where Debian's asterisk-core-sounds-en-gsm installs the
// prompts.
const asteriskSounds = "/usr/share/asterisk/sounds/en_US_f_Allison"

// TestGSMMatchesSox decodes Debian's Asterisk GSM prompts with this package
// and with sox (libgsm) and requires bit-exact output.
func TestGSMMatchesSox(t *testing.T) {
	sox, err := exec.LookPath("sox")
	if err != nil {
		t.Skip("sox not installed (apt-get install sox)")
	}
	files, _ := filepath.Glob(filepath.Join(asteriskSounds, "*.gsm"))
	if len(files) == 0 {
		t.Skip("no GSM prompts in " + asteriskSounds + " (apt-get install asterisk-core-sounds-en-gsm)")
	}
	sort.Strings(files)
	if len(files) > 40 {
		step := len(files) / 40
		var pick []string
		for i := 0; i < len(files) && len(pick) < 40; i += step {
			pick = append(pick, files[i])
		}
		files = pick
	}
	exact, minSNR := 0, math.Inf(1)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := exec.Command(sox, "-t", "gsm", f, "-t", "raw", "-e", "signed", "-b", "16", "-").Output()
		if err != nil {
			t.Fatalf("sox %s: %v", f, err)
		}
		p, err := DecodeBytes(data, Format{})
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		got := p.Int16LE()
		if bytes.Equal(got, want) {
			exact++
			continue
		}
		snr := snrInt16(want, got)
		minSNR = min(minSNR, snr)
		t.Errorf("%s: differs from sox (len %d vs %d, SNR %.1f dB)", filepath.Base(f), len(got), len(want), snr)
	}
	t.Logf("GSM vs sox: %d of %d files bit-exact; lowest SNR of the others %.1f dB", exact, len(files), minSNR)
}

// snrInt16 returns the SNR in dB of got against the reference want, both
// 16-bit little-endian.
func snrInt16(want, got []byte) float64 {
	n := min(len(want), len(got)) / 2
	var sig, noise float64
	for i := range n {
		w := float64(int16(binary.LittleEndian.Uint16(want[2*i:])))
		g := float64(int16(binary.LittleEndian.Uint16(got[2*i:])))
		sig += w * w
		noise += (w - g) * (w - g)
	}
	if noise == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(sig/noise)
}
