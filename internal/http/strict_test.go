package http_test

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// TestStrictEdges holds callscope's own request bodies and list routes to
// their contract: a misspelt field, a key given twice, an unknown event
// type or query parameter is a 422 that names it, never silently ignored.
func TestStrictEdges(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) { testStrictEdges(t, d) })
	}
}

func testStrictEdges(t *testing.T, d sqlstore.Dialect) {
	e := newEnv(t, d)
	t.Run("MisspeltCallField", func(t *testing.T) {
		wantField(t, e.do("POST", "/api/v1/calls", e.key, `{"external_id":"pbx-1"}`), "body", "external_id")
		r := e.do("POST", "/api/v1/calls", e.key, `{"external_id":"pbx-1"}`)
		if !strings.Contains(string(r.Body), "extra_forbidden") {
			t.Fatalf("misspelt field answered %s", r.Body)
		}
	})
	t.Run("MisspeltWebhookField", func(t *testing.T) {
		wantField(t, e.do("POST", "/api/v1/webhooks", e.key, `{"url":"https://hooks.example.com/x","events":["call.completed"]}`), "body", "events")
	})
	t.Run("UnknownEventType", func(t *testing.T) {
		wantField(t, e.do("POST", "/api/v1/webhooks", e.key, `{"url":"https://hooks.example.com/x","event_types":["call.complete"]}`),
			"body", "event_types", "0")
	})
	t.Run("DuplicateKey", func(t *testing.T) {
		wantField(t, e.do("POST", "/api/v1/calls", e.key, `{"call_id":"dup-1","from":"+1","from":"+2"}`), "body", "from")
	})
	t.Run("NestedUnknownField", func(t *testing.T) {
		wantField(t, e.do("POST", "/api/v1/tenants", e.admin, `{"name":"n1","settings":{"crm_push":{"url":"https://crm.example.com","auth":"x"}}}`),
			"body", "settings", "crm_push", "auth")
	})
	t.Run("UnknownQueryParameter", func(t *testing.T) {
		wantField(t, e.do("GET", "/api/v1/calls?stauts=completed", e.key, nil), "query", "stauts")
		wantField(t, e.do("GET", "/api/v1/webhooks?limit=5", e.key, nil), "query", "limit")
		wantStatus(t, e.do("GET", "/api/v1/calls?status=completed&limit=5", e.key, nil), 200)
	})
	t.Run("NumbersThatDoNotFit", func(t *testing.T) {
		wantField(t, e.do("POST", "/api/v1/calls", e.key, `{"call_id":"p-call-0001","metadata":{"a":1e999}}`), "body", "metadata", "a")
		wantField(t, e.do("POST", "/api/v1/calls", e.key, `{"call_id":"p-call-0002","metadata":{"a":[-1e999]}}`), "body", "metadata", "a", "0")
		wantField(t, e.do("PATCH", "/api/v1/tenants/"+e.tenant.ID, e.admin, `{"settings":{"a":1e999}}`), "body", "settings", "a")
		// Large numbers that fit are kept as sent.
		wantStatus(t, e.do("POST", "/api/v1/calls", e.key, `{"call_id":"p-call-0003","metadata":{"big":12345678901234567890,"max":1.7976931348623157e308}}`), 201)
		r := e.do("GET", "/api/v1/calls/p-call-0003", e.key, nil)
		wantStatus(t, r, 200)
		var got struct {
			Metadata map[string]json.Number `json:"metadata"`
		}
		dec := json.NewDecoder(bytes.NewReader(r.Body))
		dec.UseNumber()
		must(t, dec.Decode(&got))
		maxv, err := got.Metadata["max"].Float64()
		if got.Metadata["big"] != "12345678901234567890" || err != nil || maxv != math.MaxFloat64 {
			t.Fatalf("metadata read back as %s", r.Body)
		}
		wantStatus(t, e.do("GET", "/api/v1/calls", e.key, nil), 200)
		wantStatus(t, e.do("GET", "/api/v1/tenants", e.admin, nil), 200)
	})
	t.Run("SettingsValidatedOnWrite", func(t *testing.T) {
		for _, tc := range []struct {
			body string
			loc  []any
		}{
			{`{"settings":{"cdr_timezone":"Mars/Olympus"}}`, []any{"body", "settings", "cdr_timezone"}},
			{`{"settings":{"taxonomy":"horoscopes"}}`, []any{"body", "settings", "taxonomy"}},
			{`{"settings":{"process_call_results":"yes"}}`, []any{"body", "settings", "process_call_results"}},
			{`{"settings":{"agent_service":{"url":42}}}`, []any{"body", "settings", "agent_service", "url"}},
			{`{"settings":{"agent_service":{"url":"http://127.0.0.1:9/n"}}}`, []any{"body", "settings", "agent_service", "url"}},
			{`{"settings":{"pipeline":{"ENABLE_QA":false}}}`, []any{"body", "settings", "pipeline", "ENABLE_QA"}},
			{`{"settings":{"email_report":{"recipients":["not an address"]}}}`, []any{"body", "settings", "email_report", "recipients", "0"}},
		} {
			wantField(t, e.do("PATCH", "/api/v1/tenants/"+e.tenant.ID, e.admin, tc.body), tc.loc...)
		}
	})
	t.Run("SecretsAreWriteOnly", func(t *testing.T) {
		// Public addresses written as numbers: stored, never connected to.
		body := `{"settings":{"crm_push":{"url":"https://8.8.4.4/hook","auth_header":"Bearer very-secret-crm"},
			"agent_service":{"url":"https://8.8.8.8/n","token_url":"https://8.8.8.8/t","client_id":"cs","client_secret":"very-secret-agent"},
			"twilio":{"account_sid":"AC0123456789abcdef0123456789abcdef","auth_token":"very-secret-twilio"}}}`
		r := e.do("PATCH", "/api/v1/tenants/"+e.tenant.ID, e.admin, body)
		wantStatus(t, r, 200)
		for _, path := range []string{"/api/v1/tenants/" + e.tenant.ID, "/api/v1/tenants"} {
			r := e.do("GET", path, e.admin, nil)
			wantStatus(t, r, 200)
			if strings.Contains(string(r.Body), "very-secret") || !strings.Contains(string(r.Body), `"has_auth_header":true`) ||
				!strings.Contains(string(r.Body), `"has_client_secret":true`) || !strings.Contains(string(r.Body), `"has_auth_token":true`) {
				t.Fatalf("%s shows secrets: %s", path, r.Body)
			}
		}
		// Settings read and written back without their secrets keep them.
		wantStatus(t, e.do("PATCH", "/api/v1/tenants/"+e.tenant.ID, e.admin,
			`{"settings":{"crm_push":{"url":"https://8.8.4.4/hook2"},"agent_service":{"url":"https://8.8.8.8/n","token_url":"https://8.8.8.8/t","client_id":"cs"},"twilio":{"account_sid":"AC0123456789abcdef0123456789abcdef"}}}`), 200)
		tn, err := e.store.Tenant(t.Context(), e.tenant.ID)
		must(t, err)
		if tn.Settings.CRMPush.AuthHeader != "Bearer very-secret-crm" || tn.Settings.AgentService.ClientSecret != "very-secret-agent" ||
			tn.Settings.Twilio.AuthToken != "very-secret-twilio" {
			t.Fatalf("secrets lost on write-back: %+v %+v", tn.Settings.CRMPush, tn.Settings.AgentService)
		}
	})
	t.Run("ProcessNamesTheKeysTenant", func(t *testing.T) {
		wantStatus(t, e.do("POST", "/api/v1/calls", e.key, `{"call_id":"proc-0001"}`), 201)
		r := e.do("POST", "/api/v1/process", e.key, `{"call_id":"proc-0001","tenant_id":"someone-else"}`)
		wantStatus(t, r, 403)
		if !strings.Contains(string(r.Body), e.tenant.ID) || !strings.Contains(string(r.Body), e.tenant.Name) {
			t.Fatalf("process error does not name the key's tenant: %s", r.Body)
		}
	})
}
