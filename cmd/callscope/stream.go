package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/audio"
	"github.com/callscope/callscope/internal/stream"
	"github.com/callscope/callscope/internal/stream/audiosocket"
	"github.com/callscope/callscope/internal/stream/openchs"
	"github.com/callscope/callscope/internal/stream/twilio"
)

const streamSynopsis = `stream --protocol audiosocket|openchs|twilio --addr HOST:PORT
           [--speed X] [--calls N] [--stagger D] [--rate HZ] [--twilio-auth-token TOKEN]
           [--path PATH | --url URL] [--param NAME=VALUE]... FILE...

Plays recordings into a live-audio listener the way a phone system would,
to try a listener out or load it:

  audiosocket  as Asterisk's AudioSocket: a UUID frame, 20 ms signed-linear
               frames (8 kHz unless --rate), then a hangup frame
  openchs      as the OpenCHS PBX stream: the call id and a carriage return,
               then 16 kHz 16-bit PCM, then the socket closes
  twilio       as Twilio Media Streams: a WebSocket to ws://HOST:PORT/twilio/stream
               (or --url), connected, start, 20 ms μ-law media, stop; a stereo
               file's second channel is sent as the outbound track

Each FILE (WAV, MP3, GSM, G.711 or raw slin, as callscope decodes them) is
resampled to the protocol's rate and sent in real time, one call per file.
With --calls N, N calls run at the same time, reusing the files in turn. The
auth token may also come from TWILIO_AUTH_TOKEN. Prints a line per call and
fails if any call could not be sent.`

// cmdStream plays audio files into a stream listener.
func cmdStream(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// Not newFlags: this command reads no configuration, so no --config.
	fs := flag.NewFlagSet("stream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: callscope %s\n\nOptions:\n", streamSynopsis)
		fs.PrintDefaults()
	}
	protocol := fs.String("protocol", "", "the listener's `PROTOCOL`: audiosocket, openchs or twilio")
	addr := fs.String("addr", "", "the listener's address, `HOST:PORT`")
	speed := fs.Float64("speed", 1, "send `X` times faster than real time; 0 sends as fast as the listener reads")
	calls := fs.Int("calls", 0, "run `N` calls at the same time (default: one per file)")
	stagger := fs.Duration("stagger", 0, "start the calls spread evenly over `DURATION` (e.g. 3s), as independent calls are, instead of all at once")
	rate := fs.Int("rate", 8000, "AudioSocket sample rate in `HZ`: 8000, 12000, 16000, 24000, 32000, 44100, 48000, 96000 or 192000 (Asterisk 20.17, 21.12, 22.7, 23.1 or later beyond 8000)")
	token := fs.String("twilio-auth-token", "", "Twilio auth `TOKEN` that signs the WebSocket handshake (X-Twilio-Signature)")
	path := fs.String("path", "/twilio/stream", "Twilio stream `PATH` on the listener")
	url := fs.String("url", "", "Twilio stream `URL` to use instead of ws://HOST:PORT/PATH, e.g. wss://calls.example.org/twilio/stream")
	var params paramFlag
	fs.Var(&params, "param", "Twilio custom parameter `NAME=VALUE`, sent in start.customParameters; repeat for more")
	if err := parse(fs, args); err != nil {
		return err
	}
	usage := func(format string, a ...any) error {
		fmt.Fprintf(stderr, "callscope stream: "+format+"\n", a...)
		return errUsage
	}
	switch {
	case *protocol != string(stream.ProtocolAudioSocket) && *protocol != string(stream.ProtocolOpenCHS) && *protocol != string(stream.ProtocolTwilio):
		return usage("--protocol must be audiosocket, openchs or twilio")
	case *addr == "" && (*url == "" || *protocol != string(stream.ProtocolTwilio)):
		return usage("--addr HOST:PORT is required")
	case *url != "" && !strings.HasPrefix(*url, "ws://") && !strings.HasPrefix(*url, "wss://"):
		return usage("--url must start with ws:// or wss://")
	case fs.NArg() == 0:
		return usage("give at least one audio FILE")
	case *calls < 0:
		return usage("--calls must be positive")
	case *speed < 0 || math.IsNaN(*speed) || math.IsInf(*speed, 0):
		return usage("--speed must be 0 or more")
	}
	kind, err := audiosocket.KindForRate(*rate)
	if err != nil {
		return usage("--rate: %s", callscopeMessage(err))
	}
	if *token == "" {
		*token = os.Getenv("TWILIO_AUTH_TOKEN")
	}

	var play func(ctx context.Context, i int, tracks [][]int16) (stream.PlayResult, error)
	sampleRate := 0
	switch stream.Protocol(*protocol) {
	case stream.ProtocolAudioSocket:
		sampleRate = kind.SampleRate()
		p := audiosocket.Player{Addr: *addr, Kind: kind, Speed: *speed}
		play = func(ctx context.Context, _ int, tracks [][]int16) (stream.PlayResult, error) {
			return p.Play(ctx, uuid.New(), tracks[0])
		}
	case stream.ProtocolOpenCHS:
		sampleRate = openchs.SampleRate
		p := openchs.Player{Addr: *addr, Speed: *speed}
		base := time.Now().Unix()
		play = func(ctx context.Context, i int, tracks [][]int16) (stream.PlayResult, error) {
			// Shaped like the Asterisk unique ids OpenCHS calls carry.
			return p.Play(ctx, fmt.Sprintf("%d.%d", base, i+1), tracks[0])
		}
	case stream.ProtocolTwilio:
		sampleRate = twilio.SampleRate
		u := *url
		if u == "" {
			u = "ws://" + *addr + *path
		}
		p := twilio.Player{URL: u, AuthToken: *token, Speed: *speed, Params: params.m}
		play = func(ctx context.Context, _ int, tracks [][]int16) (stream.PlayResult, error) {
			return p.Play(ctx, twilio.NewSid("CA"), tracks...)
		}
	}

	// Decode every file once, before any call starts.
	files := make([][][]int16, fs.NArg())
	for i, name := range fs.Args() {
		tracks, err := loadTracks(name, sampleRate, *protocol == string(stream.ProtocolTwilio))
		if err != nil {
			return err
		}
		files[i] = tracks
	}
	total := max(*calls, len(files))
	parallel := *calls
	if parallel == 0 {
		parallel = len(files)
	}
	var (
		mu       sync.Mutex
		failed   int
		frames   int
		wg       sync.WaitGroup
		slots    = make(chan struct{}, parallel)
		began    = time.Now()
		printErr error
	)
	for i := range total {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if *stagger > 0 && total > 1 {
				select {
				case <-time.After(*stagger * time.Duration(i) / time.Duration(total)):
				case <-ctx.Done():
					return
				}
			}
			res, err := play(ctx, i, files[i%len(files)])
			mu.Lock()
			defer mu.Unlock()
			frames += res.Frames
			if err != nil {
				failed++
				fmt.Fprintf(stderr, "call %d (%s, %s): %v\n", i+1, fs.Arg(i%len(files)), res.ID, err)
				return
			}
			_, err = fmt.Fprintf(stdout, "call %d %s: %d frames, %s of audio in %s\n", i+1, res.ID, res.Frames,
				res.Audio.Round(time.Millisecond), res.Elapsed.Round(time.Millisecond))
			if printErr == nil {
				printErr = err
			}
		}()
	}
	wg.Wait()
	fmt.Fprintf(stdout, "%d calls, %d failed, %d frames sent in %s\n", total, failed, frames, time.Since(began).Round(time.Millisecond))
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case failed > 0:
		return fmt.Errorf("%d of %d calls failed", failed, total)
	}
	return printErr
}

// loadTracks decodes a recording and resamples it to rate: one track, the
// channels mixed, or for Twilio up to two tracks, the first two channels.
func loadTracks(name string, rate int, twoTracks bool) ([][]int16, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	pcm, err := audio.DecodeBytes(data, audio.FormatFromName(name))
	if err != nil {
		return nil, fmt.Errorf("%s: %s", name, callscopeMessage(err))
	}
	if pcm.Len() == 0 {
		return nil, fmt.Errorf("%s: no audio", name)
	}
	pcm, err = audio.ResamplePCM(pcm, rate)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", name, callscopeMessage(err))
	}
	if twoTracks && len(pcm.Channels) >= 2 {
		return [][]int16{toInt16(pcm.Channels[0]), toInt16(pcm.Channels[1])}, nil
	}
	return [][]int16{toInt16(pcm.Mono())}, nil
}

// toInt16 converts samples in [-1, 1] to 16 bits the way audio decodes
// them (s/32768), clamping.
func toInt16(x []float32) []int16 {
	out := make([]int16, len(x))
	for i, v := range x {
		s := math.Round(float64(v) * 32768)
		switch {
		case s != s:
			s = 0
		case s > math.MaxInt16:
			s = math.MaxInt16
		case s < math.MinInt16:
			s = math.MinInt16
		}
		out[i] = int16(s)
	}
	return out
}

// paramFlag collects repeated NAME=VALUE flags.
type paramFlag struct{ m map[string]string }

func (p *paramFlag) String() string {
	if p == nil || len(p.m) == 0 {
		return ""
	}
	var parts []string
	for k, v := range p.m {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func (p *paramFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return errors.New("want NAME=VALUE")
	}
	if p.m == nil {
		p.m = map[string]string{}
	}
	p.m[k] = v
	return nil
}

// callscopeMessage returns the message of a domain error, or the error's
// own text for any other.
func callscopeMessage(err error) string {
	var e *callscope.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}
