package nlp

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope"
)

// callStart is a Wednesday.
var callStart = time.Date(2025, 3, 12, 10, 0, 0, 0, time.FixedZone("EAT", 3*3600))

func segs(lines ...string) []callscope.Segment {
	out := make([]callscope.Segment, len(lines))
	t := 0.0
	for i, l := range lines {
		sp, text, _ := strings.Cut(l, ": ")
		out[i] = callscope.Segment{SegmentID: i + 1, Speaker: sp, StartTime: t, EndTime: t + 3, Text: text}
		t += 3.5
	}
	return out
}

func TestParseSpokenDigits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"EnglishWords", "zero seven one two, three four five, six seven eight", "0712345678"},
		{"DoubleAndTriple", "oh seven double two, triple one, four five six", "0722111456"},
		{"Swahili", "sifuri saba mbili tatu nne tano sita saba nane tisa", "0723456789"},
		{"TensWords", "oh seven twenty two, one two three, four five six", "0722123456"},
		{"Plus", "plus two five four seven one two", "+254712"},
		{"MixedDigitsAndWords", "0712 three four five", "0712345"},
		{"Fillers", "zero seven, um, one two", "0712"},
		{"NotANumber", "hello there", ""},
		{"OhAloneIsNotZero", "oh well", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseSpokenDigits(tc.in); got != tc.want {
				t.Errorf("ParseSpokenDigits(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, match, value string
	}{
		{"Tomorrow", "I will call you tomorrow.", "tomorrow", "2025-03-13"},
		{"TomorrowAtThree", "I'll call you back tomorrow at three.", "tomorrow at three", "2025-03-13T15:00"},
		{"NextTuesday", "Come next Tuesday please.", "next Tuesday", "2025-03-18"},
		{"BareWeekdayFuture", "We will visit on Friday.", "Friday", "2025-03-14"},
		{"BareWeekdayPast", "He beat her on Sunday.", "Sunday", "2025-03-09"},
		{"DayMonth", "The hearing is on 12th March.", "12th March", "2025-03-12"},
		{"MonthDayYear", "born March 4th, 2010", "March 4th, 2010", "2010-03-04"},
		{"InTwoWeeks", "Come back in two weeks.", "in two weeks", "2025-03-26"},
		{"DaysAgo", "It happened three days ago.", "three days ago", "2025-03-09"},
		{"EndOfMonth", "Pay by the end of the month.", "end of the month", "2025-03-31"},
		{"Numeric", "due 05/04/2025", "05/04/2025", "2025-04-05"},
		{"ISO", "on 2025-04-05", "2025-04-05", "2025-04-05"},
		{"SwahiliTomorrow", "Nitakupigia kesho.", "kesho", "2025-03-13"},
		{"SwahiliWeekdayClock", "Njoo Jumamosi saa nne asubuhi.", "Jumamosi saa nne asubuhi", "2025-03-15T10:00"},
		{"SwahiliAfternoon", "saa nane mchana", "saa nane mchana", "14:00"},
		{"ClockPM", "at 3 pm", "3 pm", "15:00"},
		{"ClockAM", "from 8 a.m. on", "8 a.m.", "08:00"},
		{"HalfPast", "at half past two", "half past two", "14:30"},
		{"OrdinalNearest", "It was paid on the 3rd.", "3rd", "2025-03-03"},
		{"WeekdayAndDay", "Tuesday the 18th at 2 pm", "Tuesday the 18th at 2 pm", "2025-03-18T14:00"},
		{"MayIsAVerb", "you may come", "", ""},
		{"CountNotClock", "ready after three working days", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, v, ok := ParseDate(tc.in, callStart)
			if tc.match == "" {
				if ok {
					t.Fatalf("ParseDate(%q) found %q, want nothing", tc.in, m)
				}
				return
			}
			if !ok || strings.TrimPrefix(m, "the ") != tc.match || v != tc.value {
				t.Errorf("ParseDate(%q) = %q, %q, %v; want %q, %q", tc.in, m, v, ok, tc.match, tc.value)
			}
		})
	}
	t.Run("NoBaseLeavesRelativeUnresolved", func(t *testing.T) {
		m, v, ok := ParseDate("see you tomorrow", time.Time{})
		if !ok || m != "tomorrow" || v != "" {
			t.Errorf("got %q %q %v", m, v, ok)
		}
	})
}

func findEntity(ents []Entity, typ, text string) *Entity {
	for i := range ents {
		if ents[i].Type == typ && ents[i].Text == text {
			return &ents[i]
		}
	}
	return nil
}

func TestExtractEntities(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, typ, match, value string
	}{
		{"NationalPhone", "call me on 0722 418 903 please", EntityPhone, "0722 418 903", "+254722418903"},
		{"InternationalPhone", "my line is +254 711 672 908.", EntityPhone, "+254 711 672 908", "+254711672908"},
		{"DashedPhone", "It's 0711-234-567.", EntityPhone, "0711-234-567", "+254711234567"},
		{"SpokenPhone", "number is oh seven double two, one four three, nine eight seven", EntityPhone, "oh seven double two, one four three, nine eight seven", "+254722143987"},
		{"SwahiliPhone", "Namba ni sifuri saba mbili tatu, nne tano sita, saba nane tisa.", EntityPhone, "sifuri saba mbili tatu, nne tano sita, saba nane tisa", "+254723456789"},
		{"Email", "write to Jane.Doe@Example.org today", EntityEmail, "Jane.Doe@Example.org", "jane.doe@example.org"},
		{"SpokenEmail", "it is john dot smith at gmail dot com", EntityEmail, "john dot smith at gmail dot com", "john.smith@gmail.com"},
		{"URL", "see www.childlinekenya.co.ke for details", EntityURL, "www.childlinekenya.co.ke", ""},
		{"CardLuhn", "card 4111 1111 1111 1111 expires", EntityCard, "4111 1111 1111 1111", "4111111111111111"},
		{"NationalIDCue", "my ID number is 23456789", EntityNationalID, "23456789", "23456789"},
		{"KRAPin", "PIN A012345678Z", EntityNationalID, "A012345678Z", "A012345678Z"},
		{"MoneyKSh", "I paid KSh 1,500 yesterday", EntityMoney, "KSh 1,500", "KES 1500"},
		{"MoneyWords", "she took two thousand shillings", EntityMoney, "two thousand shillings", "KES 2000"},
		{"MoneySwahili", "nilipewa shilingi elfu mbili mia tano", EntityMoney, "shilingi elfu mbili mia tano", "KES 2500"},
		{"MoneyDollar", "a charge of $20 appeared", EntityMoney, "$20", "USD 20"},
		{"MoneyBob", "he pays 500 bob a week", EntityMoney, "500 bob", "KES 500"},
		{"AgeYearsOld", "she is nine years old", EntityAge, "nine years old", "P9Y"},
		{"AgeHyphen", "a 12-year-old boy", EntityAge, "12-year-old", "P12Y"},
		{"AgeSwahili", "ana miaka kumi na mbili", EntityAge, "miaka kumi na mbili", "P12Y"},
		{"PersonCue", "Hello, my name is Wanjiku Kamau.", EntityPerson, "Wanjiku Kamau", ""},
		{"PersonTitle", "I spoke to Mr. Otieno yesterday", EntityPerson, "Otieno", ""},
		{"LocationGazetteer", "We live in Kawangware near the market", EntityLocation, "Kawangware", ""},
		{"LocationCue", "I live in Githogoro.", EntityLocation, "Githogoro", ""},
		{"OrgSuffix", "she attends Kibera Primary School", EntityOrganization, "Kibera Primary School", ""},
		{"OrgGazetteer", "I called Safaricom", EntityOrganization, "Safaricom", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ents := ExtractEntities(segs("caller: "+tc.text), Options{CallStart: callStart})
			e := findEntity(ents, tc.typ, tc.match)
			if e == nil {
				t.Fatalf("no %s %q in %+v", tc.typ, tc.match, ents)
			}
			if tc.value != "" && e.Value != tc.value {
				t.Errorf("value = %q, want %q", e.Value, tc.value)
			}
			if got := []rune(tc.text)[e.Start:e.End]; string(got) != tc.match {
				t.Errorf("span [%d,%d) = %q, want %q", e.Start, e.End, string(got), tc.match)
			}
		})
	}
	t.Run("CardFailingLuhnIsNotACard", func(t *testing.T) {
		ents := ExtractEntities(segs("caller: card 4111 1111 1111 1112"), Options{})
		for _, e := range ents {
			if e.Type == EntityCard {
				t.Fatalf("found card %q failing Luhn", e.Text)
			}
		}
	})
	t.Run("ShortNumbersAreNotPhones", func(t *testing.T) {
		ents := ExtractEntities(segs("caller: I have 3 children and 2 goats, call 116"), Options{})
		for _, e := range ents {
			if e.Type == EntityPhone {
				t.Fatalf("found phone %q", e.Text)
			}
		}
	})
	t.Run("CharacterOffsetsWithNonASCII", func(t *testing.T) {
		text := "Habari — namba yangu ni 0722 418 903"
		ents := ExtractEntities(segs("caller: "+text), Options{})
		e := findEntity(ents, EntityPhone, "0722 418 903")
		if e == nil || string([]rune(text)[e.Start:e.End]) != "0722 418 903" {
			t.Fatalf("bad span %+v", e)
		}
	})
	t.Run("TenantIDPattern", func(t *testing.T) {
		e := MustNew(Config{IDPatterns: []IDPattern{{Name: "ug_nin", Pattern: `\bC[MF][0-9A-Z]{12}\b`}}})
		ents := e.ExtractEntities(segs("caller: my NIN is CM12345678ABCD"), Options{})
		if findEntity(ents, EntityNationalID, "CM12345678ABCD") == nil {
			t.Fatalf("tenant pattern not applied: %+v", ents)
		}
	})
	t.Run("BadPatternIsInvalid", func(t *testing.T) {
		_, err := New(Config{IDPatterns: []IDPattern{{Name: "x", Pattern: "("}}})
		if callscope.ErrorCode(err) != callscope.EINVALID {
			t.Fatalf("err = %v, want EINVALID", err)
		}
	})
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		lines    []string
		category string
		risk     string
	}{
		{"Hit", []string{"caller: He hit her with a stick and she has bruises."}, "physical_abuse", RiskHigh},
		{"NeverHitIsNegated", []string{"caller: He never hit her, it's about school fees for the exams."}, "education", RiskLow},
		{"NotAbused", []string{"caller: She is not abused, I just want to know about custody and a lawyer."}, "legal_advice", RiskLow},
		{"SwahiliBeating", []string{"caller: Baba yake anampiga kila siku na ana majeraha."}, "physical_abuse", RiskHigh},
		{"SwahiliNegatedVerb", []string{"caller: Hakumpiga, ni matusi tu, anamtusi kila siku."}, "emotional_abuse", RiskMedium},
		{"Escalation", []string{"caller: My friend says she wants to kill herself tonight."}, "self_harm", RiskHigh},
		{"NothingMatchesFallsBack", []string{"caller: Hello? Hello?"}, "information_request", RiskLow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Classify(segs(tc.lines...), Options{})
			if c.Category != tc.category || c.Risk != tc.risk {
				t.Errorf("got %s/%s, want %s/%s (evidence %+v)", c.Category, c.Risk, tc.category, tc.risk, c.Evidence)
			}
		})
	}
	t.Run("NegatedEvidenceIsReported", func(t *testing.T) {
		c := Classify(segs("caller: he never hit her"), Options{})
		if len(c.Evidence) == 0 || !c.Evidence[0].Negated || c.Evidence[0].SegmentID != 1 {
			t.Fatalf("evidence = %+v", c.Evidence)
		}
	})
	t.Run("ContactCentreTaxonomy", func(t *testing.T) {
		e := MustNew(Config{Taxonomy: DefaultTaxonomy(TaxonomyContactCentre)})
		c := e.Classify(segs("customer: I was charged twice on my bill, I want a refund."), Options{})
		if c.Category != "billing" {
			t.Fatalf("category = %s", c.Category)
		}
	})
	t.Run("InvalidTaxonomy", func(t *testing.T) {
		_, err := New(Config{Taxonomy: &Taxonomy{Name: "x", Categories: []Category{{ID: "a", Risk: "extreme"}}}})
		if callscope.ErrorCode(err) != callscope.EINVALID {
			t.Fatalf("err = %v", err)
		}
	})
}

var sampleCall = segs(
	"agent: Good morning, Childline Kenya, my name is Grace. How can I help you?",
	"caller: I'm calling because my neighbour beats her daughter every day. She is nine years old.",
	"agent: I'm so sorry to hear that. Where do you live?",
	"caller: In Kayole. My number is zero seven one two, three four five, six seven eight.",
	"agent: Thank you. We'll send an officer on Monday and I will call you back tomorrow at three.",
	"caller: Please send me the reference number by SMS.",
	"agent: Is there anything else? Thank you for calling, goodbye.",
)

func TestExtractTodos(t *testing.T) {
	t.Parallel()
	todos := ExtractTodos(sampleCall, Options{CallStart: callStart})
	want := []Todo{
		{Owner: "agent", Kind: "commitment", Due: "2025-03-17", SegmentID: 5},
		{Owner: "agent", Kind: "commitment", Due: "2025-03-13T15:00", SegmentID: 5},
		{Owner: "agent", Kind: "request", SegmentID: 6},
	}
	if len(todos) != len(want) {
		t.Fatalf("got %d to-dos, want %d: %+v", len(todos), len(want), todos)
	}
	for i, w := range want {
		g := todos[i]
		if g.Owner != w.Owner || g.Kind != w.Kind || g.Due != w.Due || g.SegmentID != w.SegmentID {
			t.Errorf("to-do %d = %+v, want %+v", i, g, w)
		}
	}
	t.Run("NegatedCommitmentIsNoTodo", func(t *testing.T) {
		if got := ExtractTodos(segs("agent: I will not call you again."), Options{}); len(got) != 0 {
			t.Fatalf("got %+v", got)
		}
	})
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	s := Summarize(sampleCall, Options{CallStart: callStart})
	if n := len(s.Sentences); n < 3 || n > 5 {
		t.Fatalf("%d sentences, want 3–5: %+v", n, s.Sentences)
	}
	if !strings.Contains(s.Reason, "beats her daughter") {
		t.Errorf("reason = %q", s.Reason)
	}
	if len(s.NextSteps) == 0 {
		t.Errorf("no next steps")
	}
	t.Run("NeverInventsText", func(t *testing.T) {
		for _, ss := range s.Sentences {
			found := false
			for _, sg := range sampleCall {
				if sg.SegmentID == ss.SegmentID && strings.Contains(sg.Text, ss.Text) {
					found = true
				}
			}
			if !found {
				t.Errorf("sentence %q is not in segment %d", ss.Text, ss.SegmentID)
			}
		}
	})
	t.Run("DropsFillers", func(t *testing.T) {
		s := Summarize(segs("caller: Um, I'm calling because, uh, my child was beaten at school by a teacher."), Options{})
		if strings.Contains(s.Text, "Um") || strings.Contains(s.Text, "uh,") {
			t.Errorf("fillers kept: %q", s.Text)
		}
	})
}

func TestScoreQA(t *testing.T) {
	t.Parallel()
	r := ScoreQA(sampleCall, Options{})
	byID := map[string]QAItem{}
	for _, it := range r.Items {
		byID[it.ID] = it
	}
	if byID["greeting"].Score != 1 || byID["closing"].Score != 1 {
		t.Errorf("greeting/closing = %v/%v", byID["greeting"].Score, byID["closing"].Score)
	}
	if byID["hold_etiquette"].Applicable {
		t.Errorf("hold scored without a hold")
	}
	if r.Score <= 0 || r.Score > 100 {
		t.Errorf("score = %v", r.Score)
	}
	t.Run("InterruptionsAndSilences", func(t *testing.T) {
		ss := []callscope.Segment{
			{SegmentID: 1, Speaker: "caller", StartTime: 0, EndTime: 5, Text: "My child is sick"},
			{SegmentID: 2, Speaker: "agent", StartTime: 3, EndTime: 6, Text: "Okay"},
			{SegmentID: 3, Speaker: "caller", StartTime: 20, EndTime: 22, Text: "Hello?"},
		}
		r := ScoreQA(ss, Options{})
		if r.Interruptions != 1 || r.Silences != 1 {
			t.Errorf("interruptions %d silences %d, want 1 and 1", r.Interruptions, r.Silences)
		}
	})
	t.Run("HoldWithoutThanks", func(t *testing.T) {
		r := ScoreQA(segs("agent: Please hold.", "agent: Okay, done."), Options{})
		for _, it := range r.Items {
			if it.ID == "hold_etiquette" && it.Score != 0.5 {
				t.Errorf("hold score = %v, want 0.5", it.Score)
			}
		}
	})
}

func TestRedact(t *testing.T) {
	t.Parallel()
	in := segs(
		"caller: My number is 0722 418 903 or zero seven one one, two two nine, eight four zero.",
		"caller: Email mary dot w at yahoo dot com or mary@example.com, ID number 23456789, card 4111 1111 1111 1111.",
		"caller: My name is Wanjiku Kamau.",
	)
	out, spans := Redact(in, Options{RedactPersons: true})
	want := []string{
		"My number is [PHONE] or [PHONE].",
		"Email [EMAIL] or [EMAIL], ID number [ID], card [CARD].",
		"My name is [PERSON].",
	}
	for i, w := range want {
		if out[i].Text != w {
			t.Errorf("segment %d = %q, want %q", i+1, out[i].Text, w)
		}
	}
	if in[0].Text == out[0].Text {
		t.Error("input was modified or not redacted")
	}
	if len(spans) != 7 {
		t.Errorf("%d spans, want 7: %+v", len(spans), spans)
	}
	t.Run("SpansPointIntoOriginal", func(t *testing.T) {
		for _, s := range spans {
			orig := []rune(in[s.SegmentID-1].Text)[s.Start:s.End]
			if strings.ContainsAny(string(orig), "[]") {
				t.Errorf("span %+v covers %q", s, string(orig))
			}
		}
	})
	t.Run("PersonsKeptByDefault", func(t *testing.T) {
		out, _ := Redact(in, Options{})
		if !strings.Contains(out[2].Text, "Wanjiku") {
			t.Errorf("name redacted without RedactPersons: %q", out[2].Text)
		}
	})
}

func TestDetectLanguage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, want string
		mixed            bool
	}{
		{"English", "Hello, I am calling about my child, he is not going to school and I want to know what to do.", "en", false},
		{"Swahili", "Habari, mimi ni mama yake na nataka kujua kama kuna msaada wa shule kwa mtoto wangu.", "sw", false},
		{"Sheng", "Manze mimi niko na shida, the school ilinichase na sina fees, sijui nitafanya aje juu mama hana pesa.", "sw", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := DetectLanguage(segs("caller: " + tc.text))
			if r.Language != tc.want || r.CodeSwitched != tc.mixed {
				t.Errorf("got %+v, want %s mixed=%v", r, tc.want, tc.mixed)
			}
		})
	}
}

func TestAnalyzeIsJSON(t *testing.T) {
	t.Parallel()
	r := Default().Analyze(sampleCall, Options{CallStart: callStart})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"entities"`, `"classification"`, `"summary"`, `"qa"`, `"todos"`, `"language"`, `"segment_id"`, `"runners_up"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	t.Run("EmptyTranscript", func(t *testing.T) {
		r := Default().Analyze(nil, Options{})
		if r.Entities != nil && len(r.Entities) != 0 {
			t.Errorf("entities from nothing: %+v", r.Entities)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSentencesKeepAddressesWhole checks that the full stops inside e-mail
// and web addresses do not end sentences.
func TestSentencesKeepAddressesWhole(t *testing.T) {
	d := newDoc([]callscope.Segment{{Speaker: "caller", Text: "Please write to jane.doe@example.com about it. You can also see acme.co.ke for the form. Thanks."}}, nil)
	if len(d.sents) != 3 {
		var got []string
		for _, sn := range d.sents {
			var words []string
			for _, tk := range d.toks[sn.seg][sn.from:sn.to] {
				words = append(words, tk.text)
			}
			got = append(got, strings.Join(words, " "))
		}
		t.Fatalf("%d sentences, want 3: %q", len(d.sents), got)
	}
}
