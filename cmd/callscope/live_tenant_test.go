package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
	"github.com/callscope/callscope/internal/stream/twilio"
)

// TestTwilioStreamPerTenant: a tenant's Twilio Media Streams arrive at
// /twilio/stream/{tenant} signed with the tenant's own auth token (stored
// sealed in its settings); its calls are the tenant's. A wrong token, or
// a tenant without one, is refused.
func TestTwilioStreamPerTenant(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		f := newLiveFixture(t, s)
		ctx := context.Background()
		acme := &callscope.Tenant{Name: "acme", Settings: callscope.Settings{Twilio: &callscope.TwilioSetting{
			AccountSID: "AC" + strings.Repeat("0a", 16), AuthToken: "acme-twilio-token"}}}
		if err := s.CreateTenant(ctx, acme); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateTenant(ctx, &callscope.Tenant{Name: "plain"}); err != nil {
			t.Fatal(err)
		}
		ws := "ws" + strings.TrimPrefix(f.base, "http") + "/twilio/stream/"
		pcm := tone(8000, 300*time.Millisecond)

		sid := twilio.NewSid("CA")
		if _, err := (twilio.Player{URL: ws + "acme", AuthToken: "acme-twilio-token", Speed: 0}).Play(ctx, sid, pcm); err != nil {
			t.Fatalf("acme's stream with acme's token: %v", err)
		}
		var c *callscope.Call
		var err error
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			if c, err = s.Call(ctx, acme.ID, sid); err == nil && !c.Status.Live() {
				break
			}
		}
		if err != nil || c.Status != callscope.CallCompleted {
			t.Fatalf("acme's call: %+v, %v", c, err)
		}
		if _, err := s.Call(ctx, f.tenant.ID, sid); callscope.ErrorCode(err) != callscope.ENOTFOUND {
			t.Fatalf("the default tenant sees acme's call %s (%v)", c.ID, err)
		}

		for _, tc := range []struct{ path, token string }{
			{"acme", liveTwilioToken},   // the default tenant's token
			{"plain", "anything"},       // a tenant without a Twilio token
			{"nobody", "anything"},      // no such tenant
			{"acme", "acme-twilio-tok"}, // nearly
		} {
			sid := twilio.NewSid("CA")
			if _, err := (twilio.Player{URL: ws + tc.path, AuthToken: tc.token, Speed: 0}).Play(ctx, sid, pcm); err == nil {
				t.Errorf("/twilio/stream/%s signed with %q was accepted", tc.path, tc.token)
			}
		}
	})
}
