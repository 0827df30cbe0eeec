package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

func TestUsersAndSessions(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		tn := sqlstoretest.MustTenant(t, s)
		u := &callscope.User{TenantID: tn.ID, Email: " Ana@Example.ORG ", Name: "Ana", Role: callscope.RoleSupervisor, PasswordHash: "$argon2id$x"}
		must(t, s.CreateUser(ctx, u))
		if u.Email != "ana@example.org" || u.ID == "" {
			t.Fatalf("created %+v", u)
		}
		t.Run("ECONFLICT", func(t *testing.T) {
			err := s.CreateUser(ctx, &callscope.User{TenantID: tn.ID, Email: "ANA@example.org", Role: callscope.RoleAgent, PasswordHash: "h"})
			wantCode(t, err, callscope.ECONFLICT)
		})
		t.Run("EINVALID", func(t *testing.T) {
			wantCode(t, s.CreateUser(ctx, &callscope.User{TenantID: tn.ID, Email: "bo@example.org", Role: "boss", PasswordHash: "h"}), callscope.EINVALID)
			wantCode(t, s.CreateUser(ctx, &callscope.User{TenantID: tn.ID, Email: "nobody", Role: callscope.RoleAgent, PasswordHash: "h"}), callscope.EINVALID)
		})
		got, err := s.UserByEmail(ctx, "ANA@example.org")
		must(t, err)
		if got.ID != u.ID || got.Role != callscope.RoleSupervisor || got.PasswordHash != "$argon2id$x" || got.Disabled {
			t.Fatalf("UserByEmail = %+v", got)
		}
		if n, err := s.CountUsers(ctx); err != nil || n != 1 {
			t.Fatalf("CountUsers = %d, %v", n, err)
		}
		other := sqlstoretest.MustTenant(t, s)
		if us, err := s.Users(ctx, other.ID); err != nil || len(us) != 0 {
			t.Fatalf("another tenant's users = %v, %v", us, err)
		}

		now := time.Now()
		sess := &callscope.UserSession{UserID: u.ID, TokenHash: "digest-1", CSRFToken: "csrf", ExpiresAt: now.Add(time.Hour)}
		must(t, s.CreateUserSession(ctx, sess))
		gs, gu, err := s.UserSession(ctx, "digest-1", now)
		must(t, err)
		if gs.ID != sess.ID || gs.CSRFToken != "csrf" || gu.ID != u.ID || gu.TenantID != tn.ID {
			t.Fatalf("UserSession = %+v %+v", gs, gu)
		}
		t.Run("Expired", func(t *testing.T) {
			_, _, err := s.UserSession(ctx, "digest-1", now.Add(2*time.Hour))
			wantCode(t, err, callscope.ENOTFOUND)
		})
		t.Run("PasswordChangeEndsOtherSessions", func(t *testing.T) {
			second := &callscope.UserSession{UserID: u.ID, TokenHash: "digest-2", CSRFToken: "c2", ExpiresAt: now.Add(time.Hour)}
			must(t, s.CreateUserSession(ctx, second))
			must(t, s.SetUserPassword(ctx, u.ID, "$argon2id$y", sess.ID))
			if _, _, err := s.UserSession(ctx, "digest-1", now); err != nil {
				t.Fatalf("the session that changed the password ended: %v", err)
			}
			_, _, err := s.UserSession(ctx, "digest-2", now)
			wantCode(t, err, callscope.ENOTFOUND)
		})
		t.Run("DisableEndsSessions", func(t *testing.T) {
			du, err := s.SetUserDisabled(ctx, "ana@example.org", true)
			must(t, err)
			if !du.Disabled {
				t.Fatal("not disabled")
			}
			_, _, err = s.UserSession(ctx, "digest-1", now)
			wantCode(t, err, callscope.ENOTFOUND)
			_, err = s.SetUserDisabled(ctx, "nobody@example.org", true)
			wantCode(t, err, callscope.ENOTFOUND)
		})
		t.Run("Logout", func(t *testing.T) {
			must(t, s.DeleteUserSession(ctx, sess.ID))
			must(t, s.DeleteUserSession(ctx, sess.ID))
		})
	})
}

func TestSearchCallsByClassification(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		tn := sqlstoretest.MustTenant(t, s)
		for i, cls := range []string{`{"category":"abuse","risk":"high"}`, `{"category":"abuse","risk":"low"}`, `{"category":"fees","risk":"low"}`, ``} {
			c := newCall(tn.ID, fmt.Sprintf("cls-%d", i))
			if cls != "" {
				c.Classification = json.RawMessage(cls)
			}
			must(t, s.CreateCall(ctx, c))
		}
		for _, c := range []struct {
			category, risk string
			want           []string
		}{
			{"abuse", "", []string{"cls-1", "cls-0"}},
			{"", "low", []string{"cls-2", "cls-1"}},
			{"abuse", "high", []string{"cls-0"}},
			{"none", "", []string{}},
		} {
			cs, err := s.SearchCalls(ctx, callscope.CallQuery{CallFilter: callscope.CallFilter{TenantID: tn.ID}, Category: c.category, Risk: c.risk})
			must(t, err)
			got := []string{}
			for _, x := range cs {
				got = append(got, x.PublicID())
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("category %q risk %q: %v, want %v", c.category, c.risk, got, c.want)
			}
		}
	})
}
