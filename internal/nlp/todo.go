package nlp

import "strings"

// Todo is a commitment or request made during a call.
type Todo struct {
	Text string `json:"text"`
	// Owner is the speaker label of whoever has to act.
	Owner string `json:"owner"`
	// Kind is "commitment" (the speaker will act) or "request" (the speaker
	// asks the other side to act).
	Kind       string  `json:"kind"`
	Due        string  `json:"due,omitempty"`
	DueText    string  `json:"due_text,omitempty"`
	SegmentID  int     `json:"segment_id"`
	Confidence float64 `json:"confidence"`
}

// commitTriggers start a commitment by the speaker's side.
var commitTriggers = cues([][]string{
	{"i", "will"}, {"i'll"}, {"we", "will"}, {"we'll"}, {"i", "am", "going", "to"}, {"i'm", "going", "to"},
	{"we", "are", "going", "to"}, {"we're", "going", "to"}, {"i", "shall"}, {"we", "shall"},
	{"i'm", "gonna"}, {"someone", "will"}, {"somebody", "will"},
	{"an", "officer", "will"}, {"our", "officer", "will"}, {"our", "team", "will"}, {"the", "team", "will"},
	{"a", "technician", "will"}, {"our", "technician", "will"}, {"the", "technician", "will"},
	{"a", "counsellor", "will"}, {"our", "counsellor", "will"}, {"they", "will"}, {"they'll"},
	{"i", "promise", "to"}, {"i", "commit", "to"}, {"i'd", "like", "to", "book"},
}...)

// requestTriggers start a request to the other side.
var requestTriggers = cues([][]string{
	{"please"}, {"kindly"}, {"could", "you"}, {"can", "you"}, {"would", "you"}, {"will", "you"},
	{"you", "need", "to"}, {"you", "have", "to"}, {"you", "must"}, {"you", "should"},
	{"make", "sure", "you"}, {"remember", "to"}, {"don't", "forget", "to"}, {"you'll", "need", "to"},
	{"i", "need", "you", "to"}, {"i", "want", "you", "to"}, {"i'd", "like", "you", "to"},
	{"tafadhali"}, {"naomba"},
}...)

// actionVerbs are what a to-do does.
var actionVerbs = map[string]bool{
	"call": true, "ring": true, "phone": true, "send": true, "email": true, "e-mail": true,
	"text": true, "sms": true, "message": true, "check": true, "follow": true, "arrange": true,
	"refer": true, "book": true, "schedule": true, "reschedule": true, "visit": true, "come": true,
	"go": true, "pay": true, "bring": true, "transfer": true, "process": true, "escalate": true,
	"forward": true, "get": true, "update": true, "share": true, "contact": true, "report": true,
	"talk": true, "speak": true, "look": true, "investigate": true, "fix": true, "replace": true,
	"reverse": true, "refund": true, "deliver": true, "dispatch": true, "inform": true, "notify": true,
	"connect": true, "link": true, "raise": true, "log": true, "submit": true, "clear": true,
	"settle": true, "deposit": true, "reset": true, "activate": true, "block": true, "unblock": true,
	"issue": true, "waive": true, "credit": true, "reach": true, "pass": true, "organise": true,
	"organize": true, "meet": true, "take": true, "sort": true, "resolve": true, "remind": true,
	"find": true, "monitor": true, "file": true, "register": true, "provide": true, "collect": true,
	"pick": true, "drop": true, "write": true, "fill": true, "keep": true, "open": true, "record": true,
	"alert": true, "involve": true, "request": true, "apply": true, "liaise": true,
	"work": true, "do": true, "restart": true, "reboot": true, "test": true, "install": true,
	"upgrade": true, "cancel": true, "confirm": true, "ask": true, "tell": true, "stay": true,
	"avoid": true, "start": true, "make": true, "put": true, "help": true, "assist": true,
	"use": true, "note": true, "add": true, "create": true, "change": true, "set": true,
	"download": true, "sign": true, "print": true,
	"counsel": true, "accompany": true, "attend": true,
}

// notTodoVerbs after a request trigger are about the call itself ("can you
// hear me", "please hold"), not a to-do.
var notTodoVerbs = map[string]bool{
	"confirm": true, "tell": true, "spell": true, "repeat": true, "hold": true, "hear": true,
	"give": true, "wait": true, "explain": true, "describe": true, "say": true, "help": true,
	"see": true, "talk": true, "speak": true, "stay": true, "do": true, "put": true,
	"make": true, "start": true, "look": true, "assist": true,
}

// todoSkip may sit between a trigger and its verb.
var todoSkip = map[string]bool{
	"also": true, "just": true, "definitely": true, "personally": true, "now": true, "then": true,
	"try": true, "to": true, "please": true, "first": true, "quickly": true, "immediately": true,
	"kindly": true, "actually": true, "need": true, "have": true,
	"me": true, "and": true, "again": true, "certainly": true, "myself": true, "surely": true,
}

// todoJoins may precede a second to-do in the same sentence ("… and I
// will call you back").
var todoJoins = setOf(",", "and", "then", "so", "also", "but", "okay", "ok", "alright", "na", "halafu", "pia", ";")

// extractTodos finds commitments and requests sentence by sentence; one
// sentence may hold several ("We'll send an officer and I will call you").
func extractTodos(d *doc, ents []Entity) []Todo {
	out := []Todo{}
	type hit struct {
		kind string
		at   int
	}
	for _, sn := range d.sents {
		toks := d.toks[sn.seg]
		var hits []hit
		for i := sn.from; i < sn.to; i++ {
			if len(hits) > 0 && !todoJoins[toks[i-1].lower] {
				continue
			}
			prev := ""
			if len(hits) > 0 {
				prev = hits[len(hits)-1].kind
			}
			kind := todoKind(d, sn, toks, i, prev)
			if kind == "" {
				continue
			}
			hits = append(hits, hit{kind, i})
		}
		for h, ht := range hits {
			to := sn.to
			if h+1 < len(hits) {
				to = hits[h+1].at
				for to > ht.at+1 && todoJoins[toks[to-1].lower] {
					to--
				}
			}
			owner := d.ownerOf(sn.seg)
			if ht.kind == "request" {
				owner = d.counterpart(sn.seg)
			}
			t := Todo{
				Text: quote(d.segs[sn.seg].Text, toks, ht.at, to), Owner: owner, Kind: ht.kind,
				SegmentID: d.segs[sn.seg].SegmentID, Confidence: 0.7,
			}
			// A date said anywhere in this part of the sentence is the due date.
			start, end := toks[ht.at].start, toks[to-1].end
			if len(hits) == 1 {
				start = toks[sn.from].start
			}
			for _, e := range ents {
				if e.seg == sn.seg && e.bStart >= start && e.bEnd <= end && (e.Type == EntityDate || e.Type == EntityTime) {
					if t.DueText == "" || (e.Type == EntityDate && !strings.Contains(t.Due, "-")) {
						t.Due, t.DueText = e.Value, e.Text
						t.Confidence = 0.8
					}
				}
			}
			out = append(out, t)
		}
	}
	return out
}

// triggerSkip may sit inside a trigger ("I'm also going to").
var triggerSkip = setOf("also", "just", "definitely", "actually", "now", "then", "really", "personally", "quickly", "immediately", "certainly", "surely")

// matchTrigger is cueSet.match allowing adverbs between the words of a
// trigger.
func matchTrigger(toks []token, i, to int, set cueSet) int {
	best := -1
	for _, c := range set[toks[i].lower] {
		k := i + 1
		ok := true
		for _, w := range c[1:] {
			for k < to && triggerSkip[toks[k].lower] {
				k++
			}
			if k >= to || toks[k].lower != w {
				ok = false
				break
			}
			k++
		}
		if ok && k > best {
			best = k
		}
	}
	return best
}

// youWill is the listener's own commitment.
var youWill = cues([]string{"you", "will"}, []string{"you'll"})

// pronounsNotActors cannot own a "X will …" commitment.
var pronounsNotActors = setOf("you", "it", "this", "that", "there", "which", "what", "who", "when", "how", "where", "why", "it's", "and", "or", "but", "if")

// youWillNotTodo are verbs after "you will" that describe what happens to
// the listener rather than what they must do ("you'll receive an SMS").
var youWillNotTodo = setOf("get", "receive", "see", "hear", "find", "need", "be", "have")

// todoKind returns "commitment" or "request" when a to-do starts at toks[i];
// prev is the kind of the previous to-do in the sentence, if any.
func todoKind(d *doc, sn sentence, toks []token, i int, prev string) string {
	to := sn.to
	if e := matchTrigger(toks, i, to, commitTriggers); e > 0 && actionAfter(toks, e, to, false) {
		if sn.question && ((toks[i].lower == "i" && i+1 < to && toks[i+1].lower == "can") || toks[i].lower == "let") {
			return ""
		}
		return "commitment"
	}
	// "you will pay on Friday": the listener commits.
	if e := matchTrigger(toks, i, to, youWill); e > 0 && actionAfter(toks, e, to, false) && !youWillNotTodo[toks[e].lower] && !sn.question {
		return "request"
	} else if e > 0 && sn.question && actionAfter(toks, e, to, false) && !youWillNotTodo[toks[e].lower] {
		return "request"
	}
	if e := matchTrigger(toks, i, to, requestTriggers); e > 0 {
		swahili := toks[i].lower == "tafadhali" || toks[i].lower == "naomba"
		if (swahili && e < to && swahiliVerb(toks[e].lower)) || actionAfter(toks, e, to, true) || (e+1 < to && toks[e].lower == "make" && toks[e+1].lower == "sure") {
			// "you can" only counts as an instruction from the agent.
			if toks[i].lower == "you" && e-i == 2 && toks[i+1].lower == "can" && d.roles[sn.seg] != roleAgent {
				return ""
			}
			return "request"
		}
	}
	// "The supervisor will call you", "my mother will bring the forms".
	thirdPerson := toks[i].lower == "he" || toks[i].lower == "she" || toks[i].lower == "they"
	if toks[i].kind == tWord && !pronounsNotActors[toks[i].lower] && !(thirdPerson && d.roles[sn.seg] != roleAgent) && i+1 < to && (toks[i+1].lower == "will" || toks[i+1].lower == "shall") && actionAfter(toks, i+2, to, false) {
		return "commitment"
	}
	w := toks[i].lower
	// Swahili first-person future ("nitakupigia", "tutatuma") and, from the
	// agent, the third person ("atakupigia": the counsellor will call you).
	if (strings.HasPrefix(w, "nita") || strings.HasPrefix(w, "tuta")) && len(w) > 6 && !strings.HasPrefix(w, "nitaka") && !strings.HasSuffix(w, "kuwa") {
		return "commitment"
	}
	if d.roles[sn.seg] == roleAgent && len(w) > 6 && (strings.HasPrefix(w, "ataku") || strings.HasPrefix(w, "wataku") || strings.HasPrefix(w, "atam") || strings.HasPrefix(w, "watam")) && !strings.HasSuffix(w, "kuwa") {
		return "commitment"
	}
	// Imperatives at a clause start: "Report at the police station",
	// "call us back", "send me the details".
	clauseStart := i == sn.from || imperativeLead[toks[i-1].lower]
	if clauseStart && toks[i].kind == tWord && actionVerbs[w] && (!notTodoVerbs[w] || w == "tell" || w == "ask") && i+1 < to && toks[i+1].kind == tWord {
		next := toks[i+1].lower
		if (w == "tell" && next == "me") || (w == "take" && (next == "care" || next == "your")) || (w == "note" && next == "that") || sn.question {
			return ""
		}
		if prev != "" {
			// "… and bring the OB number": same speaker, same kind.
			if toks[i-1].lower == "and" || toks[i-1].text == "," {
				return prev
			}
			return ""
		}
		if toks[i-min(i, 1)].lower != "and" && (d.roles[sn.seg] == roleAgent || next == "me" || next == "us") {
			return "request"
		}
	}
	return ""
}

// imperativeLead may come just before an imperative verb.
var imperativeLead = setOf(",", ";", "then", "also", "so", "now", "okay", "ok", "alright", "and")

// swahiliImperatives are Swahili verbs in the imperative.
var swahiliImperatives = setOf("lipa", "leta", "tuma", "piga", "peleka", "andika", "enda", "nenda", "njoo", "kuja", "jaza", "beba", "angalia", "fuata", "ripoti")

// swahiliVerb reports whether w reads as a Swahili request verb: an
// imperative or a subjunctive ending in -e ("unitumie", "mpeleke").
func swahiliVerb(w string) bool {
	return swahiliImperatives[w] || (len(w) > 4 && strings.HasSuffix(w, "e") && strings.ContainsAny(w[:1], "umnta"))
}

// actionAfter reports whether an action verb follows a trigger within a
// few words.
func actionAfter(toks []token, from, to int, request bool) bool {
	for k := from; k < to && k < from+4; k++ {
		w := toks[k].lower
		if actionVerbs[w] {
			return !(request && notTodoVerbs[w])
		}
		if w == "not" || strings.HasSuffix(w, "n't") {
			return false
		}
		if !todoSkip[w] {
			return false
		}
	}
	return false
}
