package stt_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/audio"
	"github.com/callscope/callscope/internal/stt"
)

// needTools skips the test when a Debian tool it needs is missing.
func needTools(t testing.TB, tools ...string) {
	t.Helper()
	pkgs := map[string]string{"pocketsphinx_continuous": "pocketsphinx pocketsphinx-en-us", "pocketsphinx_batch": "pocketsphinx pocketsphinx-en-us", "flite": "flite", "sox": "sox"}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install %s)", tool, pkgs[tool])
		}
	}
}

// MustFlite speaks text with a flite voice into a 16 kHz WAV file.
func MustFlite(tb testing.TB, dir, voice, text string) string {
	tb.Helper()
	name := filepath.Join(dir, fmt.Sprintf("%s-%d.wav", voice, len(text)+rand.IntN(1e9)))
	if out, err := exec.Command("flite", "-voice", voice, "-t", text, "-o", name).CombinedOutput(); err != nil {
		tb.Fatalf("flite: %v: %s", err, out)
	}
	return name
}

// MustSox runs sox with args.
func MustSox(tb testing.TB, args ...string) {
	tb.Helper()
	if out, err := exec.Command("sox", args...).CombinedOutput(); err != nil {
		tb.Fatalf("sox %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// MustDecodeFile decodes an audio file with the audio package.
func MustDecodeFile(tb testing.TB, name string) *audio.PCM {
	tb.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := audio.DecodeBytes(data, audio.FormatFromName(name))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func wer(ref, hyp string) float64 {
	e, n := stt.WordErrors(ref, hyp)
	return float64(e) / float64(max(n, 1))
}

func TestPocketSphinxFliteSpeech(t *testing.T) {
	needTools(t, "pocketsphinx_continuous", "flite")
	t.Parallel()
	const text = "Hello, I am calling about my bank account. My card was stolen yesterday."
	pcm := MustDecodeFile(t, MustFlite(t, t.TempDir(), "slt", text))
	p := stt.NewPocketSphinx(stt.PocketSphinxConfig{})
	if err := p.Health(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := stt.Audio{Samples: pcm.Mono(), SampleRate: pcm.SampleRate, Language: "en-US"}
	res, err := p.Transcribe(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	var words []string
	for _, s := range res.Segments {
		if s.Start < 0 || s.End > a.Seconds() || s.End < s.Start {
			t.Errorf("segment %+v outside the %.2f s clip", s, a.Seconds())
		}
		if s.Confidence <= 0 || s.Confidence > 1 {
			t.Errorf("segment confidence %v outside (0, 1]", s.Confidence)
		}
		for _, w := range s.Words {
			if strings.ContainsAny(w.Text, "()<>[]") {
				t.Errorf("marker %q left in the words", w.Text)
			}
		}
		words = append(words, s.Text)
	}
	hyp := strings.Join(words, " ")
	if w := wer(text, hyp); w > 0.35 {
		t.Errorf("WER %.0f%%: heard %q for %q", w*100, hyp, text)
	}
	if res.EngineTime <= 0 || res.EngineCPU <= 0 {
		t.Errorf("engine time %v, CPU %v not measured", res.EngineTime, res.EngineCPU)
	}
	t.Logf("heard %q (WER %.0f%%) in %v (%v CPU)", hyp, wer(text, hyp)*100, res.EngineTime, res.EngineCPU)

	t.Run("OtherLanguageRefused", func(t *testing.T) {
		a.Language = "sw"
		if _, err := p.Transcribe(context.Background(), a); callscope.ErrorCode(err) != callscope.EINVALID {
			t.Errorf("Swahili clip: %v, want EINVALID", err)
		}
	})
}

func TestPocketSphinxNotInstalled(t *testing.T) {
	t.Parallel()
	p := stt.NewPocketSphinx(stt.PocketSphinxConfig{Binary: "no-such-recogniser"})
	if err := p.Health(context.Background()); callscope.ErrorCode(err) != callscope.EUNAVAILABLE {
		t.Errorf("Health = %v, want EUNAVAILABLE", err)
	}
	_, err := p.Transcribe(context.Background(), tone(1, 0.3))
	if callscope.ErrorCode(err) != callscope.EUNAVAILABLE {
		t.Errorf("Transcribe = %v, want EUNAVAILABLE", err)
	}
}

func TestParsePocketSphinx(t *testing.T) {
	t.Parallel()
	out := `hello i am calling
<s> 0.000 0.130 0.999500
hello(2) 0.140 0.680 0.999200
<sil> 0.690 0.850 0.851446
[NOISE] 0.860 0.900 0.5
i 0.860 0.980 0.255468
calling 1.140 1.430 1.000300

thank you for calling how
</s> 4.810 4.930 1.000000
`
	got := stt.ParsePocketSphinx([]byte(out))
	want := []stt.Word{{"hello", 0.14, 0.68, 0.9992}, {"i", 0.86, 0.98, 0.255468}, {"calling", 1.14, 1.43, 1}}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("word %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// dialogue is a two-party call: turns alternate between the caller (left
// channel, voice rms) and the agent (right channel, voice slt).
var dialogue = []struct{ speaker, text string }{
	{audio.SpeakerAgent, "Thank you for calling the help line. How can I help you today?"},
	{audio.SpeakerCaller, "My bank card was stolen yesterday and I need a new one."},
	{audio.SpeakerAgent, "I am sorry to hear that. Can you tell me your account number please?"},
	{audio.SpeakerCaller, "Yes, it is seven four two one nine."},
}

// MustDialogue writes the dialogue as a stereo WAV file, caller left and
// agent right, each channel silent while the other party speaks, and
// returns its name and the turns' start times in seconds.
func MustDialogue(tb testing.TB) (string, []float64) {
	tb.Helper()
	dir := tb.TempDir()
	voice := map[string]string{audio.SpeakerCaller: "rms", audio.SpeakerAgent: "slt"}
	const pause = 0.8
	var starts []float64
	var left, right []string
	at := 0.5
	for i, turn := range dialogue {
		wav := MustFlite(tb, dir, voice[turn.speaker], turn.text)
		spoken := filepath.Join(dir, fmt.Sprintf("turn%d.wav", i))
		quiet := filepath.Join(dir, fmt.Sprintf("quiet%d.wav", i))
		// The turn with a pause after it, and as much silence for the other side.
		MustSox(tb, wav, "-r", "16000", "-c", "1", "-b", "16", spoken, "pad", "0", fmt.Sprint(pause))
		MustSox(tb, spoken, quiet, "vol", "0")
		if turn.speaker == audio.SpeakerCaller {
			left, right = append(left, spoken), append(right, quiet)
		} else {
			left, right = append(left, quiet), append(right, spoken)
		}
		starts = append(starts, at)
		at += soxSeconds(tb, spoken)
	}
	l, r := filepath.Join(dir, "left.wav"), filepath.Join(dir, "right.wav")
	lead := filepath.Join(dir, "lead.wav")
	MustSox(tb, "-n", "-r", "16000", "-c", "1", "-b", "16", lead, "trim", "0", "0.5")
	MustSox(tb, append(append([]string{lead}, left...), l)...)
	MustSox(tb, append(append([]string{lead}, right...), r)...)
	stereo := filepath.Join(dir, "call.wav")
	MustSox(tb, "-M", l, r, stereo)
	return stereo, starts
}

func soxSeconds(tb testing.TB, name string) float64 {
	tb.Helper()
	return MustDecodeFile(tb, name).Duration().Seconds()
}

func TestPipelineStereoDialogue(t *testing.T) {
	needTools(t, "pocketsphinx_continuous", "flite", "sox")
	t.Parallel()
	name, starts := MustDialogue(t)
	pcm := MustDecodeFile(t, name)
	if len(pcm.Channels) != 2 {
		t.Fatalf("dialogue has %d channels", len(pcm.Channels))
	}
	engine := &countingEngine{next: stt.NewPocketSphinx(stt.PocketSphinxConfig{})}
	p := &stt.Pipeline{Engine: engine}
	tr, err := p.Run(context.Background(), pcm, audio.MixMonitorStereo, "en")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tr.Segments {
		t.Logf("%2d %-6s %6.2f–%6.2f %.2f %s", s.SegmentID, s.Speaker, s.StartTime, s.EndTime, s.Confidence, s.Text)
	}
	if engine.calls() != 1 {
		t.Errorf("%d recogniser runs, want 1 for the whole call (the model loaded once)", engine.calls())
	}
	if len(tr.Segments) < len(dialogue) {
		t.Fatalf("%d segments for %d turns", len(tr.Segments), len(dialogue))
	}
	// Every segment belongs to the turn it overlaps, and its words are
	// from that turn's sentence, spoken by that turn's speaker.
	heard := make([]string, len(dialogue))
	for i, s := range tr.Segments {
		if s.SegmentID != i+1 {
			t.Errorf("segment %d has id %d", i, s.SegmentID)
		}
		if i > 0 && s.StartTime < tr.Segments[i-1].StartTime {
			t.Errorf("segment %d starts before the one before it", s.SegmentID)
		}
		turn := turnAt(starts, (s.StartTime+s.EndTime)/2)
		if s.Speaker != dialogue[turn].speaker {
			t.Errorf("segment %d %q is labelled %s, but turn %d is the %s's", s.SegmentID, s.Text, s.Speaker, turn, dialogue[turn].speaker)
		}
		// The words fit the speaker's own sentence better than any of the
		// other party's.
		other := 1.0
		for _, d := range dialogue {
			if d.speaker != s.Speaker {
				other = min(other, werWithin(d.text, s.Text))
			}
		}
		if werWithin(dialogue[turn].text, s.Text) >= other {
			t.Errorf("segment %d %q (%s) matches the other party's words as well as its own", s.SegmentID, s.Text, s.Speaker)
		}
		heard[turn] += " " + s.Text
	}
	var errs, words int
	for i, d := range dialogue {
		e, n := stt.WordErrors(d.text, heard[i])
		errs, words = errs+e, words+n
		t.Logf("turn %d (%s): WER %.0f%%: %q", i, d.speaker, float64(e)*100/float64(n), strings.TrimSpace(heard[i]))
	}
	if w := float64(errs) / float64(words); w > 0.35 {
		t.Errorf("dialogue WER %.0f%%, want at most 35%%", w*100)
	}
	if tr.EngineSeconds <= 0 || tr.SpeechSeconds <= 0 || tr.SpeechSeconds > tr.AudioSeconds*2 {
		t.Errorf("figures: %+v", tr)
	}
}

// werWithin is the share of hyp's words that are not in ref: how far a
// segment's words are from a sentence, whatever part of it they cover.
func werWithin(ref, hyp string) float64 {
	in := map[string]bool{}
	for _, w := range stt.NormalizeWords(ref) {
		in[w] = true
	}
	words := stt.NormalizeWords(hyp)
	miss := 0
	for _, w := range words {
		if !in[w] {
			miss++
		}
	}
	return float64(miss) / float64(max(len(words), 1))
}

func turnAt(starts []float64, t float64) int {
	i := 0
	for j, s := range starts {
		if s <= t {
			i = j
		}
	}
	return i
}

// countingEngine counts the calls it passes on to the next engine (or
// answers "speech" for every clip when next is nil), keeping the clips.
type countingEngine struct {
	next  stt.Transcriber
	sleep float64 // seconds of engine time per second of audio, for a nil next

	mu    sync.Mutex
	n     int
	clips []stt.Audio
}

func (c *countingEngine) record(clips ...stt.Audio) {
	c.mu.Lock()
	c.n++
	c.clips = append(c.clips, clips...)
	c.mu.Unlock()
}

func (c *countingEngine) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *countingEngine) Transcribe(ctx context.Context, a stt.Audio) (stt.Result, error) {
	c.record(a)
	if c.next != nil {
		return c.next.Transcribe(ctx, a)
	}
	d := time.Duration(a.Seconds() * c.sleep * float64(time.Second))
	start := time.Now()
	time.Sleep(d)
	return stt.Result{EngineTime: time.Since(start), Segments: []stt.Segment{{Start: 0.1, End: a.Seconds() - 0.1, Text: "speech", Confidence: 0.9}}}, nil
}

// TranscribeBatch passes batches on when the next engine takes them.
func (c *countingEngine) TranscribeBatch(ctx context.Context, clips []stt.Audio) ([]stt.Result, error) {
	b, ok := c.next.(stt.BatchTranscriber)
	if !ok {
		var rs []stt.Result
		for _, a := range clips {
			r, err := c.Transcribe(ctx, a)
			if err != nil {
				return nil, err
			}
			rs = append(rs, r)
		}
		return rs, nil
	}
	c.record(clips...)
	return b.TranscribeBatch(ctx, clips)
}

// plainEngine hides countingEngine's batch method.
type plainEngine struct{ *countingEngine }

func (p plainEngine) Transcribe(ctx context.Context, a stt.Audio) (stt.Result, error) {
	return p.countingEngine.Transcribe(ctx, a)
}

func TestPipelineSilenceAndNoise(t *testing.T) {
	t.Parallel()
	const rate, secs = 8000, 20
	n := rate * secs
	rng := rand.New(rand.NewPCG(1, 2))
	white := make([]float32, n)
	brown := make([]float32, n)
	hum := make([]float32, n)
	var b float64
	for i := range n {
		white[i] = float32(rng.NormFloat64() * 0.1)
		b = 0.995*b + rng.NormFloat64()*0.02
		brown[i] = float32(b)
		hum[i] = float32(0.2*math.Sin(2*math.Pi*50*float64(i)/rate) + 0.05*math.Sin(2*math.Pi*150*float64(i)/rate) + rng.NormFloat64()*0.01)
	}
	for _, tc := range []struct {
		name string
		pcm  *audio.PCM
		m    audio.ChannelMap
	}{
		{"DigitalSilence", &audio.PCM{SampleRate: rate, Channels: [][]float32{make([]float32, n), make([]float32, n)}}, audio.TwilioDualChannel},
		{"WhiteNoise", &audio.PCM{SampleRate: rate, Channels: [][]float32{white}}, audio.MonoMixed},
		{"BrownNoiseAndHum", &audio.PCM{SampleRate: rate, Channels: [][]float32{brown, hum}}, audio.MixMonitorStereo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, batch := range []bool{false, true} {
				e := &countingEngine{sleep: 0}
				var engine stt.Transcriber = e
				if !batch {
					engine = plainEngine{e}
				}
				tr, err := (&stt.Pipeline{Engine: engine}).Run(context.Background(), tc.pcm, tc.m, "en")
				if err != nil {
					t.Fatal(err)
				}
				if e.calls() != 0 || tr.EngineCalls != 0 || len(tr.Segments) != 0 || tr.SpeechSeconds != 0 {
					t.Errorf("%d engine calls, %d segments, %.1f s of speech sent; want none", e.calls(), len(tr.Segments), tr.SpeechSeconds)
				}
				if math.Abs(tr.AudioSeconds-secs) > 0.01 {
					t.Errorf("audio seconds %.2f, want %d", tr.AudioSeconds, secs)
				}
			}
		})
	}
}

func TestPipelineMapsTimesToTheCall(t *testing.T) {
	needTools(t, "flite", "sox")
	t.Parallel()
	name, starts := MustDialogue(t)
	pcm := MustDecodeFile(t, name)
	e := &countingEngine{sleep: 0}
	tr, err := (&stt.Pipeline{Engine: plainEngine{e}}).Run(context.Background(), pcm, audio.MixMonitorStereo, "en")
	if err != nil {
		t.Fatal(err)
	}
	// One clip per turn (the pauses inside a sentence are bridged), and
	// each segment starts near its turn on the call's timeline.
	if len(tr.Segments) != len(dialogue) || e.calls() != len(dialogue) {
		t.Fatalf("%d segments from %d engine calls, want %d of each: %+v", len(tr.Segments), e.calls(), len(dialogue), tr.Segments)
	}
	for i, s := range tr.Segments {
		if s.Speaker != dialogue[i].speaker {
			t.Errorf("segment %d is the %s's, want the %s's", i+1, s.Speaker, dialogue[i].speaker)
		}
		// The fake engine's segment starts 0.1 s into the clip; the clip
		// starts up to 250 ms (padding) before the voice.
		if d := s.StartTime - starts[i]; d < -0.3 || d > 0.3 {
			t.Errorf("segment %d starts at %.2f s, turn at %.2f s", i+1, s.StartTime, starts[i])
		}
	}
	if tr.SpeechSeconds >= tr.AudioSeconds {
		t.Errorf("%.1f s of %.1f s sent: silence was not left out", tr.SpeechSeconds, tr.AudioSeconds)
	}
}

func TestPipelineEngineErrors(t *testing.T) {
	t.Parallel()
	_, err := (&stt.Pipeline{}).Run(context.Background(), &audio.PCM{SampleRate: 8000, Channels: [][]float32{make([]float32, 8000)}}, nil, "")
	if callscope.ErrorCode(err) != callscope.EUNAVAILABLE {
		t.Errorf("no engine: %v, want EUNAVAILABLE", err)
	}
	_, err = (&stt.Pipeline{Engine: &countingEngine{}}).Run(context.Background(), &audio.PCM{SampleRate: 8000, Channels: [][]float32{make([]float32, 8000)}}, audio.TwilioDualChannel, "")
	if callscope.ErrorCode(err) != callscope.EINVALID {
		t.Errorf("stereo map on mono audio: %v, want EINVALID", err)
	}
}
