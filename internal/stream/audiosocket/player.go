package audiosocket

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/google/uuid"

	"github.com/callscope/callscope/internal/stream"
)

// Player sends a call to an AudioSocket listener the way Asterisk does:
// it connects, sends the UUID frame, then 20 ms audio frames on a live
// call's schedule, then a hangup frame, and closes.
type Player struct {
	// Addr is the listener's host:port.
	Addr string
	// Kind is the audio kind to send; zero means slin at 8 kHz.
	Kind Kind
	// Speed is how many times faster than real time to send; 0 or less
	// sends as fast as the listener reads.
	Speed float64
	// CloseOnly ends the call by closing the socket without a hangup
	// frame, as Asterisk itself does.
	CloseOnly bool
}

// Play sends pcm, at the rate of p.Kind, as the call id.
func (p Player) Play(ctx context.Context, id uuid.UUID, pcm []int16) (stream.PlayResult, error) {
	res := stream.PlayResult{ID: id.String()}
	k := p.Kind
	if k == 0 {
		k = KindSlin
	}
	if !k.IsAudio() {
		return res, fmt.Errorf("audiosocket: %s is not an audio kind", k)
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

	buf, _ := AppendFrame(nil, KindUUID, id[:])
	if _, err := c.Write(buf); err != nil {
		return res, err
	}
	pace := stream.Pacer{Speed: p.Speed}
	for _, chunk := range stream.Chunks(pcm, k.SampleRate()) {
		if err := pace.Wait(ctx); err != nil {
			return res, err
		}
		buf, _ = AppendAudio(buf[:0], k, chunk)
		if _, err := c.Write(buf); err != nil {
			return res, fmt.Errorf("audiosocket: after %d frames: %w", res.Frames, err)
		}
		res.Frames++
		res.Audio += time.Duration(len(chunk)) * time.Second / time.Duration(k.SampleRate())
	}
	if !p.CloseOnly {
		if _, err := c.Write([]byte{byte(KindHangup), 0, 0}); err != nil {
			return res, err
		}
	}
	res.Elapsed = time.Since(began)
	return res, nil
}
