package audio

// G.711 expansion tables, built once from the ITU-T G.711 segment rules.
var (
	ulawTable = buildTable(ulawToLinear)
	alawTable = buildTable(alawToLinear)
)

func buildTable(f func(byte) int16) *[256]float32 {
	var t [256]float32
	for i := range t {
		t[i] = float32(f(byte(i))) / 32768
	}
	return &t
}

// ulawToLinear expands one μ-law byte to 16-bit linear (G.711 §2, with the
// 14-bit result scaled by 4 as every telephony stack does).
func ulawToLinear(u byte) int16 {
	u = ^u
	exponent := (u >> 4) & 0x07
	mantissa := int32(u & 0x0F)
	v := ((mantissa << 3) + 0x84) << exponent
	v -= 0x84
	if u&0x80 != 0 {
		return int16(-v)
	}
	return int16(v)
}

// alawToLinear expands one A-law byte to 16-bit linear (G.711 §3, even bits
// inverted, with the 13-bit result scaled by 8).
func alawToLinear(a byte) int16 {
	a ^= 0x55
	t := int32(a&0x0F) << 4
	seg := (a & 0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// decodeG711 expands 8-bit companded samples, interleaved over channels.
func decodeG711(data []byte, table *[256]float32, channels int) [][]float32 {
	n := len(data) / channels
	out := makeChannels(channels, n)
	for i := range n {
		for c := range channels {
			out[c][i] = table[data[i*channels+c]]
		}
	}
	return out
}

// makeChannels allocates channels slices of n samples each in one block.
func makeChannels(channels, n int) [][]float32 {
	buf := make([]float32, channels*n)
	out := make([][]float32, channels)
	for c := range out {
		out[c] = buf[c*n : (c+1)*n : (c+1)*n]
	}
	return out
}
