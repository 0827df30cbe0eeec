package nlp

import (
	"strconv"
)

// yearCues are the words that, right before a bare year, make it a date:
// "born in 1987", "back in 2019", "since 2015", "in the year 2001".
var yearCues = setOf("in", "since", "until", "till", "from", "before", "after", "during", "by", "year", "mwaka", "tangu", "mpaka", "hadi")

// notYearAfter are words after a number that make it a count or an amount,
// not a year: "in 2000 shillings", "by 1990 people".
var notYearAfter = setOf("shillings", "shilling", "bob", "ksh", "kshs", "sh", "dollars", "dollar", "pounds", "euros",
	"people", "children", "kids", "km", "kg", "kilometres", "kilometers", "metres", "meters", "times", "years", "year",
	"%", "percent", "units", "pieces", "calls", "minutes", "hours", "days", "weeks", "months", "students", "members")

// yearInContext reads a bare year after a cue word, written ("1987") or
// spoken ("nineteen eighty seven", "twenty nineteen", "two thousand and
// fifteen"), as a date whose value is the year.
func yearInContext(t []token, i int) (temporal, bool) {
	if i == 0 || !yearCues[t[i-1].lower] {
		return temporal{}, false
	}
	y, end, ok := yearAt(t, i)
	if !ok || y < 1900 || y > 2099 {
		return temporal{}, false
	}
	if end < len(t) && (notYearAfter[t[end].lower] || t[end].kind == tNum) {
		return temporal{}, false
	}
	return temporal{from: i, to: end, kind: "date", value: strconv.Itoa(y)}, true
}

// yearAt reads a year at toks[i] and returns it and the token after it.
func yearAt(t []token, i int) (int, int, bool) {
	tk := t[i]
	if tk.kind == tNum {
		if len(tk.text) != 4 || !allDigits(tk.text) {
			return 0, i, false
		}
		y, _ := strconv.Atoi(tk.text)
		return y, i + 1, true
	}
	if tk.kind != tWord {
		return 0, i, false
	}
	at := func(k int) string {
		if k < len(t) {
			return t[k].lower
		}
		return ""
	}
	// "two thousand (and) fifteen", "two thousand".
	if at(i) == "two" && at(i+1) == "thousand" {
		k := i + 2
		if at(k) == "and" {
			k++
		}
		if n, e, ok := underHundred(t, k); ok {
			return 2000 + n, e, true
		}
		return 2000, i + 2, true
	}
	// "nineteen eighty seven", "twenty nineteen", "nineteen oh five".
	var century int
	if n, ok := teenWords[at(i)]; ok && n >= 19 {
		century = n
	} else if at(i) == "twenty" {
		century = 20
	} else {
		return 0, i, false
	}
	k := i + 1
	if at(k) == "oh" || at(k) == "o" {
		if u, ok := unitWords[at(k+1)]; ok && u > 0 {
			return century*100 + u, k + 2, true
		}
		return 0, i, false
	}
	if at(k) == "hundred" {
		return century * 100, k + 1, true
	}
	n, e, ok := underHundred(t, k)
	if !ok || n < 10 {
		return 0, i, false
	}
	return century*100 + n, e, true
}

// underHundred reads a spoken number below a hundred: "seven", "fifteen",
// "eighty seven", "twenty-three".
func underHundred(t []token, k int) (int, int, bool) {
	if k >= len(t) {
		return 0, k, false
	}
	w := t[k].lower
	if n, ok := teenWords[w]; ok {
		return n, k + 1, true
	}
	if n, ok := tensWords[w]; ok {
		j := k + 1
		if j < len(t) && t[j].text == "-" {
			j++
		}
		if j < len(t) {
			if u, ok := unitWords[t[j].lower]; ok && u > 0 && t[j].lower != "o" && t[j].lower != "oh" {
				return n + u, j + 1, true
			}
		}
		return n, k + 1, true
	}
	if u, ok := unitWords[w]; ok && u > 0 && w != "o" && w != "oh" {
		return u, k + 1, true
	}
	return 0, k, false
}
