package nlp

import (
	"strconv"
	"strings"
)

// Spoken e-mail addresses.
//
// An address said aloud is read as: a local part, "at", a domain of labels
// joined by "dot", the last label a known top-level domain. The rule for the
// local part, read back from "at" to the first word that cannot be part of
// it (a function word such as "is", "my", "to", "email", or punctuation):
//
//   - words are joined as they are, with no separator: a speaker who means
//     "jane.doe" says "jane dot doe", so "jane doe seven at example dot com"
//     is janedoe7@example.com;
//   - "dot", "underscore" and "dash"/"hyphen" are ".", "_" and "-";
//   - spelled-out letters join into one word ("m w a n g i" is mwangi);
//   - number words become digits ("seven" 7, "twenty one" 21, "double
//     seven" 77), and written digits stay;
//   - at most three whole words (letters and digits do not count), so a
//     sentence is not swallowed into an address.
//
// A domain label is one word or a run of spelled letters ("j k u a t dot
// ac dot ke"), with "dash" inside it.

// emailLocalStop are words that are never part of a spoken address's local
// part: reading back from "at" stops at them.
var emailLocalStop = setOf(
	"me", "us", "him", "her", "them", "it", "email", "e-mail", "mail", "address", "is", "was", "are",
	"ni", "you", "look", "arrive", "be", "there", "here", "home", "school", "work", "and", "or", "the",
	"my", "your", "his", "our", "their", "its", "it's", "to", "on", "at", "in", "of", "for", "from",
	"send", "sent", "write", "reach", "contact", "use", "try", "this", "that", "that's", "yes", "yeah",
	"okay", "ok", "so", "well", "just", "please", "um", "uh", "er", "hmm", "also", "then", "am", "i'm",
	"yangu", "yake", "barua", "pepe", "kwa", "na", "with", "by", "as", "an", "he", "she", "we", "they",
	"can", "will", "would", "should", "do", "does", "did", "have", "has", "had", "not", "no", "if",
	"call", "number", "phone", "name", "called", "spelled", "spell", "spelt", "like", "say", "said",
	"oh", "right", "sorry", "correct", "again", "still", "now", "today", "tomorrow",
)

// tlds are the last labels a spoken e-mail domain may end with.
var tlds = setOf("com", "org", "net", "edu", "gov", "co", "ke", "ug", "tz", "rw", "uk", "io",
	"info", "biz", "africa", "me", "us", "ca", "de", "fr", "es", "au", "za", "ng", "gh", "eu", "ie")

// emailSeps are the spoken and written separators of a local part.
var emailSeps = map[string]string{"dot": ".", "underscore": "_", "_": "_", "dash": "-", "hyphen": "-"}

// localPiece is one token of a spoken local part.
type localPiece struct {
	text   string
	sep    bool // a separator
	letter bool // a spelled letter
	number bool // digits or a number word
	word   bool // a whole word
}

// pieceAt classifies toks[k] as part of a local part; ok is false for a
// token that ends it.
func pieceAt(t []token, k int) (localPiece, bool) {
	tk := t[k]
	if sep, ok := emailSeps[tk.lower]; ok {
		return localPiece{text: sep, sep: true}, true
	}
	if isDot(t, k) {
		return localPiece{text: ".", sep: true}, true
	}
	if tk.kind == tNum {
		if !allDigits(tk.text) || len(tk.text) > 10 {
			return localPiece{}, false
		}
		return localPiece{text: tk.text, number: true}, true
	}
	if tk.kind != tWord || !isASCIIWord(tk.lower) {
		return localPiece{}, false
	}
	if len(tk.lower) == 1 {
		// "a" and "i" are letters only beside other letters or separators.
		if tk.lower == "a" || tk.lower == "i" {
			near := func(j int) bool {
				if j < 0 || j >= len(t) {
					return false
				}
				_, sep := emailSeps[t[j].lower]
				return sep || isDot(t, j) || (len(t[j].lower) == 1 && t[j].kind == tWord && isASCIIWord(t[j].lower))
			}
			if !near(k-1) && !near(k+1) {
				return localPiece{}, false
			}
		}
		return localPiece{text: tk.lower, letter: true}, true
	}
	if emailLocalStop[tk.lower] {
		return localPiece{}, false
	}
	if n, ok := unitWords[tk.lower]; ok && tk.lower != "oh" {
		return localPiece{text: strconv.Itoa(n), number: true}, true
	}
	if n, ok := teenWords[tk.lower]; ok {
		return localPiece{text: strconv.Itoa(n), number: true}, true
	}
	if n, ok := tensWords[tk.lower]; ok {
		return localPiece{text: strconv.Itoa(n), number: true}, true
	}
	if repeatCount(tk.lower) > 0 {
		return localPiece{text: tk.lower, number: true}, true
	}
	return localPiece{text: tk.lower, word: true}, true
}

func isASCIIWord(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// spokenLocal reads the local part ending just before toks[a] ("at"): the
// token it starts at and its text, or ok false.
func spokenLocal(t []token, a int) (from int, local string, ok bool) {
	words := 0
	from = a
	for k := a - 1; k >= 0 && a-k <= 24; k-- {
		p, ok := pieceAt(t, k)
		if !ok {
			break
		}
		if p.word {
			if words == 3 {
				break
			}
			words++
		}
		from = k
	}
	// A local part neither starts nor ends with a separator.
	for from < a {
		if p, _ := pieceAt(t, from); !p.sep {
			break
		}
		from++
	}
	if from == a {
		return a, "", false
	}
	if p, _ := pieceAt(t, a-1); p.sep {
		return a, "", false
	}
	var b strings.Builder
	for k := from; k < a; k++ {
		p, _ := pieceAt(t, k)
		switch {
		case p.number && repeatCount(p.text) > 0:
			// "double seven": the next piece, twice or thrice.
			if k+1 < a {
				if q, _ := pieceAt(t, k+1); q.number && len(q.text) == 1 {
					b.WriteString(strings.Repeat(q.text, repeatCount(p.text)))
					k++
					continue
				}
			}
			b.WriteString(p.text)
		case p.number && strings.HasSuffix(p.text, "0") && len(p.text) == 2 && k+1 < a:
			// "twenty one" is 21, not 201.
			if q, _ := pieceAt(t, k+1); q.number && len(q.text) == 1 && q.text != "0" && tensWords[t[k].lower] > 0 {
				b.WriteString(p.text[:1] + q.text)
				k++
				continue
			}
			b.WriteString(p.text)
		default:
			b.WriteString(p.text)
		}
	}
	return from, b.String(), true
}

// spokenDomain reads the domain starting at toks[k]: its end token and its
// labels, or ok false when the last label is not a top-level domain.
func spokenDomain(t []token, k int) (end int, domain string, ok bool) {
	var labels []string
	for {
		label, next := "", k
		for next < len(t) && t[next].kind == tWord && len(t[next].lower) == 1 && isASCIIWord(t[next].lower) {
			label += t[next].lower
			next++
		}
		if label == "" {
			if next >= len(t) || (t[next].kind != tWord && t[next].kind != tNum) || !isASCIIWord(t[next].lower) || len(labels) == 0 && emailLocalStop[t[next].lower] && !tlds[t[next].lower] {
				break
			}
			label = t[next].lower
			next++
		}
		for next+1 < len(t) && (t[next].lower == "dash" || t[next].lower == "hyphen" || (t[next].text == "-" && t[next-1].end == t[next].start)) && t[next+1].kind != tPunct && isASCIIWord(t[next+1].lower) {
			label += "-" + t[next+1].lower
			next += 2
		}
		labels = append(labels, label)
		k = next
		if k+1 < len(t) && isDot(t, k) {
			k++
			continue
		}
		break
	}
	if len(labels) < 2 || !tlds[labels[len(labels)-1]] {
		return 0, "", false
	}
	return k, strings.Join(labels, "."), true
}

// scanSpokenEmail finds addresses said aloud: "jane doe seven at example
// dot com", "m w a n g i underscore p at gmail dot com".
func (x *extractor) scanSpokenEmail(s *segScan) {
	t := s.toks
	for a := 1; a+3 < len(t); a++ {
		if t[a].lower != "at" || s.used[a] {
			continue
		}
		end, domain, ok := spokenDomain(t, a+1)
		if !ok {
			continue
		}
		from, local, ok := spokenLocal(t, a)
		if !ok || !s.free(from, end) {
			continue
		}
		s.addTok(EntityEmail, from, end, local+"@"+domain, 0.85, "spoken")
		a = end
	}
}

// North American numbers: "(555) 123-4567", "+1 (555) 123-4567",
// "1 (555) 123 4567", "555-123-4567".

// nanpAt reads a North American number starting at toks[i]: the token
// after it and its ten digits, or ok false.
func nanpAt(t []token, i int) (end int, digits string, ok bool) {
	num := func(k, n int) bool {
		return k < len(t) && t[k].kind == tNum && len(t[k].text) == n && allDigits(t[k].text)
	}
	j, prefix := i, false
	if j < len(t) && (t[j].text == "+" || t[j].lower == "plus") {
		j++
		if !num(j, 1) || t[j].text != "1" {
			return 0, "", false
		}
	}
	if num(j, 1) {
		if t[j].text != "1" {
			return 0, "", false
		}
		j++
		prefix = true
	}
	paren := false
	var area string
	switch {
	case j+2 < len(t) && t[j].text == "(" && num(j+1, 3) && t[j+2].text == ")":
		area, paren = t[j+1].text, true
		j += 3
	case num(j, 3):
		area = t[j].text
		j++
	default:
		return 0, "", false
	}
	if area[0] < '2' {
		return 0, "", false
	}
	dashes := 0
	sep := func() {
		if j < len(t) && (t[j].text == "-" || t[j].text == ".") && t[j-1].end == t[j].start {
			dashes++
			j++
		}
	}
	sep()
	if !num(j, 3) {
		return 0, "", false
	}
	exch := t[j].text
	j++
	sep()
	if !num(j, 4) {
		return 0, "", false
	}
	line := t[j].text
	j++
	// A longer run of digits is something else.
	if j < len(t) && t[j].kind == tNum || j+1 < len(t) && digitSeparators[t[j].text] && t[j+1].kind == tNum && t[j].end == t[j+1].start {
		return 0, "", false
	}
	if !paren && !prefix && dashes < 2 {
		return 0, "", false
	}
	return j, area + exch + line, true
}

// scanNANP finds North American numbers written with parentheses or dashes.
func (x *extractor) scanNANP(s *segScan) {
	t := s.toks
	for i := 0; i < len(t); i++ {
		if s.used[i] {
			continue
		}
		if t[i].kind != tNum && t[i].text != "(" && t[i].text != "+" && t[i].lower != "plus" {
			continue
		}
		end, d, ok := nanpAt(t, i)
		if !ok || !s.free(i, end) {
			continue
		}
		s.addTok(EntityPhone, i, end, "+1"+d, 0.9, "pattern")
		i = end - 1
	}
}

// shortCodeCues are words shortly before a service number that make it a
// number to call: "call 116", "dial nine nine nine", "on 112".
var shortCodeCues = setOf("call", "calling", "called", "calls", "dial", "dialled", "dialed", "dialling", "dialing",
	"ring", "phone", "number", "line", "helpline", "hotline", "on", "reach", "contact", "text", "sms", "is",
	"piga", "pigia", "namba", "kupiga", "nambari")

// shortCodeAfter are words right after a service number that make it one:
// "116 helpline", "999 emergency line".
var shortCodeAfter = setOf("helpline", "hotline", "line", "child", "emergency", "toll", "free", "number", "service")

// scanShortCodes finds the tenant's service numbers (116, 999, 112, …),
// written or spoken digit by digit, when a cue says they are numbers to
// call.
func (x *extractor) scanShortCodes(s *segScan) {
	if len(x.shortCodes) == 0 {
		return
	}
	t := s.toks
	for i := 0; i < len(t); i++ {
		if s.used[i] || !isDigitStart(t, i) {
			continue
		}
		chunks, plus := digitRun(t, i)
		if plus || len(chunks) == 0 {
			continue
		}
		end := chunks[len(chunks)-1].to
		d := joinDigits(chunks)
		if !x.shortCodes[d] || !s.free(i, end) {
			i = end - 1
			continue
		}
		// "call 116 or 999": a code listed right after another number.
		cue := i >= 2 && (t[i-1].lower == "or" || t[i-1].lower == "and" || t[i-1].lower == "au" || t[i-1].text == ",") && s.used[i-2] && s.phoneEndsAt(i-1)
		for k := i - 1; k >= 0 && k >= i-3 && !cue; k-- {
			if shortCodeCues[t[k].lower] {
				cue = true
				break
			}
			if t[k].kind == tPunct && t[k].text != "," && t[k].text != ":" {
				break
			}
		}
		if !cue && end < len(t) && shortCodeAfter[t[end].lower] {
			cue = true
		}
		if cue {
			s.addTok(EntityPhone, i, end, d, 0.8, source(chunks[0].spoken))
		}
		i = end - 1
	}
}

// phoneEndsAt reports whether a phone number found so far ends just before
// token k.
func (s *segScan) phoneEndsAt(k int) bool {
	for _, e := range s.out {
		if e.Type == EntityPhone && e.bEnd == s.toks[k-1].end {
			return true
		}
	}
	return false
}
