package live

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"time"
)

// wavHeaderSize is the size of the canonical PCM WAV header spool files
// begin with.
const wavHeaderSize = 44

// maxSkew bounds how far one track may run ahead of another before the
// late one is padded with silence, so a track that stops arriving does
// not hold the others in memory.
const maxSkew = time.Second

// spool writes a call's audio to a local 16-bit PCM WAV file as it
// arrives, one channel per track. Flush makes what was written so far a
// valid WAV file on disk, so a crash loses only what came after the last
// flush.
type spool struct {
	f        *os.File
	w        *bufio.Writer
	rate     int
	channels int
	frames   int64     // frames written (one sample per channel each)
	pending  [][]int16 // per track: samples from frame `frames` on, not yet written
	buf      []byte
}

func newSpool(path string, rate, channels int) (*spool, error) {
	if rate <= 0 || channels <= 0 || channels > 8 {
		return nil, fmt.Errorf("spool: unsupported format: %d Hz, %d channels", rate, channels)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	s := &spool{f: f, w: bufio.NewWriterSize(f, 64<<10), rate: rate, channels: channels, pending: make([][]int16, channels)}
	if _, err := s.w.Write(wavHeader(rate, channels, 0)); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// write places pcm of track at position at (from the start of the
// stream): a gap before it becomes silence, samples before what was
// written already are dropped.
func (s *spool) write(track int, pcm []int16, at time.Duration) error {
	if track < 0 || track >= s.channels {
		return fmt.Errorf("spool: track %d of %d", track, s.channels)
	}
	start := int64(at) * int64(s.rate) / int64(time.Second)
	p := s.pending[track]
	end := s.frames + int64(len(p)) // next frame this track expects
	switch {
	case start > end:
		gap := start - end
		p = append(p, make([]int16, gap)...)
	case start < end:
		skip := end - start
		if skip >= int64(len(pcm)) {
			return nil
		}
		pcm = pcm[skip:]
	}
	s.pending[track] = append(p, pcm...)
	return s.drain(false)
}

// drain writes the frames every track has; with all, it pads the tracks
// to the longest and writes everything. A track more than maxSkew behind
// the longest is padded too.
func (s *spool) drain(all bool) error {
	longest, shortest := 0, int(^uint(0)>>1)
	for _, p := range s.pending {
		longest, shortest = max(longest, len(p)), min(shortest, len(p))
	}
	skew := int(int64(maxSkew) * int64(s.rate) / int64(time.Second))
	if all || longest-shortest > skew {
		target := longest
		if !all {
			target = longest - skew
		}
		for i, p := range s.pending {
			if len(p) < target {
				s.pending[i] = append(p, make([]int16, target-len(p))...)
			}
		}
		shortest = target
	}
	n := shortest
	if n <= 0 {
		return nil
	}
	need := n * s.channels * 2
	if cap(s.buf) < need {
		s.buf = make([]byte, need)
	}
	b := s.buf[:need]
	for i := 0; i < n; i++ {
		for ch, p := range s.pending {
			binary.LittleEndian.PutUint16(b[(i*s.channels+ch)*2:], uint16(p[i]))
		}
	}
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	for ch, p := range s.pending {
		s.pending[ch] = append(p[:0], p[n:]...)
	}
	s.frames += int64(n)
	return nil
}

// position is how much audio the longest track has brought.
func (s *spool) position() time.Duration {
	longest := 0
	for _, p := range s.pending {
		longest = max(longest, len(p))
	}
	return time.Duration(s.frames+int64(longest)) * time.Second / time.Duration(s.rate)
}

// flush writes buffered frames, rewrites the header for them and syncs the
// file: it is then a valid WAV file of everything written.
func (s *spool) flush() error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	if _, err := s.f.WriteAt(wavHeader(s.rate, s.channels, s.frames), 0); err != nil {
		return err
	}
	return s.f.Sync()
}

// finish writes everything, pending tracks padded, and closes the file.
func (s *spool) finish() (frames int64, err error) {
	err = s.drain(true)
	if err == nil {
		err = s.flush()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return s.frames, err
}

// wavHeader is the 44-byte header of a 16-bit PCM WAV file of frames
// frames.
func wavHeader(rate, channels int, frames int64) []byte {
	data := frames * int64(channels) * 2
	if data > 0xFFFFFFFF-36 {
		data = 0xFFFFFFFF - 36
	}
	h := make([]byte, wavHeaderSize)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+data))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], uint16(channels))
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(rate*channels*2))
	binary.LittleEndian.PutUint16(h[32:], uint16(channels*2))
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(data))
	return h
}

// parseWAVHeader reads the format and frame count of a spool file's header
// as its last flush wrote it.
func parseWAVHeader(h []byte) (rate, channels int, frames int64, ok bool) {
	if len(h) < wavHeaderSize || string(h[0:4]) != "RIFF" || string(h[8:16]) != "WAVEfmt " || string(h[36:40]) != "data" {
		return 0, 0, 0, false
	}
	channels = int(binary.LittleEndian.Uint16(h[22:]))
	rate = int(binary.LittleEndian.Uint32(h[24:]))
	if channels <= 0 || rate <= 0 || binary.LittleEndian.Uint16(h[34:]) != 16 {
		return 0, 0, 0, false
	}
	frames = int64(binary.LittleEndian.Uint32(h[40:])) / int64(channels*2)
	return rate, channels, frames, true
}
