package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/callscope/callscope"
)

// analyzer is an analyzer as the API shows it.
type analyzer struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Kind         string          `json:"kind"`
	Prompt       string          `json:"prompt"`
	OutputSchema json.RawMessage `json:"output_schema"`
	Active       bool            `json:"active"`
	Version      int             `json:"version"`
}

// backfill is a backfill's progress as the API shows it.
type backfill struct {
	ID          string  `json:"id"`
	Status      string  `json:"status"`
	Total       int     `json:"total"`
	Done        int     `json:"done"`
	FailedCount int     `json:"failed_count"`
	Percent     float64 `json:"percent"`
	LastError   *string `json:"last_error"`
	CreatedAt   string  `json:"created_at"`
}

// analyzerForm is a create or edit form's values and errors.
type analyzerForm struct {
	ID, Name, Kind, Prompt, OutputSchema string
	Errors                               map[string]string
	Error                                string
}

// analyzersPage is the analyzers page's content.
type analyzersPage struct {
	Analyzers []analyzer
	Form      analyzerForm
}

// analyzerPage is one analyzer's page: its edit form and backfills.
type analyzerPage struct {
	Analyzer  analyzer
	Form      analyzerForm
	Backfills []backfill
	Error     string
}

func (c *Console) handleAnalyzers(w http.ResponseWriter, r *http.Request, s *session) {
	c.showAnalyzers(w, r, s, http.StatusOK, analyzerForm{Kind: "llm"})
}

func (c *Console) showAnalyzers(w http.ResponseWriter, r *http.Request, s *session, status int, f analyzerForm) {
	var list []analyzer
	if err := c.call(r.Context(), s, "GET", "/api/analyzers", nil, &list); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.adminPage(w, r, s, "analyzers", "Analyzers", status, analyzersPage{Analyzers: list, Form: f})
}

// analyzerBody is the JSON the API takes for the form: empty fields are
// left out, so that the API's own defaults and checks apply.
func analyzerBody(r *http.Request) (analyzerForm, map[string]any) {
	f := analyzerForm{Name: strings.TrimSpace(r.PostFormValue("name")), Kind: strings.TrimSpace(r.PostFormValue("kind")),
		Prompt: r.PostFormValue("prompt"), OutputSchema: strings.TrimSpace(r.PostFormValue("output_schema"))}
	body := map[string]any{"name": f.Name, "prompt": f.Prompt}
	if f.Kind != "" {
		body["kind"] = f.Kind
	}
	if f.OutputSchema != "" {
		if !json.Valid([]byte(f.OutputSchema)) {
			body["output_schema"] = f.OutputSchema // the API names the problem
		} else {
			body["output_schema"] = json.RawMessage(f.OutputSchema)
		}
	}
	return f, body
}

func (c *Console) handleCreateAnalyzer(w http.ResponseWriter, r *http.Request, s *session) {
	f, body := analyzerBody(r)
	var a analyzer
	if err := c.call(r.Context(), s, "POST", "/api/analyzers", body, &a); err != nil {
		c.adminFail(w, r, s, err, func(e *apiError) {
			f.Errors, f.Error = e.Fields, e.Message
			c.showAnalyzers(w, r, s, http.StatusUnprocessableEntity, f)
		})
		return
	}
	seeOther(w, r, "/admin/analyzers", "analyzer-created")
}

func (c *Console) handleAnalyzer(w http.ResponseWriter, r *http.Request, s *session) {
	c.showAnalyzer(w, r, s, http.StatusOK, nil, "")
}

func (c *Console) showAnalyzer(w http.ResponseWriter, r *http.Request, s *session, status int, f *analyzerForm, msg string) {
	id := url.PathEscape(r.PathValue("id"))
	var p analyzerPage
	if err := c.call(r.Context(), s, "GET", "/api/analyzers/"+id, nil, &p.Analyzer); err != nil {
		c.adminFail(w, r, s, err, func(e *apiError) {
			c.renderError(w, r, s, http.StatusNotFound, "Not found", "There is no such analyzer in your organization.")
		})
		return
	}
	if err := c.call(r.Context(), s, "GET", "/api/analyzers/"+id+"/backfills", nil, &p.Backfills); err != nil {
		c.fail(w, r, s, err)
		return
	}
	if f != nil {
		p.Form = *f
	} else {
		a := p.Analyzer
		p.Form = analyzerForm{ID: a.ID, Name: a.Name, Kind: a.Kind, Prompt: a.Prompt}
		if len(a.OutputSchema) > 0 && string(a.OutputSchema) != "null" {
			p.Form.OutputSchema = string(a.OutputSchema)
		}
	}
	p.Error = msg
	c.adminPage(w, r, s, "analyzer", "Analyzer "+p.Analyzer.Name, status, p)
}

func (c *Console) handleUpdateAnalyzer(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	f, body := analyzerBody(r)
	f.ID = id
	if err := c.call(r.Context(), s, "PATCH", "/api/analyzers/"+url.PathEscape(id), body, nil); err != nil {
		c.adminFail(w, r, s, err, func(e *apiError) {
			f.Errors, f.Error = e.Fields, e.Message
			c.showAnalyzer(w, r, s, http.StatusUnprocessableEntity, &f, "")
		})
		return
	}
	seeOther(w, r, "/admin/analyzers/"+url.PathEscape(id), "analyzer-saved")
}

func (c *Console) handleActivateAnalyzer(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	active := r.PostFormValue("active") == "true"
	if err := c.call(r.Context(), s, "PATCH", "/api/analyzers/"+url.PathEscape(id), map[string]any{"active": active}, nil); err != nil {
		c.adminFail(w, r, s, err, func(e *apiError) { c.renderError(w, r, s, http.StatusConflict, "Cannot do that", e.Message) })
		return
	}
	msg := "analyzer-deactivated"
	if active {
		msg = "analyzer-activated"
	}
	seeOther(w, r, "/admin/analyzers", msg)
}

func (c *Console) handleBackfill(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	body := map[string]any{}
	if v := strings.TrimSpace(r.PostFormValue("from")); v != "" {
		body["from"] = v
	}
	if v := strings.TrimSpace(r.PostFormValue("to")); v != "" {
		body["to"] = v
	}
	if err := c.call(r.Context(), s, "POST", "/api/analyzers/"+url.PathEscape(id)+"/backfill", body, nil); err != nil {
		c.adminFail(w, r, s, err, func(e *apiError) { c.showAnalyzer(w, r, s, http.StatusUnprocessableEntity, nil, e.Message) })
		return
	}
	seeOther(w, r, "/admin/analyzers/"+url.PathEscape(id), "backfill-started")
}

// webhook is a webhook endpoint as the API shows it.
type webhook struct {
	ID             string   `json:"id"`
	URL            string   `json:"url"`
	Description    string   `json:"description"`
	EventTypes     []string `json:"event_types"`
	Enabled        bool     `json:"enabled"`
	DisabledReason string   `json:"disabled_reason"`
	Secret         string   `json:"secret"`
	CreatedAt      string   `json:"created_at"`
}

// webhookDelivery is a delivery of an endpoint as the API shows it.
type webhookDelivery struct {
	ID           string `json:"id"`
	MessageID    string `json:"message_id"`
	CallID       string `json:"call_id"`
	Status       string `json:"status"`
	AttemptCount int    `json:"attempt_count"`
	LastError    string `json:"last_error"`
	CreatedAt    string `json:"created_at"`
	DeliveredAt  string `json:"delivered_at"`
	Attempts     []struct {
		Attempt    int    `json:"attempt"`
		At         string `json:"at"`
		StatusCode int    `json:"status_code"`
		LatencyMS  int64  `json:"latency_ms"`
		Error      string `json:"error"`
	} `json:"attempts"`
	Payload struct {
		Type string `json:"type"`
	} `json:"payload"`
}

// webhookForm is the create form's values and errors.
type webhookForm struct {
	URL, Description, EventTypes string
	Errors                       map[string]string
	Error                        string
}

// webhooksPage is the webhooks page's content.
type webhooksPage struct {
	Webhooks []webhook
	Form     webhookForm
	Created  *webhook
}

// webhookPage is one endpoint's delivery log.
type webhookPage struct {
	Webhook    webhook
	Deliveries []webhookDelivery
}

func (c *Console) handleWebhooks(w http.ResponseWriter, r *http.Request, s *session) {
	c.showWebhooks(w, r, s, http.StatusOK, webhooksPage{})
}

func (c *Console) showWebhooks(w http.ResponseWriter, r *http.Request, s *session, status int, p webhooksPage) {
	var list struct {
		Webhooks []webhook `json:"webhooks"`
	}
	if err := c.call(r.Context(), s, "GET", "/api/v1/webhooks", nil, &list); err != nil {
		c.fail(w, r, s, err)
		return
	}
	p.Webhooks = list.Webhooks
	c.adminPage(w, r, s, "webhooks", "Webhooks", status, p)
}

func (c *Console) handleCreateWebhook(w http.ResponseWriter, r *http.Request, s *session) {
	f := webhookForm{URL: strings.TrimSpace(r.PostFormValue("url")), Description: r.PostFormValue("description"), EventTypes: r.PostFormValue("event_types")}
	body := map[string]any{"url": f.URL, "description": f.Description}
	if types := splitList(f.EventTypes); len(types) > 0 {
		body["event_types"] = types
	}
	var created webhook
	if err := c.call(r.Context(), s, "POST", "/api/v1/webhooks", body, &created); err != nil {
		c.adminFail(w, r, s, err, func(e *apiError) {
			f.Errors, f.Error = e.Fields, e.Message
			c.showWebhooks(w, r, s, http.StatusUnprocessableEntity, webhooksPage{Form: f})
		})
		return
	}
	// The signing secret is shown once, on this answer.
	c.showWebhooks(w, r, s, http.StatusCreated, webhooksPage{Created: &created})
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		out = append(out, f)
	}
	return out
}

func (c *Console) handleDeleteWebhook(w http.ResponseWriter, r *http.Request, s *session) {
	if err := c.call(r.Context(), s, "DELETE", "/api/v1/webhooks/"+url.PathEscape(r.PathValue("id")), nil, nil); err != nil {
		c.adminFail(w, r, s, err, func(e *apiError) { c.renderError(w, r, s, http.StatusNotFound, "Cannot do that", e.Message) })
		return
	}
	seeOther(w, r, "/admin/webhooks", "webhook-deleted")
}

func (c *Console) handleWebhook(w http.ResponseWriter, r *http.Request, s *session) {
	id := url.PathEscape(r.PathValue("id"))
	var p webhookPage
	if err := c.call(r.Context(), s, "GET", "/api/v1/webhooks/"+id, nil, &p.Webhook); err != nil {
		c.adminFail(w, r, s, err, func(e *apiError) {
			c.renderError(w, r, s, http.StatusNotFound, "Not found", "There is no such webhook endpoint in your organization.")
		})
		return
	}
	var list struct {
		Deliveries []webhookDelivery `json:"deliveries"`
	}
	if err := c.call(r.Context(), s, "GET", "/api/v1/webhooks/"+id+"/deliveries", nil, &list); err != nil {
		c.fail(w, r, s, err)
		return
	}
	p.Deliveries = list.Deliveries
	c.adminPage(w, r, s, "webhook", "Webhook "+p.Webhook.URL, http.StatusOK, p)
}

func (c *Console) handleReplayWebhookDelivery(w http.ResponseWriter, r *http.Request, s *session) {
	id := url.PathEscape(r.PathValue("id"))
	if err := c.replay(r, s, id, r.PathValue("delivery_id")); err != nil {
		c.adminFail(w, r, s, err, func(e *apiError) { c.renderError(w, r, s, http.StatusConflict, "Cannot do that", e.Message) })
		return
	}
	seeOther(w, r, "/admin/webhooks/"+id, "delivery-replayed")
}

// replay sends a webhook delivery again through the API's replay.
func (c *Console) replay(r *http.Request, s *session, endpointID, deliveryID string) error {
	return c.call(r.Context(), s, "POST", "/api/v1/webhooks/"+url.PathEscape(endpointID)+"/deliveries/"+url.PathEscape(deliveryID)+"/replay", nil, nil)
}

// apiKey is an API key as the API shows it.
type apiKey struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Prefix    string  `json:"prefix"`
	Admin     bool    `json:"admin"`
	Key       string  `json:"key"`
	CreatedAt string  `json:"created_at"`
	RevokedAt *string `json:"revoked_at"`
}

// keysPage is the API keys page's content.
type keysPage struct {
	Keys    []apiKey
	Created *apiKey
	Name    string
	Errors  map[string]string
	Error   string
}

func (c *Console) keysTarget(s *session) string {
	return "/api/v1/tenants/" + url.PathEscape(s.user.TenantID) + "/api-keys"
}

func (c *Console) handleKeys(w http.ResponseWriter, r *http.Request, s *session) {
	c.showKeys(w, r, s, http.StatusOK, keysPage{})
}

func (c *Console) showKeys(w http.ResponseWriter, r *http.Request, s *session, status int, p keysPage) {
	var list struct {
		Keys []apiKey `json:"api_keys"`
	}
	if err := c.call(r.Context(), s, "GET", c.keysTarget(s), nil, &list); err != nil {
		c.fail(w, r, s, err)
		return
	}
	p.Keys = list.Keys
	c.adminPage(w, r, s, "keys", "API keys", status, p)
}

func (c *Console) handleCreateKey(w http.ResponseWriter, r *http.Request, s *session) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	var k apiKey
	// Keys made here are the tenant's own, never installation admin keys.
	if err := c.call(r.Context(), s, "POST", c.keysTarget(s), map[string]any{"name": name}, &k); err != nil {
		c.adminFail(w, r, s, err, func(e *apiError) {
			c.showKeys(w, r, s, http.StatusUnprocessableEntity, keysPage{Name: name, Errors: e.Fields, Error: e.Message})
		})
		return
	}
	c.Logger.Info("console api key created", "user", s.user.ID, "key", k.ID)
	c.showKeys(w, r, s, http.StatusCreated, keysPage{Created: &k})
}

func (c *Console) handleRevokeKey(w http.ResponseWriter, r *http.Request, s *session) {
	if err := c.call(r.Context(), s, "DELETE", c.keysTarget(s)+"/"+url.PathEscape(r.PathValue("id")), nil, nil); err != nil {
		c.adminFail(w, r, s, err, func(e *apiError) { c.renderError(w, r, s, http.StatusNotFound, "Cannot do that", e.Message) })
		return
	}
	c.Logger.Info("console api key revoked", "user", s.user.ID, "key", r.PathValue("id"))
	seeOther(w, r, "/admin/api-keys", "key-revoked")
}

// settingsPage is the tenant settings page's content.
type settingsPage struct {
	Tenant   string
	Settings string
	Error    string
}

func (c *Console) tenantTarget(s *session) string {
	return "/api/v1/tenants/" + url.PathEscape(s.user.TenantID)
}

func (c *Console) handleSettings(w http.ResponseWriter, r *http.Request, s *session) {
	var t struct {
		Name     string          `json:"name"`
		Settings json.RawMessage `json:"settings"`
	}
	if err := c.call(r.Context(), s, "GET", c.tenantTarget(s), nil, &t); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.adminPage(w, r, s, "settings", "Settings", http.StatusOK, settingsPage{Tenant: t.Name, Settings: editableSettings(t.Settings)})
}

// editableSettings is the settings as the API shows them, indented, less
// the read-only has_… flags that stand for write-only secrets: written
// back as they are, they would be refused, and the stored secrets are kept
// when left out.
func editableSettings(raw json.RawMessage) string {
	var doc map[string]any
	if json.Unmarshal(raw, &doc) != nil {
		return string(raw)
	}
	for _, v := range doc {
		if obj, ok := v.(map[string]any); ok {
			for k, flag := range obj {
				if _, isBool := flag.(bool); isBool && strings.HasPrefix(k, "has_") {
					delete(obj, k)
				}
			}
		}
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return string(raw)
	}
	return string(b)
}

func (c *Console) handleSaveSettings(w http.ResponseWriter, r *http.Request, s *session) {
	text := r.PostFormValue("settings")
	p := settingsPage{Settings: text}
	if !json.Valid([]byte(text)) {
		p.Error = "This is not valid JSON."
		c.adminPage(w, r, s, "settings", "Settings", http.StatusUnprocessableEntity, p)
		return
	}
	if err := c.call(r.Context(), s, "PATCH", c.tenantTarget(s), map[string]any{"settings": json.RawMessage(text)}, nil); err != nil {
		c.adminFail(w, r, s, err, func(e *apiError) {
			p.Error = e.Message
			c.adminPage(w, r, s, "settings", "Settings", http.StatusUnprocessableEntity, p)
		})
		return
	}
	c.Logger.Info("console settings changed", "user", s.user.ID, "tenant", s.user.TenantID)
	seeOther(w, r, "/admin/settings", "settings-saved")
}

// usersPage is the users page's content.
type usersPage struct {
	Users             []*callscope.User
	Email, Name, Role string
	Errors            map[string]string
	Created           string
}

func (c *Console) handleUsers(w http.ResponseWriter, r *http.Request, s *session) {
	c.showUsers(w, r, s, http.StatusOK, usersPage{Role: string(callscope.RoleAgent)})
}

func (c *Console) showUsers(w http.ResponseWriter, r *http.Request, s *session, status int, p usersPage) {
	users, err := c.Store.Users(r.Context(), s.user.TenantID)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	p.Users = users
	c.adminPage(w, r, s, "users", "Users", status, p)
}

func (c *Console) handleCreateUser(w http.ResponseWriter, r *http.Request, s *session) {
	p := usersPage{Email: strings.TrimSpace(r.PostFormValue("email")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Role: r.PostFormValue("role"), Errors: map[string]string{}}
	password := r.PostFormValue("password")
	if e := callscope.NormalizeEmail(p.Email); e == "" || !strings.Contains(e, "@") || len(e) > 254 {
		p.Errors["email"] = "Enter an e-mail address."
	}
	if len(p.Name) > 200 {
		p.Errors["name"] = "At most 200 characters."
	}
	if !callscope.Role(p.Role).Valid() {
		p.Errors["role"] = "Choose admin, supervisor or agent."
	}
	if msg := CheckPasswordStrength(password); msg != "" {
		p.Errors["password"] = msg
	}
	if len(p.Errors) == 0 {
		hash, err := HashPassword(password)
		if err != nil {
			c.fail(w, r, s, err)
			return
		}
		u := &callscope.User{TenantID: s.user.TenantID, Email: p.Email, Name: p.Name, Role: callscope.Role(p.Role), PasswordHash: hash}
		err = c.Store.CreateUser(r.Context(), u)
		switch callscope.ErrorCode(err) {
		case "":
			c.Logger.Info("console user created", "user", s.user.ID, "new_user", u.ID, "role", u.Role)
			seeOther(w, r, "/admin/users", "user-created")
			return
		case callscope.ECONFLICT, callscope.EINVALID:
			p.Errors["email"] = callscope.ErrorMessage(err)
		default:
			c.fail(w, r, s, err)
			return
		}
	}
	c.showUsers(w, r, s, http.StatusUnprocessableEntity, p)
}

func (c *Console) handleDisableUser(w http.ResponseWriter, r *http.Request, s *session) {
	users, err := c.Store.Users(r.Context(), s.user.TenantID)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	var target *callscope.User
	for _, u := range users {
		if u.ID == r.PathValue("id") {
			target = u
		}
	}
	if target == nil {
		c.renderError(w, r, s, http.StatusNotFound, "Not found", "There is no such user in your organization.")
		return
	}
	disable := r.PostFormValue("disabled") != "false"
	if target.ID == s.user.ID && disable {
		c.renderError(w, r, s, http.StatusConflict, "Cannot do that", "You cannot disable your own account.")
		return
	}
	if _, err := c.Store.SetUserDisabled(r.Context(), target.Email, disable); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.Logger.Info("console user disabled", "user", s.user.ID, "target", target.ID, "disabled", disable)
	msg := "user-disabled"
	if !disable {
		msg = "user-enabled"
	}
	seeOther(w, r, "/admin/users", msg)
}
