package nlp

import (
	"unicode"
)

// Speech recognisers such as pocketsphinx write transcripts in lower case,
// and the name scan relies on capital letters to find people, places and
// organisations. For a call without a single capital letter, truecase marks
// the tokens that would have been capitalised, by rules that hold in
// lower-case speech:
//   - places and organisations of the gazetteer (not those that are also
//     everyday words, caselessAmbiguous);
//   - first names of the gazetteer that are not also everyday words
//     (ambiguousNames);
//   - the word after a cue that can only introduce a name ("my name is",
//     "i am called", "naitwa", "jina langu ni"), unless it is a word that
//     cannot be a name there ("my name is not important", "call me back"),
//     and a second word after it when that is a known name ("john kamau").
// A person's name after a weak cue ("this is", "i am") is left to the
// gazetteer, as an unknown word there is far more often not a name.

// caseless reports whether no segment of d has an upper-case letter.
func caseless(d *doc) bool {
	for _, s := range d.segs {
		for _, r := range s.Text {
			if unicode.IsUpper(r) {
				return false
			}
		}
	}
	return true
}

// strongPersonCues can only be followed by a name.
var strongPersonCues = cues([][]string{
	{"my", "name", "is"}, {"my", "name's"}, {"name", "is"}, {"names", "are"}, {"i", "am", "called"},
	{"i'm", "called"}, {"is", "called"}, {"was", "called"}, {"named"}, {"call", "me"},
	{"naitwa"}, {"anaitwa"}, {"wanaitwa"}, {"jina", "langu", "ni"}, {"jina", "lake", "ni"},
}...)

// notNamesCaseless are words that follow a name cue without being a name:
// "my name is not important", "call me back", "named after".
var notNamesCaseless = map[string]bool{
	"not": true, "a": true, "an": true, "the": true, "after": true, "back": true, "later": true,
	"tomorrow": true, "today": true, "tonight": true, "on": true, "at": true, "when": true,
	"if": true, "again": true, "please": true, "soon": true, "as": true, "what": true,
	"who": true, "that": true, "this": true, "because": true, "um": true, "uh": true,
	"er": true, "ah": true, "eh": true, "mm": true, "hmm": true, "also": true, "actually": true,
	"really": true, "very": true, "still": true, "unknown": true, "private": true,
	"confidential": true, "secret": true, "is": true, "was": true, "it": true, "in": true,
	"to": true, "for": true, "with": true, "from": true, "anything": true, "whatever": true,
	"something": true, "nothing": true, "anytime": true, "any": true, "quickly": true,
}

// caselessAmbiguous are gazetteer places and organisations that are also
// everyday words, left alone in lower-case text.
var caselessAmbiguous = map[string]bool{
	"wote": true, "maua": true, "umoja": true, "hola": true, "sha": true, "equity": true,
	"visa": true, "bolt": true, "molo": true, "rongo": true, "ngara": true,
	"uber": true, "tigo": true, "huduma": true,
}

// truecase returns a copy of toks with the tokens that would be capitalised
// in written text marked so.
func (x *extractor) truecase(toks []token) []token {
	t := make([]token, len(toks))
	copy(t, toks)
	n := len(t)
	mark := func(from, to int) {
		for k := from; k < to; k++ {
			if t[k].kind == tWord {
				t[k].cased = true
			}
		}
	}
	for i := 0; i < n; i++ {
		if t[i].kind != tWord {
			continue
		}
		if e := x.places.match(t, i); e > 0 && (e > i+1 || !caselessAmbiguous[t[i].lower]) {
			mark(i, e)
			i = e - 1
			continue
		}
		if e := x.orgs.match(t, i); e > 0 && (e > i+1 || !caselessAmbiguous[t[i].lower]) {
			mark(i, e)
			i = e - 1
			continue
		}
		if x.names[t[i].lower] && !ambiguousNames[t[i].lower] && !notNames[t[i].lower] {
			mark(i, i+1)
			continue
		}
		if e := strongPersonCues.match(t, i); e > 0 {
			j := e
			for j < n && personTitles[t[j].lower] {
				j++
			}
			if j < n && t[j].kind == tWord && len(t[j].lower) > 1 && !notNames[t[j].lower] &&
				!notNamesCaseless[t[j].lower] && !isNumberWord(t[j].lower) {
				mark(j, j+1)
				if j+1 < n && t[j+1].kind == tWord && x.names[t[j+1].lower] {
					mark(j+1, j+2)
				}
				i = j
			}
		}
	}
	return t
}
