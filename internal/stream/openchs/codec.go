// Package openchs takes call audio over the raw TCP stream of the OpenCHS
// helpline AI service: the PBX connects, sends the call id in ASCII ended
// by a carriage return (e.g. "1761295415.12887\r"), then signed 16-bit
// little-endian mono PCM at 16 kHz, caller and agent mixed, until it closes
// the socket. There is no other framing: reads arrive in any size.
package openchs

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// SampleRate is the rate of the audio after the call id.
const SampleRate = 16000

// MaxIDLen bounds the call id, carriage return excluded. Asterisk unique
// ids are about 20 characters.
const MaxIDLen = 128

// ErrProtocol marks input that breaks the protocol.
var ErrProtocol = errors.New("openchs: protocol error")

// ReadID reads the call id and its carriage return from r, and nothing
// more: audio bytes that arrived in the same read stay buffered in r. The
// id must be 1 to MaxIDLen printable ASCII characters without spaces.
// Returns an error wrapping ErrProtocol for a bad id, io.EOF if the stream
// ended before any byte, and io.ErrUnexpectedEOF if it ended inside the id.
func ReadID(r *bufio.Reader) (string, error) {
	var id []byte
	for {
		// Byte by byte: the bound then holds whatever r's buffer size.
		b, err := r.ReadByte()
		if err != nil {
			if err == io.EOF && len(id) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		if b == '\r' {
			break
		}
		if b <= ' ' || b > '~' {
			return "", fmt.Errorf("%w: byte 0x%02x in the call id", ErrProtocol, b)
		}
		if len(id) == MaxIDLen {
			return "", fmt.Errorf("%w: call id longer than %d bytes without a carriage return", ErrProtocol, MaxIDLen)
		}
		id = append(id, b)
	}
	if len(id) == 0 {
		return "", fmt.Errorf("%w: empty call id", ErrProtocol)
	}
	return string(id), nil
}

// AppendID appends the encoding of a call id to dst. It returns an error
// wrapping ErrProtocol for an id ReadID would refuse.
func AppendID(dst []byte, id string) ([]byte, error) {
	if len(id) == 0 || len(id) > MaxIDLen {
		return dst, fmt.Errorf("%w: call id of %d bytes, want 1 to %d", ErrProtocol, len(id), MaxIDLen)
	}
	if i := bytes.IndexFunc([]byte(id), func(r rune) bool { return r <= ' ' || r > '~' }); i >= 0 {
		return dst, fmt.Errorf("%w: byte 0x%02x in the call id", ErrProtocol, id[i])
	}
	dst = append(dst, id...)
	return append(dst, '\r'), nil
}

// Decoder turns a byte stream of 16-bit little-endian samples, cut at any
// byte, into samples: an odd byte at the end of one chunk is kept for the
// next.
type Decoder struct {
	odd    byte
	hasOdd bool
}

// Append appends the whole samples of chunk, with any byte left over from
// the previous chunk, to dst.
func (d *Decoder) Append(dst []int16, chunk []byte) []int16 {
	if len(chunk) == 0 {
		return dst
	}
	if d.hasOdd {
		dst = append(dst, int16(uint16(d.odd)|uint16(chunk[0])<<8))
		chunk = chunk[1:]
		d.hasOdd = false
	}
	n := len(chunk) &^ 1
	for i := 0; i < n; i += 2 {
		dst = append(dst, int16(binary.LittleEndian.Uint16(chunk[i:])))
	}
	if n < len(chunk) {
		d.odd, d.hasOdd = chunk[n], true
	}
	return dst
}

// Pending reports whether half a sample is waiting for its second byte.
func (d *Decoder) Pending() bool { return d.hasOdd }

// AppendSamples appends samples as 16-bit little-endian bytes to dst.
func AppendSamples(dst []byte, samples []int16) []byte {
	for _, s := range samples {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(s))
	}
	return dst
}
