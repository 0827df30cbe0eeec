package sqlstore_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/secret"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

func newOutbound(t *testing.T, s *sqlstore.Store, tenantID, user, ext string, at time.Time) *callscope.OutboundCall {
	t.Helper()
	c := &callscope.Call{TenantID: tenantID, UserID: user, Direction: callscope.Outbound, To: "+14155550101",
		Status: callscope.CallScheduled, ScheduledAt: &at, Title: "t " + ext,
		ExternalIDs: []callscope.ExternalID{{Kind: callscope.ExtAutocallerID, Value: ext}}}
	o := &callscope.OutboundCall{TenantID: tenantID, DurationMinutes: 15, RecordingEnabled: true, CallbackURL: "https://example.com/cb",
		Provider: map[string]json.RawMessage{"simulate": json.RawMessage(`{"outcome":"busy"}`)}}
	must(t, s.InTx(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.CreateCall(ctx, c); err != nil {
			return err
		}
		o.CallID = c.ID
		return tx.CreateOutboundCall(ctx, o)
	}))
	return o
}

func testOutbound(t *testing.T, s *sqlstore.Store) {
	tn := sqlstoretest.MustTenant(t, s)
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var made []*callscope.OutboundCall
	for i := 0; i < 5; i++ {
		made = append(made, newOutbound(t, s, tn.ID, "u1", fmt.Sprintf("ac-%d", i), base.Add(time.Duration(4-i)*time.Hour)))
	}
	newOutbound(t, s, tn.ID, "u2", "ac-other", base)

	got, err := s.OutboundCall(ctx, tn.ID, "ac-1")
	must(t, err)
	if got.CallID != made[1].CallID || got.Call == nil || got.Call.UserID != "u1" || !got.RecordingEnabled || got.TranscriptionEnabled ||
		got.DurationMinutes != 15 || string(got.Provider["simulate"]) != `{"outcome":"busy"}` || got.CallbackURL != "https://example.com/cb" {
		t.Fatalf("OutboundCall = %+v", got)
	}
	t.Run("ErrNotFound/NotOutbound", func(t *testing.T) {
		c := newCall(tn.ID, "plain-inbound")
		must(t, s.CreateCall(ctx, c))
		_, err := s.OutboundCall(ctx, tn.ID, "plain-inbound")
		wantCode(t, err, callscope.ENOTFOUND)
	})
	t.Run("ErrNotFound/OtherTenant", func(t *testing.T) {
		other := sqlstoretest.MustTenant(t, s)
		_, err := s.OutboundCall(ctx, other.ID, "ac-1")
		wantCode(t, err, callscope.ENOTFOUND)
	})
	t.Run("Update", func(t *testing.T) {
		cost := 0.25
		now := base.Add(time.Minute)
		got.Dialer, got.ProviderSessionID, got.PlacedAt, got.Attempts, got.Cost, got.Waiting = "simulator", "sim-1", &now, 1, &cost, "waiting"
		must(t, s.UpdateOutboundCall(ctx, got))
		again, err := s.OutboundCall(ctx, tn.ID, got.CallID)
		must(t, err)
		if again.ProviderSessionID != "sim-1" || again.Attempts != 1 || again.Cost == nil || *again.Cost != 0.25 ||
			again.PlacedAt == nil || !again.PlacedAt.Equal(now) || again.Waiting != "waiting" {
			t.Fatalf("after update = %+v", again)
		}
	})
	t.Run("List", func(t *testing.T) {
		list, total, err := s.OutboundCalls(ctx, callscope.OutboundQuery{TenantID: tn.ID, UserID: "u1", Ascending: true, Limit: 2, Offset: 1})
		must(t, err)
		if total != 5 || len(list) != 2 || list[0].Call.PublicID() != "ac-3" || list[1].Call.PublicID() != "ac-2" {
			t.Fatalf("list = %d %v", total, ids(list))
		}
		list, total, err = s.OutboundCalls(ctx, callscope.OutboundQuery{TenantID: tn.ID, UserID: "u1", Statuses: []callscope.CallStatus{callscope.CallCompleted}})
		must(t, err)
		if total != 0 || len(list) != 0 {
			t.Fatalf("completed list = %d %v", total, ids(list))
		}
		list, total, err = s.OutboundCalls(ctx, callscope.OutboundQuery{TenantID: tn.ID, UserID: "u2"})
		must(t, err)
		if total != 1 || len(list) != 1 || list[0].Call.PublicID() != "ac-other" {
			t.Fatalf("u2 list = %d %v", total, ids(list))
		}
		_, _, err = s.OutboundCalls(ctx, callscope.OutboundQuery{TenantID: tn.ID, UserID: "u1", Sort: "nope"})
		wantCode(t, err, callscope.EINVALID)
	})
	t.Run("Lines", func(t *testing.T) {
		now := base
		must(t, s.InTx(ctx, func(tx *sqlstore.Tx) error {
			if err := tx.LockOutboundLines(ctx, tn.ID); err != nil {
				return err
			}
			if err := tx.TakeOutboundLine(ctx, tn.ID, made[0].CallID, now.Add(time.Minute)); err != nil {
				return err
			}
			if err := tx.TakeOutboundLine(ctx, tn.ID, made[1].CallID, now.Add(time.Hour)); err != nil {
				return err
			}
			return tx.TakeOutboundLine(ctx, tn.ID, made[1].CallID, now.Add(2*time.Hour))
		}))
		n, err := s.OutboundLinesInUse(ctx, tn.ID, now)
		must(t, err)
		if n != 2 {
			t.Fatalf("lines in use = %d, want 2", n)
		}
		// An expired line no longer counts; a released one neither.
		n, err = s.OutboundLinesInUse(ctx, tn.ID, now.Add(2*time.Minute))
		must(t, err)
		if n != 1 {
			t.Fatalf("lines in use after expiry = %d, want 1", n)
		}
		freed, err := s.ReleaseOutboundLine(ctx, made[1].CallID)
		must(t, err)
		if !freed {
			t.Fatal("release of a held line freed nothing")
		}
		n, err = s.OutboundLinesInUse(ctx, tn.ID, now)
		must(t, err)
		if n != 1 {
			t.Fatalf("lines in use after release = %d, want 1", n)
		}
	})
	t.Run("IdempotencyKey/Concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.PutIdempotencyKey(ctx, tn.ID, "u1", "schedule", "key-1", "h", json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)))
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				wantCode(t, err, callscope.ECONFLICT)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of 20 concurrent puts of one key succeeded, want 1", ok)
		}
		a, err := s.IdempotencyKey(ctx, tn.ID, "u1", "schedule", "key-1")
		must(t, err)
		if a.RequestHash != "h" || len(a.Response) == 0 {
			t.Fatalf("answer = %+v", a)
		}
		_, err = s.IdempotencyKey(ctx, tn.ID, "u2", "schedule", "key-1")
		wantCode(t, err, callscope.ENOTFOUND)
	})
	t.Run("CallbackSecret", func(t *testing.T) {
		_, err := s.CallbackSecret(ctx, tn.ID)
		wantCode(t, err, callscope.ENOTFOUND)
		must(t, s.PutCallbackSecret(ctx, &sqlstore.CallbackSecret{TenantID: tn.ID, Token: "tok", SigningSecret: "whsec_abc"}))
		exp := base.Add(time.Hour)
		must(t, s.PutCallbackSecret(ctx, &sqlstore.CallbackSecret{TenantID: tn.ID, Token: "tok2", SigningSecret: "whsec_def",
			PreviousSigningSecret: "whsec_abc", PreviousExpiresAt: &exp}))
		cs, err := s.CallbackSecret(ctx, tn.ID)
		must(t, err)
		if cs.Token != "tok2" || cs.SigningSecret != "whsec_def" || cs.PreviousSigningSecret != "whsec_abc" || !cs.PreviousExpiresAt.Equal(exp) {
			t.Fatalf("callback secret = %+v", cs)
		}
		const q = `SELECT token, signing_secret FROM callback_secrets WHERE tenant_id = $1`
		var tok, sig string
		if s.Dialect() == sqlstore.Postgres {
			err = s.Pool().QueryRow(ctx, q, tn.ID).Scan(&tok, &sig)
		} else {
			err = s.SQLDB().QueryRow(q, tn.ID).Scan(&tok, &sig)
		}
		must(t, err)
		if !secret.IsSealed(tok) || !secret.IsSealed(sig) {
			t.Fatalf("callback secrets stored in the clear: %q %q", tok, sig)
		}
	})
}

func ids(list []*callscope.OutboundCall) []string {
	var out []string
	for _, o := range list {
		out = append(out, o.Call.PublicID())
	}
	return out
}
