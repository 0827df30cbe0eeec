package http

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/pipeline"
)

// tenantView is a tenant as the admin API shows it.
type tenantView struct {
	ID               string       `json:"id"`
	Name             string       `json:"name"`
	HasResultsSecret bool         `json:"has_results_secret"`
	Settings         settingsView `json:"settings"`
	CreatedAt        string       `json:"created_at"`
}

// settingsView is a tenant's settings as the API shows them: secrets are
// write-only, shown only as whether they are set.
type settingsView struct {
	callscope.Settings
	CRMPush      *crmPushView      `json:"crm_push,omitempty"`
	AgentService *agentServiceView `json:"agent_service,omitempty"`
	Twilio       *twilioView       `json:"twilio,omitempty"`
}

type twilioView struct {
	callscope.TwilioSetting
	AuthToken       string `json:"auth_token,omitempty"` // never filled
	HasAuthToken    bool   `json:"has_auth_token"`
	APIKeySecret    string `json:"api_key_secret,omitempty"` // never filled
	HasAPIKeySecret bool   `json:"has_api_key_secret"`
}

type crmPushView struct {
	callscope.CRMPushSetting
	AuthHeader    string `json:"auth_header,omitempty"` // never filled
	HasAuthHeader bool   `json:"has_auth_header"`
}

type agentServiceView struct {
	callscope.AgentServiceSetting
	ClientSecret    string `json:"client_secret,omitempty"` // never filled
	HasClientSecret bool   `json:"has_client_secret"`
}

func newSettingsView(s callscope.Settings) settingsView {
	v := settingsView{Settings: s}
	if c := s.CRMPush; c != nil {
		v.CRMPush = &crmPushView{CRMPushSetting: *c, HasAuthHeader: c.AuthHeader != ""}
	}
	if a := s.AgentService; a != nil {
		v.AgentService = &agentServiceView{AgentServiceSetting: *a, HasClientSecret: a.ClientSecret != ""}
	}
	if tw := s.Twilio; tw != nil {
		v.Twilio = &twilioView{TwilioSetting: *tw, HasAuthToken: tw.AuthToken != "", HasAPIKeySecret: tw.APIKeySecret != ""}
	}
	return v
}

func newTenantView(t *callscope.Tenant) tenantView {
	return tenantView{ID: t.ID, Name: t.Name, HasResultsSecret: t.ResultsSecret != "", Settings: newSettingsView(t.Settings),
		CreatedAt: t.CreatedAt.Format(time.RFC3339Nano)}
}

type tenantRequest struct {
	Name          *string         `json:"name"`
	ResultsSecret *string         `json:"results_secret"`
	Settings      json.RawMessage `json:"settings"`

	settings *callscope.Settings
}

// decodeSettings reads and validates the request's settings: their shape
// strictly, their values, the pipeline switch names and, for URL settings,
// the outbound address policy.
func (s *Server) decodeSettings(r *http.Request, req *tenantRequest) error {
	if len(req.Settings) == 0 || string(req.Settings) == "null" {
		return nil
	}
	set, err := callscope.DecodeSettings(req.Settings, "body", "settings")
	if err != nil {
		return err
	}
	f := fields(set.Validate("body", "settings"))
	for name := range set.Pipeline {
		if !knownSwitch(name) {
			f.add("Unknown pipeline switch "+strconv.Quote(name)+"; use the ENABLE_* names", "enum", "body", "settings", callscope.SettingPipeline, name)
		}
	}
	urls := set.URLs()
	keys := make([]string, 0, len(urls))
	for k := range urls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		u := urls[k]
		if u == "" {
			continue
		}
		loc := append([]string{"body", "settings"}, strings.Split(k, ".")...)
		if len(u) > 2048 {
			f.add("URL is longer than 2048 characters", "string_too_long", loc...)
		} else if err := s.Egress.CheckURL(r.Context(), u); err != nil {
			f.add(callscope.ErrorMessage(err), "value_error", loc...)
		}
	}
	if err := f.err(); err != nil {
		return err
	}
	req.settings = set
	return nil
}

// knownSwitch reports whether name is an ENABLE_* switch a tenant may set.
func knownSwitch(name string) bool {
	if name == "ENABLE_FULL_PIPELINE" {
		return true
	}
	for _, v := range pipeline.Switch {
		if v == name {
			return true
		}
	}
	return false
}

func (req *tenantRequest) validate(create bool) error {
	var f fields
	if req.Name == nil && create {
		f.add("Field required", "missing", "body", "name")
	} else if req.Name != nil {
		if strings.TrimSpace(*req.Name) == "" {
			f.add("Name may not be empty", "value_error", "body", "name")
		}
		checkText(&f, *req.Name, 200, "body", "name")
	}
	if req.ResultsSecret != nil {
		if n := len(*req.ResultsSecret); n > 0 && n < 16 {
			f.add("Results secret should have at least 16 characters", "string_too_short", "body", "results_secret")
		}
		checkText(&f, *req.ResultsSecret, 512, "body", "results_secret")
	}
	return f.err()
}

func (s *Server) handleListTenants(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.Store.Tenants(r.Context())
	if err != nil {
		return err
	}
	out := make([]tenantView, len(ts))
	for i, t := range ts {
		out[i] = newTenantView(t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"tenants": out})
	return nil
}

func (s *Server) handleCreateTenant(w http.ResponseWriter, r *http.Request) error {
	var req tenantRequest
	if err := decodeJSON(r, s.MaxBodyBytes, &req); err != nil {
		return err
	}
	if err := req.validate(true); err != nil {
		return err
	}
	if err := s.decodeSettings(r, &req); err != nil {
		return err
	}
	t := &callscope.Tenant{Name: *req.Name}
	if req.settings != nil {
		t.Settings = *req.settings
	}
	if req.ResultsSecret != nil {
		t.ResultsSecret = *req.ResultsSecret
	}
	if err := s.Store.CreateTenant(r.Context(), t); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, newTenantView(t))
	return nil
}

func (s *Server) handleGetTenant(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Store.Tenant(r.Context(), r.PathValue("tenant_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newTenantView(t))
	return nil
}

func (s *Server) handleUpdateTenant(w http.ResponseWriter, r *http.Request) error {
	var req tenantRequest
	if err := decodeJSON(r, s.MaxBodyBytes, &req); err != nil {
		return err
	}
	if err := req.validate(false); err != nil {
		return err
	}
	if err := s.decodeSettings(r, &req); err != nil {
		return err
	}
	if req.settings != nil {
		// Secrets are never shown, so settings read and written back leave
		// them out: keep the stored ones.
		old, err := s.Store.Tenant(r.Context(), r.PathValue("tenant_id"))
		if err != nil {
			return err
		}
		req.settings.KeepSecrets(old.Settings)
	}
	t, err := s.Store.UpdateTenant(r.Context(), r.PathValue("tenant_id"), callscope.TenantUpdate{
		Name: req.Name, ResultsSecret: req.ResultsSecret, Settings: req.settings})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newTenantView(t))
	return nil
}

// keyView is an API key as the admin API shows it; Key is set only in the
// answer that creates it.
type keyView struct {
	ID         string  `json:"id"`
	TenantID   string  `json:"tenant_id"`
	Name       string  `json:"name"`
	Prefix     string  `json:"prefix"`
	Admin      bool    `json:"admin"`
	CreatedAt  string  `json:"created_at"`
	RevokedAt  *string `json:"revoked_at"`
	LastUsedAt *string `json:"last_used_at"`
	Key        string  `json:"key,omitempty"`
}

func newKeyView(k *callscope.APIKey) keyView {
	return keyView{ID: k.ID, TenantID: k.TenantID, Name: k.Name, Prefix: "cs_" + k.Prefix, Admin: k.Admin,
		CreatedAt: k.CreatedAt.Format(time.RFC3339Nano), RevokedAt: isoTime(k.RevokedAt), LastUsedAt: isoTime(k.LastUsedAt)}
}

func (s *Server) handleListKeys(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Store.Tenant(r.Context(), r.PathValue("tenant_id"))
	if err != nil {
		return err
	}
	ks, err := s.Store.APIKeys(r.Context(), t.ID)
	if err != nil {
		return err
	}
	out := make([]keyView, len(ks))
	for i, k := range ks {
		out[i] = newKeyView(k)
	}
	writeJSON(w, http.StatusOK, map[string]any{"api_keys": out})
	return nil
}

type keyRequest struct {
	Name  string `json:"name"`
	Admin bool   `json:"admin"`
}

func (s *Server) handleCreateKey(w http.ResponseWriter, r *http.Request) error {
	var req keyRequest
	if err := decodeJSON(r, s.MaxBodyBytes, &req); err != nil {
		return err
	}
	var f fields
	checkText(&f, req.Name, 200, "body", "name")
	if err := f.err(); err != nil {
		return err
	}
	k, plain, err := s.Store.CreateAPIKey(r.Context(), r.PathValue("tenant_id"), req.Name, req.Admin)
	if err != nil {
		return err
	}
	v := newKeyView(k)
	v.Key = plain
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) handleRevokeKey(w http.ResponseWriter, r *http.Request) error {
	k, err := s.Store.RevokeAPIKey(r.Context(), r.PathValue("tenant_id"), r.PathValue("key_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newKeyView(k))
	return nil
}
