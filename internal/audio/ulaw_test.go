package audio

import "testing"

func TestULawRoundTrip(t *testing.T) {
	t.Parallel()
	for u := range 256 {
		pcm := AppendULawDecoded(nil, []byte{byte(u)})
		got := AppendULawEncoded(nil, pcm)[0]
		want := byte(u)
		if u == 0x7f { // negative zero encodes as positive zero
			want = 0xff
		}
		if got != want {
			t.Errorf("μ-law 0x%02x decodes to %d, which encodes as 0x%02x", u, pcm[0], got)
		}
	}
}

func TestULawEncodeNearest(t *testing.T) {
	t.Parallel()
	// Every linear value encodes to a level no farther from it than the
	// step of its segment, and the extremes clip instead of wrapping.
	for s := -32768; s <= 32767; s += 7 {
		u := AppendULawEncoded(nil, []int16{int16(s)})
		d := int(AppendULawDecoded(nil, u)[0])
		diff := max(d-s, s-d)
		step := 1 << (((^u[0] >> 4) & 7) + 3)
		if diff > step && !(s > 32124 || s < -32124) {
			t.Fatalf("%d encodes as 0x%02x = %d, %d away (step %d)", s, u[0], d, diff, step)
		}
		if (s > 1000 && d < 0) || (s < -1000 && d > 0) {
			t.Fatalf("%d changed sign: %d", s, d)
		}
	}
}
