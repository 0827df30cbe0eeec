package nlp

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/callscope/callscope"
)

// Entity types reported by ExtractEntities.
const (
	EntityPhone        = "phone"
	EntityEmail        = "email"
	EntityURL          = "url"
	EntityCard         = "card"
	EntityNationalID   = "national_id"
	EntityDate         = "date"
	EntityTime         = "time"
	EntityMoney        = "money"
	EntityAge          = "age"
	EntityPerson       = "person"
	EntityLocation     = "location"
	EntityOrganization = "organization"
)

// EntityTypes lists every entity type in reporting order.
var EntityTypes = []string{
	EntityPhone, EntityEmail, EntityURL, EntityCard, EntityNationalID, EntityDate,
	EntityTime, EntityMoney, EntityAge, EntityPerson, EntityLocation, EntityOrganization,
}

// Entity is one mention found in a segment. Start and End are character
// (Unicode code point) offsets into the segment text, End exclusive.
type Entity struct {
	Type       string  `json:"type"`
	Text       string  `json:"text"`
	Value      string  `json:"value,omitempty"`
	SegmentID  int     `json:"segment_id"`
	Start      int     `json:"start"`
	End        int     `json:"end"`
	Confidence float64 `json:"confidence"`
	Source     string  `json:"source"`

	seg        int // index of the segment in the input
	bStart     int // byte offsets, for redaction
	bEnd       int
	firstTok   int
	lastTokEnd int
}

// IDPattern is a tenant's regular expression for identity numbers; Group
// selects the capture group that is the number itself (0 for the whole match).
// Patterns only run on segments containing a digit, so a pattern must match
// numbers, not words.
type IDPattern struct {
	Name    string `json:"name"`
	Type    string `json:"type,omitempty"` // default national_id
	Pattern string `json:"pattern"`
	Group   int    `json:"group,omitempty"`
}

// DefaultIDPatterns are Kenyan identity numbers said with a cue: national
// ID and birth certificate numbers, KRA PINs and passport numbers.
var DefaultIDPatterns = []IDPattern{
	{Name: "ke_national_id", Pattern: `(?i)\b(?:national\s+)?(?:id|i\.d\.?|identity(?:\s+card)?|identification|kitambulisho|birth\s+cert(?:ificate)?|huduma(?:\s+namba)?)(?:\s+card)?(?:\s+(?:number|no\.?|num|namba))?(?:\s+(?:is|ni|yangu\s+ni|yake\s+ni|was|reads))?\s*[:#-]?\s*(\d{7,8}|\d{4}\s\d{3,4})\b`, Group: 1},
	{Name: "ke_kra_pin", Pattern: `\b[AP]\d{9}[A-Z]\b`},
	{Name: "passport", Pattern: `(?i)\bpassport(?:\s+(?:number|no\.?))?(?:\s+is)?\s*[:#]?\s*([A-Z]{1,2}\d{6,8})\b`, Group: 1},
}

var (
	emailRe = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)
	urlRe   = regexp.MustCompile(`(?i)\b(?:https?://|www\.)[^\s<>"']+|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|org|net|co\.ke|go\.ke|or\.ke|ac\.ke|co\.uk|co\.ug|co\.tz|io|info)(?:/[^\s<>"']*)?`)
)

// compiledID is an IDPattern ready to run.
type compiledID struct {
	re    *regexp.Regexp
	typ   string
	group int
}

// extractor holds the compiled gazetteer and patterns of one Engine.
type extractor struct {
	ids       []compiledID
	places    phraseIndex
	orgs      phraseIndex
	suffixes  phraseIndex
	names     map[string]bool
	countryCC string
	// shortCodes are the tenant's service numbers (116, 999, …).
	shortCodes map[string]bool
}

// newExtractor compiles a gazetteer and id patterns.
func newExtractor(g *Gazetteer, ids []IDPattern) (*extractor, error) {
	x := &extractor{names: map[string]bool{}, countryCC: "254"}
	for _, p := range ids {
		re, err := regexp.Compile(p.Pattern)
		if err != nil {
			return nil, callscope.Errorf(callscope.EINVALID, "id pattern %q: %v", p.Name, err)
		}
		if p.Group > re.NumSubexp() {
			return nil, callscope.Errorf(callscope.EINVALID, "id pattern %q: no group %d", p.Name, p.Group)
		}
		typ := p.Type
		if typ == "" {
			typ = EntityNationalID
		}
		x.ids = append(x.ids, compiledID{re: re, typ: typ, group: p.Group})
	}
	x.places = newPhraseIndex(g.Locations)
	x.orgs = newPhraseIndex(g.Organizations)
	x.suffixes = newPhraseIndex(g.OrgSuffixes)
	for _, n := range g.PersonNames {
		x.names[strings.ToLower(n)] = true
	}
	return x, nil
}

// phraseIndex finds the longest listed phrase at a token position.
type phraseIndex map[string][][]string

func newPhraseIndex(phrases []string) phraseIndex {
	ix := phraseIndex{}
	for _, p := range phrases {
		var words []string
		for _, t := range tokenize(p) {
			words = append(words, t.lower)
		}
		if len(words) == 0 {
			continue
		}
		ix[words[0]] = append(ix[words[0]], words)
	}
	for k := range ix {
		sort.Slice(ix[k], func(a, b int) bool { return len(ix[k][a]) > len(ix[k][b]) })
	}
	return ix
}

// match returns the end token index of the longest phrase at toks[i], or -1.
func (ix phraseIndex) match(toks []token, i int) int {
	if i < 0 || i >= len(toks) {
		return -1
	}
	for _, p := range ix[toks[i].lower] {
		if i+len(p) > len(toks) {
			continue
		}
		ok := true
		for k, w := range p {
			if toks[i+k].lower != w {
				ok = false
				break
			}
		}
		if ok {
			return i + len(p)
		}
	}
	return -1
}

// segScan is the per-segment state of extraction.
type segScan struct {
	d    *doc
	si   int
	text string
	toks []token
	used []bool
	out  []Entity
}

func (s *segScan) free(from, to int) bool {
	for k := from; k < to; k++ {
		if s.used[k] {
			return false
		}
	}
	return true
}

// addTok records an entity over tokens [from, to).
func (s *segScan) addTok(typ string, from, to int, value string, conf float64, source string) {
	for k := from; k < to; k++ {
		s.used[k] = true
	}
	s.addBytes(typ, s.toks[from].start, s.toks[to-1].end, value, conf, source)
}

// addBytes records an entity over bytes [bs, be) and marks covered tokens.
func (s *segScan) addBytes(typ string, bs, be int, value string, conf float64, source string) {
	for k, t := range s.toks {
		if t.end > bs && t.start < be {
			s.used[k] = true
		}
	}
	seg := s.d.segs[s.si]
	s.out = append(s.out, Entity{
		Type: typ, Text: s.text[bs:be], Value: value, SegmentID: seg.SegmentID,
		Start: runeOffset(s.text, bs), End: runeOffset(s.text, be),
		Confidence: conf, Source: source, seg: s.si, bStart: bs, bEnd: be,
	})
}

// extract finds every entity in the document.
func (x *extractor) extract(d *doc, base dateBase) []Entity {
	var out []Entity
	lower := caseless(d)
	for si := range d.segs {
		s := &segScan{d: d, si: si, text: d.segs[si].Text, toks: d.toks[si], used: make([]bool, len(d.toks[si]))}
		x.scanPatterns(s)
		x.scanSpokenEmail(s)
		x.scanNANP(s)
		x.scanDigits(s)
		x.scanShortCodes(s)
		x.scanMoney(s)
		x.scanTemporal(s, base)
		x.scanAge(s)
		if lower {
			s.toks = x.truecase(s.toks)
		}
		x.scanNames(s)
		sort.Slice(s.out, func(a, b int) bool { return s.out[a].bStart < s.out[b].bStart })
		out = append(out, s.out...)
	}
	return out
}

// scanPatterns runs the regular expressions: e-mails, URLs, id patterns.
func (x *extractor) scanPatterns(s *segScan) {
	if strings.IndexByte(s.text, '@') >= 0 {
		for _, m := range emailRe.FindAllStringIndex(s.text, -1) {
			s.addBytes(EntityEmail, m[0], m[1], strings.ToLower(s.text[m[0]:m[1]]), 0.98, "pattern")
		}
	}
	if strings.IndexByte(s.text, '.') >= 0 && mayHoldURL(s.toks) {
		for _, m := range urlRe.FindAllStringIndex(s.text, -1) {
			e := m[1]
			for e > m[0] && strings.IndexByte(".,;:!?)", s.text[e-1]) >= 0 {
				e--
			}
			if s.overlapsBytes(m[0], e) {
				continue
			}
			s.addBytes(EntityURL, m[0], e, s.text[m[0]:e], 0.95, "pattern")
		}
	}
	// Identity numbers contain digits; most segments have none.
	if strings.IndexAny(s.text, "0123456789") < 0 {
		return
	}
	for _, p := range x.ids {
		for _, m := range p.re.FindAllStringSubmatchIndex(s.text, -1) {
			a, b := m[2*p.group], m[2*p.group+1]
			if a < 0 || s.overlapsBytes(a, b) {
				continue
			}
			s.addBytes(p.typ, a, b, strings.ReplaceAll(s.text[a:b], " ", ""), 0.9, "pattern")
		}
	}
}

// urlHints are what a URL's text must contain.
var urlHints = setOf("www", "http", "https", "com", "org", "net", "ke", "uk", "ug", "tz", "io", "info")

// mayHoldURL is a cheap test before running the URL expression.
func mayHoldURL(t []token) bool {
	for k := 1; k < len(t); k++ {
		if urlHints[t[k].lower] && (t[k].lower == "www" || t[k].lower == "http" || t[k].lower == "https" || (t[k-1].text == "." && t[k-1].end == t[k].start)) {
			return true
		}
	}
	return len(t) > 0 && urlHints[t[0].lower]
}

func (s *segScan) overlapsBytes(a, b int) bool {
	for _, e := range s.out {
		if e.bStart < b && a < e.bEnd {
			return true
		}
	}
	return false
}

// isDot reports whether toks[k] is a spoken "dot" or a written "." glued
// to its neighbours.
func isDot(t []token, k int) bool {
	if t[k].lower == "dot" {
		return true
	}
	return t[k].text == "." && k > 0 && k+1 < len(t) && t[k-1].end == t[k].start && t[k].end == t[k+1].start
}

// idCues are words that, shortly before a number, make it an identity number.
var idCues = map[string]bool{
	"id": true, "identity": true, "identification": true, "kitambulisho": true,
	"certificate": true, "passport": true, "huduma": true,
}

// scanDigits reads digit runs, written or spoken, into cards, phones and
// identity numbers.
func (x *extractor) scanDigits(s *segScan) {
	t := s.toks
	for i := 0; i < len(t); i++ {
		if s.used[i] {
			continue
		}
		oh := (t[i].lower == "oh" || t[i].lower == "o") && isDigitStart(t, nextNonSep(t, i+1))
		if !(oh || isDigitStart(t, i) || ((t[i].text == "+" || t[i].lower == "plus") && isDigitStart(t, i+1))) {
			continue
		}
		chunks, plus := digitRun(t, i)
		// Stop the run at tokens already taken.
		for c := range chunks {
			if !s.free(chunks[c].from, chunks[c].to) {
				chunks = chunks[:c]
				break
			}
		}
		if len(chunks) == 0 {
			continue
		}
		last := x.splitRun(s, i, chunks, plus)
		if last > i {
			i = last - 1
		}
	}
}

// splitRun cuts one digit run into cards, identity numbers and phones and
// returns the token index after the last thing taken.
func (x *extractor) splitRun(s *segScan, runStart int, chunks []digitChunk, plus bool) int {
	next := runStart
	spoken := func(a, b int) bool {
		for k := a; k < b; k++ {
			if chunks[k].spoken {
				return true
			}
		}
		return false
	}
	for st := 0; st < len(chunks); {
		// Card: 13–19 digits passing Luhn, preferring 16.
		digits := ""
		best := -1
		for e := st; e < len(chunks); e++ {
			digits += chunks[e].digits
			if len(digits) > 19 {
				break
			}
			if len(digits) >= 13 && luhn(digits) && (best < 0 || len(digits) == 16) {
				best = e
				if len(digits) == 16 {
					break
				}
			}
		}
		if best >= 0 {
			d := joinDigits(chunks[st : best+1])
			conf := 0.95
			if spoken(st, best+1) {
				conf = 0.85
			}
			s.addTok(EntityCard, chunks[st].from, chunks[best].to, d, conf, source(spoken(st, best+1)))
			next = chunks[best].to
			st = best + 1
			continue
		}
		// Identity number after a cue ("my ID number is 2345 6789").
		if x.idCueBefore(s, chunks[st].from) {
			digits = ""
			for e := st; e < len(chunks); e++ {
				digits += chunks[e].digits
				if len(digits) > 8 {
					break
				}
				if (len(digits) == 7 || len(digits) == 8) && (e+1 == len(chunks) || len(digits)+len(chunks[e+1].digits) > 8) {
					s.addTok(EntityNationalID, chunks[st].from, chunks[e].to, digits, 0.8, source(spoken(st, e+1)))
					next = chunks[e].to
					st = e + 1
					goto nextStart
				}
			}
		}
		// Phone.
		{
			p := plus && st == 0
			digits = ""
			for e := st; e < len(chunks); e++ {
				digits += chunks[e].digits
				want, flex := phoneLength(digits, p)
				if want == 0 && len(digits) >= 4 {
					break
				}
				if len(digits) > 15 {
					break
				}
				ok := len(digits) == want
				if flex && len(digits) >= 10 && len(digits) <= 13 {
					// Unknown country code: take the run up to 13 digits.
					ok = e+1 == len(chunks) || len(digits)+len(chunks[e+1].digits) > 13
				}
				if want == 9 && ok && e+1 < len(chunks) {
					ok = false // nine digits only when the run ends there
				}
				if ok {
					from := chunks[st].from
					if p {
						from = runStart
					}
					conf := 0.95
					if spoken(st, e+1) {
						conf = 0.85
					}
					if want == 9 {
						conf = 0.7
					}
					s.addTok(EntityPhone, from, chunks[e].to, x.e164(digits, p), conf, source(spoken(st, e+1)))
					next = chunks[e].to
					st = e + 1
					goto nextStart
				}
				if len(digits) > want && !flex {
					break
				}
			}
		}
		st++
	nextStart:
	}
	return next
}

func source(spoken bool) string {
	if spoken {
		return "spoken"
	}
	return "pattern"
}

func joinDigits(c []digitChunk) string {
	var b strings.Builder
	for _, x := range c {
		b.WriteString(x.digits)
	}
	return b.String()
}

// idCueBefore reports whether an identity cue is among the few tokens
// before k, or, for a number that opens its segment, at the end of the
// previous segment ("And your ID number?" — "31276504.").
func (x *extractor) idCueBefore(s *segScan, k int) bool {
	t := s.toks
	for j := k - 1; j >= 0 && j >= k-6; j-- {
		if idCues[t[j].lower] || (t[j].lower == "i" && j+2 < len(t) && t[j+1].text == "." && t[j+2].lower == "d") {
			return true
		}
		if t[j].kind == tPunct && (t[j].text == "." || t[j].text == "?") {
			return false
		}
	}
	for j := 0; j < k; j++ {
		if t[j].kind == tWord && !answerLead[t[j].lower] {
			return false
		}
	}
	if s.si == 0 {
		return false
	}
	prev := s.d.toks[s.si-1]
	for j := len(prev) - 1; j >= 0 && j >= len(prev)-10; j-- {
		if idCues[prev[j].lower] {
			return true
		}
	}
	return false
}

// answerLead are words that may open an answer before the number itself.
var answerLead = setOf("it's", "it", "is", "yes", "yeah", "okay", "ok", "sure", "my", "number", "ni", "ndio", "its", "uh", "um", "the")

// phoneLength returns how many digits a phone number starting with d has;
// flex is true for international numbers of unknown length.
func phoneLength(d string, plus bool) (want int, flex bool) {
	if len(d) < 2 {
		return 15, false // not decided yet
	}
	if plus {
		switch {
		case strings.HasPrefix(d, "25"), strings.HasPrefix(d, "44"), strings.HasPrefix(d, "97"), strings.HasPrefix(d, "96"):
			if len(d) < 3 {
				return 15, false
			}
			return 12, false
		case d[0] == '1':
			return 11, false
		}
		return 13, true
	}
	switch {
	case strings.HasPrefix(d, "25"):
		if len(d) < 3 {
			return 15, false
		}
		if d[2] >= '0' && d[2] <= '7' {
			return 12, false
		}
		return 0, false
	case d[0] == '0' && d[1] != '0':
		return 10, false
	case d[0] == '7' || d[0] == '1':
		return 9, false
	}
	return 0, false
}

// e164 normalises a phone number to E.164.
func (x *extractor) e164(d string, plus bool) string {
	switch {
	case plus:
		return "+" + d
	case strings.HasPrefix(d, "25") && len(d) == 12:
		return "+" + d
	case d[0] == '0':
		return "+" + x.countryCC + d[1:]
	case len(d) == 9:
		return "+" + x.countryCC + d
	}
	return d
}

// currencyPrefix maps words and symbols said before an amount to ISO codes.
var currencyPrefix = map[string]string{
	"ksh": "KES", "kshs": "KES", "kes": "KES", "sh": "KES", "shs": "KES", "shilingi": "KES",
	"usd": "USD", "$": "USD", "us$": "USD", "eur": "EUR", "€": "EUR", "£": "GBP",
	"gbp": "GBP", "ugx": "UGX", "tzs": "TZS", "tsh": "TZS", "tshs": "TZS",
}

// currencySuffix maps words said after an amount to ISO codes.
var currencySuffix = map[string]string{
	"shillings": "KES", "shilling": "KES", "bob": "KES", "ksh": "KES", "kshs": "KES",
	"kes": "KES", "dollars": "USD", "dollar": "USD", "usd": "USD", "euros": "EUR",
	"euro": "EUR", "eur": "EUR", "pounds": "GBP", "pound": "GBP", "quid": "GBP",
	"ugx": "UGX", "tzs": "TZS", "shilingi": "KES",
}

// scanMoney finds amounts with a currency.
func (x *extractor) scanMoney(s *segScan) {
	t := s.toks
	for i := 0; i < len(t); i++ {
		if s.used[i] {
			continue
		}
		w := t[i].lower
		// Glued form "Ksh500".
		if t[i].kind == tWord {
			for p, code := range map[string]string{"kshs": "KES", "ksh": "KES", "kes": "KES", "usd": "USD", "sh": "KES"} {
				if strings.HasPrefix(w, p) && allDigits(w[len(p):]) {
					v, _ := strconv.ParseFloat(w[len(p):], 64)
					s.addTok(EntityMoney, i, i+1, money(code, v), 0.95, "pattern")
					break
				}
			}
			if s.used[i] {
				continue
			}
		}
		if code, ok := currencyPrefix[w]; ok {
			k := i + 1
			if k < len(t) && t[k].text == "." && t[k].start == t[i].end {
				k++
			}
			if v, e, ok := cardinal(t, k); ok && v > 0 && s.free(k, e) {
				e = slashEquals(t, e)
				s.addTok(EntityMoney, i, e, money(code, v), 0.95, "pattern")
				i = e - 1
				continue
			}
		}
		if t[i].kind == tNum || isNumberWord(w) || (w == "a" && i+1 < len(t) && isNumberWord(t[i+1].lower)) {
			v, e, ok := cardinal(t, i)
			if !ok || v <= 0 || !s.free(i, e) {
				continue
			}
			if e < len(t) {
				if code, ok := currencySuffix[t[e].lower]; ok {
					s.addTok(EntityMoney, i, e+1, money(code, v), 0.9, "pattern")
					i = e
					continue
				}
			}
			if e2 := slashEquals(t, e); e2 > e {
				s.addTok(EntityMoney, i, e2, money("KES", v), 0.9, "pattern")
				i = e2 - 1
			}
		}
	}
}

// slashEquals swallows the Kenyan "/=" after an amount ("500/=").
func slashEquals(t []token, e int) int {
	if e+1 < len(t) && t[e].text == "/" && t[e+1].text == "=" {
		return e + 2
	}
	return e
}

func money(code string, v float64) string {
	return code + " " + strconv.FormatFloat(v, 'f', -1, 64)
}

// dateBase is the call start used to resolve relative dates.
type dateBase = dateCtx

// scanTemporal finds dates and times.
func (x *extractor) scanTemporal(s *segScan, base dateBase) {
	for _, sn := range s.d.sents {
		if sn.seg != s.si {
			continue
		}
		c := base
		c.past = sentencePast(s.toks[sn.from:sn.to])
		toks := s.toks[:sn.to]
		for i := sn.from; i < sn.to; i++ {
			if s.used[i] {
				continue
			}
			// "Monday to Friday" is a range of weekdays, not a date.
			if _, ok := weekdayNames[toks[i].lower]; ok && i+2 < sn.to && weekdayRange[toks[i+1].lower] {
				if _, ok := weekdayNames[toks[i+2].lower]; ok {
					i += 2
					continue
				}
			}
			d, ok := parseTemporal(toks, i, c)
			if !ok {
				d, ok = yearInContext(toks, i)
			}
			if !ok || d.to <= i || !s.free(i, d.to) {
				continue
			}
			conf := 0.9
			if d.value == "" {
				conf = 0.7
			}
			s.addTok(d.kind, d.from, d.to, d.value, conf, "pattern")
			i = d.to - 1
		}
	}
}

// weekdayRange joins two weekdays into a range.
var weekdayRange = map[string]bool{"to": true, "through": true, "-": true, "–": true, "hadi": true, "mpaka": true, "till": true, "until": true}

// ageUnits are the words of "nine years old".
var ageUnits = map[string]string{"years": "Y", "year": "Y", "yrs": "Y", "yr": "Y", "months": "M", "month": "M", "weeks": "W", "week": "W"}

// swahiliClassNumbers are Swahili numbers agreeing with "miaka" (years).
var swahiliClassNumbers = map[string]int{"mmoja": 1, "miwili": 2, "mitatu": 3, "minne": 4, "mitano": 5, "minane": 8}

// kin are nouns that make "X is nine" an age.
var kin = map[string]bool{
	"daughter": true, "son": true, "child": true, "girl": true, "boy": true, "baby": true,
	"sister": true, "brother": true, "niece": true, "nephew": true, "she": true, "he": true,
	"grandchild": true, "granddaughter": true, "grandson": true, "kid": true, "firstborn": true,
	"lastborn": true, "oldest": true, "youngest": true, "eldest": true, "one": true, "i": true,
	"twin": true, "twins": true, "cousin": true, "pupil": true, "student": true,
}

// scanAge finds ages.
func (x *extractor) scanAge(s *segScan) {
	t := s.toks
	at := func(k int) string {
		if k >= 0 && k < len(t) {
			return t[k].lower
		}
		return ""
	}
	for i := 0; i < len(t); i++ {
		if s.used[i] {
			continue
		}
		// Swahili: "ana miaka tisa", "wa miaka kumi na mbili".
		if (at(i) == "miaka" || at(i) == "miezi") && swahiliAgeLead[at(i-1)] {
			unit := "Y"
			if at(i) == "miezi" {
				unit = "M"
			}
			v, e, ok := cardinal(t, i+1)
			if n, ok2 := swahiliClassNumbers[at(i+1)]; ok2 {
				v, e, ok = float64(n), i+2, true
			}
			if ok && v > 0 && v < 120 && s.free(i, e) {
				s.addTok(EntityAge, i, e, fmt.Sprintf("P%g%s", v, unit), 0.85, "pattern")
				i = e - 1
			}
			continue
		}
		if !(t[i].kind == tNum || isNumberWord(t[i].lower)) {
			continue
		}
		v, e, ok := cardinal(t, i)
		if !ok || v <= 0 || v >= 120 || v != float64(int(v)) || !s.free(i, e) {
			continue
		}
		k := e
		if at(k) == "-" {
			k++
		}
		if u, ok := ageUnits[at(k)]; ok {
			k2 := k + 1
			if at(k2) == "-" {
				k2++
			}
			if at(k2) == "old" {
				s.addTok(EntityAge, i, k2+1, fmt.Sprintf("P%g%s", v, u), 0.95, "pattern")
				i = k2
				continue
			}
			if at(k2) == "of" && at(k2+1) == "age" {
				s.addTok(EntityAge, i, k2+2, fmt.Sprintf("P%g%s", v, u), 0.95, "pattern")
				i = k2 + 1
				continue
			}
			if u == "Y" && k == e && isCopula(t, i-1) {
				s.addTok(EntityAge, i, k+1, fmt.Sprintf("P%gY", v), 0.85, "pattern")
				i = k
				continue
			}
		}
		// "aged 14", "age 14", "age of 14", "she is nine." after a kin noun.
		if at(i-1) == "aged" || (at(i-1) == "age" && at(i-2) != "the") || (at(i-1) == "of" && at(i-2) == "age") || (at(i-1) == "is" && at(i-2) == "age") {
			s.addTok(EntityAge, i, e, fmt.Sprintf("P%gY", v), 0.85, "pattern")
			i = e - 1
			continue
		}
		ends := e == len(t) || t[e].kind == tPunct || at(e) == "and" || at(e) == "now" || at(e) == "or"
		// "I'm fifteen." as the answer to "How old are you?".
		if v <= 25 && ends && s.si > 0 && askedAge(s.d.toks[s.si-1]) && (i == 0 || isCopula(t, i-1) || t[i-1].kind == tPunct) {
			s.addTok(EntityAge, i, e, fmt.Sprintf("P%gY", v), 0.8, "pattern")
			i = e - 1
			continue
		}
		if v <= 25 && ends && (isCopula(t, i-1) && (kin[at(i-2)] || strings.HasSuffix(at(i-1), "'s") && kin[strings.TrimSuffix(at(i-1), "'s")]) || at(i-1) == "like" && at(i-2) == "looks") {
			s.addTok(EntityAge, i, e, fmt.Sprintf("P%gY", v), 0.75, "pattern")
			i = e - 1
		}
	}
}

// swahiliAgeLead come before "miaka" (years) in an age: "ana miaka tisa".
var swahiliAgeLead = setOf("ana", "nina", "una", "wa", "mwenye", "alikuwa", "umri", "na")

// askedAge reports whether a segment asks someone's age.
func askedAge(t []token) bool {
	for k := 0; k+1 < len(t); k++ {
		if t[k].lower == "how" && t[k+1].lower == "old" || t[k].lower == "miaka" && t[k+1].lower == "mingapi" {
			return true
		}
	}
	return false
}

// isCopula reports whether toks[k] is "is", "was", "turned", "she's" …
func isCopula(t []token, k int) bool {
	if k < 0 {
		return false
	}
	switch t[k].lower {
	case "is", "was", "am", "are", "turned", "turns", "turning", "i'm", "just":
		return true
	}
	return strings.HasSuffix(t[k].lower, "'s") || strings.HasSuffix(t[k].lower, "’s")
}

// personCues precede a name: "my name is", "this is", "naitwa".
var personCues = cues([][]string{
	{"my", "name", "is"}, {"name", "is"}, {"names", "are"}, {"i", "am", "called"}, {"i'm", "called"},
	{"is", "called"}, {"was", "called"}, {"are", "called"}, {"named"}, {"call", "me"}, {"this", "is"},
	{"speaking", "with"}, {"speaking", "to"}, {"naitwa"}, {"anaitwa"}, {"wanaitwa"}, {"jina", "langu", "ni"},
	{"jina", "lake", "ni"}, {"mimi", "ni"}, {"i", "am"}, {"i'm"}, {"it's"}, {"ask", "for"},
}...)

// personTitles precede a name and are not part of it.
var personTitles = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "miss": true, "dr": true, "doctor": true, "madam": true,
	"mama": true, "baba": true, "teacher": true, "mwalimu": true, "pastor": true, "auntie": true,
	"aunt": true, "aunty": true, "uncle": true, "officer": true, "sergeant": true, "chief": true,
	"bishop": true, "father": true, "sister": true, "brother": true, "cousin": true, "nurse": true,
	"mzee": true, "bwana": true, "bi": true, "shangazi": true, "mjomba": true, "daughter": true,
	"son": true, "neighbour": true, "neighbor": true, "headteacher": true, "principal": true,
}

// notNames are capitalised words that never start a name.
var notNames = map[string]bool{
	"i": true, "the": true, "a": true, "okay": true, "ok": true, "yes": true, "no": true,
	"hello": true, "hi": true, "thank": true, "thanks": true, "sorry": true, "please": true,
	"sir": true, "madam": true, "god": true, "mpesa": true, "m-pesa": true, "and": true,
	"but": true, "so": true, "she": true, "he": true, "we": true, "they": true, "you": true,
	"my": true, "her": true, "his": true, "calling": true, "fine": true, "here": true,
	"good": true, "sure": true, "well": true, "just": true, "not": true, "now": true,
	"sawa": true, "ndiyo": true, "asante": true, "pole": true, "habari": true,
}

// ambiguousNames are first names that are also ordinary words.
var ambiguousNames = map[string]bool{
	"grace": true, "faith": true, "mercy": true, "joy": true, "hope": true, "said": true,
	"amani": true, "imani": true, "baraka": true, "bahati": true, "neema": true, "zawadi": true,
	"rose": true, "will": true, "mark": true, "ali": true, "valentine": true, "sharon": true,
}

// locationCues precede a place: "I live in", "nakaa".
var locationCues = cues([][]string{
	{"live", "in"}, {"living", "in"}, {"lives", "in"}, {"stay", "in"}, {"staying", "in"},
	{"stays", "in"}, {"based", "in"}, {"moved", "to"}, {"nakaa"}, {"naishi"}, {"anaishi"},
	{"tunaishi"}, {"anakaa"}, {"tunakaa"}, {"niko"}, {"near"}, {"village", "of"},
}...)

// placeSuffixes after a capitalised word make it a place ("Kiambu County").
var placeSuffixes = map[string]bool{
	"county": true, "estate": true, "village": true, "ward": true, "town": true,
	"sub-county": true, "constituency": true, "location": true, "market": true,
	"road": true, "street": true, "avenue": true, "stage": true, "slum": true,
}

// orgCues precede an organisation: "I work at", "calling from".
var orgCues = cues([][]string{{"work", "at"}, {"work", "for"}, {"works", "at"}, {"works", "for"}, {"working", "at"}, {"working", "for"}, {"calling", "from"}, {"employed", "by"}}...)

// scanNames finds organisations, places and people.
func (x *extractor) scanNames(s *segScan) {
	t := s.toks
	n := len(t)
	sentStart := make([]bool, n)
	for k := range t {
		sentStart[k] = k == 0 || (t[k-1].kind == tPunct && strings.ContainsAny(t[k-1].text, ".?!"))
	}
	capRun := func(i, max int) int {
		j := i
		for j < n && j-i < max && t[j].kind == tWord && t[j].capitalised() && !s.used[j] && !notNames[t[j].lower] && weekdayNames[t[j].lower] == 0 && !isMonth(t[j]) {
			if j > i && (x.places.match(t, j) > 0 && !x.names[t[j].lower]) {
				break
			}
			j++
		}
		return j
	}
	for i := 0; i < n; i++ {
		if s.used[i] || t[i].kind != tWord {
			continue
		}
		// Organisations from the list.
		if t[i].capitalised() || isUpperWord(t[i].text) {
			if e := x.orgs.match(t, i); e > 0 && s.free(i, e) {
				s.addTok(EntityOrganization, i, e, "", 0.9, "gazetteer")
				i = e - 1
				continue
			}
		}
		// "Kibera Primary School", "Upendo Children's Home".
		if t[i].capitalised() && !notNames[t[i].lower] {
			j := i
			for j < n && j-i < 6 && t[j].kind == tWord && (t[j].capitalised() || t[j].lower == "of" || t[j].lower == "and") {
				if e := x.suffixes.match(t, j); e > 0 && j > i && t[j].capitalised() {
					s.addTok(EntityOrganization, i, e, "", 0.8, "pattern")
					i = e - 1
					goto next
				}
				j++
			}
		}
		// Cue phrases.
		if cueEnd := orgCues.match(t, i); cueEnd > 0 {
			if e := x.orgs.match(t, cueEnd); cueEnd < n && e < 0 {
				if e := capRun(cueEnd, 4); e > cueEnd {
					s.addTok(EntityOrganization, cueEnd, e, "", 0.7, "cue")
					i = e - 1
					continue
				}
			}
		}
		if cueEnd := locationCues.match(t, i); cueEnd > 0 && cueEnd < n {
			if e := x.places.match(t, cueEnd); e < 0 {
				if e := capRun(cueEnd, 3); e > cueEnd {
					s.addTok(EntityLocation, cueEnd, e, "", 0.7, "cue")
					i = e - 1
					continue
				}
			}
		}
		if cueEnd := personCues.match(t, i); cueEnd > 0 && cueEnd < n && !s.used[cueEnd] {
			j := cueEnd
			for j < n && personTitles[t[j].lower] {
				j++
			}
			if e := capRun(j, 3); e > j {
				strong := t[i].lower == "my" || t[i].lower == "name" || t[i].lower == "names" || t[i].lower == "naitwa" || t[i].lower == "jina" || t[i].lower == "called" || t[i].lower == "named" || t[i].lower == "anaitwa" || t[i].lower == "wanaitwa" || (cueEnd-i >= 2 && (t[cueEnd-1].lower == "called" || t[cueEnd-1].lower == "named"))
				known := x.names[t[j].lower]
				if strong || known || (e < n && (t[e].lower == "from" || t[e].lower == "speaking" || t[e].lower == "here")) {
					if (x.places.match(t, j) < 0 || known) && x.orgs.match(t, j) < 0 {
						s.addTok(EntityPerson, j, e, "", 0.85, "cue")
						i = e - 1
						continue
					}
				}
			}
		}
		// Titles: "Mr. Otieno", "Teacher Wanjiku".
		if personTitles[t[i].lower] && (t[i].capitalised() || x.names[at(t, i+1)]) {
			j := i + 1
			if j < n && t[j].text == "." {
				j++
			}
			if e := capRun(j, 3); e > j && (t[i].capitalised() || x.names[t[j].lower]) && x.places.match(t, j) < 0 && x.orgs.match(t, j) < 0 {
				s.addTok(EntityPerson, j, e, "", 0.8, "pattern")
				i = e - 1
				continue
			}
		}
		// Places from the list, with an optional suffix ("Kiambu County").
		if t[i].capitalised() || isUpperWord(t[i].text) {
			if e := x.places.match(t, i); e > 0 && s.free(i, e) && !(x.names[t[i].lower] && e == i+1 && e < n && t[e].capitalised() && x.names[t[e].lower]) {
				if e < n && placeSuffixes[t[e].lower] && t[e].capitalised() {
					e++
				}
				s.addTok(EntityLocation, i, e, "", 0.9, "gazetteer")
				i = e - 1
				continue
			}
		}
		// Unknown capitalised word before "County", "Estate", "Road".
		if t[i].capitalised() && !sentStart[i] && !notNames[t[i].lower] {
			if e := capRun(i, 3); e > i && e < n && placeSuffixes[t[e].lower] && t[e].capitalised() {
				s.addTok(EntityLocation, i, e+1, "", 0.7, "pattern")
				i = e
				continue
			}
		}
		// Known first names.
		if t[i].capitalised() && x.names[t[i].lower] {
			e := capRun(i, 3)
			if e == i {
				continue
			}
			if ambiguousNames[t[i].lower] && e == i+1 && (sentStart[i] || !x.nameContext(t, i)) {
				continue
			}
			if sentStart[i] && e == i+1 && i+1 < n && t[i+1].kind == tWord && !x.nameContext(t, i) {
				// "Mary went..." is fine; "Grace period" is not: only
				// ambiguous names need context at sentence start.
				if ambiguousNames[t[i].lower] {
					continue
				}
			}
			s.addTok(EntityPerson, i, e, "", 0.75, "gazetteer")
			i = e - 1
		}
	next:
	}
}

// nameContext reports whether toks around i make a name likely: a title
// before it, a comma or "and" next to it.
func (x *extractor) nameContext(t []token, i int) bool {
	if i > 0 && (personTitles[t[i-1].lower] || t[i-1].lower == "and" || t[i-1].text == "," || t[i-1].lower == "with" || t[i-1].lower == "to") {
		return true
	}
	if i+1 < len(t) && (t[i+1].text == "," || t[i+1].lower == "and" || t[i+1].lower == "said" || t[i+1].lower == "is") {
		return true
	}
	return false
}

func at(t []token, k int) string {
	if k >= 0 && k < len(t) {
		return t[k].lower
	}
	return ""
}

func isMonth(t token) bool {
	_, ok := monthNames[t.lower]
	return ok && len(t.lower) > 3
}

func isUpperWord(s string) bool {
	if len(s) < 2 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 'a' && s[i] <= 'z' {
			return false
		}
	}
	return true
}

// cueSet is a list of cue phrases indexed by their first word.
type cueSet map[string][][]string

// cues builds a cueSet from phrases given as word lists.
func cues(list ...[]string) cueSet {
	c := cueSet{}
	for _, p := range list {
		c[p[0]] = append(c[p[0]], p)
	}
	return c
}

// match returns the token index after the longest cue starting at i, or -1.
func (c cueSet) match(t []token, i int) int {
	best := -1
	for _, p := range c[t[i].lower] {
		if i+len(p) > len(t) {
			continue
		}
		ok := true
		for k := 1; k < len(p); k++ {
			if t[i+k].lower != p[k] {
				ok = false
				break
			}
		}
		if ok && i+len(p) > best {
			best = i + len(p)
		}
	}
	return best
}
