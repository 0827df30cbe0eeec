package stream

import (
	"context"
	"time"
)

// FrameDuration is how much audio a player sends at a time: 20 ms, as
// Asterisk and Twilio do.
const FrameDuration = 20 * time.Millisecond

// Pacer spaces frames the way a live call does: frame n is due n frame
// durations after the first, divided by Speed. The schedule is absolute,
// so a late frame does not delay the ones after it.
type Pacer struct {
	// Speed is how many times faster than real time to go; 0 or less sends
	// as fast as the peer reads.
	Speed float64
	start time.Time
	n     int
}

// Wait blocks until the next frame is due or ctx is done; it returns
// ctx's error in the latter case.
func (p *Pacer) Wait(ctx context.Context) error {
	if p.Speed <= 0 {
		return ctx.Err()
	}
	if p.n == 0 {
		p.start = time.Now()
	}
	due := p.start.Add(time.Duration(float64(time.Duration(p.n)*FrameDuration) / p.Speed))
	p.n++
	d := time.Until(due)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// PlayResult is what a player sent for one call.
type PlayResult struct {
	// ID is the call's external id as the player sent it.
	ID string
	// Frames counts the audio frames (Twilio: media messages) sent.
	Frames int
	// Audio is the duration of the audio sent, per track.
	Audio time.Duration
	// Elapsed is the wall-clock time from connecting to closing.
	Elapsed time.Duration
}

// Chunks splits samples into frames of FrameDuration at rate; the last
// may be shorter.
func Chunks(samples []int16, rate int) [][]int16 {
	size := rate * int(FrameDuration) / int(time.Second)
	if size <= 0 {
		size = 1
	}
	out := make([][]int16, 0, (len(samples)+size-1)/size)
	for len(samples) > 0 {
		n := min(size, len(samples))
		out = append(out, samples[:n:n])
		samples = samples[n:]
	}
	return out
}
