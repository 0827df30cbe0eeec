package audio

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/callscope/callscope"
)

// utterance is one line of a synthetic dialogue.
type utterance struct {
	voice, text string
	gapAfter    time.Duration
}

// dialogue is the script the VAD is measured on: two parties alternating,
// with pauses from a third of a second to two and a half seconds.
var dialogue = []utterance{
	{"slt", "Thank you for calling the support line, my name is Sarah.", 900 * time.Millisecond},
	{"rms", "Hi Sarah, my internet connection keeps dropping every evening.", 1200 * time.Millisecond},
	{"slt", "I am sorry to hear that.", 400 * time.Millisecond},
	{"slt", "Can you tell me the account number please?", 2500 * time.Millisecond},
	{"kal", "Yes, it is four seven two nine one.", 700 * time.Millisecond},
	{"slt", "Thanks. I can see two outages on your street this week.", 1500 * time.Millisecond},
	{"rms", "So what should I do?", 600 * time.Millisecond},
	{"slt", "I will book an engineer visit for tomorrow morning.", 2000 * time.Millisecond},
	{"kal", "Great, thank you so much.", 1000 * time.Millisecond},
	{"slt", "You are welcome, goodbye.", 1500 * time.Millisecond},
}

// synthesize renders a dialogue at 16 kHz with flite and returns the audio
// and, for each 10 ms frame, whether it lies inside an utterance (from the
// first to the last sample above -40 dB of that utterance's peak).
func synthesize(t *testing.T, lines []utterance) ([]float32, []bool) {
	t.Helper()
	flite, err := exec.LookPath("flite")
	if err != nil {
		t.Skip("flite not installed (apt-get install flite); it synthesises the VAD test dialogues")
	}
	const rate = 16000
	dir := t.TempDir()
	audio := make([]float32, rate) // one second of lead-in
	var truth [][2]int             // sample spans of speech
	for i, u := range lines {
		name := filepath.Join(dir, "u.wav")
		if out, err := exec.Command(flite, "-voice", u.voice, "-t", u.text, "-o", name).CombinedOutput(); err != nil {
			t.Fatalf("flite line %d: %v: %s", i, err, out)
		}
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := DecodeBytes(data, Format{})
		if err != nil {
			t.Fatalf("decoding flite output: %v", err)
		}
		if p, err = ResamplePCM(p, rate); err != nil {
			t.Fatal(err)
		}
		x := p.Mono()
		var peak float32
		for _, v := range x {
			peak = max(peak, float32(math.Abs(float64(v))))
		}
		first, last := -1, -1
		for j, v := range x {
			if math.Abs(float64(v)) > 0.01*float64(peak) {
				if first < 0 {
					first = j
				}
				last = j
			}
		}
		x = x[first : last+1]
		truth = append(truth, [2]int{len(audio), len(audio) + len(x)})
		audio = append(audio, x...)
		audio = append(audio, make([]float32, int(u.gapAfter.Seconds()*rate))...)
	}
	audio = append(audio, make([]float32, rate)...)
	// Bring the speech to a telephone-like -20 dBFS.
	Normalize(audio, Level{Mode: LevelRMS, TargetDBFS: -20})

	labels := make([]bool, len(audio)/(rate/100))
	for _, s := range truth {
		for f := s[0] / (rate / 100); f < len(labels) && f*(rate/100) < s[1]; f++ {
			labels[f] = true
		}
	}
	return audio, labels
}

// speechRMS is the RMS of the labelled speech frames.
func speechRMS(x []float32, labels []bool, rate int) float64 {
	hop := rate / 100
	var s float64
	var n int
	for f, sp := range labels {
		if sp {
			for _, v := range x[f*hop : min(len(x), (f+1)*hop)] {
				s += float64(v) * float64(v)
				n++
			}
		}
	}
	return math.Sqrt(s / float64(n))
}

// frameAccuracy is the share of 10 ms frames where the regions agree with
// the labels.
func frameAccuracy(regions []Region, labels []bool) float64 {
	got := make([]bool, len(labels))
	for _, r := range regions {
		for f := int(r.Start / vadHop); f < len(got) && time.Duration(f)*vadHop < r.End; f++ {
			got[f] = true
		}
	}
	ok := 0
	for f := range labels {
		if got[f] == labels[f] {
			ok++
		}
	}
	return float64(ok) / float64(len(labels))
}

func TestDetectSpeechOnSyntheticDialogue(t *testing.T) {
	clean, labels := synthesize(t, dialogue)
	sig := speechRMS(clean, labels, 16000)
	noisy := func(noise []float32, snrDB float64) []float32 {
		s := sig / math.Pow(10, snrDB/20) / math.Sqrt(meanSquare(noise))
		out := make([]float32, len(clean))
		for i := range out {
			out[i] = clean[i] + float32(s)*noise[i]
		}
		return out
	}
	n := len(clean)
	tests := []struct {
		name  string
		audio []float32
		rate  int
	}{
		{"Clean16k", clean, 16000},
		{"WhiteNoise20dB16k", noisy(whiteNoise(n, 1, 11), 20), 16000},
		{"PinkNoise20dB16k", noisy(pinkNoise(n, 1, 12), 20), 16000},
		{"WhiteNoise20dB8k", noisy(whiteNoise(n, 1, 13), 20), 8000},
		{"PinkNoise20dB8k", noisy(pinkNoise(n, 1, 14), 20), 8000},
		{"GSM8k", nil, 8000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := tt.audio
			if x == nil {
				x = gsmRoundTrip(t, noisy(pinkNoise(n, 1, 15), 20))
			} else if tt.rate != 16000 {
				var err error
				if x, err = Resample(x, 16000, tt.rate); err != nil {
					t.Fatal(err)
				}
			}
			regions, err := DetectSpeech(x, tt.rate, VADConfig{})
			if err != nil {
				t.Fatal(err)
			}
			acc := frameAccuracy(regions, labels)
			t.Logf("frame accuracy %.1f %% (%d regions for %d utterances)", 100*acc, len(regions), len(dialogue))
			if acc < 0.90 {
				t.Errorf("frame accuracy %.1f %%, want ≥ 90 %%", 100*acc)
			}
		})
	}
}

// gsmRoundTrip encodes 16 kHz audio to GSM 06.10 at 8 kHz with sox and
// decodes it with this package, as a call recorded by Asterisk would be.
func gsmRoundTrip(t *testing.T, x []float32) []float32 {
	t.Helper()
	sox, err := exec.LookPath("sox")
	if err != nil {
		t.Skip("sox not installed (apt-get install sox)")
	}
	cmd := exec.Command(sox, "-t", "wav", "-", "-r", "8000", "-t", "gsm", "-")
	cmd.Stdin = bytes.NewReader((&PCM{SampleRate: 16000, Channels: [][]float32{x}}).WAV())
	gsm, err := cmd.Output()
	if err != nil {
		t.Fatalf("sox: %v", err)
	}
	p, err := DecodeBytes(gsm, Format{})
	if err != nil {
		t.Fatal(err)
	}
	return p.Channels[0]
}

func TestDetectSpeechIgnoresSilenceAndNoise(t *testing.T) {
	t.Parallel()
	const seconds = 12
	for _, rate := range []int{8000, 16000} {
		n := seconds * rate
		dither := whiteNoise(n, 0.5/32768, 3) // ±1 LSB of 16-bit audio
		tests := map[string][]float32{
			"DigitalSilence": make([]float32, n),
			"Dither":         dither,
			"DCOffset": func() []float32 {
				x := make([]float32, n)
				for i := range x {
					x[i] = 0.2
				}
				return x
			}(),
		}
		// Line noise that starts after digital silence, and noise whose
		// level steps up 15 dB and back down.
		late := whiteNoise(n, 0.01, 4)
		clear(late[:3*rate])
		tests["NoiseAfterSilence"] = late
		step := pinkNoise(n, 0.003, 5)
		for i := 3 * rate; i < 9*rate; i++ {
			step[i] *= 5.6
		}
		tests["NoiseLevelSteps"] = step
		for _, lvl := range []float64{-60, -40, -20, -6} {
			amp := math.Pow(10, lvl/20)
			tests["White"+dbName(lvl)] = whiteNoise(n, amp/2, uint64(rate)+uint64(-lvl))
			tests["Pink"+dbName(lvl)] = pinkNoise(n, amp/2, uint64(rate)+uint64(-lvl)+100)
		}
		for name, x := range tests {
			t.Run(name+"At"+dbName(float64(rate/1000))+"kHz", func(t *testing.T) {
				regions, err := DetectSpeech(x, rate, VADConfig{})
				if err != nil {
					t.Fatal(err)
				}
				if len(regions) != 0 {
					t.Errorf("%d speech regions in %s, first %v", len(regions), name, regions[0])
				}
			})
		}
	}
}

func dbName(v float64) string {
	if v < 0 {
		return fmt.Sprintf("Minus%gdB", -v)
	}
	return fmt.Sprintf("%g", v)
}

func TestDetectSpeechRegions(t *testing.T) {
	t.Parallel()
	const rate = 16000
	// A 1 s "speech" burst (a harmonic tone with a syllable-rate envelope)
	// in quiet noise, then a 150 ms click that is too short to count.
	x := whiteNoise(6*rate, 0.001, 5)
	for i := range rate {
		ti := float64(i) / rate
		env := 0.6 + 0.4*math.Sin(2*math.Pi*4*ti)
		var v float64
		for h := 1; h <= 10; h++ {
			v += math.Sin(2*math.Pi*150*float64(h)*ti) / float64(h)
		}
		x[2*rate+i] += float32(0.05 * env * v)
	}
	for i := range rate * 15 / 100 {
		x[4*rate+i] += float32(0.05 * math.Sin(2*math.Pi*1000*float64(i)/rate))
	}
	regions, err := DetectSpeech(x, rate, VADConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("FindsTheBurst", func(t *testing.T) {
		if len(regions) != 1 {
			t.Fatalf("regions %v, want one", regions)
		}
		r := regions[0]
		if d := r.Start - 2*time.Second; d < -100*time.Millisecond || d > 50*time.Millisecond {
			t.Errorf("start %v, want about 2 s", r.Start)
		}
		if d := r.End - 3*time.Second; d < -50*time.Millisecond || d > 100*time.Millisecond {
			t.Errorf("end %v, want about 3 s", r.End)
		}
	})
	t.Run("MinSpeechKeepsShortSoundsWhenLowered", func(t *testing.T) {
		r, err := DetectSpeech(x, rate, VADConfig{MinSpeech: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if len(r) != 2 {
			t.Errorf("regions %v, want the burst and the click", r)
		}
	})
	t.Run("RejectsLowSampleRate", func(t *testing.T) {
		if _, err := DetectSpeech(x, 4000, VADConfig{}); callscope.ErrorCode(err) != callscope.EINVALID {
			t.Errorf("err = %v, want EINVALID", err)
		}
	})
	t.Run("HandlesAnyLength", func(t *testing.T) {
		for _, n := range []int{1, 79, 80, 159, 160, 161, 399, 401, 5003} {
			for _, r := range []int{8000, 11025, 16000, 48000} {
				if _, err := DetectSpeech(x[:n], r, VADConfig{}); err != nil {
					t.Fatalf("%d samples at %d Hz: %v", n, r, err)
				}
			}
		}
	})
	t.Run("EmptyInputHasNoRegions", func(t *testing.T) {
		r, err := DetectSpeech(nil, rate, VADConfig{})
		if err != nil || len(r) != 0 {
			t.Errorf("regions %v, err %v", r, err)
		}
	})
}
