// Package audiosocket takes call audio from Asterisk over AudioSocket: the
// AudioSocket() dialplan application, the Dial(AudioSocket/…) channel
// driver and ARI externalMedia with the audiosocket encapsulation.
//
// A frame is a kind byte, a 16-bit big-endian payload length and the
// payload. Asterisk connects, sends a UUID frame, then audio (and DTMF)
// frames until it hangs up by closing the socket. The kinds and their
// direction follow Asterisk's include/asterisk/res_audiosocket.h, where
// 0x11 is slin12 and 0x12 slin16.
//
// The channel driver sends whatever codec the channel negotiated, tagged
// 0x10 when it is not signed linear, so give it one:
// Dial(AudioSocket/host:port/uuid/c(slin16)). Kinds beyond 0x10 need
// Asterisk 20.17, 21.12, 22.7, 23.1 or later.
package audiosocket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/callscope/callscope"
)

// Kind is the type of an AudioSocket frame.
type Kind byte

// Frame kinds.
const (
	KindHangup  Kind = 0x00 // end the call; no payload
	KindUUID    Kind = 0x01 // the call's UUID, 16 bytes; first frame from Asterisk
	KindDTMF    Kind = 0x03 // one ASCII key, from Asterisk only
	KindSlin    Kind = 0x10 // signed linear 16-bit little-endian mono, 8 kHz
	KindSlin12  Kind = 0x11 // … 12 kHz
	KindSlin16  Kind = 0x12 // … 16 kHz
	KindSlin24  Kind = 0x13 // … 24 kHz
	KindSlin32  Kind = 0x14 // … 32 kHz
	KindSlin44  Kind = 0x15 // … 44.1 kHz
	KindSlin48  Kind = 0x16 // … 48 kHz
	KindSlin96  Kind = 0x17 // … 96 kHz
	KindSlin192 Kind = 0x18 // … 192 kHz
	KindError   Kind = 0xFF // an Asterisk-side error, optional code byte
)

const (
	headerLen    = 3
	uuidLen      = 16
	maxPayload   = 0xFFFF
	firstAudio   = KindSlin
	lastAudio    = KindSlin192
	defaultAudio = KindSlin
)

var rates = [...]int{8000, 12000, 16000, 24000, 32000, 44100, 48000, 96000, 192000}

// IsAudio reports whether k carries signed linear audio.
func (k Kind) IsAudio() bool { return k >= firstAudio && k <= lastAudio }

// SampleRate returns the sample rate of an audio kind, or 0 for the others.
func (k Kind) SampleRate() int {
	if !k.IsAudio() {
		return 0
	}
	return rates[k-firstAudio]
}

// KindForRate returns the audio kind of a sample rate. Returns EINVALID for
// a rate AudioSocket has no kind for.
func KindForRate(rate int) (Kind, error) {
	for i, r := range rates {
		if r == rate {
			return firstAudio + Kind(i), nil
		}
	}
	return 0, callscope.Errorf(callscope.EINVALID, "audiosocket: no frame kind for %d Hz; use 8000, 12000, 16000, 24000, 32000, 44100, 48000, 96000 or 192000", rate)
}

// String names the kind as Asterisk's header does.
func (k Kind) String() string {
	switch {
	case k == KindHangup:
		return "hangup"
	case k == KindUUID:
		return "uuid"
	case k == KindDTMF:
		return "dtmf"
	case k == KindSlin:
		return "slin"
	case k.IsAudio():
		return fmt.Sprintf("slin%d", k.SampleRate()/1000)
	case k == KindError:
		return "error"
	}
	return fmt.Sprintf("kind 0x%02x", byte(k))
}

// Frame is one AudioSocket message.
type Frame struct {
	Kind    Kind
	Payload []byte
}

// ErrProtocol marks input that breaks the AudioSocket protocol.
var ErrProtocol = errors.New("audiosocket: protocol error")

func protocolError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, args...))
}

// Reader reads frames from a stream, reusing one payload buffer.
type Reader struct {
	r   io.Reader
	hdr [headerLen]byte
	buf []byte
}

// NewReader returns a Reader of r. Wrap a network connection in a
// bufio.Reader first: a frame is read with two reads.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// Next reads one frame and checks its framing: a known kind, a 16-byte
// UUID, a one-byte DTMF key among 0-9*#A-D, audio of a whole number of
// samples and not empty, at most one code byte in an error frame. The
// payload is valid until the next call. It returns io.EOF at a clean end
// of stream, io.ErrUnexpectedEOF inside a frame, and an error wrapping
// ErrProtocol for a malformed frame.
func (r *Reader) Next() (Frame, error) {
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		return Frame{}, err
	}
	k := Kind(r.hdr[0])
	n := int(binary.BigEndian.Uint16(r.hdr[1:]))
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	p := r.buf[:n]
	if _, err := io.ReadFull(r.r, p); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	f := Frame{Kind: k, Payload: p}
	return f, f.check()
}

// check applies the framing rules Next documents.
func (f Frame) check() error {
	n := len(f.Payload)
	switch {
	case f.Kind == KindHangup:
	case f.Kind == KindUUID:
		if n != uuidLen {
			return protocolError("uuid frame of %d bytes, want %d", n, uuidLen)
		}
	case f.Kind == KindDTMF:
		if n != 1 {
			return protocolError("dtmf frame of %d bytes, want 1", n)
		}
		if !validDigit(f.Payload[0]) {
			return protocolError("dtmf key 0x%02x is not one of 0-9*#A-D", f.Payload[0])
		}
	case f.Kind.IsAudio():
		if n == 0 {
			return protocolError("empty %s frame", f.Kind)
		}
		if n%2 != 0 {
			return protocolError("%s frame of %d bytes is not whole 16-bit samples", f.Kind, n)
		}
	case f.Kind == KindError:
		if n > 1 {
			return protocolError("error frame of %d bytes, want 0 or 1", n)
		}
	default:
		return protocolError("unknown frame %s", f.Kind)
	}
	return nil
}

func validDigit(b byte) bool {
	return b >= '0' && b <= '9' || b == '*' || b == '#' || b >= 'A' && b <= 'D'
}

// AppendFrame appends the encoding of a frame to dst. It encodes any kind:
// it is the peer's side of the protocol (the player uses it to send what
// Asterisk sends). Returns EINVALID for a payload over 65535 bytes.
func AppendFrame(dst []byte, k Kind, payload []byte) ([]byte, error) {
	if len(payload) > maxPayload {
		return dst, callscope.Errorf(callscope.EINVALID, "audiosocket: payload of %d bytes, at most %d fit in a frame", len(payload), maxPayload)
	}
	dst = append(dst, byte(k), byte(len(payload)>>8), byte(len(payload)))
	return append(dst, payload...), nil
}

// AppendAudio appends an audio frame of kind k holding samples as
// little-endian 16-bit. Returns EINVALID if k is not an audio kind or the
// samples do not fit in one frame.
func AppendAudio(dst []byte, k Kind, samples []int16) ([]byte, error) {
	if !k.IsAudio() {
		return dst, callscope.Errorf(callscope.EINVALID, "audiosocket: %s is not an audio kind", k)
	}
	if len(samples) == 0 || 2*len(samples) > maxPayload {
		return dst, callscope.Errorf(callscope.EINVALID, "audiosocket: %d samples do not make one audio frame", len(samples))
	}
	n := 2 * len(samples)
	dst = append(dst, byte(k), byte(n>>8), byte(n))
	for _, s := range samples {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(s))
	}
	return dst, nil
}

// DecodeSamples appends the little-endian 16-bit samples of an audio
// payload to dst.
func DecodeSamples(dst []int16, payload []byte) []int16 {
	for i := 0; i+1 < len(payload); i += 2 {
		dst = append(dst, int16(binary.LittleEndian.Uint16(payload[i:])))
	}
	return dst
}

// Writer sends frames to Asterisk. It only sends what Asterisk accepts
// from the service side: a hangup, and non-empty audio of the kind
// Asterisk itself sends on this connection. Any other kind makes Asterisk
// end the call with an error ("message other than hangup or audio").
type Writer struct {
	w    io.Writer
	kind Kind
	buf  []byte
}

// NewWriter returns a Writer to w; until SetKind, audio goes as slin at
// 8 kHz, the format the AudioSocket() application forces.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w, kind: defaultAudio} }

// SetKind sets the audio kind to send, which must be the kind of the audio
// Asterisk sends: Asterisk versions before 20.17, 21.12, 22.7 and 23.1
// accept only slin (0x10). Returns EINVALID for a kind that is not audio.
func (w *Writer) SetKind(k Kind) error {
	if !k.IsAudio() {
		return callscope.Errorf(callscope.EINVALID, "audiosocket: %s is not an audio kind", k)
	}
	w.kind = k
	return nil
}

// Audio sends samples as one or more audio frames. Returns EINVALID for no
// samples: Asterisk treats an empty audio frame as an error.
func (w *Writer) Audio(samples []int16) error {
	if len(samples) == 0 {
		return callscope.Errorf(callscope.EINVALID, "audiosocket: no samples to send")
	}
	w.buf = w.buf[:0]
	const perFrame = maxPayload / 2
	for len(samples) > 0 {
		n := min(len(samples), perFrame)
		w.buf, _ = AppendAudio(w.buf, w.kind, samples[:n])
		samples = samples[n:]
	}
	_, err := w.w.Write(w.buf)
	return err
}

// Hangup asks Asterisk to end the call; the AudioSocket application then
// returns normally and the dialplan continues.
func (w *Writer) Hangup() error {
	_, err := w.w.Write([]byte{byte(KindHangup), 0, 0})
	return err
}
