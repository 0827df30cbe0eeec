package openchs

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/callscope/callscope/internal/stream"
)

// Player sends a call to an OpenCHS listener the way the PBX does: the
// call id and a carriage return, then 16 kHz PCM in 20 ms writes on a live
// call's schedule, then it closes the socket. The first audio frame goes
// in the same write as the id, as a PBX's often does.
type Player struct {
	// Addr is the listener's host:port.
	Addr string
	// Speed is how many times faster than real time to send; 0 or less
	// sends as fast as the listener reads.
	Speed float64
}

// Play sends pcm, at 16 kHz, as call id.
func (p Player) Play(ctx context.Context, id string, pcm []int16) (stream.PlayResult, error) {
	res := stream.PlayResult{ID: id}
	buf, err := AppendID(nil, id)
	if err != nil {
		return res, err
	}
	began := time.Now()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", p.Addr)
	if err != nil {
		return res, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	pace := stream.Pacer{Speed: p.Speed}
	for _, chunk := range stream.Chunks(pcm, SampleRate) {
		if err := pace.Wait(ctx); err != nil {
			return res, err
		}
		buf = AppendSamples(buf, chunk)
		if _, err := c.Write(buf); err != nil {
			return res, fmt.Errorf("openchs: after %d frames: %w", res.Frames, err)
		}
		buf = buf[:0]
		res.Frames++
		res.Audio += time.Duration(len(chunk)) * time.Second / SampleRate
	}
	if len(buf) > 0 { // no audio at all: the id alone
		if _, err := c.Write(buf); err != nil {
			return res, err
		}
	}
	res.Elapsed = time.Since(began)
	return res, nil
}
