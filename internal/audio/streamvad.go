package audio

import (
	"math"
	"time"
)

// StreamVAD finds utterances in audio as it arrives, looking at each
// sample once: live calls need the end of an utterance within a fraction
// of a second, for thousands of streams at once, which DetectSpeech (an
// offline detector that weighs five seconds of context around every
// frame) cannot give. Each 10 ms frame's level is compared with a noise
// floor that follows the quietest frames (falling at once, rising towards
// louder ones with a time constant of about two seconds);
// speech starts when a frame is well above the floor and goes on while
// frames stay above it, and an utterance ends after a stretch of silence.
// Hand-written: no streaming detector is available as a Go library here
// (WebRTC's VAD is not served by the module proxy).
type StreamVAD struct {
	rate   int
	frame  int     // samples per frame
	acc    float64 // sum of squares of the frame in progress
	filled int     // samples in it
	pos    int64   // samples pushed

	floor    float64 // noise floor, dBFS
	speaking bool
	start    int64 // sample where the utterance began
	last     int64 // sample after its last loud frame
	run      int   // consecutive loud frames while not speaking

	// Tail is the silence that ends an utterance; MinSpeech the shortest
	// utterance kept; MaxSpeech cuts one that goes on without a pause.
	Tail, MinSpeech, MaxSpeech time.Duration
}

// Span is an utterance: samples [Start, End) from the start of the stream.
type Span struct{ Start, End int64 }

// Stream VAD levels, in dB.
const (
	svadHop       = 10 * time.Millisecond
	svadMinDBFS   = -55.0 // never speech below this
	svadStartDB   = 12.0  // above the floor to start speech
	svadStayDB    = 6.0   // above the floor to go on
	svadRiseDB    = 0.02  // the floor's least rise per frame (2 dB/s)
	svadRiseShare = 0.005 // and its share of the way to the frame's level
	svadStartRun  = 3     // loud frames in a row that start speech
	svadPadding   = 100 * time.Millisecond
)

// NewStreamVAD returns a detector for audio at rate Hz, ending utterances
// after tail of silence.
func NewStreamVAD(rate int, tail time.Duration) *StreamVAD {
	return &StreamVAD{rate: rate, frame: max(1, int(int64(rate)*int64(svadHop)/int64(time.Second))),
		floor: -90, Tail: tail, MinSpeech: 200 * time.Millisecond, MaxSpeech: 25 * time.Second}
}

func (v *StreamVAD) samples(d time.Duration) int64 {
	return int64(d) * int64(v.rate) / int64(time.Second)
}

// Pos returns how many samples were pushed.
func (v *StreamVAD) Pos() int64 { return v.pos }

// Active returns where the utterance in progress began, if one is.
func (v *StreamVAD) Active() (start int64, ok bool) {
	if !v.speaking {
		return 0, false
	}
	return max(0, v.start-v.samples(svadPadding)), true
}

// Push feeds samples (float, ±1) and returns the utterances they closed.
func (v *StreamVAD) Push(x []float32) []Span {
	var out []Span
	for _, s := range x {
		f := float64(s)
		v.acc += f * f
		v.filled++
		v.pos++
		if v.filled < v.frame {
			continue
		}
		db := 10 * math.Log10(v.acc/float64(v.filled)+1e-12)
		v.acc, v.filled = 0, 0
		if sp, ok := v.step(db); ok {
			out = append(out, sp)
		}
	}
	return out
}

// step takes one frame's level; the frame ends at v.pos.
func (v *StreamVAD) step(db float64) (Span, bool) {
	switch {
	case v.pos <= int64(v.frame):
		// The first frame: its level, unless loud enough to be speech.
		v.floor = min(db, svadMinDBFS-5)
	case db < v.floor:
		v.floor = db
	default:
		v.floor += max(svadRiseDB, (db-v.floor)*svadRiseShare)
	}
	loud := db > svadMinDBFS
	if !v.speaking {
		if loud && db > v.floor+svadStartDB {
			v.run++
		} else {
			v.run = 0
		}
		if v.run >= svadStartRun {
			v.speaking, v.run = true, 0
			v.start = v.pos - int64(svadStartRun*v.frame)
			v.last = v.pos
		}
		return Span{}, false
	}
	if loud && db > v.floor+svadStayDB {
		v.last = v.pos
	}
	switch {
	case v.pos-v.last >= v.samples(v.Tail):
		return v.close()
	case v.pos-v.start >= v.samples(v.MaxSpeech):
		// Cut, and the speech goes on in a new utterance.
		sp, ok := v.close()
		v.speaking, v.start, v.last = true, v.pos, v.pos
		return sp, ok
	}
	return Span{}, false
}

// close ends the utterance in progress, padded, if it is long enough.
func (v *StreamVAD) close() (Span, bool) {
	v.speaking = false
	if v.last-v.start < v.samples(v.MinSpeech) {
		return Span{}, false
	}
	pad := v.samples(svadPadding)
	return Span{Start: max(0, v.start-pad), End: min(v.pos, v.last+pad)}, true
}

// Flush ends the stream: the utterance in progress, if any, is closed.
func (v *StreamVAD) Flush() []Span {
	if !v.speaking {
		return nil
	}
	if sp, ok := v.close(); ok {
		return []Span{sp}
	}
	return nil
}
