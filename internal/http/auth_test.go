package http_test

import (
	"context"
	"net/netip"
	"strconv"
	"testing"

	"github.com/callscope/callscope"
	cshttp "github.com/callscope/callscope/internal/http"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

func TestAuth(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			r := e.do("POST", "/api/v1/calls", e.key, map[string]any{"call_id": "auth-1"})
			wantStatus(t, r, 201)
			path := "/api/v1/calls/auth-1"

			t.Run("NoKey", func(t *testing.T) {
				r := e.do("GET", path, "", nil)
				wantStatus(t, r, 401)
				if r.json(t)["detail"] == "" || r.Header.Get("WWW-Authenticate") == "" {
					t.Fatalf("401 answer = %s %v", r.Body, r.Header)
				}
			})
			t.Run("WrongKey", func(t *testing.T) {
				wantStatus(t, e.do("GET", path, e.key+"x", nil), 401)
				wantStatus(t, e.do("GET", path, "cs_000000000000_nope", nil), 401)
				wantStatus(t, e.do("GET", path, "", nil, "Authorization", "Basic Zm9vOmJhcg=="), 401)
			})
			t.Run("XAPIKeyHeader", func(t *testing.T) {
				wantStatus(t, e.do("GET", path, "", nil, "X-API-Key", e.key), 200)
			})
			t.Run("OtherTenantIs404", func(t *testing.T) {
				other := sqlstoretest.MustTenant(t, e.store)
				_, key, err := e.store.CreateAPIKey(context.Background(), other.ID, "", false)
				must(t, err)
				r := e.do("GET", path, key, nil)
				wantStatus(t, r, 404)
				// The same 404 as for a call that does not exist at all.
				if r.json(t)["detail"] != e.do("GET", "/api/v1/calls/never-existed", key, nil).json(t)["detail"] {
					t.Fatal("another tenant's call is distinguishable from a missing one")
				}
				// A non-admin key cannot switch tenant.
				wantStatus(t, e.do("GET", path, key, nil, "X-Tenant-ID", e.tenant.ID), 403)
			})
			t.Run("AdminActsOnAnyTenant", func(t *testing.T) {
				r := e.do("GET", path, e.admin, nil, "X-Tenant-ID", e.tenant.ID)
				wantStatus(t, r, 200)
				if r.json(t)["call_id"] != "auth-1" {
					t.Fatalf("admin got %s", r.Body)
				}
				wantStatus(t, e.do("GET", path, e.admin, nil, "X-Tenant-ID", "no-such-tenant"), 404)
			})
			t.Run("AdminRoutesNeedAdmin", func(t *testing.T) {
				wantStatus(t, e.do("GET", "/api/v1/tenants", e.key, nil), 403)
				wantStatus(t, e.do("GET", "/api/v1/tenants", e.admin, nil), 200)
			})
			t.Run("RevokedKey", func(t *testing.T) {
				r := e.do("POST", "/api/v1/tenants/"+e.tenant.ID+"/api-keys", e.admin, map[string]any{"name": "temp"})
				wantStatus(t, r, 201)
				k := r.json(t)
				key := k["key"].(string)
				wantStatus(t, e.do("GET", path, key, nil), 200)
				wantStatus(t, e.do("DELETE", "/api/v1/tenants/"+e.tenant.ID+"/api-keys/"+k["id"].(string), e.admin, nil), 200)
				wantStatus(t, e.do("GET", path, key, nil), 401)
			})
		})
	}
}

func TestTrustedNetworks(t *testing.T) {
	t.Run("LoopbackTrusted", func(t *testing.T) {
		e := newEnv(t, "sqlite", func(s *cshttp.Server) {
			s.TrustedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
		})
		r := e.do("POST", "/api/v1/calls", "", map[string]any{"call_id": "pbx-1"})
		wantStatus(t, r, 201)
		// It acted as the default tenant.
		def, err := e.store.TenantByName(context.Background(), callscope.DefaultTenantName)
		must(t, err)
		if _, err := e.store.Call(context.Background(), def.ID, "pbx-1"); err != nil {
			t.Fatalf("call not in the default tenant: %v", err)
		}
		// A wrong key is still refused on a trusted network.
		wantStatus(t, e.do("GET", "/api/v1/calls/pbx-1", "cs_000000000000_bad", nil), 401)
		// Admin routes still need an admin key.
		wantStatus(t, e.do("GET", "/api/v1/tenants", "", nil), 403)
	})
	t.Run("OtherNetworkNotTrusted", func(t *testing.T) {
		e := newEnv(t, "sqlite", func(s *cshttp.Server) {
			s.TrustedNetworks = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		})
		wantStatus(t, e.do("GET", "/api/v1/calls", "", nil), 401)
	})
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, "sqlite", func(s *cshttp.Server) { s.RateLimitGet, s.RateLimitPost = 5, 2 })
	for i := 0; i < 5; i++ {
		wantStatus(t, e.do("GET", "/api/v1/calls", e.key, nil), 200)
	}
	r := e.do("GET", "/api/v1/calls", e.key, nil)
	wantStatus(t, r, 429)
	ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 60 {
		t.Fatalf("Retry-After = %q", r.Header.Get("Retry-After"))
	}
	// Writes have their own budget, and other clients theirs.
	wantStatus(t, e.do("POST", "/api/v1/calls", e.key, map[string]any{}), 201)
	wantStatus(t, e.do("POST", "/api/v1/calls", e.key, map[string]any{}), 201)
	wantStatus(t, e.do("POST", "/api/v1/calls", e.key, map[string]any{}), 429)
	wantStatus(t, e.do("GET", "/api/v1/calls", e.admin, nil), 200)
	// Operations endpoints are not limited.
	for i := 0; i < 10; i++ {
		wantStatus(t, e.do("GET", "/health", "", nil), 200)
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	e := newEnv(t, "sqlite")
	r := e.do("GET", "/api/v1/nothing-here", e.key, nil)
	wantStatus(t, r, 404)
	if r.json(t)["detail"] != "Not Found" || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("404 = %s", r.Body)
	}
	r = e.do("DELETE", "/api/v1/calls", e.key, nil)
	wantStatus(t, r, 405)
	if r.json(t)["detail"] != "Method Not Allowed" || r.Header.Get("Allow") == "" {
		t.Fatalf("405 = %s %v", r.Body, r.Header)
	}
	if r.Header.Get("X-Request-ID") == "" {
		t.Fatal("no request id")
	}
	r = e.do("GET", "/health", "", nil, "X-Request-ID", "abc-123")
	if r.Header.Get("X-Request-ID") != "abc-123" {
		t.Fatalf("request id not kept: %q", r.Header.Get("X-Request-ID"))
	}
}
