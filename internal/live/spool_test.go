package live

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/callscope/callscope/internal/audio"
)

// TestSpoolIsValidWAVAfterEachFlush reads the spool file as a crash would
// leave it: after a flush it decodes as WAV holding what was written;
// what came after the flush is not in it yet.
func TestSpoolIsValidWAVAfterEachFlush(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.wav")
	sp, err := newSpool(path, 8000, 1)
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]int16, 160)
	for i := range frame {
		frame[i] = int16(1000 * math.Sin(float64(i)))
	}
	for i := 0; i < 50; i++ { // 1 s
		if err := sp.write(0, frame, time.Duration(i)*20*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.flush(); err != nil {
		t.Fatal(err)
	}
	for i := 50; i < 60; i++ { // not flushed
		if err := sp.write(0, frame, time.Duration(i)*20*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := audio.DecodeBytes(data, audio.Format{})
	if err != nil {
		t.Fatalf("spool after a flush does not decode: %v", err)
	}
	if pcm.SampleRate != 8000 || len(pcm.Channels) != 1 || len(pcm.Channels[0]) != 8000 {
		t.Fatalf("spool after a flush: %d Hz, %d channels, %d samples; want 8000 Hz, 1, 8000", pcm.SampleRate, len(pcm.Channels), len(pcm.Channels[0]))
	}
	frames, err := sp.finish()
	if err != nil || frames != 9600 {
		t.Fatalf("finish: %d frames, %v", frames, err)
	}
}

// TestSpoolInterleavesTracksByPosition gives two tracks out of step, with
// a gap and an overlap: each lands at its position, gaps are silence and
// the shorter track is padded at the end.
func TestSpoolInterleavesTracksByPosition(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.wav")
	sp, err := newSpool(path, 1000, 2)
	if err != nil {
		t.Fatal(err)
	}
	ones := func(n int, v int16) []int16 {
		s := make([]int16, n)
		for i := range s {
			s[i] = v
		}
		return s
	}
	ms := time.Millisecond
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(sp.write(0, ones(10, 1), 0))
	must(sp.write(1, ones(5, 2), 5*ms))   // gap of 5 on track 1
	must(sp.write(0, ones(10, 3), 5*ms))  // overlaps 5 already written: only 5 kept
	must(sp.write(1, ones(10, 4), 10*ms)) // track 1 ends at 20
	frames, err := sp.finish()
	must(err)
	if frames != 20 {
		t.Fatalf("frames %d, want 20", frames)
	}
	data, _ := os.ReadFile(path)
	pcm, err := audio.DecodeBytes(data, audio.Format{})
	must(err)
	want0 := append(append(ones(10, 1), ones(5, 3)...), ones(5, 0)...)
	want1 := append(append(ones(5, 0), ones(5, 2)...), ones(10, 4)...)
	for i := 0; i < 20; i++ {
		g0 := int16(math.Round(float64(pcm.Channels[0][i]) * 32768))
		g1 := int16(math.Round(float64(pcm.Channels[1][i]) * 32768))
		if g0 != want0[i] || g1 != want1[i] {
			t.Fatalf("frame %d: %d,%d want %d,%d", i, g0, g1, want0[i], want1[i])
		}
	}
}

// TestSpoolPadsALateTrack keeps memory bounded when one track stops: the
// other is written once it runs more than maxSkew ahead.
func TestSpoolPadsALateTrack(t *testing.T) {
	sp, err := newSpool(filepath.Join(t.TempDir(), "s.wav"), 1000, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ { // 3 s on track 0 only
		if err := sp.write(0, make([]int16, 10), time.Duration(i)*10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if len(sp.pending[0]) > 1010 || sp.frames < 1990 {
		t.Fatalf("pending %d, written %d: the late track holds the other", len(sp.pending[0]), sp.frames)
	}
	if got := sp.position(); got != 3*time.Second {
		t.Fatalf("position %v, want 3s", got)
	}
	sp.finish()
}
