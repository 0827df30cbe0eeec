package http

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/callscope/callscope"
)

// authMode says who may call a route.
type authMode int

const (
	authPublic authMode = iota // anyone
	authTenant                 // an API key, or a trusted network
	authAdmin                  // an admin API key
)

// route is one entry of the route table.
type route struct {
	Method  string
	Pattern string
	Auth    authMode
	// NoLimit exempts the route from rate limiting.
	NoLimit bool
	// Body says what the route reads from the request body.
	Body bodyKind
	// MaxBody overrides the server's body-size limit for this route.
	MaxBody int64
	// Query, when not nil, lists every query parameter the route takes;
	// any other is refused (list routes, so that a misspelt filter is
	// not silently ignored).
	Query   []string
	Summary string
	Handle  func(w http.ResponseWriter, r *http.Request) error
}

type ctxKey int

const (
	principalKey ctxKey = iota
	limitKey
)

// bodyLimit is the body-size limit of the request's route.
func bodyLimit(r *http.Request) int64 {
	if n, ok := r.Context().Value(limitKey).(int64); ok {
		return n
	}
	return 1 << 20
}

// principal returns who the request acts as (set by wrap for authenticated
// routes).
func principal(r *http.Request) *callscope.Principal {
	p, _ := r.Context().Value(principalKey).(*callscope.Principal)
	return p
}

// tenantID returns the tenant the request acts on.
func tenantID(r *http.Request) string {
	if p := principal(r); p != nil {
		return p.TenantID
	}
	return ""
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// outer wraps the mux: request id, panic recovery, access log, metrics, and
// JSON answers for unknown routes and wrong methods.
func (s *Server) outer(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			id = callscope.NewID()
		}
		w.Header().Set("X-Request-ID", id)
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		sw := &statusWriter{ResponseWriter: w}
		h, pattern := mux.Handler(r)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.Logger.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p), "request_id", id)
				if sw.status == 0 {
					writeJSON(sw, http.StatusInternalServerError, map[string]string{"detail": "Internal error"})
				}
			}
			dur := time.Since(start)
			routeLabel := pattern
			if routeLabel == "" {
				routeLabel = "unmatched"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			s.metrics.observe(r.Method, routeLabel, status, dur)
			drainingHealth := status == http.StatusServiceUnavailable && r.URL.Path == "/health" && s.Draining()
			s.Logger.LogAttrs(r.Context(), levelFor(status, drainingHealth), "request",
				slogStr("method", r.Method), slogStr("path", r.URL.Path), slogStr("route", routeLabel),
				slogInt("status", status), slogInt("bytes", sw.bytes), slogDur("duration", dur),
				slogStr("remote", r.RemoteAddr), slogStr("request_id", id))
		}()
		if pattern == "" {
			// No route: let the mux say whether the path exists with
			// another method, then answer in JSON.
			probe := &probeWriter{header: http.Header{}}
			h.ServeHTTP(probe, r)
			if probe.status == http.StatusMethodNotAllowed {
				if allow := probe.header.Get("Allow"); allow != "" {
					sw.Header().Set("Allow", allow)
				}
				writeJSON(sw, http.StatusMethodNotAllowed, map[string]string{"detail": "Method Not Allowed"})
				return
			}
			if probe.status >= 300 && probe.status < 400 {
				// The mux redirects to the canonical path.
				for k, v := range probe.header {
					sw.Header()[k] = v
				}
				sw.WriteHeader(probe.status)
				return
			}
			writeJSON(sw, http.StatusNotFound, map[string]string{"detail": "Not Found"})
			return
		}
		// Serve through the mux (not h) so that it sets the path values.
		mux.ServeHTTP(sw, r)
	})
}

type probeWriter struct {
	header http.Header
	status int
}

func (p *probeWriter) Header() http.Header { return p.header }
func (p *probeWriter) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = 200
	}
	return len(b), nil
}
func (p *probeWriter) WriteHeader(code int) { p.status = code }

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// bodyKind says what a route reads from the request body.
type bodyKind int

const (
	bodyNone   bodyKind = iota // nothing
	bodyJSON                   // a JSON document
	bodyUpload                 // a file (multipart or raw), streamed
)

// wrap applies a route's authentication, rate limit and body limit, and
// maps the error its handler returns.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := s.MaxBodyBytes
		if rt.MaxBody > 0 {
			limit = rt.MaxBody
		}
		if rt.Body == bodyUpload {
			limit = s.MaxUploadBytes
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		r = r.WithContext(context.WithValue(r.Context(), limitKey, limit))
		if rt.Auth != authPublic {
			p, err := s.authenticate(r)
			client := clientKey(r, p)
			if !rt.NoLimit {
				if ok, wait := s.limiter.allow(client, r.Method != http.MethodGet && r.Method != http.MethodHead); !ok {
					w.Header().Set("Retry-After", strconv.Itoa(retryAfter(wait)))
					writeError(w, r, s.Logger, callscope.Errorf(callscope.ERATELIMIT, "Rate limit exceeded; retry in %d s", retryAfter(wait)))
					return
				}
			}
			if err != nil {
				writeError(w, r, s.Logger, err)
				return
			}
			if rt.Auth == authAdmin && !p.Admin {
				writeError(w, r, s.Logger, callscope.Errorf(callscope.EFORBIDDEN, "This endpoint needs an admin API key"))
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), principalKey, p))
		}
		s.serveRoute(w, r, rt)
	})
}

// serveRoute checks an authenticated request's query and text against its
// route, then handles it.
func (s *Server) serveRoute(w http.ResponseWriter, r *http.Request, rt route) {
	// The Auto-Caller contract answers 400 for any invalid input.
	invalid := func(err error) error { return err }
	if strings.HasPrefix(rt.Pattern, s.autocallerPrefix()+"/") {
		invalid = asBadRequest
	}
	if rt.Query != nil {
		if err := onlyQuery(r, rt.Query); err != nil {
			writeError(w, r, s.Logger, invalid(err))
			return
		}
	}
	if err := checkRequestText(r, rt.Pattern); err != nil {
		writeError(w, r, s.Logger, invalid(err))
		return
	}
	if err := rt.Handle(w, r); err != nil {
		writeError(w, r, s.Logger, err)
	}
}

func clientKey(r *http.Request, p *callscope.Principal) string {
	if p != nil && p.KeyID != "" {
		return "key:" + p.KeyID
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "ip:" + host
}

// apiKey returns the key a request carries in Authorization: Bearer or
// X-API-Key, or "".
func apiKey(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
		return "\x00invalid"
	}
	return strings.TrimSpace(r.Header.Get("X-API-Key"))
}

// authenticate resolves who the request acts as. An admin key may pick the
// tenant to act on with the X-Tenant-ID header.
func (s *Server) authenticate(r *http.Request) (*callscope.Principal, error) {
	ctx := r.Context()
	key := apiKey(r)
	if key == "" {
		if s.trusted(r) {
			if id := s.DefaultTenantID(ctx); id != "" {
				return &callscope.Principal{TenantID: id}, nil
			}
		}
		return nil, callscope.Errorf(callscope.EUNAUTHORIZED, "Not authenticated: send an API key in Authorization: Bearer or X-API-Key")
	}
	p, err := s.Store.Authenticate(ctx, key)
	if err != nil {
		return nil, err
	}
	if t := r.Header.Get("X-Tenant-ID"); t != "" && t != p.TenantID {
		if !p.Admin {
			return nil, callscope.Errorf(callscope.EFORBIDDEN, "X-Tenant-ID needs an admin API key")
		}
		if _, err := s.Store.Tenant(ctx, t); err != nil {
			return nil, err
		}
		p = &callscope.Principal{TenantID: t, KeyID: p.KeyID, Admin: true}
	}
	return p, nil
}

func (s *Server) trusted(r *http.Request) bool {
	if len(s.TrustedNetworks) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, n := range s.TrustedNetworks {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// onlyQuery refuses query parameters other than allowed, naming each.
func onlyQuery(r *http.Request, allowed []string) error {
	var f fields
	q := r.URL.Query()
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !slices.Contains(allowed, name) {
			f.add("Extra inputs are not permitted", "extra_forbidden", "query", name)
		}
	}
	return f.err()
}
