package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"

	"github.com/callscope/callscope"
	mp3 "github.com/hajimehoshi/go-mp3"
)

// mp3Header is the part of an MPEG audio frame header the decoder needs.
type mp3Header struct {
	sampleRate int
	mono       bool
	size       int  // frame length in bytes
	mpeg25     bool // MPEG 2.5 (8, 11.025 and 12 kHz)
}

var (
	mp3Bitrates1 = [16]int{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0}
	mp3Bitrates2 = [16]int{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0}
	mp3Rates     = [4][3]int{{11025, 12000, 8000}, {}, {22050, 24000, 16000}, {44100, 48000, 32000}}
)

// parseMP3Header parses a Layer III frame header at b, the only layer the
// decoder handles; free-format bit rates are rejected.
func parseMP3Header(b []byte) (mp3Header, bool) {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return mp3Header{}, false
	}
	version := (b[1] >> 3) & 3 // 0: MPEG 2.5, 1: reserved, 2: MPEG 2, 3: MPEG 1
	layer := (b[1] >> 1) & 3   // 1: Layer III
	brIndex := b[2] >> 4
	srIndex := (b[2] >> 2) & 3
	if version == 1 || layer != 1 || brIndex == 0 || brIndex == 15 || srIndex == 3 {
		return mp3Header{}, false
	}
	h := mp3Header{sampleRate: mp3Rates[version][srIndex], mono: b[3]>>6 == 3, mpeg25: version == 0}
	pad := int(b[2]>>1) & 1
	if version == 3 {
		h.size = 144*1000*mp3Bitrates1[brIndex]/h.sampleRate + pad
	} else {
		h.size = 72*1000*mp3Bitrates2[brIndex]/h.sampleRate + pad
	}
	return h, true
}

// skipID3v2 returns the offset just past any ID3v2 tags at the start of b.
// Returns EINVALID if a tag claims more bytes than b holds.
func skipID3v2(b []byte) (int, error) {
	pos := 0
	for len(b)-pos >= 10 && string(b[pos:pos+3]) == "ID3" {
		sz := b[pos+6 : pos+10]
		if (sz[0]|sz[1]|sz[2]|sz[3])&0x80 != 0 {
			return 0, callscope.Errorf(callscope.EINVALID, "mp3: ID3 tag size is not sync-safe")
		}
		size := 10 + int(sz[0])<<21 | int(sz[1])<<14 | int(sz[2])<<7 | int(sz[3])
		if b[pos+5]&0x10 != 0 { // footer present
			size += 10
		}
		if size > len(b)-pos {
			return 0, callscope.Errorf(callscope.EINVALID, "mp3: ID3 tag claims %d bytes but only %d are present", size, len(b)-pos)
		}
		pos += size
	}
	return pos, nil
}

// findMP3Frame returns the offset of the first frame header in b that is
// followed by another valid header or by the end of the data, searching
// at most limit bytes.
func findMP3Frame(b []byte, limit int) (int, mp3Header, bool) {
	for i := 0; i+4 <= len(b) && i <= limit; i++ {
		h, ok := parseMP3Header(b[i:])
		if !ok {
			continue
		}
		next := i + h.size
		if next >= len(b) { // the last frame, possibly truncated
			return i, h, true
		}
		if _, ok := parseMP3Header(b[next:]); ok {
			return i, h, true
		}
	}
	return 0, mp3Header{}, false
}

// isMP3 reports whether b starts with an ID3v2 tag or an MPEG Layer III
// frame that is followed by another.
func isMP3(b []byte) bool {
	if len(b) >= 3 && string(b[:3]) == "ID3" {
		return true
	}
	_, _, ok := findMP3Frame(b, 0)
	return ok
}

// CheckMP3 reports whether data is MP3 the decoder can read: EINVALID when
// it finds no Layer III frame, or when the stream is MPEG 2.5 (8, 11.025 or
// 12 kHz), which the decoder does not implement. It reads only the start.
func CheckMP3(data []byte) error {
	start, err := skipID3v2(data)
	if err != nil {
		return err
	}
	_, h, ok := findMP3Frame(data[start:], 64<<10)
	switch {
	case !ok:
		return callscope.Errorf(callscope.EINVALID, "mp3: no MPEG Layer III frame found")
	case h.mpeg25:
		return callscope.Errorf(callscope.EINVALID, "mp3: MPEG 2.5 (%d Hz) is not supported", h.sampleRate)
	}
	return nil
}

// readOnly hides io.Seeker so go-mp3 does not pre-scan the whole stream.
type readOnly struct{ r io.Reader }

func (r readOnly) Read(p []byte) (int, error) { return r.r.Read(p) }

// mp3Expansion bounds decoded bytes per input byte; real MP3 stays far
// below it, so exceeding it means the decoder is looping on garbage.
const mp3Expansion = 256

// decodeMP3 decodes MPEG-1/2/2.5 Layer III with go-mp3.
// Returns EINVALID if no frame is found or the decoder fails.
func decodeMP3(data []byte) (p *PCM, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, callscope.Errorf(callscope.EINVALID, "mp3: corrupt stream (%v)", r)
		}
	}()
	start, err := skipID3v2(data)
	if err != nil {
		return nil, err
	}
	body := data[start:]
	if n := len(body); n >= 128 && string(body[n-128:n-125]) == "TAG" {
		body = body[:n-128] // ID3v1 trailer
	}
	off, h, ok := findMP3Frame(body, 64<<10)
	if !ok {
		return nil, callscope.Errorf(callscope.EINVALID, "mp3: no MPEG Layer III frame found")
	}
	body = body[off:]
	dec, err := mp3.NewDecoder(readOnly{bytes.NewReader(body)})
	if err != nil {
		return nil, callscope.Errorf(callscope.EINVALID, "mp3: %v", err)
	}
	limit := int64(len(body))*mp3Expansion + 1<<20
	pcm, err := io.ReadAll(io.LimitReader(dec, limit+1))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, callscope.Errorf(callscope.EINVALID, "mp3: %v", err)
	}
	if int64(len(pcm)) > limit {
		return nil, callscope.Errorf(callscope.EINVALID, "mp3: decoded output out of proportion to the input")
	}
	frames := len(pcm) / 4 // go-mp3 always yields 16-bit stereo
	if frames == 0 {
		return nil, callscope.Errorf(callscope.EINVALID, "mp3: no audio decoded")
	}
	channels := 2
	if h.mono {
		channels = 1
	}
	out := makeChannels(channels, frames)
	for i := range frames {
		for c := range channels {
			out[c][i] = float32(int16(binary.LittleEndian.Uint16(pcm[4*i+2*c:]))) / (1 << 15)
		}
	}
	rate := dec.SampleRate()
	if rate < MinSampleRate || rate > MaxSampleRate {
		return nil, callscope.Errorf(callscope.EINVALID, "mp3: sample rate %d Hz out of range", rate)
	}
	return &PCM{SampleRate: rate, Channels: out}, nil
}
