package call_test

import (
	"context"
	"testing"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// TestCallsLinkToContacts: a call is linked to the contact with its remote
// party's number when it is created, or when it ends for a contact added
// in the meantime, by End and by a final status report alike.
func TestCallsLinkToContacts(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		svc := newService(t, s)
		tn := sqlstoretest.MustTenant(t, s)
		known := &callscope.Contact{TenantID: tn.ID, Name: "Known", Numbers: []string{"+254711000001"}}
		must(t, s.CreateContact(ctx, known))

		in := &callscope.Call{TenantID: tn.ID, Direction: callscope.Inbound, From: "+254711000001", To: "+254711000002"}
		must(t, svc.Create(ctx, in))
		if in.ContactID != known.ID {
			t.Fatalf("inbound call from a known number: contact %q", in.ContactID)
		}
		// The called number of an inbound call is ours, not a contact's.
		ours := &callscope.Call{TenantID: tn.ID, Direction: callscope.Inbound, From: "+254799999999", To: "+254711000001"}
		must(t, svc.Create(ctx, ours))
		if ours.ContactID != "" {
			t.Fatalf("linked by the number called: %q", ours.ContactID)
		}

		out := &callscope.Call{TenantID: tn.ID, Direction: callscope.Outbound, From: "+254711000002", To: "+254722000000",
			ExternalIDs: []callscope.ExternalID{{Kind: callscope.ExtCallID, Value: "out-link-1"}}}
		must(t, svc.Create(ctx, out))
		dialed := &callscope.Call{TenantID: tn.ID, Direction: callscope.Outbound, To: "+254722000000", Status: callscope.CallInitiating,
			ExternalIDs: []callscope.ExternalID{{Kind: callscope.ExtCallID, Value: "out-link-2"}}}
		must(t, svc.Create(ctx, dialed))
		later := &callscope.Contact{TenantID: tn.ID, Name: "Later", Numbers: []string{"+254722000000"}}
		must(t, s.CreateContact(ctx, later))

		ended, err := svc.End(ctx, tn.ID, "out-link-1", "manual")
		must(t, err)
		if ended.ContactID != later.ID {
			t.Fatalf("ended call: contact %q", ended.ContactID)
		}
		_, _, err = svc.SetStatus(ctx, tn.ID, "out-link-2", call.StatusChange{Status: callscope.CallNoAnswer})
		must(t, err)
		got, err := s.Call(ctx, tn.ID, "out-link-2")
		must(t, err)
		if got.ContactID != later.ID {
			t.Fatalf("call that reached a final status: contact %q", got.ContactID)
		}
	})
}
