package fetch_test

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
	"github.com/callscope/callscope/internal/fetch"
)

// insideHosts reach inside the network; literal ones are refused by the
// policy itself, the others fail before a connection (they do not resolve
// here) or, for mixed.test, on its inside address after the public one.
var insideHosts = []struct {
	host    string
	literal bool
}{
	{"127.0.0.1", true}, {"[::1]", true}, {"[::ffff:127.0.0.1]", true}, {"[::ffff:7f00:1]", true}, {"[64:ff9b::7f00:1]", true},
	{"[::1%25lo]", true}, {"[::1%251]", true}, {"[::%25lo]", true}, {"[fe80::1%25lo]", true}, {"[fd00:ec2::254%25eth0]", true},
	{"0.0.0.0", true}, {"[::]", true}, {"169.254.169.254", true}, {"[fd00:ec2::254]", true}, {"10.0.0.1", true},
	{"[2002:7f00:1::1]", true}, {"localhost", true}, {"inside.test", true}, {"metadata.test", true},
	{"2130706433", false}, {"0x7f000001", false}, {"0177.0.0.1", false}, {"127.1", false}, {"localhost.", false}, {"mixed.test", false},
}

// TestHTTPRefusesInsideAddresses: a recording URL (the platform's
// recording_url, Twilio's RecordingUrl), or a redirect from an allowed
// server, naming an inside address is not fetched; the fetch fails for good
// with EINVALID.
func TestHTTPRefusesInsideAddresses(t *testing.T) {
	port, hits := egresstest.InsideServer(t)

	oln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := &httptest.Server{Listener: oln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, "http://"+to+":"+port+"/rec.gsm", http.StatusFound)
			return
		}
		w.Write(mp3)
	})}}
	origin.Start()
	defer origin.Close()

	res := egresstest.InsideResolver(t)
	p := egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}, Resolver: res}
	h := fetch.NewHTTP(p, 10*time.Second, 1<<20)
	ctx := context.Background()
	body, _, err := h.Fetch(ctx, fetch.Ref{CallID: "c", URL: origin.URL + "/rec.mp3"})
	if err != nil {
		t.Fatalf("allowed server: %v", err)
	}
	body.Close()
	for _, f := range insideHosts {
		for _, u := range []string{"http://" + f.host + ":" + port + "/rec.gsm", origin.URL + "/?to=" + url.QueryEscape(f.host)} {
			body, _, err := h.Fetch(ctx, fetch.Ref{CallID: "c", URL: u})
			if err == nil {
				body.Close()
				t.Errorf("Fetch(%s) succeeded", u)
				continue
			}
			if f.literal {
				var fe *fetch.Error
				if !errors.As(err, &fe) || fe.Code != callscope.EINVALID || fe.Temporary || !errors.Is(err, egress.ErrBlocked) {
					t.Errorf("Fetch(%s) = %v, want a permanent EINVALID refusal", u, err)
				}
			}
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the inside service was reached %d times", n)
	}
}
