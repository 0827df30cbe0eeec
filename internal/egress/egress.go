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
	"strings"
	"syscall"
	"time"

	"github.com/callscope/callscope"
)

// blocked lists the ranges refused unless allowed: loopback, private,
// link-local (with the cloud metadata address), carrier-grade NAT,
// unspecified, multicast and reserved ranges, in IPv4 and IPv6.
var blocked = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
		"224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
		"::/128", "::1/128", "64:ff9b::/96", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10", "ff00::/8",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// Policy says which destinations outbound requests may reach.
type Policy struct {
	// AllowPrivate lets requests reach every address
	// (CALLSCOPE_ALLOW_PRIVATE_URLS); for closed networks.
	AllowPrivate bool
	// Allow lists ranges reachable even though they are blocked by default
	// (e.g. the PBX's subnet).
	Allow []netip.Prefix
}

// Permits reports whether a connection to ip is allowed.
func (p Policy) Permits(ip netip.Addr) bool {
	ip = ip.Unmap()
	if p.AllowPrivate {
		return true
	}
	for _, a := range p.Allow {
		if a.Contains(ip) {
			return true
		}
	}
	if !ip.IsValid() {
		return false
	}
	for _, b := range blocked {
		if b.Contains(ip) {
			return false
		}
	}
	return true
}

// ErrBlocked is returned (wrapped) for a destination the policy refuses.
var ErrBlocked = errors.New("destination address is not allowed")

// CheckURL validates an outbound URL before it is stored: http or https,
// a host, no credentials in it, and every address the host resolves to
// allowed. Returns EINVALID naming the problem.
func (p Policy) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return callscope.Errorf(callscope.EINVALID, "invalid URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return callscope.Errorf(callscope.EINVALID, "URL scheme must be http or https, not %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return callscope.Errorf(callscope.EINVALID, "URL has no host")
	}
	if u.User != nil {
		return callscope.Errorf(callscope.EINVALID, "URL may not carry credentials; configure them separately")
	}
	ips, err := resolve(ctx, u.Hostname())
	if err != nil {
		return callscope.Errorf(callscope.EINVALID, "URL host %q does not resolve: %v", u.Hostname(), err)
	}
	for _, ip := range ips {
		if !p.Permits(ip) {
			return callscope.Errorf(callscope.EINVALID, "URL host %q resolves to %s, a private or reserved address; allow it with CALLSCOPE_ALLOW_PRIVATE_URLS or CALLSCOPE_ALLOWED_NETWORKS", u.Hostname(), ip)
		}
	}
	return nil
}

func resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{ip}, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
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
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: p.control}
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
