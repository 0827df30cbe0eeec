// Package streamtest records what the stream listeners deliver, for tests.
package streamtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/callscope/callscope/internal/stream"
)

// Recorder is an in-memory stream.Sessions: it keeps every call, frame by
// frame, and signals when calls end.
type Recorder struct {
	// Refuse, if set, makes Open fail with this error.
	Refuse error
	// FailAudioAfter, if positive, makes Audio fail on that many-th frame
	// of each call, as a session ended from elsewhere would.
	FailAudioAfter int

	mu         sync.Mutex
	calls      []*Call
	violations []string
	ended      chan *Call
}

var _ stream.Sessions = (*Recorder)(nil)

// NewRecorder returns an empty Recorder. It holds up to 1024 ended calls
// not yet taken by WaitEnded; past that, Close blocks.
func NewRecorder() *Recorder { return &Recorder{ended: make(chan *Call, 1024)} }

// Frame is one Audio call.
type Frame struct {
	Track int
	At    time.Duration
	PCM   []int16
}

// Call is everything one session received.
type Call struct {
	Start  stream.Start
	mu     sync.Mutex
	frames []Frame
	digits []string
	reason stream.EndReason
	closes int
	fail   int
	r      *Recorder
}

// Open records a new call.
func (r *Recorder) Open(_ context.Context, s stream.Start) (stream.Session, error) {
	if r.Refuse != nil {
		return nil, r.Refuse
	}
	c := &Call{Start: s, fail: r.FailAudioAfter, r: r}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	return c, nil
}

// Calls returns the calls opened so far.
func (r *Recorder) Calls() []*Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// WaitEnded returns the next call to end, or an error after timeout.
func (r *Recorder) WaitEnded(timeout time.Duration) (*Call, error) {
	select {
	case c := <-r.ended:
		return c, nil
	case <-time.After(timeout):
		return nil, errors.New("streamtest: no call ended in time")
	}
}

// ErrSessionEnded is what Audio returns once FailAudioAfter frames came.
var ErrSessionEnded = errors.New("streamtest: session ended")

// Audio records a frame, copying the samples.
func (c *Call) Audio(track int, pcm []int16, at time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closes > 0 {
		c.r.violate("Audio after Close")
	}
	if track < 0 || track >= len(c.Start.Tracks) {
		c.r.violate(fmt.Sprintf("Audio on track %d of %d", track, len(c.Start.Tracks)))
	}
	c.frames = append(c.frames, Frame{Track: track, At: at, PCM: slices.Clone(pcm)})
	if c.fail > 0 && len(c.frames) >= c.fail {
		return ErrSessionEnded
	}
	return nil
}

// DTMF records a key.
func (c *Call) DTMF(digit string, _ time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closes > 0 {
		c.r.violate("DTMF after Close")
	}
	c.digits = append(c.digits, digit)
	return nil
}

// Close records the end of the call.
func (c *Call) Close(reason stream.EndReason) {
	c.mu.Lock()
	c.closes++
	c.reason = reason
	n := c.closes
	c.mu.Unlock()
	if n == 1 {
		c.r.ended <- c
	} else {
		c.r.violate("Close called twice")
	}
}

func (r *Recorder) violate(msg string) {
	r.mu.Lock()
	r.violations = append(r.violations, msg)
	r.mu.Unlock()
}

// Violations returns the breaches of the Session contract seen: a method
// called after Close, Close called twice, a track out of range.
func (r *Recorder) Violations() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.violations)
}

// Frames returns the frames received.
func (c *Call) Frames() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.frames)
}

// Samples returns the samples of one track, concatenated.
func (c *Call) Samples(track int) []int16 {
	var out []int16
	for _, f := range c.Frames() {
		if f.Track == track {
			out = append(out, f.PCM...)
		}
	}
	return out
}

// Digits returns the DTMF keys received.
func (c *Call) Digits() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.digits)
}

// Reason returns why the call ended and how many times Close was called.
func (c *Call) Reason() (stream.EndReason, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason, c.closes
}
