package audiosocket

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/callscope/callscope/internal/stream/streamtest"
)

// FuzzListenerConnection sends any bytes to a connection's handler: it
// must return without a panic, and every call it opened must be closed
// exactly once, with no media after its end.
func FuzzListenerConnection(f *testing.F) {
	id := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	seed, _ := AppendFrame(nil, KindUUID, id)
	seed, _ = AppendFrame(seed, KindDTMF, []byte("5"))
	seed, _ = AppendAudio(seed, KindSlin, []int16{1, 2, 3})
	seed, _ = AppendAudio(seed, KindSlin16, []int16{1, 2, 3})
	f.Add(seed)
	f.Add(append(seed[:19:19], 0xff, 0x00, 0x00))
	f.Fuzz(func(t *testing.T, in []byte) {
		rec := streamtest.NewRecorder()
		l := &Listener{Sessions: rec, IdleTimeout: 50 * time.Millisecond, HandshakeTimeout: 50 * time.Millisecond}
		server, client := net.Pipe()
		go func() { _, _ = io.Copy(io.Discard, client) }()
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
		for _, c := range rec.Calls() {
			if _, n := c.Reason(); n != 1 {
				t.Fatalf("call %s closed %d times", c.Start.ExternalID, n)
			}
		}
		if v := rec.Violations(); len(v) > 0 {
			t.Fatalf("session contract broken: %v", v)
		}
	})
}
