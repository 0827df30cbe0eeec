package egress_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/egress"
	"github.com/callscope/callscope/internal/egress/egresstest"
)

// insideForms are hosts (as written in a URL) that all reach inside: the
// forms an attacker has for loopback, link-local, metadata and private
// addresses. dial says whether a connection to the form is refused by the
// policy itself; the others fail before (no resolver here turns them into
// an address) or, for a name with a public address too, after trying it.
var insideForms = []struct {
	host string
	dial bool
}{
	{"127.0.0.1", true}, {"127.0.0.2", true}, {"[::1]", true},
	{"[::ffff:127.0.0.1]", true}, {"[::ffff:7f00:1]", true}, {"[64:ff9b::7f00:1]", true},
	{"[::127.0.0.1]", true}, {"[2002:7f00:1::1]", true}, {"[::ffff:0:7f00:1]", true},
	{"[::1%25lo]", true}, {"[::1%251]", true}, {"[::%25lo]", true}, {"[fe80::1%25lo]", true},
	{"[fd00:ec2::254%25eth0]", true}, {"[::ffff:127.0.0.1%25lo]", true},
	{"0.0.0.0", true}, {"[::]", true}, {"[fe80::1]", true}, {"169.254.169.254", true}, {"[fd00:ec2::254]", true},
	{"10.0.0.1", true}, {"172.16.0.1", true}, {"192.168.1.1", true}, {"100.64.0.1", true}, {"[fc00::1]", true},
	{"2130706433", false}, {"0x7f000001", false}, {"0177.0.0.1", false}, {"127.1", false}, {"127.0.0.1.", false},
	{"localhost", true}, {"localhost.", false}, {"LocalHost", true}, {"api.localhost", false},
	{"inside.test", true}, {"inside6.test", true}, {"metadata.test", true}, {"mixed.test", false},
}

func TestPermitsZoneAndMappedForms(t *testing.T) {
	var p egress.Policy
	for _, s := range []string{
		"::1%lo", "::1%1", "::%lo", "fe80::1%lo", "fd00:ec2::254%eth0", "fe80::1%eth0", "::ffff:127.0.0.1%lo",
		"::ffff:7f00:1", "64:ff9b::7f00:1", "64:ff9b:1::a9fe:a9fe", "::127.0.0.1", "::ffff:0:7f00:1",
		"2002:7f00:1::", "2002:a9fe:a9fe::1", "2002:c0a8:101::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
		"fec0::1", "3fff::1",
	} {
		if p.Permits(netip.MustParseAddr(s)) {
			t.Errorf("Permits(%s) = true, want false", s)
		}
	}
	for _, s := range []string{"2002:808:808::1", "2606:4700::1111%eth0", "8.8.8.8"} {
		if !p.Permits(netip.MustParseAddr(s)) {
			t.Errorf("Permits(%s) = false, want true", s)
		}
	}
	// A zone does not take an address out of an allowed range either.
	allow := egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("fe80::/64")}}
	if !allow.Permits(netip.MustParseAddr("fe80::1%eth0")) {
		t.Error("allowed link-local with a zone refused")
	}
}

func TestLegacyIPv4(t *testing.T) {
	for _, tc := range []struct {
		host, want string
	}{
		{"2130706433", "127.0.0.1"}, {"0x7f000001", "127.0.0.1"}, {"0177.0.0.1", "127.0.0.1"}, {"127.1", "127.0.0.1"},
		{"127.0.1", "127.0.0.1"}, {"0x7f.1", "127.0.0.1"}, {"127.0.0.1.", "127.0.0.1"}, {"010.0.0.1", "8.0.0.1"},
		{"0", "0.0.0.0"}, {"0x", "0.0.0.0"}, {"0xA9FEA9FE", "169.254.169.254"}, {"3232235777", "192.168.1.1"},
	} {
		got, ok := egress.LegacyIPv4(tc.host)
		if !ok || got.String() != tc.want {
			t.Errorf("LegacyIPv4(%q) = %v, %v; want %s", tc.host, got, ok, tc.want)
		}
	}
	for _, host := range []string{"127.0.0.1", "example.com", "08.0.0.1", "1.2.3.4.5", "256.1", "1.2.3.256", "4294967296", "", "::1", "1e3", "0x1g"} {
		if got, ok := egress.LegacyIPv4(host); ok {
			t.Errorf("LegacyIPv4(%q) = %v, want not an address", host, got)
		}
	}
}

func TestCheckURLRefusesInsideForms(t *testing.T) {
	p := egress.Policy{Resolver: egresstest.InsideResolver(t)}
	ctx := context.Background()
	for _, f := range insideForms {
		for _, check := range []func(context.Context, string) error{p.CheckURL, p.CheckReceivedURL} {
			u := "http://" + f.host + ":8080/x"
			if err := check(ctx, u); callscope.ErrorCode(err) != callscope.EINVALID {
				t.Errorf("check %s = %v, want EINVALID", u, err)
			}
		}
	}
	for _, u := range []string{"https://8.8.8.8/hook", "http://public.test/x", "http://[2606:4700::1111]/", "http://[2002:808:808::1]/"} {
		if err := p.CheckURL(ctx, u); err != nil {
			t.Errorf("CheckURL(%s) = %v, want nil", u, err)
		}
	}
	// A peer's URL whose host does not resolve now is kept; a configured
	// one is refused.
	if err := p.CheckReceivedURL(ctx, "http://unknown.test/rec.wav"); err != nil {
		t.Errorf("CheckReceivedURL(unresolvable) = %v, want nil", err)
	}
	if err := p.CheckURL(ctx, "http://unknown.test/rec.wav"); callscope.ErrorCode(err) != callscope.EINVALID {
		t.Errorf("CheckURL(unresolvable) = %v, want EINVALID", err)
	}
	// CALLSCOPE_ALLOW_PRIVATE_URLS lets every form through (the legacy
	// IPv4 forms stay refused: they mean different things to different
	// resolvers).
	open := egress.Policy{AllowPrivate: true, Resolver: p.Resolver}
	for _, f := range insideForms {
		if _, legacy := egress.LegacyIPv4(f.host); legacy {
			continue
		}
		if err := open.CheckURL(ctx, "http://"+f.host+"/"); err != nil {
			t.Errorf("with AllowPrivate, CheckURL(%s) = %v", f.host, err)
		}
	}
}

func TestClientRefusesInsideFormsAtConnect(t *testing.T) {
	port, hits := egresstest.InsideServer(t)
	p := egress.Policy{Resolver: egresstest.InsideResolver(t)}
	c := p.Client(5 * time.Second)
	// The server does answer on these forms when allowed.
	res, err := egress.Policy{AllowPrivate: true}.Client(5 * time.Second).Get("http://[::1%25lo]:" + port + "/")
	if err != nil {
		t.Fatalf("allowed GET [::1%%25lo]: %v", err)
	}
	res.Body.Close()
	hits.Store(0)
	for _, f := range insideForms {
		u := "http://" + f.host + ":" + port + "/"
		res, err := c.Get(u)
		if err == nil {
			res.Body.Close()
			t.Errorf("GET %s succeeded (%d), want refused", u, res.StatusCode)
			continue
		}
		if f.dial && !errors.Is(err, egress.ErrBlocked) {
			t.Errorf("GET %s: %v, want ErrBlocked", u, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the inside server was reached %d times", n)
	}
}

func TestRedirectToInsideFormsRefused(t *testing.T) {
	port, hits := egresstest.InsideServer(t)
	// The first hop is on 127.0.0.2, allowed for this test; it redirects
	// to each inside form, none of which is allowed.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	outside := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The query holds the host as a URL writes it (%25 for a zone's %).
		http.Redirect(w, r, "http://"+r.URL.Query().Get("to")+":"+port+"/", http.StatusFound)
	})}}
	outside.Start()
	t.Cleanup(outside.Close)
	p := egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}, Resolver: egresstest.InsideResolver(t)}
	c := p.Client(5 * time.Second)
	for _, f := range insideForms {
		if f.host == "127.0.0.2" {
			continue
		}
		u := outside.URL + "/?to=" + url.QueryEscape(f.host)
		res, err := c.Get(u)
		if err == nil {
			res.Body.Close()
			t.Errorf("redirect to %s followed (%d), want refused", f.host, res.StatusCode)
			continue
		}
		if f.dial && !errors.Is(err, egress.ErrBlocked) {
			t.Errorf("redirect to %s: %v, want ErrBlocked", f.host, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the inside server was reached %d times", n)
	}
}
