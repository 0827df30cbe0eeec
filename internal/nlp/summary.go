package nlp

import (
	"sort"
	"strings"
)

// Summary is an extractive summary: sentences taken from the transcript,
// fillers trimmed, nothing invented.
type Summary struct {
	// Text is the chosen sentences in call order, each after its speaker.
	Text      string            `json:"text"`
	Reason    string            `json:"reason,omitempty"`
	Agreed    []string          `json:"agreed"`
	NextSteps []string          `json:"next_steps"`
	Sentences []SummarySentence `json:"sentences"`
}

// SummarySentence is one transcript sentence chosen for the summary.
type SummarySentence struct {
	SegmentID int    `json:"segment_id"`
	Speaker   string `json:"speaker"`
	// Role is why it was chosen: reason, detail, agreement or next_step.
	Role string `json:"role"`
	Text string `json:"text"`
}

// reasonCues mark the sentence that says why someone called.
var reasonCueList = [][]string{
	{"calling", "about"}, {"calling", "because"}, {"calling", "to"}, {"i'm", "calling"}, {"i", "am", "calling"},
	{"i", "want", "to"}, {"i", "wanted", "to"}, {"i", "would", "like"}, {"i'd", "like"}, {"i", "need"},
	{"my", "problem"}, {"the", "problem", "is"}, {"the", "issue", "is"}, {"my", "issue"}, {"i", "have", "a"},
	{"i'm", "having"}, {"there", "is", "a"}, {"there's", "a"}, {"i", "want", "to", "report"},
	{"nataka"}, {"nimepiga", "simu"}, {"nilikuwa", "nataka"}, {"shida", "ni"}, {"tatizo", "ni"},
	{"reason", "for", "my", "call"}, {"reason", "for", "this", "call"}, {"purpose", "of", "this", "call"},
	{"i'm", "reaching", "out"}, {"this", "is", "a", "reminder"}, {"we're", "calling"}, {"we", "are", "calling"},
}

var (
	reasonCues = cues(reasonCueList...)
	// outboundReasonCues let the agent state the reason of an outbound call.
	outboundReasonCues = cues(reasonCueList[len(reasonCueList)-4:]...)
)

// agreeCues mark an agreement.
var agreeCues = cues([][]string{
	{"agreed"}, {"we", "agree"}, {"that", "works"}, {"sounds", "good"}, {"deal"}, {"confirmed"},
	{"is", "booked"}, {"are", "booked"}, {"booked", "you"}, {"scheduled"}, {"we", "have", "agreed"},
	{"tumekubaliana"}, {"sawa", "basi"}, {"that's", "fine"}, {"that", "is", "fine"}, {"i", "agree"},
	{"okay", "so"}, {"so", "we", "will"}, {"so", "i", "will"}, {"has", "been"}, {"have", "been"},
}...)

// greetingWords make a sentence small talk when it has little else.
var greetingWords = setOf("hello", "hi", "good", "morning", "afternoon", "evening", "thank", "thanks",
	"you", "bye", "goodbye", "okay", "ok", "yes", "yeah", "sure", "habari", "asante", "sawa", "welcome",
	"for", "calling", "how", "are", "can", "i", "help", "today", "fine", "sir", "madam", "karibu", "nzuri",
	"the", "is", "this", "my", "name", "speaking", "child", "helpline", "to")

// summarize picks the reason, agreement and next steps of the call.
func summarize(d *doc, todos []Todo, c *Classification) Summary {
	type cand struct {
		idx   int // index into d.sents
		words int
		role  string
		score float64
	}
	evidence := map[int]float64{} // segment id → keyword weight
	for _, e := range c.Evidence {
		if !e.Negated {
			evidence[e.SegmentID] += e.Weight
		}
	}
	todoSegs := map[int]bool{}
	for _, t := range todos {
		todoSegs[t.SegmentID] = true
	}
	n := len(d.sents)
	var cands []cand
	for i, sn := range d.sents {
		toks := d.toks[sn.seg]
		words, small := 0, 0
		for k := sn.from; k < sn.to; k++ {
			if toks[k].kind != tPunct {
				words++
				if greetingWords[toks[k].lower] {
					small++
				}
			}
		}
		if words < 4 || small*10 >= words*8 {
			continue
		}
		cands = append(cands, cand{idx: i, words: words})
	}
	pick := map[int]string{}
	best := func(score func(cand) float64) int {
		bi, bs := -1, 0.0
		for _, cd := range cands {
			if _, taken := pick[cd.idx]; taken {
				continue
			}
			if s := score(cd); s > bs {
				bi, bs = cd.idx, s
			}
		}
		return bi
	}
	hasCue := func(cd cand, set cueSet) bool {
		sn := d.sents[cd.idx]
		toks := d.toks[sn.seg][:sn.to]
		for k := sn.from; k < sn.to; k++ {
			if set.match(toks, k) > 0 {
				return true
			}
		}
		return false
	}
	// Reason: an early caller sentence with a reason cue or keyword evidence.
	reason := best(func(cd cand) float64 {
		sn := d.sents[cd.idx]
		if d.roles[sn.seg] == roleAgent && !hasCue(cd, outboundReasonCues) {
			return 0
		}
		s := 0.0
		if hasCue(cd, reasonCues) {
			s += 3
		}
		s += evidence[d.segs[sn.seg].SegmentID]
		if s == 0 {
			return 0
		}
		pos := float64(cd.idx) / float64(n)
		return s * (1.5 - pos) * lengthFactor(cd.words)
	})
	if reason >= 0 {
		pick[reason] = "reason"
	}
	// A second caller sentence with the strongest keyword evidence.
	detail := best(func(cd cand) float64 {
		sn := d.sents[cd.idx]
		if d.roles[sn.seg] == roleAgent || d.sents[cd.idx].question {
			return 0
		}
		return evidence[d.segs[sn.seg].SegmentID] * lengthFactor(cd.words)
	})
	if detail >= 0 {
		pick[detail] = "detail"
	}
	// Agreement: late sentences with an agreement cue.
	agree := best(func(cd cand) float64 {
		if !hasCue(cd, agreeCues) {
			return 0
		}
		return (0.5 + float64(cd.idx)/float64(n)) * lengthFactor(cd.words)
	})
	if agree >= 0 {
		pick[agree] = "agreement"
	}
	// Next steps: to-do sentences, the agent's first.
	steps := 0
	for steps < 2 {
		nx := best(func(cd cand) float64 {
			sn := d.sents[cd.idx]
			if !todoSegs[d.segs[sn.seg].SegmentID] || !(hasCue(cd, commitTriggers) || hasCue(cd, requestTriggers)) {
				return 0
			}
			s := 1.0 + float64(cd.idx)/float64(n)
			if d.roles[sn.seg] == roleAgent {
				s += 1
			}
			return s * lengthFactor(cd.words)
		})
		if nx < 0 {
			break
		}
		pick[nx] = "next_step"
		steps++
	}
	// Fill to three with informative sentences, longest first.
	for len(pick) < 3 {
		f := best(func(cd cand) float64 {
			return float64(cd.words) / 10 * (1 + evidence[d.segs[d.sents[cd.idx].seg].SegmentID])
		})
		if f < 0 {
			break
		}
		pick[f] = "detail"
	}
	idx := make([]int, 0, len(pick))
	for i := range pick {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for len(idx) > 5 {
		// Drop a detail first, then the earliest next step.
		drop := -1
		for k, i := range idx {
			if pick[i] == "detail" {
				drop = k
				break
			}
		}
		if drop < 0 {
			drop = len(idx) - 1
		}
		idx = append(idx[:drop], idx[drop+1:]...)
	}
	s := Summary{Agreed: []string{}, NextSteps: []string{}, Sentences: []SummarySentence{}}
	var b strings.Builder
	for _, i := range idx {
		sn := d.sents[i]
		seg := d.segs[sn.seg]
		text := quote(seg.Text, d.toks[sn.seg], sn.from, sn.to)
		ss := SummarySentence{SegmentID: seg.SegmentID, Speaker: seg.Speaker, Role: pick[i], Text: text}
		s.Sentences = append(s.Sentences, ss)
		switch ss.Role {
		case "reason":
			s.Reason = text
		case "agreement":
			s.Agreed = append(s.Agreed, text)
		case "next_step":
			s.NextSteps = append(s.NextSteps, text)
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(speakerTitle(seg.Speaker))
		b.WriteString(": ")
		b.WriteString(text)
	}
	s.Text = b.String()
	return s
}

// lengthFactor prefers sentences of 8–30 words.
func lengthFactor(words int) float64 {
	switch {
	case words < 6:
		return 0.5
	case words > 40:
		return 0.6
	}
	return 1
}

// speakerTitle capitalises a speaker label for the summary text.
func speakerTitle(s string) string {
	if s == "" {
		return "Speaker"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
