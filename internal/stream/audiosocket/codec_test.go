package audiosocket

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
)

func TestKindSampleRate(t *testing.T) {
	t.Parallel()
	// The numbering of Asterisk's res_audiosocket.h, not of the draft docs
	// that made 0x11 slin16.
	for _, tc := range []struct {
		kind Kind
		rate int
	}{
		{KindSlin, 8000}, {KindSlin12, 12000}, {KindSlin16, 16000}, {KindSlin24, 24000},
		{KindSlin32, 32000}, {KindSlin44, 44100}, {KindSlin48, 48000}, {KindSlin96, 96000},
		{KindSlin192, 192000}, {KindHangup, 0}, {KindUUID, 0}, {KindDTMF, 0}, {KindError, 0}, {0x19, 0},
	} {
		if got := tc.kind.SampleRate(); got != tc.rate {
			t.Errorf("%s: rate %d, want %d", tc.kind, got, tc.rate)
		}
		if tc.rate == 0 {
			continue
		}
		if k, err := KindForRate(tc.rate); err != nil || k != tc.kind {
			t.Errorf("KindForRate(%d) = %s, %v; want %s", tc.rate, k, err, tc.kind)
		}
	}
	if byte(KindSlin12) != 0x11 || byte(KindSlin16) != 0x12 {
		t.Fatal("0x11 must be slin12 and 0x12 slin16")
	}
	if _, err := KindForRate(11025); err == nil {
		t.Error("KindForRate(11025) succeeded")
	}
}

func TestReaderFrames(t *testing.T) {
	t.Parallel()
	id := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	var in []byte
	in, _ = AppendFrame(in, KindUUID, id)
	in, _ = AppendAudio(in, KindSlin16, []int16{1, -1, 32767, -32768})
	in, _ = AppendFrame(in, KindDTMF, []byte("#"))
	in, _ = AppendFrame(in, KindError, []byte{2})
	in, _ = AppendFrame(in, KindHangup, nil)
	r := NewReader(bytes.NewReader(in))
	want := []Frame{
		{KindUUID, id},
		{KindSlin16, []byte{1, 0, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x80}},
		{KindDTMF, []byte("#")},
		{KindError, []byte{2}},
		{KindHangup, []byte{}},
	}
	for i, w := range want {
		f, err := r.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Kind != w.Kind || !bytes.Equal(f.Payload, w.Payload) {
			t.Fatalf("frame %d = %s % x, want %s % x", i, f.Kind, f.Payload, w.Kind, w.Payload)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
	if got := DecodeSamples(nil, want[1].Payload); !slices.Equal(got, []int16{1, -1, 32767, -32768}) {
		t.Fatalf("DecodeSamples = %v", got)
	}
}

func TestReaderRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"UUIDTooShort", []byte{0x01, 0x00, 0x02, 1, 2}, ErrProtocol},
		{"DTMFTwoBytes", []byte{0x03, 0x00, 0x02, '1', '2'}, ErrProtocol},
		{"DTMFUnknownKey", []byte{0x03, 0x00, 0x01, 'x'}, ErrProtocol},
		{"EmptyAudio", []byte{0x10, 0x00, 0x00}, ErrProtocol},
		{"OddAudio", []byte{0x10, 0x00, 0x03, 0, 0, 0}, ErrProtocol},
		{"UnknownKind", []byte{0x02, 0x00, 0x00}, ErrProtocol},
		{"KindAfterSlin192", []byte{0x19, 0x00, 0x02, 0, 0}, ErrProtocol},
		{"LongErrorFrame", []byte{0xff, 0x00, 0x02, 0, 0}, ErrProtocol},
		{"TruncatedHeader", []byte{0x10, 0x00}, io.ErrUnexpectedEOF},
		{"TruncatedPayload", []byte{0x10, 0x01, 0x40, 0, 0}, io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(tc.in)).Next()
			if !errors.Is(err, tc.want) {
				t.Fatalf("Next() = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestWriterSendsOnlyWhatAsteriskAccepts(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	w := NewWriter(&b)
	if err := w.Audio(nil); err == nil {
		t.Error("empty audio was sent; Asterisk treats it as an error")
	}
	for _, k := range []Kind{KindUUID, KindDTMF, KindError, KindHangup} {
		if err := w.SetKind(k); err == nil {
			t.Errorf("SetKind(%s) accepted a kind Asterisk rejects as audio", k)
		}
	}
	if err := w.Audio([]int16{1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := w.SetKind(KindSlin16); err != nil {
		t.Fatal(err)
	}
	if err := w.Audio(make([]int16, 40000)); err != nil { // more than one frame holds
		t.Fatal(err)
	}
	if err := w.Hangup(); err != nil {
		t.Fatal(err)
	}
	r := NewReader(&b)
	var kinds []Kind
	var samples int
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, f.Kind)
		samples += len(f.Payload) / 2
	}
	if want := []Kind{KindSlin, KindSlin16, KindSlin16, KindHangup}; !slices.Equal(kinds, want) {
		t.Fatalf("kinds sent %v, want %v", kinds, want)
	}
	if samples != 40002 {
		t.Fatalf("%d samples sent, want 40002", samples)
	}
}

// FuzzReader checks that no input makes the reader panic or loop, and that
// every frame it accepts encodes back to the bytes it came from.
func FuzzReader(f *testing.F) {
	f.Add([]byte{0x01, 0x00, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0x10, 0x00, 0x02, 0x34, 0x12, 0x00, 0x00, 0x00})
	f.Add([]byte{0xff, 0x00, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in))
		consumed := 0
		for {
			fr, err := r.Next()
			if err != nil {
				if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.Is(err, ErrProtocol) {
					t.Fatalf("unexpected error %v", err)
				}
				if err == io.EOF && consumed != len(in) {
					t.Fatalf("io.EOF after %d of %d bytes", consumed, len(in))
				}
				return
			}
			enc, err := AppendFrame(nil, fr.Kind, fr.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, in[consumed:consumed+len(enc)]) {
				t.Fatalf("frame %s re-encodes as % x, read from % x", fr.Kind, enc, in[consumed:consumed+len(enc)])
			}
			consumed += len(enc)
			if fr.Kind.IsAudio() {
				if n := len(DecodeSamples(nil, fr.Payload)); n != len(fr.Payload)/2 || n == 0 {
					t.Fatalf("%d samples from %d bytes", n, len(fr.Payload))
				}
			}
		}
	})
}
