package audiosocket

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/callscope/callscope/internal/stream"
)

// The load of BenchmarkListenerConcurrentStreams, changeable from the
// environment: how many streams, how many seconds of audio each, and how
// many times faster than real time they are sent.
func benchLoad() (streams, frames int, speed float64) {
	streams, seconds, speed := 1000, 10.0, 1.0
	if v, err := strconv.Atoi(os.Getenv("CALLSCOPE_BENCH_STREAMS")); err == nil && v > 0 {
		streams = v
	}
	if v, err := strconv.ParseFloat(os.Getenv("CALLSCOPE_BENCH_SECONDS"), 64); err == nil && v > 0 {
		seconds = v
	}
	if v, err := strconv.ParseFloat(os.Getenv("CALLSCOPE_BENCH_SPEED"), 64); err == nil && v >= 0 {
		speed = v
	}
	return streams, int(seconds * float64(time.Second/stream.FrameDuration)), speed
}

// countingSessions is a Sessions that keeps nothing but counts, so the
// benchmark measures the listener alone.
type countingSessions struct {
	opened, closed, frames, hangups atomic.Int64
	lost                            atomic.Int64
	want                            int64 // frames each stream sends
}

type countingSession struct {
	s      *countingSessions
	frames int64
}

func (s *countingSessions) Open(context.Context, stream.Start) (stream.Session, error) {
	s.opened.Add(1)
	return &countingSession{s: s}, nil
}

func (c *countingSession) Audio(_ int, pcm []int16, _ time.Duration) error {
	c.frames++
	c.s.frames.Add(1)
	return nil
}

func (c *countingSession) DTMF(string, time.Duration) error { return nil }

func (c *countingSession) Close(r stream.EndReason) {
	if r == stream.EndHangup {
		c.s.hangups.Add(1)
	}
	c.s.lost.Add(c.s.want - c.frames)
	c.s.closed.Add(1)
}

// BenchmarkListenerConcurrentStreams runs 1,000 AudioSocket calls at once,
// each 10 s of slin at 8 kHz in 20 ms frames at real-time pace, through
// the Listener into Sessions that only count. The calls come from a child
// process, so that the CPU time and memory measured are the listener's
// alone. Reported: frames lost (must be 0), calls that did not end with
// their hangup frame, memory per connection (heap and stacks in use with
// every call open, over the idle baseline), and CPU per stream (listener
// CPU time over audio time, in percent of one core) and per frame.
func BenchmarkListenerConcurrentStreams(b *testing.B) {
	streams, frames, speed := benchLoad()
	for b.Loop() {
		sess := &countingSessions{want: int64(frames)}
		l := &Listener{Addr: "127.0.0.1:0", Sessions: sess}
		if err := l.Start(b.Context()); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		cpu0 := cpuTime()

		peer := exec.Command(os.Args[0], "-test.run=^TestBenchPeer$", "-test.count=1")
		peer.Env = append(os.Environ(),
			"CALLSCOPE_BENCH_PEER_ADDR="+l.ListenAddr().String(),
			fmt.Sprintf("CALLSCOPE_BENCH_PEER=%d,%d,%g", streams, frames, speed))
		out, err := peer.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		peer.Stderr = os.Stderr
		if err := peer.Start(); err != nil {
			b.Fatal(err)
		}
		lines := bufio.NewScanner(out)

		// Memory with every call open and half the audio through.
		for sess.opened.Load() < int64(streams) || sess.frames.Load() < int64(streams*frames/2) {
			if sess.closed.Load() > 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		runtime.GC()
		var during runtime.MemStats
		runtime.ReadMemStats(&during)

		var peerOut []string
		for lines.Scan() {
			peerOut = append(peerOut, lines.Text())
		}
		if err := peer.Wait(); err != nil {
			b.Fatalf("peer: %v\n%s", err, peerOut)
		}
		deadline := time.Now().Add(30 * time.Second)
		for sess.closed.Load() < int64(streams) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		cpu := cpuTime() - cpu0
		l.Stop()

		if got := sess.closed.Load(); got != int64(streams) {
			b.Fatalf("%d of %d calls ended", got, streams)
		}
		inUse := func(m *runtime.MemStats) float64 { return float64(m.HeapInuse + m.StackInuse) }
		audioSeconds := float64(streams*frames) * stream.FrameDuration.Seconds()
		b.ReportMetric(float64(sess.lost.Load()), "frames_lost")
		b.ReportMetric(float64(int64(streams)-sess.hangups.Load()), "calls_not_hung_up")
		b.ReportMetric((inUse(&during)-inUse(&before))/float64(streams), "bytes/conn")
		b.ReportMetric(100*cpu.Seconds()/audioSeconds, "cpu%/stream")
		b.ReportMetric(float64(cpu.Microseconds())/float64(streams*frames), "cpu_us/frame")
		b.Logf("%d streams × %d frames at speed %g: %d frames received, %d lost; peer: %v", streams, frames, speed,
			sess.frames.Load(), sess.lost.Load(), peerOut)
	}
}

// cpuTime is the user and system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestBenchPeer is the Asterisk side of BenchmarkListenerConcurrentStreams,
// run in a child process; it does nothing in a normal test run. It opens
// the streams, sends each a UUID frame, the frames on a shared real-time
// schedule (spread over the 20 ms so that not all arrive at once) and a
// hangup frame.
func TestBenchPeer(t *testing.T) {
	spec := os.Getenv("CALLSCOPE_BENCH_PEER")
	if spec == "" {
		t.Skip("the peer process of BenchmarkListenerConcurrentStreams")
	}
	var streams, frames int
	var speed float64
	if _, err := fmt.Sscanf(spec, "%d,%d,%g", &streams, &frames, &speed); err != nil {
		t.Fatal(err)
	}
	addr := os.Getenv("CALLSCOPE_BENCH_PEER_ADDR")
	conns := make([]net.Conn, streams)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		id := uuid.New()
		b, _ := AppendFrame(nil, KindUUID, id[:])
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	samples := make([]int16, 160)
	for i := range samples {
		samples[i] = int16(i * 97)
	}
	frame, _ := AppendAudio(nil, KindSlin, samples)
	const writers = 16
	var wg sync.WaitGroup
	var sent, late atomic.Int64
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if speed > 0 {
				time.Sleep(time.Duration(float64(w) * float64(stream.FrameDuration) / writers / speed))
			}
			pace := stream.Pacer{Speed: speed}
			start := time.Now()
			for f := range frames {
				_ = pace.Wait(context.Background())
				if speed > 0 && time.Since(start) > time.Duration(float64(time.Duration(f+1)*stream.FrameDuration)/speed) {
					late.Add(1)
				}
				for i := w; i < streams; i += writers {
					if _, err := conns[i].Write(frame); err != nil {
						t.Errorf("stream %d frame %d: %v", i, f, err)
						return
					}
					sent.Add(1)
				}
			}
			for i := w; i < streams; i += writers {
				_, _ = conns[i].Write([]byte{0, 0, 0})
				conns[i].Close()
			}
		}()
	}
	wg.Wait()
	fmt.Printf("sent %d frames; %d of %d writer ticks started more than a frame late\n", sent.Load(), late.Load(), writers*frames)
}
