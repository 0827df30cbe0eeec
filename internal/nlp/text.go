package nlp

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/callscope/callscope"
)

// tokKind tells words, numbers and punctuation apart.
type tokKind uint8

const (
	tWord tokKind = iota
	tNum
	tPunct
)

// token is one word, number or punctuation mark of a segment, with its byte
// offsets into the segment text.
type token struct {
	text       string
	lower      string
	start, end int
	kind       tokKind
	// cased marks a word of a lower-case transcript that written text
	// would capitalise (see truecase).
	cased bool
}

// capitalised reports whether the token starts with an upper-case letter,
// or is marked as one that would.
func (t token) capitalised() bool {
	r, _ := utf8.DecodeRuneInString(t.text)
	return t.cased || unicode.IsUpper(r)
}

// allDigits reports whether s is non-empty and only ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// sentence is a run of tokens of one segment ending at . ? or !.
type sentence struct {
	seg        int // index into doc.segs
	from, to   int // token range [from, to)
	start, end int // byte range in the segment text
	question   bool
}

// doc is a transcript tokenised once and shared by every analyzer.
type doc struct {
	segs      []callscope.Segment
	toks      [][]token
	sents     []sentence
	roles     []role // per segment
	agentName string // the agent's speaker label, "agent" if none spoke
	otherName string // the most talkative non-agent speaker label
}

// role is which side of the call a speaker is on.
type role uint8

const (
	roleCaller role = iota
	roleAgent
)

// defaultAgentSpeakers are speaker labels taken to be the organisation's side.
var defaultAgentSpeakers = []string{
	"agent", "counsellor", "counselor", "operator", "bot", "assistant", "ai",
	"representative", "rep", "advisor", "adviser", "staff", "helpline", "officer",
	"voicebot", "system",
}

// newDoc tokenises segs, splits sentences and assigns speaker roles.
func newDoc(segs []callscope.Segment, agentSpeakers []string) *doc {
	if len(agentSpeakers) == 0 {
		agentSpeakers = defaultAgentSpeakers
	}
	d := &doc{segs: segs, toks: make([][]token, len(segs)), roles: make([]role, len(segs))}
	talk := map[string]int{}
	for i, s := range segs {
		d.toks[i] = tokenize(s.Text)
		d.sents = appendSentences(d.sents, i, d.toks[i])
		sp := strings.ToLower(strings.TrimSpace(s.Speaker))
		isAgent := false
		for _, a := range agentSpeakers {
			if sp == a || strings.HasPrefix(sp, a+"_") || strings.HasPrefix(sp, a+" ") {
				isAgent = true
				break
			}
		}
		if isAgent {
			d.roles[i] = roleAgent
			if d.agentName == "" {
				d.agentName = s.Speaker
			}
		} else {
			talk[s.Speaker] += len(s.Text)
		}
	}
	if d.agentName == "" {
		d.agentName = "agent"
	}
	best := -1
	for sp, n := range talk {
		if n > best || (n == best && sp < d.otherName) {
			best, d.otherName = n, sp
		}
	}
	if d.otherName == "" {
		d.otherName = "caller"
	}
	return d
}

// counterpart returns the speaker label on the other side from segment i.
func (d *doc) counterpart(i int) string {
	if d.roles[i] == roleAgent {
		return d.otherName
	}
	return d.agentName
}

// ownerOf returns the speaker label to report as owner for segment i.
func (d *doc) ownerOf(i int) string {
	if d.roles[i] == roleAgent {
		return d.agentName
	}
	return d.segs[i].Speaker
}

// tokenize splits text into words, numbers and punctuation. Words keep
// internal apostrophes ("don't"); numbers keep internal separators between
// digits ("2,000", "10:30", "12/03/2025"); letters glued to a number start a
// new token ("12th" → "12", "th").
func tokenize(text string) []token {
	toks := make([]token, 0, len(text)/4+1)
	lower := strings.ToLower(text)
	sameLen := len(lower) == len(text)
	mk := func(kind tokKind, s, e int) {
		t := token{text: text[s:e], start: s, end: e, kind: kind}
		if sameLen {
			t.lower = lower[s:e]
		} else {
			t.lower = strings.ToLower(t.text)
		}
		toks = append(toks, t)
	}
	i := 0
	for i < len(text) {
		r, w := utf8.DecodeRuneInString(text[i:])
		switch {
		case unicode.IsSpace(r):
			i += w
		case r >= '0' && r <= '9':
			s := i
			i++
			for i < len(text) {
				c := text[i]
				if c >= '0' && c <= '9' {
					i++
					continue
				}
				if (c == ',' || c == '.' || c == ':' || c == '/') && i+1 < len(text) && text[i+1] >= '0' && text[i+1] <= '9' {
					i += 2
					continue
				}
				break
			}
			mk(tNum, s, i)
		case unicode.IsLetter(r) || unicode.IsMark(r):
			s := i
			i += w
			for i < len(text) {
				r2, w2 := utf8.DecodeRuneInString(text[i:])
				if unicode.IsLetter(r2) || unicode.IsMark(r2) || (r2 >= '0' && r2 <= '9') {
					i += w2
					continue
				}
				if r2 == '\'' || r2 == '’' {
					r3, _ := utf8.DecodeRuneInString(text[i+w2:])
					if i+w2 < len(text) && unicode.IsLetter(r3) {
						i += w2
						continue
					}
				}
				break
			}
			mk(tWord, s, i)
		default:
			mk(tPunct, i, i+w)
			i += w
		}
	}
	return toks
}

// appendSentences splits one segment's tokens into sentences.
func appendSentences(out []sentence, seg int, toks []token) []sentence {
	from := 0
	for i, t := range toks {
		if t.kind == tPunct && (t.text == "." || t.text == "?" || t.text == "!") {
			if t.text == "." && i > 0 && (abbreviation(toks, i) || inWord(toks, i)) {
				continue
			}
			// Keep runs like "..." or "?!" together.
			if i+1 < len(toks) && toks[i+1].kind == tPunct && strings.ContainsAny(toks[i+1].text, ".?!") {
				continue
			}
			if i+1 > from {
				out = append(out, sentence{seg: seg, from: from, to: i + 1, start: toks[from].start, end: t.end, question: t.text == "?"})
			}
			from = i + 1
		}
	}
	if from < len(toks) {
		out = append(out, sentence{seg: seg, from: from, to: len(toks), start: toks[from].start, end: toks[len(toks)-1].end})
	}
	return out
}

// inWord reports whether the "." at toks[i] sits between two words or
// numbers with no space on either side, as in an e-mail address, a web
// address or a file name ("jane.doe@example.com", "acme.co.ke").
func inWord(toks []token, i int) bool {
	if i+1 >= len(toks) {
		return false
	}
	p, n := toks[i-1], toks[i+1]
	return p.kind != tPunct && n.kind != tPunct && p.end == toks[i].start && n.start == toks[i].end
}

// abbreviations end with a full stop that does not end the sentence.
var abbreviations = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "dr": true, "st": true, "bi": true, "no": true,
	"prof": true, "rev": true, "hon": true, "eng": true, "ksh": true, "sh": true, "shs": true,
}

// abbreviation reports whether the "." at toks[i] belongs to "Mr.", "a.m."
// or "p.m." rather than ending a sentence.
func abbreviation(toks []token, i int) bool {
	p := toks[i-1]
	if p.kind != tWord || p.end != toks[i].start {
		return false
	}
	if abbreviations[p.lower] && i+1 < len(toks) && toks[i+1].kind != tPunct {
		return true
	}
	// "a.m.", "p.m.": single letters glued to full stops.
	if len(p.lower) == 1 && (p.lower == "a" || p.lower == "p" || p.lower == "m") {
		if p.lower == "m" && i >= 3 && toks[i-2].text == "." && (toks[i-3].lower == "a" || toks[i-3].lower == "p") {
			// The closing stop of "a.m.": a sentence ends here only if a
			// capitalised word follows.
			return i+1 < len(toks) && !toks[i+1].capitalised()
		}
		return i+1 < len(toks) && toks[i+1].lower == "m"
	}
	return false
}

// fillers are words dropped when quoting a sentence in a summary or to-do.
var fillers = map[string]bool{
	"um": true, "umm": true, "uh": true, "uhm": true, "er": true, "erm": true,
	"eh": true, "ehh": true, "ah": true, "hmm": true, "mm": true, "mhm": true,
}

// quote returns the text of toks[from:to] from the segment text with fillers
// (and the commas after them) removed. It never adds words.
func quote(text string, toks []token, from, to int) string {
	var b strings.Builder
	last := -1
	for i := from; i < to; i++ {
		t := toks[i]
		if t.kind == tWord && fillers[t.lower] {
			if i+1 < to && toks[i+1].text == "," {
				i++
			}
			continue
		}
		if last >= 0 && t.start > last {
			b.WriteByte(' ')
		} else if last >= 0 && t.start < last {
			b.WriteByte(' ')
		}
		if b.Len() == 0 && t.kind == tPunct && (t.text == "," || t.text == "." || t.text == "-") {
			continue
		}
		b.WriteString(t.text)
		last = t.end
	}
	s := strings.TrimSpace(b.String())
	// Restore an upper-case first letter if a leading filler was dropped.
	if s != "" {
		r, w := utf8.DecodeRuneInString(s)
		if unicode.IsLower(r) && from < to && toks[from].capitalised() {
			s = string(unicode.ToUpper(r)) + s[w:]
		}
	}
	return s
}

// runeOffset converts a byte offset in s to a count of characters.
func runeOffset(s string, b int) int {
	if b > len(s) {
		b = len(s)
	}
	for i := 0; i < b; i++ {
		if s[i] >= utf8.RuneSelf {
			return utf8.RuneCountInString(s[:b])
		}
	}
	return b
}

// byteOffset converts a count of characters in s to a byte offset.
func byteOffset(s string, r int) int {
	if r <= 0 {
		return 0
	}
	n := 0
	for i := range s {
		if n == r {
			return i
		}
		n++
	}
	return len(s)
}
