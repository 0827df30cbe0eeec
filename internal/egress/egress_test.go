package egress_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/egress"
)

func TestPermits(t *testing.T) {
	var p egress.Policy
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", false}, {"10.1.2.3", false}, {"172.16.0.1", false}, {"172.31.255.255", false}, {"192.168.8.18", false},
		{"169.254.169.254", false}, {"100.64.0.1", false}, {"0.0.0.0", false}, {"::1", false}, {"fe80::1", false},
		{"fd00:ec2::254", false}, {"::ffff:127.0.0.1", false}, {"::ffff:10.0.0.1", false}, {"224.0.0.1", false},
		{"8.8.8.8", true}, {"172.32.0.1", true}, {"2606:4700::1111", true}, {"100.128.0.1", true},
	} {
		if got := p.Permits(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("Permits(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
	allow := egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}}
	if !allow.Permits(netip.MustParseAddr("10.0.0.7")) || allow.Permits(netip.MustParseAddr("10.0.1.7")) {
		t.Error("allowlist not applied to exactly its range")
	}
	if !(egress.Policy{AllowPrivate: true}).Permits(netip.MustParseAddr("127.0.0.1")) {
		t.Error("AllowPrivate does not allow loopback")
	}
}

func TestCheckURL(t *testing.T) {
	var p egress.Policy
	ctx := context.Background()
	for _, bad := range []string{
		"http://127.0.0.1/hook", "http://10.0.0.5:8080/x", "http://169.254.169.254/latest/meta-data/",
		"http://localhost:9000/", "http://[::1]/", "ftp://example.com/", "http:///nohost", "http://user:pw@8.8.8.8/",
		"http://192.168.8.18:8123/api", "::not a url",
	} {
		err := p.CheckURL(ctx, bad)
		if callscope.ErrorCode(err) != callscope.EINVALID {
			t.Errorf("CheckURL(%q) = %v, want EINVALID", bad, err)
		}
	}
	if err := p.CheckURL(ctx, "https://8.8.8.8/hook"); err != nil {
		t.Errorf("public IP refused: %v", err)
	}
}

func TestClientRefusesPrivateAtConnect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("inside")) }))
	defer srv.Close()
	_, err := egress.Policy{}.Client(5 * time.Second).Get(srv.URL)
	if !errors.Is(err, egress.ErrBlocked) {
		t.Fatalf("GET loopback server: %v, want ErrBlocked", err)
	}
	// The same through a name that resolves to loopback.
	_, err = egress.Policy{}.Client(5 * time.Second).Get("http://localhost:" + srv.Listener.Addr().(interface{ String() string }).String()[len("127.0.0.1:"):])
	if !errors.Is(err, egress.ErrBlocked) {
		t.Fatalf("GET via localhost: %v, want ErrBlocked", err)
	}
	res, err := egress.Policy{AllowPrivate: true}.Client(5 * time.Second).Get(srv.URL)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("allowed private: %v", err)
	}
	res.Body.Close()
}

func TestRedirectToPrivateRefused(t *testing.T) {
	inside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("secret")) }))
	defer inside.Close()
	// The first hop is allowed (its range is on the allowlist), the
	// redirect target is not: the connection to it is refused.
	outside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://[::1]:"+inside.Listener.Addr().String()[len("127.0.0.1:"):]+"/", http.StatusFound)
	}))
	defer outside.Close()
	p := egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	_, err := p.Client(5 * time.Second).Get(outside.URL)
	if !errors.Is(err, egress.ErrBlocked) {
		t.Fatalf("redirect to ::1: %v, want ErrBlocked", err)
	}
}
