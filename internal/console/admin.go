package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/callscope/callscope"
)

// APIFunc runs one route of the JSON API in-process for a tenant and
// returns the answer's status and body. The configuration pages go
// through it, so that they validate and store exactly as the API does.
// (*http.Server).ConsoleAPI is one.
type APIFunc func(ctx context.Context, tenantID, method, target string, body []byte) (int, []byte)

// admin serves h to admins; supervisors and agents get the 403 page.
func (c *Console) admin(h func(w http.ResponseWriter, r *http.Request, s *session)) http.Handler {
	return c.auth(func(w http.ResponseWriter, r *http.Request, s *session) {
		if s.user.Role != callscope.RoleAdmin {
			c.renderError(w, r, s, http.StatusForbidden, "Admins only", "Only an admin of your organization may change its configuration.")
			return
		}
		if c.API == nil {
			c.renderError(w, r, s, http.StatusNotFound, "Not found", "Configuration is not served here.")
			return
		}
		h(w, r, s)
	})
}

// apiError is an API answer's {"detail": …}: a message, or field errors
// keyed by the field's name.
type apiError struct {
	Message string
	Fields  map[string]string
	// Status is the API's HTTP status.
	Status int
}

func (e *apiError) Error() string { return e.Message }

// call runs an API route for the user's tenant and decodes a 2xx answer
// into out (when not nil). Another status is an *apiError.
func (c *Console) call(ctx context.Context, s *session, method, target string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	status, resp := c.API(ctx, s.user.TenantID, method, target, body)
	if status >= 200 && status < 300 {
		if out != nil && len(resp) > 0 {
			return json.Unmarshal(resp, out)
		}
		return nil
	}
	return decodeAPIError(status, resp)
}

func decodeAPIError(status int, resp []byte) *apiError {
	e := &apiError{Fields: map[string]string{}, Status: status}
	var doc struct {
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(resp, &doc) != nil {
		e.Message = http.StatusText(status)
		return e
	}
	if json.Unmarshal(doc.Detail, &e.Message) == nil {
		return e
	}
	var fields []callscope.FieldError
	if json.Unmarshal(doc.Detail, &fields) == nil {
		var msgs []string
		for _, f := range fields {
			name := ""
			if n := len(f.Loc); n > 1 {
				name = f.Loc[1]
			}
			if _, dup := e.Fields[name]; !dup && name != "" {
				e.Fields[name] = f.Msg
			}
			msgs = append(msgs, strings.Join(f.Loc, ".")+": "+f.Msg)
		}
		e.Message = strings.Join(msgs, "; ")
		return e
	}
	e.Message = http.StatusText(status)
	return e
}

// formError renders err on the page: an *apiError's message and fields,
// or the error page for anything else.
func (c *Console) adminFail(w http.ResponseWriter, r *http.Request, s *session, err error, show func(e *apiError)) {
	var e *apiError
	if ae, ok := err.(*apiError); ok {
		e = ae
	}
	if e == nil {
		c.fail(w, r, s, err)
		return
	}
	show(e)
}

// flashes are the messages a redirect after a change may show, by key:
// the page shows only these, never text from the address.
var flashes = map[string]string{
	"campaign-created":     "Campaign created: its calls start now.",
	"dnc-added":            "Number added to the do-not-call list.",
	"dnc-removed":          "Number taken off the do-not-call list.",
	"analyzer-created":     "Analyzer created.",
	"analyzer-saved":       "Analyzer saved.",
	"analyzer-activated":   "Analyzer activated.",
	"analyzer-deactivated": "Analyzer deactivated.",
	"backfill-started":     "Backfill started.",
	"webhook-deleted":      "Webhook endpoint deleted.",
	"delivery-replayed":    "Delivery queued again.",
	"key-revoked":          "API key revoked.",
	"settings-saved":       "Settings saved.",
	"user-created":         "User created.",
	"user-disabled":        "User disabled.",
	"user-enabled":         "User enabled.",
}

// seeOther redirects to the page with the flash message of the key.
func seeOther(w http.ResponseWriter, r *http.Request, path, flash string) {
	if flash != "" {
		path += "?done=" + url.QueryEscape(flash)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// flashOf is the message a redirect carried.
func flashOf(r *http.Request) string {
	return flashes[r.URL.Query().Get("done")]
}

// adminPage renders a configuration page.
func (c *Console) adminPage(w http.ResponseWriter, r *http.Request, s *session, name, title string, status int, content any) {
	c.render(w, r, name, status, page{Title: title, Nav: "admin", User: s.user, CSRF: s.sess.CSRFToken, Flash: flashOf(r), Content: content})
}
