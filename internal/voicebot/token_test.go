package voicebot_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/voicebot"
)

func TestCheckToken(t *testing.T) {
	for _, good := range []string{
		voicebot.NewToken(), voicebot.NewToken(),
		"Xk3_9fQ-2LmZp7RtYw0aBcDeFgHiJkLm",                    // 32 base64url characters
		"5f2b9c0e7a1d4e8f3b6c2a9d0e7f1a4b5c8d2e6f9a0b3c7d",    // 48 hex digits
		strings.Repeat("Xk3_9fQ-2LmZp7RtYw0aBcDeFgHiJkLm", 4), // 128
	} {
		if msg := voicebot.CheckToken(good); msg != "" {
			t.Errorf("CheckToken(%q) = %q, want accepted", good, msg)
		}
	}
	for _, bad := range []string{
		"a19597", " ", "   Xk3_9fQ-2LmZp7RtYw0aBcDeFgHiJkLm", "Xk3_9fQ-2LmZp7RtYw0aBcDeFgHiJkL", // too short by one
		"5f2b9c0e7a1d4e8f3b6c2a9d0e7f1a4b", // 32 hex digits: 128 bits
		strings.Repeat("a", 300), strings.Repeat("Xk3_9fQ-2LmZp7RtYw0aBcDeFgHiJkLm", 4) + "x",
		strings.Repeat("a", 40), strings.Repeat("ab", 20), "Xk3/9fQ+2LmZp7RtYw0aBcDeFgHiJkLm", "Xk3_9fQ-2LmZp7RtYw0aBcDeFgHiJkLm\x00",
		"Xk3_9fQ-2LmZp7RtYw0aBcDeFgHiJkLm/../x", "Xk3_9fQ-2LmZp7RtYw0aBcDeFgHiJkLmé",
	} {
		if voicebot.CheckToken(bad) == "" {
			t.Errorf("CheckToken(%q) accepted", bad)
		}
	}
}

func TestParseRefusesWeakToken(t *testing.T) {
	for _, tok := range []string{"a19597", " ", strings.Repeat("x", 300)} {
		body, _ := json.Marshal(map[string]any{"session_id": "s1", "recording_url": "https://rec.example.com/a.wav", "recording_access_token": tok})
		_, err := voicebot.Parse(body)
		var e *callscope.Error
		if !errors.As(err, &e) || e.Code != callscope.EINVALID || len(e.Fields) != 1 || strings.Join(e.Fields[0].Loc, ".") != "body.recording_access_token" {
			t.Errorf("Parse with token %q = %v, want one error at body.recording_access_token", tok, err)
		}
	}
	for _, tok := range []any{nil, "", voicebot.NewToken()} {
		body, _ := json.Marshal(map[string]any{"session_id": "s1", "recording_access_token": tok})
		if _, err := voicebot.Parse(body); err != nil {
			t.Errorf("Parse with token %q = %v, want accepted", tok, err)
		}
	}
}
