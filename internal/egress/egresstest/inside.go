package egresstest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"
)

// InsideNames are the names the inside resolver answers for: names that
// look public but lead inside (loopback v4 and v6, the metadata address, a
// name with a public and a private address), and one public name.
var InsideNames = map[string][]netip.Addr{
	"inside.test":   {netip.MustParseAddr("127.0.0.1")},
	"inside6.test":  {netip.MustParseAddr("::1")},
	"metadata.test": {netip.MustParseAddr("169.254.169.254")},
	"mixed.test":    {netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("10.0.0.1")},
	"public.test":   {netip.MustParseAddr("8.8.8.8")},
}

// InsideResolver is Resolver for InsideNames.
func InsideResolver(tb testing.TB) *net.Resolver { return Resolver(tb, InsideNames) }

// InsideServer is a service inside the network, on every loopback address
// (IPv4 and IPv6) of one port, that counts the requests reaching it. It
// stops when the test ends.
func InsideServer(tb testing.TB) (port string, hits *atomic.Int64) {
	tb.Helper()
	hits = new(atomic.Int64)
	ln, err := net.Listen("tcp", "[::]:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("internal service answer"))
	})}}
	srv.Start()
	tb.Cleanup(srv.Close)
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), hits
}
