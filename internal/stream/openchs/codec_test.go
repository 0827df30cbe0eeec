package openchs

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadIDKeepsAudioOfTheSameRead(t *testing.T) {
	t.Parallel()
	// The id and the first samples arrive in one read: the samples are
	// audio, not part of the handshake to throw away.
	in := append([]byte("1761295415.12887\r"), AppendSamples(nil, []int16{1, -2, 300})...)
	r := bufio.NewReader(bytes.NewReader(in))
	id, err := ReadID(r)
	if err != nil || id != "1761295415.12887" {
		t.Fatalf("ReadID = %q, %v", id, err)
	}
	rest, _ := io.ReadAll(r)
	var d Decoder
	if got := d.Append(nil, rest); !slices.Equal(got, []int16{1, -2, 300}) {
		t.Fatalf("audio after the id = %v", got)
	}
}

func TestReadIDRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		want error
	}{
		{"Empty", "\r", ErrProtocol},
		{"Space", "17612 95415\r", ErrProtocol},
		{"Binary", "\x00\x01\r", ErrProtocol},
		{"LineFeedFirst", "\n1761295415.12887\r", ErrProtocol},
		{"TooLong", strings.Repeat("9", MaxIDLen+1) + "\r", ErrProtocol},
		{"NoCarriageReturnForever", strings.Repeat("9", 10000), ErrProtocol},
		{"ClosedInsideID", "17612", io.ErrUnexpectedEOF},
		{"ClosedAtOnce", "", io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadID(bufio.NewReader(strings.NewReader(tc.in)))
			if !errors.Is(err, tc.want) {
				t.Fatalf("ReadID = %v, want %v", err, tc.want)
			}
		})
	}
	if id, err := ReadID(bufio.NewReader(strings.NewReader(strings.Repeat("9", MaxIDLen) + "\r"))); err != nil || len(id) != MaxIDLen {
		t.Fatalf("an id of MaxIDLen bytes: %v", err)
	}
}

func TestDecoderAcrossOddReads(t *testing.T) {
	t.Parallel()
	want := []int16{0x1234, -1, 0x7fff, -0x8000, 5}
	raw := AppendSamples(nil, want)
	// One byte per read: every sample is split across two reads.
	r := iotest.OneByteReader(bytes.NewReader(raw))
	var d Decoder
	var got []int16
	buf := make([]byte, 3)
	for {
		n, err := r.Read(buf)
		got = d.Append(got, buf[:n])
		if err != nil {
			break
		}
	}
	if !slices.Equal(got, want) || d.Pending() {
		t.Fatalf("got %v (pending %v), want %v", got, d.Pending(), want)
	}
}

// FuzzStream checks that any byte stream either yields an id that encodes
// back to its bytes, followed by the samples of the rest cut anywhere, or
// is refused without a panic.
func FuzzStream(f *testing.F) {
	f.Add([]byte("1761295415.12887\r\x01\x00\xff\xff\x00"), uint8(3))
	f.Add([]byte("\r"), uint8(1))
	f.Add([]byte("abc"), uint8(7))
	f.Fuzz(func(t *testing.T, in []byte, cut uint8) {
		r := bufio.NewReaderSize(bytes.NewReader(in), 16)
		id, err := ReadID(r)
		if err != nil {
			if !errors.Is(err, ErrProtocol) && err != io.EOF && err != io.ErrUnexpectedEOF {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		enc, err := AppendID(nil, id)
		if err != nil {
			t.Fatalf("ReadID accepted %q, AppendID refuses it: %v", id, err)
		}
		if !bytes.HasPrefix(in, enc) {
			t.Fatalf("id %q re-encodes as %q", id, enc)
		}
		rest := in[len(enc):]
		var whole Decoder
		want := whole.Append(nil, rest)
		var d Decoder
		step := int(cut)%7 + 1
		var got []int16
		for i := 0; i < len(rest); i += step {
			got = d.Append(got, rest[i:min(i+step, len(rest))])
		}
		if !slices.Equal(got, want) || len(got) != len(rest)/2 || d.Pending() != (len(rest)%2 == 1) {
			t.Fatalf("cut every %d bytes: %d samples, whole: %d", step, len(got), len(want))
		}
	})
}
