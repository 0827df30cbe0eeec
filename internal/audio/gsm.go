package audio

// This file is a GSM 06.10 full-rate (RPE-LTP) decoder following the
// fixed-point reference decoder of ETSI GSM 06.10 §4.3 bit for bit. It is
// hand-written because no maintained Go implementation exists; its output
// matches libgsm, which is what sox, Asterisk and ffmpeg's reference use.

import (
	"math"

	"github.com/callscope/callscope"
)

// GSM framing constants.
const (
	gsmFrameSize     = 33  // bytes of a raw GSM 06.10 frame (Asterisk .gsm)
	gsmFrameSamples  = 160 // samples per frame, 20 ms at 8 kHz
	gsmMagic         = 0xD // high nibble of the first byte of a raw frame
	wav49BlockSize   = 65  // bytes of a Microsoft GSM (WAV49) block: two frames
	wav49BlockSample = 320 // samples per WAV49 block
	gsmSampleRate    = 8000
)

// gsmParams holds the 76 parameters carried by one 260-bit frame.
type gsmParams struct {
	larc  [8]int16  // log-area ratios
	nc    [4]int16  // LTP lag per sub-frame
	bc    [4]int16  // LTP gain per sub-frame
	mc    [4]int16  // RPE grid position per sub-frame
	xmaxc [4]int16  // block amplitude per sub-frame
	xmc   [52]int16 // RPE pulses, 13 per sub-frame
}

// Field widths in bit-stream order: the eight LARs, then per sub-frame
// Nc, bc, Mc, xmaxc and 13 pulses.
var (
	gsmLARBits = [8]uint{6, 6, 5, 5, 4, 4, 3, 3}
)

// bitReader reads fields MSB-first (raw frames) or LSB-first (WAV49).
type bitReader struct {
	buf []byte
	pos uint // bit position
	lsb bool
}

func (r *bitReader) read(n uint) int16 {
	var v int16
	if r.lsb {
		for i := range n {
			p := r.pos + i
			bit := (r.buf[p>>3] >> (p & 7)) & 1
			v |= int16(bit) << i
		}
	} else {
		for range n {
			p := r.pos
			bit := (r.buf[p>>3] >> (7 - p&7)) & 1
			v = v<<1 | int16(bit)
			r.pos++
		}
		return v
	}
	r.pos += n
	return v
}

func (r *bitReader) params(p *gsmParams) {
	for i, n := range gsmLARBits {
		p.larc[i] = r.read(n)
	}
	for j := range 4 {
		p.nc[j] = r.read(7)
		p.bc[j] = r.read(2)
		p.mc[j] = r.read(2)
		p.xmaxc[j] = r.read(6)
		for k := range 13 {
			p.xmc[13*j+k] = r.read(3)
		}
	}
}

// gsmDecoder is the state the decoder carries from frame to frame.
type gsmDecoder struct {
	dp  [160]int16  // reconstructed residual: [0,120) history, [120,160) current
	lar [2][8]int16 // decoded LARs of this and the previous frame
	j   int         // which half of lar holds the current frame
	nrp int16       // last valid LTP lag
	v   [9]int16    // short-term synthesis filter state
	msr int16       // de-emphasis filter state
	out [160]int16  // scratch for one frame
	wt  [160]int16  // scratch: short-term residual of one frame
}

func newGSMDecoder() *gsmDecoder { return &gsmDecoder{nrp: 40} }

// decodeGSM decodes raw 33-byte GSM 06.10 frames at 8 kHz.
// Returns EINVALID if the input is empty, not a whole number of frames, or
// a frame lacks the 0xD magic nibble.
func decodeGSM(data []byte) (*PCM, error) {
	if len(data) == 0 {
		return nil, callscope.Errorf(callscope.EINVALID, "gsm: empty input")
	}
	if len(data)%gsmFrameSize != 0 {
		return nil, callscope.Errorf(callscope.EINVALID, "gsm: %d bytes is not a whole number of %d-byte frames", len(data), gsmFrameSize)
	}
	frames := len(data) / gsmFrameSize
	out := make([]float32, frames*gsmFrameSamples)
	d := newGSMDecoder()
	var p gsmParams
	for f := range frames {
		frame := data[f*gsmFrameSize : (f+1)*gsmFrameSize]
		if frame[0]>>4 != gsmMagic {
			return nil, callscope.Errorf(callscope.EINVALID, "gsm: frame %d lacks the 0xD magic nibble", f)
		}
		r := bitReader{buf: frame, pos: 4}
		r.params(&p)
		d.frame(&p, out[f*gsmFrameSamples:])
	}
	return &PCM{SampleRate: gsmSampleRate, Channels: [][]float32{out}}, nil
}

// decodeWAV49 decodes Microsoft GSM blocks: 65 bytes holding two frames
// packed LSB-first. A trailing partial block is ignored.
func decodeWAV49(data []byte) []float32 {
	blocks := len(data) / wav49BlockSize
	out := make([]float32, blocks*wav49BlockSample)
	d := newGSMDecoder()
	var p gsmParams
	for b := range blocks {
		r := bitReader{buf: data[b*wav49BlockSize : (b+1)*wav49BlockSize], lsb: true}
		r.params(&p)
		d.frame(&p, out[b*wav49BlockSample:])
		r.params(&p)
		d.frame(&p, out[b*wav49BlockSample+gsmFrameSamples:])
	}
	return out
}

// isGSM reports whether data is a non-empty sequence of raw GSM frames.
func isGSM(data []byte) bool {
	if len(data) == 0 || len(data)%gsmFrameSize != 0 {
		return false
	}
	for i := 0; i < len(data); i += gsmFrameSize {
		if data[i]>>4 != gsmMagic {
			return false
		}
	}
	return true
}

// frame decodes one frame of parameters into 160 samples (GSM 06.10 §4.3).
func (d *gsmDecoder) frame(p *gsmParams, dst []float32) {
	var erp [40]int16
	for j := range 4 {
		rpeDecode(p.xmaxc[j], p.mc[j], p.xmc[13*j:13*j+13], &erp)
		d.longTermSynthesis(p.nc[j], p.bc[j], &erp)
		copy(d.wt[40*j:], d.dp[120:160])
	}
	d.shortTermSynthesis(&p.larc)
	d.postprocess()
	for i, s := range d.out {
		dst[i] = float32(s) / 32768
	}
}

// Fixed-point arithmetic of GSM 06.10 §4.1.

func sat16(x int32) int16 {
	if x > math.MaxInt16 {
		return math.MaxInt16
	}
	if x < math.MinInt16 {
		return math.MinInt16
	}
	return int16(x)
}

func gsmAdd(a, b int16) int16 { return sat16(int32(a) + int32(b)) }
func gsmSub(a, b int16) int16 { return sat16(int32(a) - int32(b)) }

// gsmMultR is the rounded Q15 product.
func gsmMultR(a, b int16) int16 {
	if a == math.MinInt16 && b == math.MinInt16 {
		return math.MaxInt16
	}
	return int16((int32(a)*int32(b) + 16384) >> 15)
}

func gsmASR(a int16, n int16) int16 {
	switch {
	case n >= 16:
		if a < 0 {
			return -1
		}
		return 0
	case n <= -16:
		return 0
	case n < 0:
		return a << uint(-n)
	}
	return a >> uint(n)
}

func gsmASL(a int16, n int16) int16 {
	switch {
	case n >= 16:
		return 0
	case n <= -16:
		if a < 0 {
			return -1
		}
		return 0
	case n < 0:
		return gsmASR(a, -n)
	}
	return a << uint(n)
}

// Tables 4.3b (LTP gain levels) and 4.6 (normalised mantissas).
var (
	gsmQLB = [4]int16{3277, 11469, 21299, 32767}
	gsmFAC = [8]int16{18431, 20479, 22527, 24575, 26623, 28671, 30719, 32767}
)

// rpeDecode rebuilds the long-term residual of one sub-frame (§4.2.15-17).
func rpeDecode(xmaxc, mc int16, xmc []int16, erp *[40]int16) {
	exp := int16(0)
	if xmaxc > 15 {
		exp = xmaxc>>3 - 1
	}
	mant := xmaxc - exp<<3
	if mant == 0 {
		exp, mant = -4, 7
	} else {
		for mant <= 7 {
			mant = mant<<1 | 1
			exp--
		}
		mant -= 8
	}

	temp1 := gsmFAC[mant]
	temp2 := gsmSub(6, exp)
	temp3 := gsmASL(1, gsmSub(temp2, 1))
	*erp = [40]int16{}
	for i := range 13 {
		temp := (xmc[i]<<1 - 7) << 12
		temp = gsmMultR(temp1, temp)
		temp = gsmAdd(temp, temp3)
		erp[int(mc)+3*i] = gsmASR(temp, temp2)
	}
}

// longTermSynthesis runs the LTP synthesis filter of one sub-frame
// (§4.3.2), leaving the result in dp[120:160] and shifting the history.
func (d *gsmDecoder) longTermSynthesis(ncr, bcr int16, erp *[40]int16) {
	nr := ncr
	if ncr < 40 || ncr > 120 {
		nr = d.nrp
	}
	d.nrp = nr
	brp := gsmQLB[bcr]
	for k := range 40 {
		drpp := gsmMultR(brp, d.dp[120+k-int(nr)])
		d.dp[120+k] = gsmAdd(erp[k], drpp)
	}
	copy(d.dp[0:120], d.dp[40:160])
}

// Table 4.1 and 4.2 constants for decoding the LARs.
var (
	gsmB    = [8]int16{0, 0, 2048, -2560, 94, -1792, -341, -1144}
	gsmMIC  = [8]int16{-32, -32, -16, -16, -8, -8, -4, -4}
	gsmINVA = [8]int16{13107, 13107, 13107, 13107, 19223, 17476, 31454, 29708}
)

// shortTermSynthesis decodes the LARs, interpolates them over four
// segments of the frame and filters wt into out (§4.2.8-9, §4.3.4).
func (d *gsmDecoder) shortTermSynthesis(larc *[8]int16) {
	cur := &d.lar[d.j]
	d.j ^= 1
	prev := &d.lar[d.j]
	for i := range 8 {
		t := int16(int32(gsmAdd(larc[i], gsmMIC[i])) << 10)
		t = gsmSub(t, gsmB[i]<<1)
		t = gsmMultR(gsmINVA[i], t)
		cur[i] = gsmAdd(t, t)
	}

	var larp [8]int16
	for i := range 8 {
		larp[i] = gsmAdd(gsmAdd(prev[i]>>2, cur[i]>>2), prev[i]>>1)
	}
	d.synthesis(&larp, 0, 13)
	for i := range 8 {
		larp[i] = gsmAdd(prev[i]>>1, cur[i]>>1)
	}
	d.synthesis(&larp, 13, 27)
	for i := range 8 {
		larp[i] = gsmAdd(gsmAdd(prev[i]>>2, cur[i]>>2), cur[i]>>1)
	}
	d.synthesis(&larp, 27, 40)
	larp = *cur
	d.synthesis(&larp, 40, 160)
}

// synthesis converts interpolated LARs to reflection coefficients and runs
// the lattice synthesis filter over samples [from, to).
func (d *gsmDecoder) synthesis(larp *[8]int16, from, to int) {
	var rrp [8]int16
	for i, v := range larp {
		neg := v < 0
		t := v
		if neg {
			t = -v
			if v == math.MinInt16 {
				t = math.MaxInt16
			}
		}
		switch {
		case t < 11059:
			t <<= 1
		case t < 20070:
			t += 11059
		default:
			t = gsmAdd(t>>2, 26112)
		}
		if neg {
			t = -t
		}
		rrp[i] = t
	}
	v := &d.v
	for k := from; k < to; k++ {
		sri := d.wt[k]
		for i := 7; i >= 0; i-- {
			sri = gsmSub(sri, gsmMultR(rrp[i], v[i]))
			v[i+1] = gsmAdd(v[i], gsmMultR(rrp[i], sri))
		}
		v[0] = sri
		d.out[k] = sri
	}
}

// postprocess applies de-emphasis, truncation and upscaling (§4.3.5-7).
func (d *gsmDecoder) postprocess() {
	msr := d.msr
	for k, s := range d.out {
		msr = gsmAdd(s, gsmMultR(msr, 28180))
		d.out[k] = int16(uint16(gsmAdd(msr, msr)) & 0xFFF8)
	}
	d.msr = msr
}
