package nlp

import (
	"strconv"
	"strings"
)

// unitWords are spoken single digits in English and Swahili.
var unitWords = map[string]int{
	"zero": 0, "nought": 0, "naught": 0, "oh": 0, "o": 0, "nil": 0,
	"one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
	"six": 6, "seven": 7, "eight": 8, "nine": 9,
	"sifuri": 0, "moja": 1, "mbili": 2, "tatu": 3, "nne": 4,
	"tano": 5, "sita": 6, "saba": 7, "nane": 8, "tisa": 9,
}

// teenWords are spoken numbers from ten to nineteen.
var teenWords = map[string]int{
	"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
	"fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
	"kumi": 10,
}

// tensWords are spoken multiples of ten.
var tensWords = map[string]int{
	"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50,
	"sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
	"ishirini": 20, "thelathini": 30, "arobaini": 40, "hamsini": 50,
	"sitini": 60, "sabini": 70, "themanini": 80, "tisini": 90,
}

// ordinalWords are spoken ordinals used in dates.
var ordinalWords = map[string]int{
	"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
	"seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11,
	"twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
	"sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
	"twentieth": 20, "thirtieth": 30,
}

// digitFillers may sit between spoken digits without ending the number.
var digitFillers = map[string]bool{
	"uh": true, "um": true, "umm": true, "er": true, "erm": true, "eh": true,
	"ehh": true, "ah": true,
}

// digitSeparators are punctuation marks allowed inside a dictated number.
var digitSeparators = map[string]bool{
	",": true, ".": true, "-": true, ";": true, ":": true, "(": true, ")": true, "–": true,
}

// maxChunks bounds the parts of one digit run.
const maxChunks = 40

// digitChunk is one token's contribution to a dictated number.
type digitChunk struct {
	digits   string
	from, to int // token range [from, to)
	spoken   bool
}

// digitRun reads a dictated or written digit sequence starting at toks[i]:
// "0712 345 678", "zero seven one two, three four five", "double seven",
// "triple two", "sifuri saba", "seven twenty two". It returns the chunks and
// whether a leading "+"/"plus" was present. A run needs at least one chunk.
func digitRun(toks []token, i int) (chunks []digitChunk, plus bool) {
	k := i
	if k < len(toks) && (toks[k].text == "+" || toks[k].lower == "plus") && k+1 < len(toks) && isDigitStart(toks, k+1) {
		plus = true
		k++
	}
	// A dictated number has at most a few dozen parts; the cap keeps
	// scanning linear on adversarial input.
	for k < len(toks) && len(chunks) < maxChunks {
		t := toks[k]
		if t.kind == tNum && allDigits(t.text) {
			chunks = append(chunks, digitChunk{digits: t.text, from: k, to: k + 1})
			k++
			continue
		}
		if t.kind == tWord {
			if n, ok := unitWords[t.lower]; ok {
				// "oh"/"o" count as zero only next to other digits.
				if (t.lower == "oh" || t.lower == "o") && len(chunks) == 0 && !isDigitStart(toks, nextNonSep(toks, k+1)) {
					break
				}
				chunks = append(chunks, digitChunk{digits: strconv.Itoa(n), from: k, to: k + 1, spoken: true})
				k++
				continue
			}
			if rep := repeatCount(t.lower); rep > 0 && k+1 < len(toks) {
				nt := toks[k+1]
				d := ""
				if n, ok := unitWords[nt.lower]; ok {
					d = strconv.Itoa(n)
				} else if nt.kind == tNum && len(nt.text) == 1 && allDigits(nt.text) {
					d = nt.text
				}
				if d != "" {
					chunks = append(chunks, digitChunk{digits: strings.Repeat(d, rep), from: k, to: k + 2, spoken: true})
					k += 2
					continue
				}
			}
			if n, ok := teenWords[t.lower]; ok && (len(chunks) > 0 || isDigitStart(toks, nextNonSep(toks, k+1))) {
				chunks = append(chunks, digitChunk{digits: strconv.Itoa(n), from: k, to: k + 1, spoken: true})
				k++
				continue
			}
			if n, ok := tensWords[t.lower]; ok && (len(chunks) > 0 || isDigitStart(toks, nextNonSep(toks, k+1))) {
				j := k + 1
				if j < len(toks) && toks[j].text == "-" {
					j++
				}
				if j < len(toks) {
					if u, ok := unitWords[toks[j].lower]; ok && u > 0 && toks[j].lower != "o" {
						chunks = append(chunks, digitChunk{digits: strconv.Itoa(n + u), from: k, to: j + 1, spoken: true})
						k = j + 1
						continue
					}
				}
				chunks = append(chunks, digitChunk{digits: strconv.Itoa(n), from: k, to: k + 1, spoken: true})
				k++
				continue
			}
			if t.lower == "hundred" && len(chunks) > 0 && chunks[len(chunks)-1].to == k && len(chunks[len(chunks)-1].digits) == 1 {
				chunks = append(chunks, digitChunk{digits: "00", from: k, to: k + 1, spoken: true})
				k++
				continue
			}
			if digitFillers[t.lower] && len(chunks) > 0 {
				k++
				continue
			}
			break
		}
		if t.kind == tPunct && digitSeparators[t.text] && len(chunks) > 0 {
			k++
			continue
		}
		break
	}
	return chunks, plus
}

// repeatCount returns 2 for "double", 3 for "triple", else 0.
func repeatCount(w string) int {
	switch w {
	case "double":
		return 2
	case "triple", "treble":
		return 3
	}
	return 0
}

// nextNonSep skips separators and fillers from k.
func nextNonSep(toks []token, k int) int {
	for k < len(toks) && ((toks[k].kind == tPunct && digitSeparators[toks[k].text]) || digitFillers[toks[k].lower]) {
		k++
	}
	return k
}

// isDigitStart reports whether toks[k] begins a digit sequence.
func isDigitStart(toks []token, k int) bool {
	if k >= len(toks) {
		return false
	}
	t := toks[k]
	if t.kind == tNum && allDigits(t.text) {
		return true
	}
	if t.kind != tWord {
		return false
	}
	if _, ok := unitWords[t.lower]; ok && t.lower != "o" && t.lower != "oh" {
		return true
	}
	if repeatCount(t.lower) > 0 && k+1 < len(toks) {
		_, ok := unitWords[toks[k+1].lower]
		return ok || (toks[k+1].kind == tNum && len(toks[k+1].text) == 1)
	}
	_, teen := teenWords[t.lower]
	_, tens := tensWords[t.lower]
	return teen || tens
}

// ParseSpokenDigits reads a dictated digit string such as "zero seven one
// two, double three, four five six" or "sifuri saba moja" and returns its
// digits (with a leading "+" for "plus"). It returns "" when text does not
// start with a digit sequence.
func ParseSpokenDigits(text string) string {
	toks := tokenize(text)
	chunks, plus := digitRun(toks, 0)
	if len(chunks) == 0 {
		return ""
	}
	var b strings.Builder
	if plus {
		b.WriteByte('+')
	}
	for _, c := range chunks {
		b.WriteString(c.digits)
	}
	return b.String()
}

// cardinal reads a spoken or written quantity starting at toks[i]: "500",
// "2,000", "1.5", "two thousand five hundred", "twenty-five", "a hundred",
// "elfu mbili" (Swahili 2000), "kumi na mbili" (12), "5k". It returns the
// value and the token index after it.
func cardinal(toks []token, i int) (float64, int, bool) {
	if i >= len(toks) {
		return 0, i, false
	}
	t := toks[i]
	if t.kind == tNum {
		s := strings.ReplaceAll(t.text, ",", "")
		if strings.ContainsAny(s, ":/") {
			return 0, i, false
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, i, false
		}
		j := i + 1
		if j < len(toks) && toks[j].start == t.end {
			switch toks[j].lower {
			case "k":
				return v * 1000, j + 1, true
			case "m":
				return v * 1e6, j + 1, true
			}
		}
		if j < len(toks) {
			switch toks[j].lower {
			case "thousand", "k", "elfu":
				return v * 1000, j + 1, true
			case "million", "milioni":
				return v * 1e6, j + 1, true
			case "hundred":
				return v * 100, j + 1, true
			}
		}
		return v, j, true
	}
	return spokenCardinal(toks, i)
}

// spokenCardinal parses number words in English or Swahili.
func spokenCardinal(toks []token, i int) (float64, int, bool) {
	total, cur := 0.0, 0.0
	j := i
	any := false
	// No spoken quantity runs longer than a dozen words; the cap keeps
	// scanning linear on adversarial input.
	for j < len(toks) && j-i < 12 {
		w := toks[j].lower
		switch {
		case w == "a" && !any && j+1 < len(toks) && (toks[j+1].lower == "hundred" || toks[j+1].lower == "thousand" || toks[j+1].lower == "million" || toks[j+1].lower == "couple"):
			if toks[j+1].lower == "couple" {
				if j+2 < len(toks) && toks[j+2].lower == "of" {
					return 2, j + 3, true
				}
				return 2, j + 2, true
			}
			cur = 1
			any = true
		case unitWords[w] > 0 || w == "zero" || w == "sifuri":
			if w == "o" || w == "oh" || w == "nil" || w == "nought" || w == "naught" {
				goto done
			}
			cur += float64(unitWords[w])
			any = true
		case teenWords[w] > 0:
			cur += float64(teenWords[w])
			any = true
		case tensWords[w] > 0:
			cur += float64(tensWords[w])
			any = true
		case w == "hundred" && any:
			if cur == 0 {
				cur = 1
			}
			cur *= 100
		case (w == "thousand" || w == "million") && any:
			m := 1000.0
			if w == "million" {
				m = 1e6
			}
			if cur == 0 {
				cur = 1
			}
			total += cur * m
			cur = 0
		case w == "mia" || w == "elfu" || w == "laki" || w == "milioni":
			// Swahili puts the multiplier first: "elfu mbili" = 2000.
			m := map[string]float64{"mia": 100, "elfu": 1000, "laki": 100000, "milioni": 1e6}[w]
			// Only the multiplier's own operand: stop at the next multiplier.
			v, k := swahiliOperand(toks, j+1)
			if v == 0 || v >= m {
				goto done
			}
			total += cur + v*m
			cur = 0
			any = true
			j = k
			continue
		case (w == "-" || w == "and" || w == "na") && any && j+1 < len(toks) && isNumberWord(toks[j+1].lower):
			// "twenty-five", "one hundred and five", "kumi na mbili".
		default:
			goto done
		}
		j++
	}
done:
	if !any {
		return 0, i, false
	}
	// Do not end on a joiner.
	for j > i && (toks[j-1].lower == "and" || toks[j-1].lower == "na" || toks[j-1].text == "-") {
		j--
	}
	return total + cur, j, true
}

// swahiliOperand reads the units after a Swahili multiplier ("elfu mbili
// mia tano" → 2 for elfu), stopping before the next multiplier.
func swahiliOperand(toks []token, j int) (float64, int) {
	v := 0.0
	for start := j; j < len(toks) && j-start < 6; {
		w := toks[j].lower
		switch {
		case unitWords[w] > 0 && w != "o" && w != "oh":
			v += float64(unitWords[w])
		case teenWords[w] > 0:
			v += float64(teenWords[w])
		case tensWords[w] > 0:
			v += float64(tensWords[w])
		case w == "na" && j+1 < len(toks) && isNumberWord(toks[j+1].lower) && toks[j+1].lower != "mia" && toks[j+1].lower != "elfu":
		default:
			return v, j
		}
		j++
	}
	return v, j
}

// isNumberWord reports whether w is a spoken number word.
func isNumberWord(w string) bool {
	if unitWords[w] > 0 || w == "zero" || teenWords[w] > 0 || tensWords[w] > 0 {
		return w != "o" && w != "oh"
	}
	switch w {
	case "hundred", "thousand", "million", "mia", "elfu", "laki", "milioni":
		return true
	}
	return false
}

// luhn reports whether a digit string passes the Luhn check.
func luhn(d string) bool {
	sum, alt := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if alt {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		alt = !alt
	}
	return sum%10 == 0
}
