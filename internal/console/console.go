// Package console is callscope's web console: server-rendered pages for
// the people who review calls, signed in with a cookie session. Templates
// and assets are embedded; pages read without JavaScript, and a little
// hand-written script adds the audio players, the synchronised transcript
// and local times. The console calls the same store and services as the
// JSON API.
package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/callscope/callscope"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Store is what the console reads and the session records it keeps.
// *sqlstore.Store implements it.
type Store interface {
	UserByEmail(ctx context.Context, email string) (*callscope.User, error)
	CreateUserSession(ctx context.Context, s *callscope.UserSession) error
	UserSession(ctx context.Context, tokenHash string, now time.Time) (*callscope.UserSession, *callscope.User, error)
	DeleteUserSession(ctx context.Context, id string) error
	SetUserPassword(ctx context.Context, userID, hash, keepSessionID string) error

	Call(ctx context.Context, tenantID, ref string) (*callscope.Call, error)
	SearchCalls(ctx context.Context, cq callscope.CallQuery) ([]*callscope.Call, error)
	CallsWithRecordings(ctx context.Context, callIDs []string) (map[string]bool, error)
	Segments(ctx context.Context, callID string) ([]callscope.Segment, error)
	Recordings(ctx context.Context, callID string) ([]*callscope.Recording, error)
	AnalyzerRuns(ctx context.Context, callID string) ([]*callscope.AnalyzerRun, error)
	Analyzers(ctx context.Context, tenantID string, activeOnly bool) ([]*callscope.Analyzer, error)
	Deliveries(ctx context.Context, tenantID, callID string) ([]*callscope.Delivery, error)
	Processing(ctx context.Context, callID string) (*callscope.Processing, error)
	Evolution(ctx context.Context, callID, kind string) ([]*callscope.EvolutionSnapshot, error)

	Users(ctx context.Context, tenantID string) ([]*callscope.User, error)
	CreateUser(ctx context.Context, u *callscope.User) error
	SetUserDisabled(ctx context.Context, email string, disabled bool) (*callscope.User, error)
	WebhookDelivery(ctx context.Context, tenantID, id string) (*callscope.WebhookDelivery, error)
}

// Rerunner queues a run of analyzers over a call's transcript.
// *analyze.Service implements it.
type Rerunner interface {
	Rerun(ctx context.Context, c *callscope.Call, analyzers []*callscope.Analyzer) (int64, error)
}

// RecordingServer writes a call's recording (with Range requests) for a
// tenant. Returns ENOTFOUND when the tenant has no such call or the call no
// recording.
type RecordingServer func(w http.ResponseWriter, r *http.Request, tenantID, callID string) error

// EventServer streams a call's live events as Server-Sent Events for a
// tenant.
type EventServer func(w http.ResponseWriter, r *http.Request, tenantID, callID string) error

// Console serves the web console. Set the fields, then use it as an
// http.Handler for the patterns Patterns lists.
type Console struct {
	Store    Store
	Analysis Rerunner
	// Recording serves recordings to the players.
	Recording RecordingServer
	// Events, if set, serves a call's live events to the call page.
	Events EventServer
	Logger *slog.Logger
	// Now is the clock.
	Now func() time.Time
	// API, if set, runs the JSON API's routes in-process for the
	// configuration pages (admins), the call page's replays and the
	// outbound page.
	API APIFunc
	// AutocallerPrefix is where the Auto-Caller routes are (default
	// /autocaller).
	AutocallerPrefix string
	// SessionTTL is how long a sign-in lasts (default 12 hours).
	SessionTTL time.Duration

	mux      *http.ServeMux
	pages    map[string]*template.Template
	throttle *throttle
}

// Patterns lists the request patterns the console answers, for the
// server's mux.
func (c *Console) Patterns() []string {
	return []string{
		"GET /{$}",
		"GET /favicon.ico",
		"GET /console/assets/{file}",
		"GET /login",
		"POST /login",
		"POST /logout",
		"GET /account",
		"POST /account/password",
		"GET /calls",
		"GET /calls/{id}",
		"POST /calls/{id}/rerun",
		"GET /calls/{id}/recording",
		"GET /calls/{id}/events",
		"GET /live",
		"POST /calls/{id}/todos/{todo_id}/done",

		"GET /admin",
		"GET /admin/analyzers",
		"POST /admin/analyzers",
		"GET /admin/analyzers/{id}",
		"POST /admin/analyzers/{id}",
		"POST /admin/analyzers/{id}/active",
		"POST /admin/analyzers/{id}/backfill",
		"GET /admin/webhooks",
		"POST /admin/webhooks",
		"GET /admin/webhooks/{id}",
		"POST /admin/webhooks/{id}/delete",
		"POST /admin/webhooks/{id}/deliveries/{delivery_id}/replay",
		"GET /admin/api-keys",
		"POST /admin/api-keys",
		"POST /admin/api-keys/{id}/revoke",
		"GET /admin/users",
		"POST /admin/users",
		"POST /admin/users/{id}/disable",
		"GET /admin/settings",
		"POST /admin/settings",
		"POST /calls/{id}/deliveries/{delivery_id}/replay",
		"GET /outbound",
		"POST /outbound",
		"GET /outbound/campaigns",
		"POST /outbound/campaigns",
		"GET /outbound/campaigns/{id}",
		"GET /outbound/do-not-call",
		"POST /outbound/do-not-call",
		"POST /outbound/do-not-call/{number}/delete",
	}
}

// Init prepares the templates and routes; ServeHTTP calls it.
func (c *Console) Init() error {
	if c.mux != nil {
		return nil
	}
	if c.Store == nil {
		return errors.New("console: no store")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = 12 * time.Hour
	}
	c.throttle = newThrottle(c.Now)
	c.pages = map[string]*template.Template{}
	for _, p := range []string{"login", "account", "calls", "call", "live", "error", "outbound", "campaigns", "campaign", "dnc"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+p+".html")
		if err != nil {
			return err
		}
		c.pages[p] = t
	}
	for _, p := range []string{"analyzers", "analyzer", "webhooks", "webhook", "keys", "users", "settings"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/admin_nav.html", "templates/"+p+".html")
		if err != nil {
			return err
		}
		c.pages[p] = t
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/calls", http.StatusSeeOther) })
	m.HandleFunc("GET /favicon.ico", c.serveFavicon)
	m.HandleFunc("GET /console/assets/{file}", c.serveAsset)
	m.HandleFunc("GET /login", c.handleLoginPage)
	m.HandleFunc("POST /login", c.handleLogin)
	m.Handle("POST /logout", c.auth(c.handleLogout))
	m.Handle("GET /account", c.auth(c.handleAccount))
	m.Handle("POST /account/password", c.auth(c.handlePassword))
	m.Handle("GET /calls", c.auth(c.handleCalls))
	m.Handle("GET /calls/{id}", c.auth(c.handleCall))
	m.Handle("POST /calls/{id}/rerun", c.auth(c.handleRerun))
	m.Handle("GET /calls/{id}/recording", c.auth(c.handleRecording))
	m.Handle("GET /calls/{id}/events", c.auth(c.handleEvents))
	m.Handle("GET /live", c.auth(c.handleLive))
	m.Handle("POST /calls/{id}/todos/{todo_id}/done", c.auth(c.handleTodoDone))
	m.Handle("GET /admin", c.admin(func(w http.ResponseWriter, r *http.Request, s *session) {
		http.Redirect(w, r, "/admin/analyzers", http.StatusSeeOther)
	}))
	m.Handle("GET /admin/analyzers", c.admin(c.handleAnalyzers))
	m.Handle("POST /admin/analyzers", c.admin(c.handleCreateAnalyzer))
	m.Handle("GET /admin/analyzers/{id}", c.admin(c.handleAnalyzer))
	m.Handle("POST /admin/analyzers/{id}", c.admin(c.handleUpdateAnalyzer))
	m.Handle("POST /admin/analyzers/{id}/active", c.admin(c.handleActivateAnalyzer))
	m.Handle("POST /admin/analyzers/{id}/backfill", c.admin(c.handleBackfill))
	m.Handle("GET /admin/webhooks", c.admin(c.handleWebhooks))
	m.Handle("POST /admin/webhooks", c.admin(c.handleCreateWebhook))
	m.Handle("GET /admin/webhooks/{id}", c.admin(c.handleWebhook))
	m.Handle("POST /admin/webhooks/{id}/delete", c.admin(c.handleDeleteWebhook))
	m.Handle("POST /admin/webhooks/{id}/deliveries/{delivery_id}/replay", c.admin(c.handleReplayWebhookDelivery))
	m.Handle("GET /admin/api-keys", c.admin(c.handleKeys))
	m.Handle("POST /admin/api-keys", c.admin(c.handleCreateKey))
	m.Handle("POST /admin/api-keys/{id}/revoke", c.admin(c.handleRevokeKey))
	m.Handle("GET /admin/users", c.admin(c.handleUsers))
	m.Handle("POST /admin/users", c.admin(c.handleCreateUser))
	m.Handle("POST /admin/users/{id}/disable", c.admin(c.handleDisableUser))
	m.Handle("GET /admin/settings", c.admin(c.handleSettings))
	m.Handle("POST /admin/settings", c.admin(c.handleSaveSettings))
	m.Handle("POST /calls/{id}/deliveries/{delivery_id}/replay", c.auth(c.handleCallReplay))
	m.Handle("GET /outbound", c.auth(c.handleOutbound))
	m.Handle("POST /outbound", c.auth(c.handleSchedule))
	m.Handle("GET /outbound/campaigns", c.auth(c.handleCampaigns))
	m.Handle("POST /outbound/campaigns", c.auth(c.handleCreateCampaign))
	m.Handle("GET /outbound/campaigns/{id}", c.auth(c.handleCampaign))
	m.Handle("GET /outbound/do-not-call", c.auth(c.handleDoNotCall))
	m.Handle("POST /outbound/do-not-call", c.auth(c.handleAddDoNotCall))
	m.Handle("POST /outbound/do-not-call/{number}/delete", c.auth(c.handleRemoveDoNotCall))
	c.mux = m
	return nil
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := c.Init(); err != nil {
		http.Error(w, "console unavailable", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	if r.Body != nil {
		limit := int64(64 << 10)
		if r.Method == http.MethodPost && r.URL.Path == "/outbound/campaigns" {
			limit = maxCSVUpload // a contacts file
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
	}
	c.mux.ServeHTTP(w, r)
}

func (c *Console) serveAsset(w http.ResponseWriter, r *http.Request) {
	b, err := fs.ReadFile(assetFS, "assets/"+r.PathValue("file"))
	if err != nil {
		c.renderError(w, r, nil, http.StatusNotFound, "Not found", "There is no such file.")
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	http.ServeContent(w, r, r.PathValue("file"), time.Time{}, bytes.NewReader(b))
}

func (c *Console) serveFavicon(w http.ResponseWriter, r *http.Request) {
	b, _ := fs.ReadFile(assetFS, "assets/favicon.svg")
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(b)
}

// page is what every page template gets.
type page struct {
	Title   string
	Nav     string // the nav entry to mark current
	User    *callscope.User
	CSRF    string
	Flash   string
	Content any
}

// render writes a page with the status.
func (c *Console) render(w http.ResponseWriter, r *http.Request, name string, status int, p page) {
	var buf bytes.Buffer
	if err := c.pages[name].Execute(&buf, p); err != nil {
		c.Logger.Error("console render", "page", name, "error", err)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage is the content of the error page.
type errorPage struct {
	Heading string
	Message string
}

func (c *Console) renderError(w http.ResponseWriter, r *http.Request, s *session, status int, heading, message string) {
	p := page{Title: heading, Content: errorPage{heading, message}}
	if s != nil {
		p.User, p.CSRF = s.user, s.sess.CSRFToken
	}
	c.render(w, r, "error", status, p)
}

// fail renders the error page for err: the call-not-found page for
// ENOTFOUND, the message for EINVALID and ECONFLICT, and a logged internal
// error otherwise.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	switch callscope.ErrorCode(err) {
	case callscope.ENOTFOUND:
		c.renderError(w, r, s, http.StatusNotFound, "Not found", "There is no such call in your organization. Go back to the call list to find the one you want.")
	case callscope.EINVALID:
		c.renderError(w, r, s, http.StatusBadRequest, "Cannot do that", callscope.ErrorMessage(err))
	case callscope.ECONFLICT:
		c.renderError(w, r, s, http.StatusConflict, "Cannot do that", callscope.ErrorMessage(err))
	default:
		if errors.Is(err, context.Canceled) {
			return
		}
		c.Logger.Error("console", "path", r.URL.Path, "error", err)
		c.renderError(w, r, s, http.StatusInternalServerError, "Something went wrong", "The server could not answer. Try again in a moment.")
	}
}
