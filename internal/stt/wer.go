package stt

import (
	"strconv"
	"strings"
	"unicode"
)

// NormalizeWords turns a transcript into the words a word error rate is
// counted on: lower case, without punctuation or bracketed stage directions
// ("(3 seconds of silence)", "<beep>"), with digits spelled out ("7" →
// "seven", "21st" → "twenty first") and "#", "*", "&", "%" read aloud.
func NormalizeWords(s string) []string {
	s = dropBracketed(strings.ToLower(s))
	s = strings.NewReplacer("#", " pound ", "*", " star ", "&", " and ", "%", " percent ").Replace(s)
	var out []string
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	}) {
		tok = strings.Trim(tok, "'")
		for _, part := range splitDigits(tok) {
			out = append(out, spell(part)...)
		}
	}
	return out
}

// dropBracketed removes text in (), [] and <>.
func dropBracketed(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch r {
		case '(', '[', '<':
			depth++
			continue
		case ')', ']', '>':
			if depth > 0 {
				depth--
			}
			continue
		}
		if depth == 0 {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// splitDigits cuts "3d" into "3", "d" but keeps ordinals ("21st") whole.
func splitDigits(tok string) []string {
	if tok == "" {
		return nil
	}
	i := 0
	for i < len(tok) && tok[i] >= '0' && tok[i] <= '9' {
		i++
	}
	if i == 0 || i == len(tok) {
		if i == 0 {
			// letters first: cut before any digits that follow
			j := strings.IndexFunc(tok, unicode.IsDigit)
			if j > 0 {
				return append([]string{tok[:j]}, splitDigits(tok[j:])...)
			}
		}
		return []string{tok}
	}
	switch tok[i:] {
	case "st", "nd", "rd", "th":
		return []string{tok}
	}
	return append([]string{tok[:i]}, splitDigits(tok[i:])...)
}

var ones = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
	"eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
var tens = []string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}

// spell returns a token's words: numbers and ordinals spelled out, other
// tokens as they are.
func spell(tok string) []string {
	num, suffix := tok, ""
	for _, s := range []string{"st", "nd", "rd", "th"} {
		if strings.HasSuffix(tok, s) && len(tok) > 2 {
			num, suffix = tok[:len(tok)-2], s
			break
		}
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || n > 999999 || (len(num) > 1 && num[0] == '0') {
		if err == nil {
			// digit strings with leading zeros are read digit by digit
			var w []string
			for _, d := range num {
				w = append(w, ones[d-'0'])
			}
			return w
		}
		return []string{tok}
	}
	w := numberWords(n)
	if suffix != "" {
		w[len(w)-1] = ordinal(w[len(w)-1])
	}
	return w
}

func numberWords(n int) []string {
	switch {
	case n < 20:
		return []string{ones[n]}
	case n < 100:
		if n%10 == 0 {
			return []string{tens[n/10]}
		}
		return []string{tens[n/10], ones[n%10]}
	case n < 1000:
		w := []string{ones[n/100], "hundred"}
		if n%100 != 0 {
			w = append(w, numberWords(n%100)...)
		}
		return w
	default:
		w := append(numberWords(n/1000), "thousand")
		if n%1000 != 0 {
			w = append(w, numberWords(n%1000)...)
		}
		return w
	}
}

func ordinal(w string) string {
	switch w {
	case "one":
		return "first"
	case "two":
		return "second"
	case "three":
		return "third"
	case "five":
		return "fifth"
	case "eight":
		return "eighth"
	case "nine":
		return "ninth"
	case "twelve":
		return "twelfth"
	}
	if strings.HasSuffix(w, "y") {
		return w[:len(w)-1] + "ieth"
	}
	return w + "th"
}

// WordErrors returns the word-level edit distance between a reference and
// a hypothesis (substitutions, deletions and insertions), both normalised
// with NormalizeWords, and the number of reference words. The word error
// rate is their quotient.
func WordErrors(reference, hypothesis string) (errors, words int) {
	ref, hyp := NormalizeWords(reference), NormalizeWords(hypothesis)
	prev := make([]int, len(hyp)+1)
	cur := make([]int, len(hyp)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ref); i++ {
		cur[0] = i
		for j := 1; j <= len(hyp); j++ {
			sub := prev[j-1]
			if ref[i-1] != hyp[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(hyp)], len(ref)
}
