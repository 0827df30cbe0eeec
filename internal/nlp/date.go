package nlp

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// monthNames maps month names and abbreviations to months.
var monthNames = map[string]time.Month{
	"january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3,
	"april": 4, "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7,
	"august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9, "october": 10,
	"oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
	"januari": 1, "februari": 2, "machi": 3, "aprili": 4, "mei": 5, "juni": 6,
	"julai": 7, "agosti": 8, "septemba": 9, "oktoba": 10, "novemba": 11, "desemba": 12,
}

// weekdayNames maps English and Swahili weekday names to weekdays.
var weekdayNames = map[string]time.Weekday{
	"monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
	"sunday":   time.Sunday,
	"jumatatu": time.Monday, "jumanne": time.Tuesday, "jumatano": time.Wednesday,
	"alhamisi": time.Thursday, "ijumaa": time.Friday, "jumamosi": time.Saturday,
	"jumapili": time.Sunday,
}

// partsOfDay may follow a day ("tomorrow morning") and stay in the span.
var partsOfDay = map[string]bool{
	"morning": true, "afternoon": true, "evening": true, "night": true,
	"asubuhi": true, "mchana": true, "jioni": true, "usiku": true,
}

// temporal is one parsed date or time expression.
type temporal struct {
	from, to int    // token range
	kind     string // "date" or "time"
	value    string // ISO 8601 value, "" when it cannot be resolved
}

// dateCtx carries what resolution needs: the call start and the tense of
// the sentence, which decides whether a bare weekday is past or coming.
type dateCtx struct {
	base time.Time
	past bool
}

// parseTemporal tries to read a date or time expression at toks[i].
func parseTemporal(toks []token, i int, c dateCtx) (temporal, bool) {
	d, ok := parseDate(toks, i, c)
	if ok {
		// Optional time tail: "tomorrow at three", "Monday 10am", "Friday morning".
		j := d.to
		if j < len(toks) && partsOfDay[toks[j].lower] {
			d.to = j + 1
			return d, true
		}
		if j+1 < len(toks) && (toks[j].lower == "in" || toks[j].lower == "this" || toks[j].lower == "at") && j+2 < len(toks) && toks[j+1].lower == "the" && partsOfDay[toks[j+2].lower] {
			d.to = j + 3
			return d, true
		}
		k := j
		cue := false
		if k < len(toks) && (toks[k].lower == "at" || toks[k].lower == "around" || toks[k].lower == "by" || toks[k].lower == "from" || toks[k].text == ",") {
			k++
			cue = true
		}
		if h, m, end, ok := parseClock(toks, k, cue); ok {
			d.to = end
			if d.value != "" && len(d.value) == 10 {
				d.value += fmt.Sprintf("T%02d:%02d", h, m)
			}
		}
		return d, true
	}
	// A time on its own needs a cue: "at three", "3 pm", "10:30".
	cue := i > 0 && (toks[i-1].lower == "at" || toks[i-1].lower == "around" || toks[i-1].lower == "by" || toks[i-1].lower == "before" || toks[i-1].lower == "after" || toks[i-1].lower == "until" || toks[i-1].lower == "till")
	if h, m, end, ok := parseClock(toks, i, cue); ok {
		t := temporal{from: i, to: end, kind: "time", value: fmt.Sprintf("%02d:%02d", h, m)}
		// "3 pm tomorrow": a day after the clock makes it a date.
		if end < len(toks) {
			if d, ok := parseDate(toks, end, c); ok && d.value != "" && len(d.value) == 10 {
				return temporal{from: i, to: d.to, kind: "date", value: d.value + "T" + t.value}, true
			} else if ok {
				return temporal{from: i, to: d.to, kind: "date", value: d.value}, true
			}
		}
		return t, true
	}
	return temporal{}, false
}

// parseClock reads "3", "3 pm", "3pm", "10:30", "three thirty", "half past
// two", "quarter to five", "noon", "three o'clock". Without a cue a bare
// number is not a time.
func parseClock(toks []token, i int, cue bool) (h, m, end int, ok bool) {
	if i >= len(toks) {
		return 0, 0, i, false
	}
	w := toks[i].lower
	if w == "saa" {
		return swahiliClock(toks, i)
	}
	switch w {
	case "noon", "midday":
		return 12, 0, i + 1, true
	case "midnight":
		return 0, 0, i + 1, true
	case "half", "quarter":
		if i+2 < len(toks) && (toks[i+1].lower == "past" || toks[i+1].lower == "to") {
			hh, _, e, ok := clockHour(toks, i+2)
			if !ok {
				return 0, 0, i, false
			}
			mm := 30
			if w == "quarter" {
				mm = 15
			}
			if toks[i+1].lower == "to" {
				if w == "half" {
					return 0, 0, i, false
				}
				hh, mm = hh-1, 45
				if hh == 0 {
					hh = 12
				}
			}
			h2, e2 := meridiem(toks, e, hh, true)
			if e2 == e && hh >= 1 && hh <= 6 {
				h2 = hh + 12 // business hours, as for "at three"
			}
			return h2, mm, e2, true
		}
		return 0, 0, i, false
	}
	hh, mm, e, ok := clockHour(toks, i)
	if !ok {
		return 0, 0, i, false
	}
	explicit := mm >= 0
	if mm < 0 {
		mm = 0
		// "three thirty", "ten fifteen".
		if e < len(toks) {
			if v, ok := tensWords[toks[e].lower]; ok && v <= 50 {
				mm = v
				e++
				if e < len(toks) {
					if u, ok := unitWords[toks[e].lower]; ok && u > 0 && toks[e].lower != "o" && toks[e].lower != "oh" {
						mm += u
						e++
					}
				}
				explicit = true
			} else if v, ok := teenWords[toks[e].lower]; ok && v >= 10 && toks[e].lower != "kumi" {
				mm = v
				e++
				explicit = true
			}
		}
	}
	hh2, e2 := meridiem(toks, e, hh, false)
	marked := e2 > e
	if e2 < len(toks) && (toks[e2].lower == "o'clock" || toks[e2].lower == "o’clock") {
		e2++
		marked = true
	}
	if !cue && !marked && !(explicit && toks[i].kind == tNum) {
		return 0, 0, i, false
	}
	// "after three working days", "at two of them": a count, not a clock.
	if !marked && !explicit && e2 < len(toks) && notClockNext[toks[e2].lower] {
		return 0, 0, i, false
	}
	if !marked {
		// Business hours: "at three" means 15:00, "at nine" 09:00.
		if hh >= 1 && hh <= 6 {
			hh2 = hh + 12
		}
	}
	return hh2, mm, e2, true
}

// swahiliClock reads Swahili time, counted from 6 o'clock: "saa tatu
// asubuhi" is 09:00, "saa nane mchana" 14:00, "saa kumi na moja" 17:00.
func swahiliClock(toks []token, i int) (h, m, end int, ok bool) {
	if i >= 2 && toks[i-1].lower == "ya" && toks[i-2].lower == "baada" || i >= 1 && toks[i-1].lower == "kwa" {
		return 0, 0, i, false // "baada ya saa moja": after one hour
	}
	v, e, ok := spokenCardinal(toks, i+1)
	if !ok || v < 1 || v > 12 || v != float64(int(v)) {
		return 0, 0, i, false
	}
	h = (int(v) + 6) % 12
	if e+1 < len(toks) && toks[e].lower == "na" && toks[e+1].lower == "nusu" {
		m = 30
		e += 2
	}
	part := ""
	if e < len(toks) {
		part = toks[e].lower
	}
	switch part {
	case "asubuhi":
		e++
	case "mchana":
		if h < 6 {
			h += 12
		}
		e++
	case "jioni":
		h += 12
		e++
	case "usiku":
		if h >= 7 {
			h += 12
		}
		e++
	default:
		if h >= 1 && h <= 6 {
			h += 12
		}
	}
	if h == 0 {
		h = 12
	}
	if h == 24 {
		h = 12
	}
	return h, m, e, true
}

// notClockNext are words after a number that make it a count.
var notClockNext = map[string]bool{
	"days": true, "day": true, "weeks": true, "week": true, "hours": true, "hour": true,
	"minutes": true, "minute": true, "working": true, "months": true, "years": true,
	"times": true, "of": true, "people": true, "children": true, "kids": true, "more": true,
	"other": true, "or": true, "percent": true, "shillings": true, "bob": true, "dollars": true,
}

// clockHour reads an hour as digits ("3", "10:30") or words ("three").
// mm is -1 when no minutes were given.
func clockHour(toks []token, i int) (h, mm, end int, ok bool) {
	t := toks[i]
	if t.kind == tNum {
		if p := strings.IndexAny(t.text, ":."); p > 0 {
			a, err1 := strconv.Atoi(t.text[:p])
			b, err2 := strconv.Atoi(t.text[p+1:])
			if err1 != nil || err2 != nil || a > 23 || b > 59 || len(t.text)-p-1 != 2 {
				return 0, 0, i, false
			}
			return a, b, i + 1, true
		}
		if !allDigits(t.text) || len(t.text) > 2 {
			return 0, 0, i, false
		}
		a, _ := strconv.Atoi(t.text)
		if a < 1 || a > 12 {
			return 0, 0, i, false
		}
		return a, -1, i + 1, true
	}
	if n, ok := unitWords[t.lower]; ok && n > 0 && t.lower != "o" && t.lower != "oh" && isEnglishNumber(t.lower) {
		return n, -1, i + 1, true
	}
	if n, ok := teenWords[t.lower]; ok && n <= 12 && t.lower != "kumi" {
		return n, -1, i + 1, true
	}
	return 0, 0, i, false
}

// isEnglishNumber keeps Swahili digit words (whose clock is offset by six
// hours) out of clock parsing.
func isEnglishNumber(w string) bool {
	switch w {
	case "moja", "mbili", "tatu", "nne", "tano", "sita", "saba", "nane", "tisa":
		return false
	}
	return true
}

// meridiem applies a following am/pm ("3 pm", "3pm", "3 p.m.").
func meridiem(toks []token, e, h int, _ bool) (int, int) {
	if e >= len(toks) {
		return h, e
	}
	w := toks[e].lower
	pm, am := w == "pm", w == "am"
	end := e + 1
	if (w == "p" || w == "a") && e+2 < len(toks) && toks[e+1].text == "." && toks[e+2].lower == "m" {
		pm, am = w == "p", w == "a"
		end = e + 3
		if end < len(toks) && toks[end].text == "." && toks[end].start == toks[end-1].end {
			end++
		}
	}
	if !pm && !am {
		// "in the morning/evening" after a clock.
		if e+2 < len(toks) && toks[e].lower == "in" && toks[e+1].lower == "the" {
			switch toks[e+2].lower {
			case "morning":
				return h % 12, e + 3
			case "afternoon", "evening":
				return h%12 + 12, e + 3
			}
		}
		return h, e
	}
	if pm && h < 12 {
		h += 12
	}
	if am && h == 12 {
		h = 0
	}
	return h, end
}

// parseDate reads a date expression at toks[i].
func parseDate(toks []token, i int, c dateCtx) (temporal, bool) {
	n := len(toks)
	w := toks[i].lower
	at := func(k int) string {
		if k < n {
			return toks[k].lower
		}
		return ""
	}
	day := func(t time.Time, to int) (temporal, bool) {
		return temporal{from: i, to: to, kind: "date", value: isoDate(t, c.base)}, true
	}
	base := c.base
	switch w {
	case "today", "tonight", "leo":
		if w == "leo" && at(i+1) == "hii" {
			return day(base, i+2)
		}
		return day(base, i+1)
	case "tomorrow", "tmrw", "tomoro", "kesho":
		if w == "kesho" && at(i+1) == "kutwa" {
			return day(base.AddDate(0, 0, 2), i+2)
		}
		return day(base.AddDate(0, 0, 1), i+1)
	case "yesterday", "jana":
		if w == "jana" && at(i+1) == "yake" {
			return temporal{}, false
		}
		return day(base.AddDate(0, 0, -1), i+1)
	case "juzi":
		return day(base.AddDate(0, 0, -2), i+1)
	case "the", "day":
		k := i
		if w == "the" {
			k++
		}
		if at(k) == "day" && at(k+1) == "after" && at(k+2) == "tomorrow" {
			return day(base.AddDate(0, 0, 2), k+3)
		}
		if at(k) == "day" && at(k+1) == "before" && at(k+2) == "yesterday" {
			return day(base.AddDate(0, 0, -2), k+3)
		}
		if w == "the" {
			// "the 12th of March", "the 5th".
			if d, ok := dayMonth(toks, i+1, c); ok {
				d.from = i
				return d, true
			}
			if at(i+1) == "end" && at(i+2) == "of" {
				if d, ok := parseDate(toks, i+1, c); ok {
					d.from = i
					return d, true
				}
			}
		}
		return temporal{}, false
	case "next", "this", "last", "coming", "previous", "following":
		k := i + 1
		if w == "this" && at(k) == "coming" {
			k++
		}
		if wd, ok := weekdayNames[at(k)]; ok {
			return day(weekdayFrom(base, wd, w), k+1)
		}
		if w == "this" && partsOfDay[at(k)] {
			return day(base, k+1)
		}
		switch at(k) {
		case "week", "weekend", "month", "year":
			return day(periodFrom(base, at(k), w), k+1)
		}
		return temporal{}, false
	case "end":
		// "end of the month", "end of this week", "end month".
		k := i + 1
		if at(k) == "of" {
			k++
		}
		mod := "this"
		if at(k) == "the" || at(k) == "this" || at(k) == "next" {
			if at(k) == "next" {
				mod = "next"
			}
			k++
		}
		switch at(k) {
		case "week":
			t := periodFrom(base, "week", mod).AddDate(0, 0, 4)
			return day(t, k+1)
		case "month":
			t := periodFrom(base, "month", mod).AddDate(0, 1, -1)
			return day(t, k+1)
		}
		if m, ok := monthNames[at(k)]; ok && toks[k].capitalised() {
			y := yearFor(base, m, 1)
			t := time.Date(y, m, 1, 0, 0, 0, 0, locOf(base)).AddDate(0, 1, -1)
			return day(t, k+1)
		}
		return temporal{}, false
	case "in", "within", "after":
		// "in two weeks", "within 3 days", "in a week's time".
		v, k, ok := cardinal(toks, i+1)
		if !ok {
			if at(i+1) == "a" && at(i+2) == "few" {
				v, k, ok = 3, i+3, true
			} else if at(i+1) == "a" {
				v, k, ok = 1, i+2, true
			}
		}
		if !ok || v <= 0 || v > 400 || v != float64(int(v)) {
			return temporal{}, false
		}
		t, k2, ok := addUnit(base, int(v), toks, k)
		if !ok {
			return temporal{}, false
		}
		if at(k2) == "'s" || at(k2) == "’s" {
			k2++
		}
		if at(k2) == "time" {
			k2++
		}
		return day(t, k2)
	case "mwisho":
		// "mwisho wa mwezi (huu|ujao)": end of this or next month.
		if at(i+1) == "wa" && at(i+2) == "mwezi" {
			mod, k := "this", i+3
			switch at(k) {
			case "huu":
				k++
			case "ujao", "ujayo":
				mod = "next"
				k++
			}
			return day(periodFrom(base, "month", mod).AddDate(0, 1, -1), k)
		}
		return temporal{}, false
	case "wiki", "mwezi", "mwaka":
		switch at(i + 1) {
		case "ijayo", "ujao", "ujayo", "inayokuja", "unaokuja":
			unit := map[string]string{"wiki": "week", "mwezi": "month", "mwaka": "year"}[w]
			return day(periodFrom(base, unit, "next"), i+2)
		case "iliyopita", "uliopita", "jana":
			unit := map[string]string{"wiki": "week", "mwezi": "month", "mwaka": "year"}[w]
			return day(periodFrom(base, unit, "last"), i+2)
		case "hii", "huu":
			unit := map[string]string{"wiki": "week", "mwezi": "month", "mwaka": "year"}[w]
			return day(periodFrom(base, unit, "this"), i+2)
		}
		return temporal{}, false
	}
	if wd, ok := weekdayNames[w]; ok {
		mod := ""
		if c.past {
			mod = "last"
		}
		k := i + 1
		// "Monday next week", "Friday this week".
		if (at(k) == "next" || at(k) == "this") && at(k+1) == "week" {
			t := periodFrom(base, "week", at(k))
			off := (int(wd) + 6) % 7
			return day(t.AddDate(0, 0, off), k+2)
		}
		// "Tuesday the 12th", "Tuesday, 12th March".
		j := k
		if at(j) == "," {
			j++
		}
		if at(j) == "the" {
			j++
		}
		if d, ok := dayMonth(toks, j, c); ok {
			d.from = i
			// "Tuesday the 18th": the 18th that falls on a Tuesday.
			if dd, _, ok := dayOrdinal(toks, j); ok && d.to == j+1 || d.to == j+2 && ok {
				if t, ok := weekdayDay(base, wd, dd); ok {
					d.value = t.Format("2006-01-02")
				}
			}
			return d, true
		}
		return day(weekdayFrom(base, wd, mod), k)
	}
	// "12 March", "12th of March 2025", "March 12", "12/03/2025".
	if d, ok := dayMonth(toks, i, c); ok {
		return d, true
	}
	// "2025-03-12".
	if toks[i].kind == tNum && len(toks[i].text) == 4 && i+4 < n && toks[i+1].text == "-" && toks[i+3].text == "-" && toks[i+2].kind == tNum && toks[i+4].kind == tNum {
		y, _ := strconv.Atoi(toks[i].text)
		mo, _ := strconv.Atoi(toks[i+2].text)
		dd, _ := strconv.Atoi(toks[i+4].text)
		if validYMD(y, mo, dd) {
			return temporal{from: i, to: i + 5, kind: "date", value: fmt.Sprintf("%04d-%02d-%02d", y, mo, dd)}, true
		}
	}
	// "N days ago", "two weeks from now", "three days later".
	if v, k, ok := cardinal(toks, i); ok && v > 0 && v <= 400 && v == float64(int(v)) {
		if t, k2, ok := addUnit(base, int(v), toks, k); ok {
			switch at(k2) {
			case "ago":
				back, _, _ := addUnit(base, -int(v), toks, k)
				return day(back, k2+1)
			case "from":
				if at(k2+1) == "now" || at(k2+1) == "today" {
					return day(t, k2+2)
				}
			case "later":
				return day(t, k2+1)
			}
		}
	}
	return temporal{}, false
}

// dayMonth reads "12 March", "12th of March", "March 12th, 2025",
// "March the twelfth", "12/03/2025", "the 5th" (when preceded by "the").
func dayMonth(toks []token, i int, c dateCtx) (temporal, bool) {
	n := len(toks)
	if i >= n {
		return temporal{}, false
	}
	t := toks[i]
	// Numeric dd/mm/yyyy or dd/mm.
	if t.kind == tNum && strings.Count(t.text, "/") >= 1 && !strings.ContainsAny(t.text, ",.:") {
		p := strings.Split(t.text, "/")
		if len(p) == 2 || len(p) == 3 {
			dd, _ := strconv.Atoi(p[0])
			mo, _ := strconv.Atoi(p[1])
			y := 0
			if len(p) == 3 {
				y, _ = strconv.Atoi(p[2])
				if len(p[2]) == 2 {
					y += 2000
				}
			} else {
				y = yearFor(c.base, time.Month(mo), dd)
			}
			if validYMD(y, mo, dd) {
				return temporal{from: i, to: i + 1, kind: "date", value: fmt.Sprintf("%04d-%02d-%02d", y, mo, dd)}, true
			}
		}
		return temporal{}, false
	}
	dd, k, ok := dayOrdinal(toks, i)
	if ok {
		j := k
		if j < n && toks[j].lower == "of" {
			j++
		}
		if j < n {
			if m, ok := monthNames[toks[j].lower]; ok && monthWordOK(toks, j) {
				end := j + 1
				y, end := optYear(toks, end)
				if y == 0 {
					y = yearFor(c.base, m, dd)
				}
				if validYMD(y, int(m), dd) {
					return temporal{from: i, to: end, kind: "date", value: ymd(y, m, dd, c.base, y != 0)}, true
				}
			}
		}
		// "the 5th": a bare day needs "the" before it and a digit with an
		// ordinal suffix; it is the nearest such day (the past one in a
		// past-tense sentence).
		if i > 0 && toks[i-1].lower == "the" && k > i+1 && t.kind == tNum {
			if c.base.IsZero() {
				return temporal{from: i, to: k, kind: "date"}, true
			}
			if tt, ok := nearestDay(c.base, dd, c.past); ok {
				return temporal{from: i, to: k, kind: "date", value: tt.Format("2006-01-02")}, true
			}
		}
		return temporal{}, false
	}
	if m, ok := monthNames[t.lower]; ok && monthWordOK(toks, i) {
		j := i + 1
		if j < n && toks[j].text == "." {
			j++
		}
		if j < n && toks[j].lower == "the" {
			j++
		}
		if dd, k, ok := dayOrdinal(toks, j); ok {
			y, end := optYear(toks, k)
			if y == 0 {
				y = yearFor(c.base, m, dd)
			}
			if validYMD(y, int(m), dd) {
				return temporal{from: i, to: end, kind: "date", value: ymd(y, m, dd, c.base, true)}, true
			}
		}
		// "March 2025".
		if y, end := optYear(toks, i+1); y != 0 && t.capitalised() {
			return temporal{from: i, to: end, kind: "date", value: fmt.Sprintf("%04d-%02d", y, m)}, true
		}
		// "in March", "by April": a capitalised month after a preposition.
		if i > 0 && t.capitalised() && t.lower != "may" && t.lower != "mar" {
			switch toks[i-1].lower {
			case "in", "by", "until", "till", "since", "before", "after", "mwezi", "for", "during", "on", "of":
				y := yearFor(c.base, m, 1)
				if c.base.IsZero() {
					return temporal{from: i, to: i + 1, kind: "date"}, true
				}
				return temporal{from: i, to: i + 1, kind: "date", value: fmt.Sprintf("%04d-%02d", y, m)}, true
			}
		}
	}
	return temporal{}, false
}

// monthWordOK rejects "may" and "march" used as verbs: they count as months
// only when capitalised.
func monthWordOK(toks []token, j int) bool {
	switch toks[j].lower {
	case "may", "march", "mar", "jan", "jun", "jul", "aug", "oct", "dec", "sep", "feb", "apr", "nov", "mei":
		return toks[j].capitalised()
	}
	return true
}

// dayOrdinal reads a day of month: "12", "12th", "twelfth", "twenty first".
func dayOrdinal(toks []token, i int) (int, int, bool) {
	if i >= len(toks) {
		return 0, i, false
	}
	t := toks[i]
	if t.kind == tNum && allDigits(t.text) && len(t.text) <= 2 {
		d, _ := strconv.Atoi(t.text)
		if d < 1 || d > 31 {
			return 0, i, false
		}
		k := i + 1
		if k < len(toks) && toks[k].start == t.end {
			switch toks[k].lower {
			case "st", "nd", "rd", "th":
				k++
			}
		}
		return d, k, true
	}
	if v, ok := tensWords[t.lower]; ok && (v == 20 || v == 30) && i+1 < len(toks) {
		k := i + 1
		if toks[k].text == "-" {
			k++
		}
		if k < len(toks) {
			if o, ok := ordinalWords[toks[k].lower]; ok && o < 10 {
				return v + o, k + 1, true
			}
		}
	}
	if o, ok := ordinalWords[t.lower]; ok {
		return o, i + 1, true
	}
	return 0, i, false
}

// optYear reads an optional year after a date: ", 2025", "2025".
func optYear(toks []token, k int) (int, int) {
	j := k
	if j < len(toks) && toks[j].text == "," {
		j++
	}
	if j < len(toks) && toks[j].kind == tNum && len(toks[j].text) == 4 && allDigits(toks[j].text) {
		y, _ := strconv.Atoi(toks[j].text)
		if y >= 1900 && y <= 2100 {
			return y, j + 1
		}
	}
	return 0, k
}

// addUnit adds v days, weeks, months or years named at toks[k].
func addUnit(base time.Time, v int, toks []token, k int) (time.Time, int, bool) {
	if k >= len(toks) {
		return base, k, false
	}
	w := strings.TrimSuffix(strings.TrimSuffix(toks[k].lower, "'s"), "’s")
	switch w {
	case "day", "days", "siku":
		return base.AddDate(0, 0, v), k + 1, true
	case "week", "weeks", "wiki":
		return base.AddDate(0, 0, 7*v), k + 1, true
	case "month", "months", "mwezi", "miezi":
		return base.AddDate(0, v, 0), k + 1, true
	case "year", "years", "mwaka", "miaka":
		return base.AddDate(v, 0, 0), k + 1, true
	}
	return base, k, false
}

// weekdayFrom resolves a weekday against base: mod "last" is the previous
// one, "next" the one in next week, otherwise the coming one.
func weekdayFrom(base time.Time, wd time.Weekday, mod string) time.Time {
	cur := base.Weekday()
	switch mod {
	case "last", "previous":
		diff := (int(cur) - int(wd) + 7) % 7
		if diff == 0 {
			diff = 7
		}
		return base.AddDate(0, 0, -diff)
	case "next", "following":
		monday := base.AddDate(0, 0, -((int(cur)+6)%7)+7)
		return monday.AddDate(0, 0, (int(wd)+6)%7)
	}
	diff := (int(wd) - int(cur) + 7) % 7
	if diff == 0 {
		diff = 7
	}
	return base.AddDate(0, 0, diff)
}

// periodFrom returns the first day of this, next or last week (Monday),
// weekend (Saturday), month or year.
func periodFrom(base time.Time, unit, mod string) time.Time {
	step := 0
	switch mod {
	case "next", "coming", "following":
		step = 1
	case "last", "previous":
		step = -1
	}
	switch unit {
	case "week":
		monday := base.AddDate(0, 0, -((int(base.Weekday()) + 6) % 7))
		return monday.AddDate(0, 0, 7*step)
	case "weekend":
		monday := base.AddDate(0, 0, -((int(base.Weekday()) + 6) % 7))
		sat := monday.AddDate(0, 0, 5)
		if step == 0 && base.After(sat.AddDate(0, 0, 1)) {
			return sat
		}
		return sat.AddDate(0, 0, 7*step)
	case "month":
		return time.Date(base.Year(), base.Month()+time.Month(step), 1, 0, 0, 0, 0, locOf(base))
	case "year":
		return time.Date(base.Year()+step, 1, 1, 0, 0, 0, 0, locOf(base))
	}
	return base
}

// nearestDay returns the day-of-month dd closest to base among last, this
// and next month; in a past-tense sentence only days up to base count.
func nearestDay(base time.Time, dd int, past bool) (time.Time, bool) {
	var best time.Time
	bestDist := 1e18
	for m := -1; m <= 1; m++ {
		t := time.Date(base.Year(), base.Month()+time.Month(m), dd, 0, 0, 0, 0, base.Location())
		if t.Day() != dd {
			continue
		}
		d := t.Sub(time.Date(base.Year(), base.Month(), base.Day(), 0, 0, 0, 0, base.Location())).Hours()
		if past && d > 0 {
			continue
		}
		if d < 0 {
			d = -d
		}
		if d < bestDist {
			best, bestDist = t, d
		}
	}
	return best, !best.IsZero()
}

// weekdayDay finds the day-of-month dd falling on weekday wd nearest to base.
func weekdayDay(base time.Time, wd time.Weekday, dd int) (time.Time, bool) {
	if base.IsZero() {
		return time.Time{}, false
	}
	var best time.Time
	bestDist := 1e18
	for m := -6; m <= 6; m++ {
		t := time.Date(base.Year(), base.Month()+time.Month(m), dd, 0, 0, 0, 0, base.Location())
		if t.Day() != dd || t.Weekday() != wd {
			continue
		}
		d := t.Sub(base).Hours()
		if d < 0 {
			d = -d
		}
		if d < bestDist {
			best, bestDist = t, d
		}
	}
	return best, !best.IsZero()
}

// yearFor picks the year of a day-and-month said without a year: the call's
// year (dates are as often past as future in a call, so no rollover).
func yearFor(base time.Time, m time.Month, d int) int {
	if base.IsZero() {
		return 0
	}
	return base.Year()
}

// locOf returns t's location, UTC for the zero time.
func locOf(t time.Time) *time.Location {
	if t.IsZero() {
		return time.UTC
	}
	return t.Location()
}

// validYMD reports whether y-m-d is a real calendar day.
func validYMD(y, m, d int) bool {
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return false
	}
	if y == 0 {
		return true
	}
	if y < 1900 || y > 2100 {
		return false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	return t.Day() == d
}

// ymd formats a date; without a known year it gives "--MM-DD".
func ymd(y int, m time.Month, d int, base time.Time, _ bool) string {
	if y == 0 {
		return fmt.Sprintf("--%02d-%02d", m, d)
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
}

// isoDate formats a resolved relative date, or "" when there was no base.
func isoDate(t, base time.Time) string {
	if base.IsZero() {
		return ""
	}
	return t.Format("2006-01-02")
}

// pastMarkers and futureMarkers decide the tense of a sentence for bare
// weekdays ("he beat her on Sunday" vs "we will come on Sunday").
var pastMarkers = map[string]bool{
	"was": true, "were": true, "did": true, "had": true, "went": true, "came": true,
	"happened": true, "left": true, "took": true, "told": true, "said": true,
	"beat": true, "hit": true, "saw": true, "called": true, "paid": true, "got": true,
	"started": true, "last": true, "ago": true, "since": true, "yesterday": true,
	"jana": true, "ali": true, "tangu": true, "visited": true, "received": true,
}

var futureMarkers = map[string]bool{
	"will": true, "i'll": true, "we'll": true, "you'll": true, "he'll": true,
	"she'll": true, "they'll": true, "shall": true, "going": true, "gonna": true,
	"please": true, "can": true, "could": true, "would": true, "let's": true,
	"next": true, "tomorrow": true, "coming": true, "until": true, "by": true,
	"due": true, "before": true, "kesho": true, "nita": true,
}

// sentencePast reports whether a sentence reads as past tense.
func sentencePast(toks []token) bool {
	past := false
	for _, t := range toks {
		if futureMarkers[t.lower] {
			return false
		}
		if pastMarkers[t.lower] || (len(t.lower) > 4 && strings.HasSuffix(t.lower, "ed")) {
			past = true
		}
	}
	return past
}

// ParseDate reads the first date or time expression in text and resolves it
// against base. It returns the matched text, its ISO value ("" when it
// cannot be resolved) and whether one was found.
func ParseDate(text string, base time.Time) (match, value string, ok bool) {
	toks := tokenize(text)
	c := dateCtx{base: base, past: sentencePast(toks)}
	for i := range toks {
		if d, ok := parseTemporal(toks, i, c); ok {
			return text[toks[d.from].start:toks[d.to-1].end], d.value, true
		}
	}
	return "", "", false
}
