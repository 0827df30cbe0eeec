package audio

// G.711 μ-law on 16-bit samples, for live streams that carry it (Twilio
// Media Streams) and must not go through float32 and back per frame.

var ulawInt16 = func() (t [256]int16) {
	for i := range t {
		t[i] = ulawToLinear(byte(i))
	}
	return t
}()

// AppendULawDecoded appends the 16-bit linear samples of μ-law bytes to
// dst.
func AppendULawDecoded(dst []int16, ulaw []byte) []int16 {
	for _, u := range ulaw {
		dst = append(dst, ulawInt16[u])
	}
	return dst
}

// AppendULawEncoded appends the μ-law encoding of 16-bit linear samples to
// dst (G.711 §2: magnitudes clipped at 32635, biased by 0x84, bits
// inverted). Decoding the result gives the nearest μ-law level.
func AppendULawEncoded(dst []byte, pcm []int16) []byte {
	for _, s := range pcm {
		dst = append(dst, linearToULaw(s))
	}
	return dst
}

func linearToULaw(s int16) byte {
	const (
		bias = 0x84
		clip = 32635
	)
	x := int32(s)
	var sign byte
	if x < 0 {
		x, sign = -x, 0x80
	}
	x = min(x, clip) + bias
	exp := byte(7)
	for mask := int32(0x4000); x&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := byte(x>>(exp+3)) & 0x0F
	return ^(sign | exp<<4 | mant)
}
