package callscope_test

import (
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope"
)

func TestOptOutIn(t *testing.T) {
	for text, want := range map[string]string{
		"Please STOP calling me!":                     "stop calling",
		"Can you remove me from your list, thanks.":   "remove me from your list",
		"Don't call me again.":                        "dont call me",
		"I want to unsubscribe.":                      "unsubscribe",
		"Take me off the list please":                 "take me off the list",
		"I'd like to opt-out":                         "opt out",
		"Yes, that works for me.":                     "",
		"unsubscribed":                                "",
		"I will not stop. Calling you back tomorrow!": "",
	} {
		if got := callscope.OptOutIn(text); got != want {
			t.Errorf("OptOutIn(%q) = %q, want %q", text, got, want)
		}
	}
	segs := []callscope.Segment{{Speaker: "agent", Text: "Reply stop calling to opt out."}, {Speaker: "contact", Text: "Fine, goodbye."}}
	if p, _ := callscope.OptOutRequest(segs); p != "" {
		t.Errorf("the agent's own words opted out: %q", p)
	}
	segs = append(segs, callscope.Segment{Speaker: "user", Text: "Actually, do not call me."})
	if p, line := callscope.OptOutRequest(segs); p != "do not call me" || line != "Actually, do not call me." {
		t.Errorf("OptOutRequest = %q %q", p, line)
	}
}

// FuzzOptOutIn: any text is matched without panicking, and a text found to
// opt out still does once padded with other words.
func FuzzOptOutIn(f *testing.F) {
	for _, s := range []string{"stop calling", "Remove me from your list!", "don’t call me", "\xff\xfe", "opt\u00a0out"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if p := callscope.OptOutIn(text); p != "" && callscope.OptOutIn("well, "+text+" thanks") == "" {
			t.Fatalf("%q opts out (%q) alone but not within a sentence", text, p)
		}
	})
}

func TestParseRedial(t *testing.T) {
	p, err := callscope.ParseRedial("busy=10m*3, no-answer=1h30m*2,failed=0s*1")
	if err != nil {
		t.Fatal(err)
	}
	if p["busy"] != (callscope.RedialRule{DelaySeconds: 600, MaxAttempts: 3}) || p["no_answer"] != (callscope.RedialRule{DelaySeconds: 5400, MaxAttempts: 2}) ||
		p["failed"] != (callscope.RedialRule{MaxAttempts: 1}) || len(p) != 3 {
		t.Fatalf("ParseRedial = %v", p)
	}
	for in, want := range map[string]string{
		"busy=10m":            "outcome=delay*attempts",
		"engaged=1m*2":        "Unknown outcome",
		"busy=1m*0":           "between 1 and 100",
		"busy=1m*2,busy=1m*3": "twice",
		"busy=soon*2":         "not a duration",
	} {
		if _, err := callscope.ParseRedial(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRedial(%q) = %v, want an error with %q", in, err, want)
		}
	}
	redial, delay, state, _ := p.Next(callscope.ContactBusy, 2)
	if !redial || delay != 10*time.Minute || state != callscope.ContactPending {
		t.Errorf("after a second busy call: %v %v %s", redial, delay, state)
	}
	if redial, _, state, reason := p.Next(callscope.ContactBusy, 3); redial || state != callscope.ContactExhausted || !strings.Contains(reason, "3 of 3") {
		t.Errorf("after a third busy call: %v %s %s", redial, state, reason)
	}
	if redial, _, state, _ := p.Next(callscope.ContactVoicemail, 1); redial || state != callscope.ContactVoicemail {
		t.Errorf("voicemail without a rule: %v %s", redial, state)
	}
}
