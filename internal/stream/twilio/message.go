// Package twilio takes call audio from Twilio Media Streams: Twilio opens
// a WebSocket to the service (TwiML <Start><Stream> or <Connect><Stream>)
// and sends JSON text messages, connected, start, media (base64 μ-law at
// 8 kHz, one message per 20 ms and track), dtmf, mark and stop. On a
// bidirectional stream the service may send media, mark and clear back.
package twilio

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/callscope/callscope/internal/audio"
)

// Events Twilio sends.
const (
	EventConnected = "connected"
	EventStart     = "start"
	EventMedia     = "media"
	EventDTMF      = "dtmf"
	EventMark      = "mark"
	EventStop      = "stop"
	// EventClear is sent by the service only.
	EventClear = "clear"
)

// The one media format Twilio streams.
const (
	Encoding   = "audio/x-mulaw"
	SampleRate = 8000
)

// Track names in start.tracks and media.track.
const (
	TrackInbound  = "inbound"
	TrackOutbound = "outbound"
)

// Limits on what a message may hold.
const (
	maxParams     = 64
	maxParamBytes = 1024
	maxSidBytes   = 64
)

// Message is one WebSocket message of a media stream, in either direction.
// Only the part named by Event is set.
type Message struct {
	Event          string `json:"event"`
	SequenceNumber string `json:"sequenceNumber,omitempty"`
	StreamSid      string `json:"streamSid,omitempty"`
	// Protocol and Version are set on connected.
	Protocol string     `json:"protocol,omitempty"`
	Version  string     `json:"version,omitempty"`
	Start    *StartInfo `json:"start,omitempty"`
	Media    *Media     `json:"media,omitempty"`
	DTMF     *DTMF      `json:"dtmf,omitempty"`
	Mark     *Mark      `json:"mark,omitempty"`
	Stop     *StopInfo  `json:"stop,omitempty"`
}

// StartInfo describes the stream, once, before any media.
type StartInfo struct {
	StreamSid        string            `json:"streamSid"`
	AccountSid       string            `json:"accountSid"`
	CallSid          string            `json:"callSid"`
	Tracks           []string          `json:"tracks"`
	CustomParameters map[string]string `json:"customParameters,omitempty"`
	MediaFormat      MediaFormat       `json:"mediaFormat"`
}

// MediaFormat is the encoding of the media payloads.
type MediaFormat struct {
	Encoding   string `json:"encoding"`
	SampleRate int    `json:"sampleRate"`
	Channels   int    `json:"channels"`
}

// Media is a chunk of audio of one track. Chunk counts from 1 per track;
// Timestamp is milliseconds from the start of the stream. Both are
// decimal strings on the wire. From the service, only Payload is set.
type Media struct {
	Track     string `json:"track,omitempty"`
	Chunk     string `json:"chunk,omitempty"`
	Timestamp string `json:"timestamp,omitempty"`
	Payload   string `json:"payload"`
}

// DTMF is a key pressed by the caller.
type DTMF struct {
	Track string `json:"track"`
	Digit string `json:"digit"`
}

// Mark names a point in the audio the service sent; Twilio echoes it when
// the audio before it has played.
type Mark struct {
	Name string `json:"name"`
}

// StopInfo closes the stream.
type StopInfo struct {
	AccountSid string `json:"accountSid"`
	CallSid    string `json:"callSid"`
}

// ErrProtocol marks a message that breaks the Media Streams protocol.
var ErrProtocol = errors.New("twilio: protocol error")

// ErrUnknownEvent marks a well-formed message of an event this package
// does not know; a newer Twilio may send such, so it is not a protocol
// error.
var ErrUnknownEvent = errors.New("twilio: unknown event")

func protocolError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, args...))
}

// Decode parses and checks one message from Twilio: the part its event
// needs is present, a start describes μ-law at 8 kHz mono on inbound
// and/or outbound tracks, media names a known track with numeric chunk and
// timestamp, a DTMF key is one of 0-9*#A-D. The media payload is checked
// by Media.Decode. Returns an error wrapping ErrProtocol or
// ErrUnknownEvent.
func Decode(data []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(data, &m); err != nil {
		return Message{}, protocolError("message is not JSON of the expected shape: %v", err)
	}
	switch m.Event {
	case EventConnected, EventMark:
	case EventStart:
		if m.Start == nil {
			return m, protocolError("start message without start")
		}
		return m, m.Start.check()
	case EventMedia:
		if m.Media == nil {
			return m, protocolError("media message without media")
		}
		if m.Media.Track != TrackInbound && m.Media.Track != TrackOutbound {
			return m, protocolError("media of unknown track %q", m.Media.Track)
		}
		if _, err := strconv.ParseUint(m.Media.Chunk, 10, 32); err != nil {
			return m, protocolError("media chunk %q is not a number", m.Media.Chunk)
		}
		if _, err := m.Media.Millis(); err != nil {
			return m, err
		}
	case EventDTMF:
		if m.DTMF == nil {
			return m, protocolError("dtmf message without dtmf")
		}
		if d := m.DTMF.Digit; len(d) != 1 || !validDigit(d[0]) {
			return m, protocolError("dtmf key %q is not one of 0-9*#A-D", d)
		}
	case EventStop:
	case "":
		return m, protocolError("message without an event")
	default:
		return m, fmt.Errorf("%w %q", ErrUnknownEvent, m.Event)
	}
	return m, nil
}

func (s *StartInfo) check() error {
	switch {
	case s.CallSid == "" || len(s.CallSid) > maxSidBytes:
		return protocolError("start with a callSid of %d bytes", len(s.CallSid))
	case s.StreamSid == "" || len(s.StreamSid) > maxSidBytes:
		return protocolError("start with a streamSid of %d bytes", len(s.StreamSid))
	case len(s.AccountSid) > maxSidBytes:
		return protocolError("start with an accountSid of %d bytes", len(s.AccountSid))
	case s.MediaFormat.Encoding != Encoding || s.MediaFormat.SampleRate != SampleRate || s.MediaFormat.Channels != 1:
		return protocolError("media format %s/%d/%d, want %s at %d Hz mono", s.MediaFormat.Encoding,
			s.MediaFormat.SampleRate, s.MediaFormat.Channels, Encoding, SampleRate)
	case len(s.Tracks) == 0 || len(s.Tracks) > 2:
		return protocolError("start with %d tracks", len(s.Tracks))
	case len(s.CustomParameters) > maxParams:
		return protocolError("start with %d custom parameters, at most %d", len(s.CustomParameters), maxParams)
	}
	for i, t := range s.Tracks {
		if t != TrackInbound && t != TrackOutbound || slices.Index(s.Tracks, t) != i {
			return protocolError("start with tracks %q", s.Tracks)
		}
	}
	for k, v := range s.CustomParameters {
		if len(k)+len(v) > maxParamBytes {
			return protocolError("custom parameter %.40q longer than %d bytes", k, maxParamBytes)
		}
	}
	return nil
}

// Millis returns the media timestamp: milliseconds from the start of the stream.
func (m *Media) Millis() (int64, error) {
	ms, err := strconv.ParseInt(m.Timestamp, 10, 64)
	if err != nil || ms < 0 || ms > 1<<40 {
		return 0, protocolError("media timestamp %q is not a number of milliseconds", m.Timestamp)
	}
	return ms, nil
}

// Decode appends the payload's samples, μ-law expanded to 16-bit linear,
// to pcm, decoding the base64 into scratch (grown as needed). It returns
// both slices for reuse. Returns an error wrapping ErrProtocol for a
// payload that is not base64 or is empty.
func (m *Media) Decode(pcm []int16, scratch []byte) ([]int16, []byte, error) {
	n := base64.StdEncoding.DecodedLen(len(m.Payload))
	if cap(scratch) < n {
		scratch = make([]byte, n)
	}
	k, err := base64.StdEncoding.Decode(scratch[:n], []byte(m.Payload))
	if err != nil {
		return pcm, scratch, protocolError("media payload is not base64: %v", err)
	}
	if k == 0 {
		return pcm, scratch, protocolError("empty media payload")
	}
	return audio.AppendULawDecoded(pcm, scratch[:k]), scratch, nil
}

func validDigit(b byte) bool {
	return b >= '0' && b <= '9' || b == '*' || b == '#' || b >= 'A' && b <= 'D'
}

// EncodeMedia returns the message that queues μ-law audio for playback on
// a bidirectional stream.
func EncodeMedia(streamSid string, ulaw []byte) []byte {
	return encode(Message{Event: EventMedia, StreamSid: streamSid,
		Media: &Media{Payload: base64.StdEncoding.EncodeToString(ulaw)}})
}

// EncodeMark returns the message that asks Twilio to echo name once the
// audio queued before it has played.
func EncodeMark(streamSid, name string) []byte {
	return encode(Message{Event: EventMark, StreamSid: streamSid, Mark: &Mark{Name: name}})
}

// EncodeClear returns the message that empties Twilio's playback queue.
func EncodeClear(streamSid string) []byte {
	return encode(Message{Event: EventClear, StreamSid: streamSid})
}

func encode(m Message) []byte {
	b, err := json.Marshal(m)
	if err != nil { // only strings and maps of strings: cannot fail
		panic(err)
	}
	return b
}
