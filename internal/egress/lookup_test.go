package egress

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/callscope/callscope/internal/egress/egresstest"
)

// TestLookupCache checks a URL twice with a cache: the second check asks no
// resolver, and a failed lookup is remembered too.
func TestLookupCache(t *testing.T) {
	r := egresstest.Resolver(t, map[string][]netip.Addr{"inside.test.": {netip.MustParseAddr("127.0.0.1")}})
	p := Policy{Resolver: r, Lookups: NewLookupCache(time.Minute)}
	ctx := context.Background()
	if err := p.CheckURL(ctx, "https://inside.test/x"); err == nil {
		t.Fatal("a name resolving to loopback was allowed")
	}
	// With no resolver at all, the cached answers still decide.
	p.Resolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		t.Fatal("the cache asked the resolver again")
		return nil, nil
	}}
	if err := p.CheckURL(ctx, "https://inside.test/y"); err == nil {
		t.Fatal("the cached answer was not used")
	}
	p.Lookups.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	dialled := false
	p.Resolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		dialled = true
		return nil, errors.New("no resolver here")
	}}
	_ = p.CheckURL(ctx, "https://inside.test/z")
	if !dialled {
		t.Fatal("an expired answer was used")
	}
}
