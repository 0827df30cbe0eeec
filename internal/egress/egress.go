// Package egress makes the outbound HTTP requests callscope sends to
// addresses its users configure (webhooks, callbacks, recording URLs, CRM,
// agent services) without letting those addresses reach inside the
// network: every connection's resolved IP is checked when it is made, so
// redirects and DNS rebinding cannot get around the check.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/callscope/callscope"
)

// blocked lists the ranges refused unless allowed: loopback, private,
// link-local (with the cloud metadata addresses), carrier-grade NAT,
// unspecified, multicast, documentation and reserved ranges, in IPv4 and
// IPv6, and the IPv6 ranges that carry an IPv4 address to a translator or
// tunnel (NAT64, IPv4-compatible, IPv4-translated, Teredo) — through them
// a v6 address can reach any v4 host, inside ones included. 6to4
// (2002::/16) is judged by the IPv4 address it carries; see Permits.
var blocked = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
		"::/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
		"3fff::/20", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// sixToFour is the 6to4 range: 2002:V4ADDR::/48 reaches the IPv4 host
// V4ADDR through a relay.
var sixToFour = netip.MustParsePrefix("2002::/16")

// Normalize returns the address a connection to ip reaches, in the form the
// policy judges: without an IPv6 zone (a zone names the interface, not the
// host: [::1%lo] is loopback) and with an IPv4-mapped address
// (::ffff:127.0.0.1) as the IPv4 address it maps.
func Normalize(ip netip.Addr) netip.Addr {
	return ip.WithZone("").Unmap()
}

// Policy says which destinations outbound requests may reach.
type Policy struct {
	// AllowPrivate lets requests reach every address
	// (CALLSCOPE_ALLOW_PRIVATE_URLS); for closed networks.
	AllowPrivate bool
	// Allow lists ranges reachable even though they are blocked by default
	// (e.g. the PBX's subnet).
	Allow []netip.Prefix
	// Resolver looks host names up, for the check of a URL and for the
	// connections; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// Lookups, when set, remembers the answers of the lookups that check
	// URLs when they are stored, so that a stream of requests naming one
	// host (a voice-bot platform's recording server) does not wait on DNS
	// each time. Connections always resolve afresh and are checked on the
	// address dialled.
	Lookups *LookupCache
}

// LookupCache remembers host name lookups for a while. The zero value is
// not usable; use NewLookupCache.
type LookupCache struct {
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	m   map[string]lookup
}

type lookup struct {
	addrs []netip.Addr
	err   error
	at    time.Time
}

// NewLookupCache returns a cache keeping each answer (or failure) for ttl.
func NewLookupCache(ttl time.Duration) *LookupCache {
	return &LookupCache{ttl: ttl, now: time.Now, m: map[string]lookup{}}
}

// maxLookups bounds the cache; past it, the cache starts afresh.
const maxLookups = 4096

func (c *LookupCache) get(host string) (lookup, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.m[host]
	if !ok || c.now().Sub(l.at) > c.ttl {
		return lookup{}, false
	}
	return l, true
}

func (c *LookupCache) put(host string, l lookup) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxLookups {
		c.m = map[string]lookup{}
	}
	l.at = c.now()
	c.m[host] = l
}

func (p Policy) resolver() *net.Resolver {
	if p.Resolver != nil {
		return p.Resolver
	}
	return net.DefaultResolver
}

// Permits reports whether a connection to ip is allowed. The address is
// judged in its normal form (see Normalize), so neither a zone nor the
// IPv4-mapped form gets around a blocked range; a 6to4 address is
// refused when the IPv4 address it carries is.
func (p Policy) Permits(ip netip.Addr) bool {
	if p.AllowPrivate {
		return true
	}
	ip = Normalize(ip)
	if !ip.IsValid() {
		return false
	}
	for _, a := range p.Allow {
		if a.Contains(ip) {
			return true
		}
	}
	for _, b := range blocked {
		if b.Contains(ip) {
			return false
		}
	}
	if sixToFour.Contains(ip) {
		b := ip.As16()
		return p.Permits(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
	}
	return true
}

// ErrBlocked is returned (wrapped) for a destination the policy refuses.
var ErrBlocked = errors.New("destination address is not allowed")

// CheckURL validates an outbound URL before it is stored: http or https,
// a host, no credentials in it, an IPv4 address only in dotted decimal,
// and every address the host resolves to allowed. Returns EINVALID naming
// the problem.
func (p Policy) CheckURL(ctx context.Context, raw string) error {
	return p.checkURL(ctx, raw, true)
}

// CheckReceivedURL is CheckURL for a URL a peer reports rather than one a
// user configures (a voice-bot platform's recording_url): a host name that
// does not resolve now is accepted, so that a passing DNS failure does not
// refuse the report it came in; the connection made later is checked as
// always. Everything else is refused as CheckURL refuses it.
func (p Policy) CheckReceivedURL(ctx context.Context, raw string) error {
	return p.checkURL(ctx, raw, false)
}

func (p Policy) checkURL(ctx context.Context, raw string, mustResolve bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return callscope.Errorf(callscope.EINVALID, "invalid URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return callscope.Errorf(callscope.EINVALID, "URL scheme must be http or https, not %q", u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return callscope.Errorf(callscope.EINVALID, "URL has no host")
	}
	if u.User != nil {
		return callscope.Errorf(callscope.EINVALID, "URL may not carry credentials; configure them separately")
	}
	if ip, ok := LegacyIPv4(host); ok {
		// Resolvers disagree on these (glibc reads 0177.0.0.1 as
		// 127.0.0.1, Go looks it up as a name): refused whatever they mean.
		return callscope.Errorf(callscope.EINVALID, "URL host %q is an IPv4 address in a non-standard form (%s); write it in dotted decimal", host, ip)
	}
	ips, err := p.resolve(ctx, host)
	if err != nil {
		if !mustResolve {
			return nil
		}
		return callscope.Errorf(callscope.EINVALID, "URL host %q does not resolve: %v", host, err)
	}
	for _, ip := range ips {
		if !p.Permits(ip) {
			return callscope.Errorf(callscope.EINVALID, "URL host %q resolves to %s, a private or reserved address; allow it with CALLSCOPE_ALLOW_PRIVATE_URLS or CALLSCOPE_ALLOWED_NETWORKS", host, Normalize(ip))
		}
	}
	return nil
}

// LegacyIPv4 reports whether host is an IPv4 address written in one of the
// forms inet_aton accepts besides dotted decimal — fewer than four parts
// (127.1, 2130706433), or parts in hexadecimal (0x7f000001) or octal
// (0177.0.0.1) — and the address it means.
func LegacyIPv4(host string) (netip.Addr, bool) {
	if _, err := netip.ParseAddr(host); err == nil || host == "" {
		return netip.Addr{}, false
	}
	parts := strings.Split(strings.TrimSuffix(host, "."), ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var vals []uint64
	for _, part := range parts {
		base, digits := 10, part
		switch {
		case len(part) > 2 && (part[:2] == "0x" || part[:2] == "0X"):
			base, digits = 16, part[2:]
		case part == "0x" || part == "0X":
			base, digits = 16, "0"
		case len(part) > 1 && part[0] == '0':
			base, digits = 8, part[1:]
		}
		v, err := strconv.ParseUint(digits, base, 32)
		if err != nil || digits == "" {
			return netip.Addr{}, false
		}
		vals = append(vals, v)
	}
	// The last part fills the bytes the others leave.
	var n uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 0xff {
			return netip.Addr{}, false
		}
		n |= v << (24 - 8*i)
	}
	last := vals[len(vals)-1]
	if last >= 1<<(8*(5-len(vals))) {
		return netip.Addr{}, false
	}
	n |= last
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

// loopbackNames are what "localhost" and its subdomains mean (RFC 6761
// §6.3), whatever a resolver here answers for them: a resolver elsewhere,
// or a later one, may well answer loopback.
var loopbackNames = []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}

func (p Policy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	if name := strings.ToLower(strings.TrimSuffix(host, ".")); name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return loopbackNames, nil
	}
	if p.Lookups != nil {
		if l, ok := p.Lookups.get(host); ok {
			return l.addrs, l.err
		}
	}
	addrs, err := p.resolver().LookupNetIP(ctx, "ip", host)
	if p.Lookups != nil && ctx.Err() == nil {
		p.Lookups.put(host, lookup{addrs: addrs, err: err})
	}
	if err != nil {
		return nil, err
	}
	return addrs, nil
}

// control runs on every connection after name resolution, with the address
// actually dialled.
func (p Policy) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrBlocked, address)
	}
	if !p.Permits(ap.Addr()) {
		return fmt.Errorf("%w: %s is private or reserved", ErrBlocked, ap.Addr())
	}
	return nil
}

// Client returns an HTTP client whose every connection, redirects included,
// obeys the policy. It ignores proxy settings from the environment (a proxy
// would make the checked address the proxy's), and follows at most five
// redirects, to http or https only.
func (p Policy) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: p.control, Resolver: p.Resolver}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("stopped after 5 redirects")
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to a %q URL refused", req.URL.Scheme)
			}
			return nil
		},
	}
}
