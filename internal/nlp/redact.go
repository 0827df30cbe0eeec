package nlp

import (
	"sort"
	"strings"

	"github.com/callscope/callscope"
)

// RedactedSpan is one masked part of a segment. Start and End are character
// offsets into the original segment text.
type RedactedSpan struct {
	SegmentID   int    `json:"segment_id"`
	Type        string `json:"type"`
	Start       int    `json:"start"`
	End         int    `json:"end"`
	Placeholder string `json:"placeholder"`
}

// placeholders are the typed masks Redact writes.
var placeholders = map[string]string{
	EntityPhone:      "[PHONE]",
	EntityEmail:      "[EMAIL]",
	EntityCard:       "[CARD]",
	EntityNationalID: "[ID]",
	EntityPerson:     "[PERSON]",
}

// byteSpan is a span to mask, in bytes of the original text.
type byteSpan struct {
	seg, start, end int
	typ             string
}

// replacement records where a mask went, to map later finds back.
type replacement struct {
	origStart, origEnd, newStart, newEnd int
}

// Redact returns a copy of segs with phone numbers (written or spoken),
// e-mails, card numbers and identity numbers — and person names when
// opts.RedactPersons is set — replaced by typed placeholders such as
// "[PHONE]", and the spans it masked. The output is checked again with the
// entity extractor until it finds nothing left to mask.
func (e *Engine) Redact(segs []callscope.Segment, opts Options) ([]callscope.Segment, []RedactedSpan) {
	pii := func(typ string) bool {
		if typ == EntityPerson {
			return opts.RedactPersons
		}
		_, ok := placeholders[typ]
		return ok
	}
	var spans []byteSpan
	for _, en := range e.x.extract(newDoc(segs, e.agents), dateCtx{base: opts.CallStart}) {
		if pii(en.Type) {
			spans = append(spans, byteSpan{seg: en.seg, start: en.bStart, end: en.bEnd, typ: en.Type})
		}
	}
	out := make([]callscope.Segment, len(segs))
	var repls [][]replacement
	for iter := 0; ; iter++ {
		spans = mergeSpans(spans)
		repls = apply(segs, spans, out)
		if iter == 4 {
			break
		}
		var again []byteSpan
		for _, en := range e.x.extract(newDoc(out, e.agents), dateCtx{base: opts.CallStart}) {
			if !pii(en.Type) {
				continue
			}
			again = append(again, byteSpan{
				seg: en.seg, typ: en.Type,
				start: origPos(repls[en.seg], en.bStart, false),
				end:   origPos(repls[en.seg], en.bEnd, true),
			})
		}
		if len(again) == 0 {
			break
		}
		spans = append(spans, again...)
	}
	res := make([]RedactedSpan, 0, len(spans))
	for _, s := range spans {
		t := segs[s.seg].Text
		res = append(res, RedactedSpan{
			SegmentID: segs[s.seg].SegmentID, Type: s.typ, Placeholder: placeholders[s.typ],
			Start: runeOffset(t, s.start), End: runeOffset(t, s.end),
		})
	}
	return out, res
}

// mergeSpans sorts spans and joins overlapping ones, keeping the type of
// the first.
func mergeSpans(spans []byteSpan) []byteSpan {
	sort.Slice(spans, func(a, b int) bool {
		if spans[a].seg != spans[b].seg {
			return spans[a].seg < spans[b].seg
		}
		return spans[a].start < spans[b].start
	})
	var out []byteSpan
	for _, s := range spans {
		if n := len(out); n > 0 && out[n-1].seg == s.seg && s.start < out[n-1].end {
			if s.end > out[n-1].end {
				out[n-1].end = s.end
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// apply writes the masked segments into out and returns, per segment, where
// each mask went.
func apply(segs []callscope.Segment, spans []byteSpan, out []callscope.Segment) [][]replacement {
	repls := make([][]replacement, len(segs))
	k := 0
	for i, s := range segs {
		out[i] = s
		if k >= len(spans) || spans[k].seg != i {
			continue
		}
		var b strings.Builder
		last := 0
		for ; k < len(spans) && spans[k].seg == i; k++ {
			sp := spans[k]
			b.WriteString(s.Text[last:sp.start])
			ns := b.Len()
			b.WriteString(placeholders[sp.typ])
			repls[i] = append(repls[i], replacement{origStart: sp.start, origEnd: sp.end, newStart: ns, newEnd: b.Len()})
			last = sp.end
		}
		b.WriteString(s.Text[last:])
		out[i].Text = b.String()
	}
	return repls
}

// origPos maps a byte offset in masked text back to the original text. An
// offset inside a mask maps to the mask's start (or end, for span ends).
func origPos(rs []replacement, p int, isEnd bool) int {
	shift := 0
	for _, r := range rs {
		if p < r.newStart || (isEnd && p == r.newStart) {
			return p + shift
		}
		if p < r.newEnd || (isEnd && p == r.newEnd) {
			if isEnd {
				return r.origEnd
			}
			return r.origStart
		}
		shift = r.origEnd - r.newEnd
	}
	return p + shift
}
