package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/callscope/callscope"
)

const (
	sessionCookie = "callscope_session"
	// loginCookie carries the sign-in form's CSRF token before there is a
	// session (double-submit).
	loginCookie = "callscope_login"
	csrfField   = "csrf_token"
)

// session is the signed-in user of a request.
type session struct {
	sess *callscope.UserSession
	user *callscope.User
}

type sessionKey struct{}

// newToken returns 32 random bytes, base64url.
func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenHash is the stored form of a session token.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// secure reports whether the request reached us (or the proxy in front of
// us) over TLS, so that cookies are marked Secure.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
}

// auth serves h for a signed-in user; others are sent to the sign-in page
// (GET) or refused (POST). Every POST must carry the session's CSRF token.
func (c *Console) auth(h func(w http.ResponseWriter, r *http.Request, s *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.currentSession(r)
		if s == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				if strings.HasSuffix(r.URL.Path, "/recording") || strings.HasSuffix(r.URL.Path, "/events") {
					c.renderError(w, r, nil, http.StatusUnauthorized, "Signed out", "Sign in to continue.")
					return
				}
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.renderError(w, r, nil, http.StatusForbidden, "Signed out", "Your session has ended. Sign in again, then repeat what you were doing.")
			return
		}
		if r.Method == http.MethodPost {
			got := r.PostFormValue(csrfField)
			if got == "" {
				got = r.Header.Get("X-CSRF-Token")
			}
			if subtle.ConstantTimeCompare([]byte(got), []byte(s.sess.CSRFToken)) != 1 {
				c.renderError(w, r, s, http.StatusForbidden, "Form expired", "This form was not sent from the console page it belongs to (its security token is missing or wrong). Reload the page and try again.")
				return
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)), s)
	})
}

// currentSession returns the request's signed-in session, or nil.
func (c *Console) currentSession(r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		return nil
	}
	sess, u, err := c.Store.UserSession(r.Context(), tokenHash(ck.Value), c.Now())
	if err != nil {
		if callscope.ErrorCode(err) != callscope.ENOTFOUND {
			c.Logger.Error("console session", "error", err)
		}
		return nil
	}
	return &session{sess: sess, user: u}
}

// loginForm is the sign-in page's content.
type loginForm struct {
	Email string
	Next  string
	Error string
}

func (c *Console) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	if s := c.currentSession(r); s != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.renderLogin(w, r, http.StatusOK, loginForm{Next: safeNext(r.URL.Query().Get("next"))})
}

func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, status int, f loginForm) {
	token := newToken()
	setCookie(w, r, loginCookie, token, 3600)
	c.render(w, r, "login", status, page{Title: "Sign in", CSRF: token, Content: f})
}

// safeNext keeps a redirect after sign-in on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/calls"
	}
	return next
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (c *Console) handleLogin(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(loginCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue(csrfField))) != 1 {
		c.renderError(w, r, nil, http.StatusForbidden, "Form expired", "This sign-in form was not sent from the sign-in page (its security token is missing or wrong). Reload the page and try again.")
		return
	}
	f := loginForm{Email: strings.TrimSpace(r.PostFormValue("email")), Next: safeNext(r.PostFormValue("next"))}
	password := r.PostFormValue("password")
	email, ip := callscope.NormalizeEmail(f.Email), clientIP(r)
	if wait := c.throttle.wait(email, ip); wait > 0 {
		f.Error = fmt.Sprintf("Too many failed sign-ins. Try again in %s.", roundWait(wait))
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
		c.renderLogin(w, r, http.StatusTooManyRequests, f)
		return
	}
	if email == "" || password == "" {
		f.Error = "Enter your e-mail address and password."
		c.renderLogin(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	u, err := c.Store.UserByEmail(r.Context(), email)
	hash := dummyHash
	if err == nil {
		hash = u.PasswordHash
	} else if callscope.ErrorCode(err) != callscope.ENOTFOUND {
		c.fail(w, r, nil, err)
		return
	}
	ok, herr := CheckPassword(hash, password)
	if herr != nil {
		c.Logger.Error("console sign-in: stored password hash", "error", herr)
	}
	if err != nil || !ok || u.Disabled {
		c.throttle.failed(email, ip)
		f.Error = "That e-mail address and password do not match an active account."
		c.renderLogin(w, r, http.StatusUnauthorized, f)
		return
	}
	c.throttle.succeeded(email)
	token := newToken()
	s := &callscope.UserSession{UserID: u.ID, TokenHash: tokenHash(token), CSRFToken: newToken(), ExpiresAt: c.Now().Add(c.SessionTTL)}
	if err := c.Store.CreateUserSession(r.Context(), s); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	setCookie(w, r, loginCookie, "", -1)
	setCookie(w, r, sessionCookie, token, int(c.SessionTTL.Seconds()))
	c.Logger.Info("console sign-in", "user", u.ID, "tenant", u.TenantID)
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
}

func roundWait(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d seconds", int(d.Seconds())+1)
	}
	return fmt.Sprintf("%d minutes", int(d.Minutes())+1)
}

func (c *Console) handleLogout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := c.Store.DeleteUserSession(r.Context(), s.sess.ID); err != nil {
		c.fail(w, r, s, err)
		return
	}
	setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// accountForm is the account page's content.
type accountForm struct {
	Errors map[string]string
	Done   bool
}

func (c *Console) handleAccount(w http.ResponseWriter, r *http.Request, s *session) {
	c.render(w, r, "account", http.StatusOK, page{Title: "Account", Nav: "account", User: s.user, CSRF: s.sess.CSRFToken,
		Content: accountForm{Done: r.URL.Query().Get("changed") == "1"}})
}

func (c *Console) handlePassword(w http.ResponseWriter, r *http.Request, s *session) {
	f := accountForm{Errors: map[string]string{}}
	current, next, again := r.PostFormValue("current_password"), r.PostFormValue("new_password"), r.PostFormValue("confirm_password")
	ok, err := CheckPassword(s.user.PasswordHash, current)
	if err != nil || !ok {
		f.Errors["current_password"] = "This is not your current password."
	}
	if msg := CheckPasswordStrength(next); msg != "" {
		f.Errors["new_password"] = msg
	} else if next != again {
		f.Errors["confirm_password"] = "The two new passwords differ."
	}
	if len(f.Errors) > 0 {
		c.render(w, r, "account", http.StatusUnprocessableEntity, page{Title: "Account", Nav: "account", User: s.user, CSRF: s.sess.CSRFToken, Content: f})
		return
	}
	hash, err := HashPassword(next)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if err := c.Store.SetUserPassword(r.Context(), s.user.ID, hash, s.sess.ID); err != nil {
		c.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/account?changed=1", http.StatusSeeOther)
}

// throttle counts failed sign-ins per e-mail address and per client
// address over a sliding window, and makes further attempts wait. It is
// kept in memory: each replica throttles on its own.
type throttle struct {
	now     func() time.Time
	mu      sync.Mutex
	byEmail map[string][]time.Time
	byIP    map[string][]time.Time
}

// Limits of failed sign-ins within throttleWindow.
const (
	throttleWindow   = 15 * time.Minute
	throttlePerEmail = 5
	throttlePerIP    = 20
)

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, byEmail: map[string][]time.Time{}, byIP: map[string][]time.Time{}}
}

// recent drops failures older than the window and returns the rest.
func recent(m map[string][]time.Time, k string, now time.Time) []time.Time {
	ts := m[k]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= throttleWindow {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(m, k)
	} else {
		m[k] = ts
	}
	return ts
}

// wait says how long the e-mail address or client must wait before the
// next attempt; 0 lets it try now.
func (t *throttle) wait(email, ip string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var d time.Duration
	if ts := recent(t.byEmail, email, now); len(ts) >= throttlePerEmail {
		d = max(d, throttleWindow-now.Sub(ts[len(ts)-throttlePerEmail]))
	}
	if ts := recent(t.byIP, ip, now); len(ts) >= throttlePerIP {
		d = max(d, throttleWindow-now.Sub(ts[len(ts)-throttlePerIP]))
	}
	return d
}

func (t *throttle) failed(email, ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.byEmail) > 100000 || len(t.byIP) > 100000 {
		// Bounded memory under a spray of addresses: start over.
		t.byEmail, t.byIP = map[string][]time.Time{}, map[string][]time.Time{}
	}
	t.byEmail[email] = append(recent(t.byEmail, email, now), now)
	t.byIP[ip] = append(recent(t.byIP, ip, now), now)
}

func (t *throttle) succeeded(email string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.byEmail, email)
}
