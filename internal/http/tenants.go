package http

import (
	"net/http"
	"strings"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/sqlstore"
)

// tenantView is a tenant as the admin API shows it.
type tenantView struct {
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	HasResultsSecret bool           `json:"has_results_secret"`
	Settings         map[string]any `json:"settings"`
	CreatedAt        string         `json:"created_at"`
}

func newTenantView(t *callscope.Tenant) tenantView {
	v := tenantView{ID: t.ID, Name: t.Name, HasResultsSecret: t.ResultsSecret != "", Settings: t.Settings,
		CreatedAt: t.CreatedAt.Format(time.RFC3339Nano)}
	if v.Settings == nil {
		v.Settings = map[string]any{}
	}
	return v
}

type tenantRequest struct {
	Name          *string        `json:"name"`
	ResultsSecret *string        `json:"results_secret"`
	Settings      map[string]any `json:"settings"`
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
	if err := s.checkSettingURLs(r.Context(), req.Settings); err != nil {
		return err
	}
	t := &callscope.Tenant{Name: *req.Name, Settings: req.Settings}
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
	if err := s.checkSettingURLs(r.Context(), req.Settings); err != nil {
		return err
	}
	t, err := s.Store.UpdateTenant(r.Context(), r.PathValue("tenant_id"), sqlstore.TenantUpdate{
		Name: req.Name, ResultsSecret: req.ResultsSecret, Settings: req.Settings})
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
