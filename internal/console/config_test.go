package console

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestEditableSettings(t *testing.T) {
	got := editableSettings(json.RawMessage(`{"twilio":{"account_sid":"AC1","has_auth_token":true},"processing_mode":"hybrid","has_x":true}`))
	var doc map[string]any
	if err := json.Unmarshal([]byte(got), &doc); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "has_auth_token") || !strings.Contains(got, `"account_sid": "AC1"`) || doc["processing_mode"] != "hybrid" {
		t.Fatalf("%s", got)
	}
	if got := editableSettings(json.RawMessage(`null`)); got != "null" {
		t.Fatalf("%q", got)
	}
}
