package egress_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"testing"

	"github.com/callscope/callscope/internal/egress"
)

// inside reports, independently of the policy's own table, whether a
// connection to ip could reach inside the network: the address without its
// zone and mapping is classified by the standard library, and the IPv4
// address carried by translation and tunnel forms is classified the same
// way.
func inside(ip netip.Addr) bool {
	ip = ip.WithZone("").Unmap()
	n := net.IP(ip.AsSlice())
	if n.IsLoopback() || n.IsPrivate() || n.IsUnspecified() || n.IsLinkLocalUnicast() || n.IsMulticast() ||
		n.IsInterfaceLocalMulticast() || n.IsLinkLocalMulticast() {
		return true
	}
	for _, s := range []string{"0.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "fec0::/10", "fd00:ec2::254/128", "240.0.0.0/4"} {
		if netip.MustParsePrefix(s).Contains(ip) {
			return true
		}
	}
	if ip.Is6() {
		b := ip.As16()
		v4 := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		for _, s := range []string{"::/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48"} {
			if netip.MustParsePrefix(s).Contains(ip) && inside(v4) {
				return true
			}
		}
		if netip.MustParsePrefix("2002::/16").Contains(ip) && inside(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})) {
			return true
		}
	}
	return false
}

func FuzzPermits(f *testing.F) {
	for _, s := range []string{
		"127.0.0.1", "::1", "::1%lo", "::1%1", "::%lo", "fe80::1%lo", "fd00:ec2::254%eth0", "::ffff:127.0.0.1",
		"::ffff:7f00:1", "64:ff9b::7f00:1", "0.0.0.0", "::", "169.254.169.254", "fd00:ec2::254", "10.0.0.1",
		"2002:7f00:1::", "::127.0.0.1", "8.8.8.8", "2606:4700::1111", "::ffff:127.0.0.1%lo",
	} {
		f.Add(s, []byte(netip.MustParseAddr(s).WithZone("").AsSlice()))
	}
	// Names do not resolve here (nothing answers), so names cost no time
	// and only literal addresses are judged.
	p := egress.Policy{Resolver: &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no resolver in this test")
	}}}
	f.Fuzz(func(t *testing.T, s string, raw []byte) {
		var addrs []netip.Addr
		if ip, err := netip.ParseAddr(s); err == nil {
			addrs = append(addrs, ip)
		}
		if ip, ok := netip.AddrFromSlice(raw); ok {
			addrs = append(addrs, ip, ip.WithZone(s))
		}
		if ip, ok := egress.LegacyIPv4(s); ok {
			addrs = append(addrs, ip)
		}
		for _, ip := range addrs {
			if p.Permits(ip) && inside(ip) {
				t.Fatalf("Permits(%v) = true for an inside address (normal form %v)", ip, egress.Normalize(ip))
			}
			if !(egress.Policy{AllowPrivate: true}).Permits(ip) && ip.IsValid() {
				t.Fatalf("AllowPrivate refuses %v", ip)
			}
		}
		// A URL the check accepts never names an inside address literally.
		raw2 := "http://" + s + "/"
		if p.CheckReceivedURL(context.Background(), raw2) == nil {
			u, err := url.Parse(raw2)
			if err != nil {
				t.Fatalf("accepted an unparseable URL %q", raw2)
			}
			if ip, err := netip.ParseAddr(u.Hostname()); err == nil && inside(ip) {
				t.Fatalf("CheckReceivedURL(%q) accepted inside address %v", raw2, ip)
			}
			if ip, ok := egress.LegacyIPv4(u.Hostname()); ok {
				t.Fatalf("CheckReceivedURL(%q) accepted legacy IPv4 form of %v", raw2, ip)
			}
		}
	})
}
