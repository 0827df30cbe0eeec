package openchs

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/callscope/callscope/internal/stream/streamtest"
)

// FuzzListenerConnection sends any bytes to a connection's handler: it
// must return without a panic, open at most one call, close it exactly
// once, and deliver every whole sample after the id.
func FuzzListenerConnection(f *testing.F) {
	f.Add([]byte("1761295415.12887\r\x01\x00\x02"))
	f.Add([]byte("\x00\r"))
	f.Fuzz(func(t *testing.T, in []byte) {
		rec := streamtest.NewRecorder()
		l := &Listener{Sessions: rec, IdleTimeout: 50 * time.Millisecond, HandshakeTimeout: 50 * time.Millisecond}
		server, client := net.Pipe()
		go func() {
			_, _ = client.Write(in)
			_ = client.Close()
		}()
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer server.Close()
			l.serve(context.Background(), server)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the handler did not return")
		}
		calls := rec.Calls()
		if len(calls) > 1 {
			t.Fatalf("%d calls from one connection", len(calls))
		}
		for _, c := range calls {
			if _, n := c.Reason(); n != 1 {
				t.Fatalf("call closed %d times", n)
			}
			audio := len(in) - len(c.Start.ExternalID) - 1
			if got := len(c.Samples(0)); got != audio/2 {
				t.Fatalf("%d samples from %d bytes of audio", got, audio)
			}
		}
		if v := rec.Violations(); len(v) > 0 {
			t.Fatalf("session contract broken: %v", v)
		}
	})
}
