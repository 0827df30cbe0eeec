package http

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/campaign"
	"github.com/callscope/callscope/internal/dial"
)

// Outbound campaigns and the do-not-call list: handlers decode, call the
// campaign service and render. Every read and change is scoped to the
// caller's tenant.

// campaigns returns the campaign service, or EUNAVAILABLE when the server
// places no outbound calls.
func (s *Server) campaigns() (*campaign.Service, error) {
	if s.Outbound == nil || s.Campaigns == nil {
		return nil, callscope.Errorf(callscope.EUNAVAILABLE, "Outbound calling is not configured on this server")
	}
	return s.Campaigns, nil
}

// campaignStore is where campaigns and the do-not-call list are read.
func (s *Server) campaignStore() (Store, error) {
	if s.Outbound == nil || s.Campaigns == nil {
		return nil, callscope.Errorf(callscope.EUNAVAILABLE, "Outbound calling is not configured on this server")
	}
	return s.Store, nil
}

// campaignView is a campaign as the API shows it, with its progress.
type campaignView struct {
	ID                   string                   `json:"id"`
	Name                 string                   `json:"name"`
	State                string                   `json:"state"`
	UserID               string                   `json:"user_id"`
	Title                string                   `json:"title"`
	Purpose              string                   `json:"purpose"`
	Script               string                   `json:"script"`
	Concurrency          int                      `json:"concurrency"`
	Redial               map[string]redialView    `json:"redial"`
	CallingWindow        *callscope.CallingWindow `json:"calling_window"`
	TimeZone             string                   `json:"time_zone"`
	DurationMinutes      int                      `json:"duration_minutes"`
	RecordingEnabled     bool                     `json:"recording_enabled"`
	TranscriptionEnabled bool                     `json:"transcription_enabled"`
	Provider             map[string]any           `json:"provider"`
	Progress             campaignProgressView     `json:"progress"`
	CreatedAt            string                   `json:"created_at"`
	UpdatedAt            string                   `json:"updated_at"`
}

type redialView struct {
	DelaySeconds int `json:"delay_seconds"`
	MaxAttempts  int `json:"max_attempts"`
}

// campaignProgressView counts a campaign's contacts by state.
type campaignProgressView struct {
	Contacts int            `json:"contacts"`
	Attempts int            `json:"attempts"`
	Counts   map[string]int `json:"counts"`
}

func newCampaignView(c *callscope.Campaign, p *callscope.CampaignProgress) campaignView {
	v := campaignView{ID: c.ID, Name: c.Name, State: c.State, UserID: c.UserID, Title: c.Title, Purpose: c.Purpose,
		Script: c.Script, Concurrency: c.Concurrency, Redial: map[string]redialView{}, CallingWindow: c.CallingWindow,
		TimeZone: c.TimeZone, DurationMinutes: c.DurationMinutes, RecordingEnabled: c.RecordingEnabled,
		TranscriptionEnabled: c.TranscriptionEnabled, Provider: c.Provider,
		CreatedAt: c.CreatedAt.Format(time.RFC3339Nano), UpdatedAt: c.UpdatedAt.Format(time.RFC3339Nano)}
	for k, r := range c.Redial {
		v.Redial[k] = redialView(r)
	}
	if v.Provider == nil {
		v.Provider = map[string]any{}
	}
	v.Progress = campaignProgressView{Contacts: p.Contacts, Attempts: p.Attempts, Counts: p.ByState}
	return v
}

// campaignContactInput is a contact in a request body.
type campaignContactInput struct {
	Phone     string            `json:"phone"`
	Name      string            `json:"name"`
	TimeZone  string            `json:"time_zone"`
	Variables map[string]string `json:"variables"`
}

// campaignInput is the body that creates a campaign.
type campaignInput struct {
	Name                 *string                    `json:"name"`
	UserID               string                     `json:"user_id"`
	Title                string                     `json:"title"`
	Purpose              string                     `json:"purpose"`
	Script               string                     `json:"script"`
	Concurrency          *int                       `json:"concurrency"`
	Redial               map[string]redialView      `json:"redial"`
	CallingWindow        *callscope.CallingWindow   `json:"calling_window"`
	TimeZone             string                     `json:"time_zone"`
	DurationMinutes      *int                       `json:"duration_minutes"`
	RecordingEnabled     *bool                      `json:"recording_enabled"`
	TranscriptionEnabled *bool                      `json:"transcription_enabled"`
	Provider             map[string]json.RawMessage `json:"provider"`
	Contacts             []campaignContactInput     `json:"contacts"`
}

// contactsInput is the body that adds contacts.
type contactsInput struct {
	Contacts []campaignContactInput `json:"contacts"`
}

// MaxCampaignContacts bounds the contacts one request adds.
const MaxCampaignContacts = 100000

func contactInputs(in []campaignContactInput) ([]callscope.CampaignContactInput, error) {
	if len(in) > MaxCampaignContacts {
		return nil, callscope.ValidationError(callscope.FieldError{Loc: []string{"body", "contacts"},
			Msg: "At most " + strconv.Itoa(MaxCampaignContacts) + " contacts per request", Type: "too_long"})
	}
	out := make([]callscope.CampaignContactInput, len(in))
	for i, c := range in {
		out[i] = callscope.CampaignContactInput{Phone: strings.TrimSpace(c.Phone), Name: c.Name, TimeZone: c.TimeZone, Variables: c.Variables}
	}
	return out, nil
}

func (s *Server) handleCreateCampaign(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.campaigns()
	if err != nil {
		return err
	}
	var in campaignInput
	if err := decodeJSON(r, bodyLimit(r), &in); err != nil {
		return err
	}
	if in.Name == nil {
		return callscope.ValidationError(callscope.FieldError{Loc: []string{"body", "name"}, Msg: "Field required", Type: "missing"})
	}
	c := &callscope.Campaign{TenantID: tenantID(r), Name: strings.TrimSpace(*in.Name), UserID: in.UserID, Title: in.Title,
		Purpose: in.Purpose, Script: in.Script, Concurrency: 5, Redial: callscope.RedialPolicy{}, CallingWindow: in.CallingWindow,
		TimeZone: in.TimeZone, DurationMinutes: callscope.DefaultCallMinutes, RecordingEnabled: true, TranscriptionEnabled: true,
		Provider: map[string]any{}}
	if in.Concurrency != nil {
		c.Concurrency = *in.Concurrency
	}
	if in.DurationMinutes != nil {
		c.DurationMinutes = *in.DurationMinutes
	}
	if in.RecordingEnabled != nil {
		c.RecordingEnabled = *in.RecordingEnabled
	}
	if in.TranscriptionEnabled != nil {
		c.TranscriptionEnabled = *in.TranscriptionEnabled
	}
	for k, v := range in.Redial {
		c.Redial[k] = callscope.RedialRule(v)
	}
	if len(in.Provider) > 50 {
		return callscope.ValidationError(callscope.FieldError{Loc: []string{"body", "provider"}, Msg: "At most 50 provider parameters", Type: "too_long"})
	}
	for k, raw := range in.Provider {
		if k == "variables" {
			return callscope.ValidationError(callscope.FieldError{Loc: []string{"body", "provider", k},
				Msg: "Script variables are given per contact", Type: "value_error"})
		}
		if k == "simulate" {
			if _, err := dial.ParseSimulate(raw); err != nil {
				return err
			}
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return callscope.ValidationError(callscope.FieldError{Loc: []string{"body", "provider", k}, Msg: "Invalid JSON value", Type: "json_invalid"})
		}
		c.Provider[k] = v
	}
	contacts, err := contactInputs(in.Contacts)
	if err != nil {
		return err
	}
	if err := svc.Create(r.Context(), c, contacts); err != nil {
		return err
	}
	return s.writeCampaign(w, r, http.StatusCreated, c.ID)
}

func (s *Server) writeCampaign(w http.ResponseWriter, r *http.Request, status int, id string) error {
	st, err := s.campaignStore()
	if err != nil {
		return err
	}
	c, err := st.Campaign(r.Context(), tenantID(r), id)
	if err != nil {
		return err
	}
	p, err := st.CampaignProgress(r.Context(), c.TenantID, c.ID)
	if err != nil {
		return err
	}
	writeJSON(w, status, newCampaignView(c, p))
	return nil
}

// pageQuery reads the limit (1 to 500, default def) and cursor (an id of
// at most 64 bytes) query parameters.
func pageQuery(r *http.Request, def int) (limit int, cursor string, err error) {
	limit = def
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > callscope.MaxPageSize {
			return 0, "", callscope.ValidationError(callscope.FieldError{Loc: []string{"query", "limit"},
				Msg: "Input should be an integer from 1 to " + strconv.Itoa(callscope.MaxPageSize), Type: "value_error"})
		}
		limit = n
	}
	cursor = r.URL.Query().Get("cursor")
	if len(cursor) > 64 {
		return 0, "", callscope.ValidationError(callscope.FieldError{Loc: []string{"query", "cursor"}, Msg: "Unknown cursor", Type: "value_error"})
	}
	return limit, cursor, nil
}

func (s *Server) handleListCampaigns(w http.ResponseWriter, r *http.Request) error {
	st, err := s.campaignStore()
	if err != nil {
		return err
	}
	limit, cursor, err := pageQuery(r, 50)
	if err != nil {
		return err
	}
	cs, err := st.Campaigns(r.Context(), tenantID(r), cursor, limit)
	if err != nil {
		return err
	}
	out := make([]campaignView, len(cs))
	for i, c := range cs {
		p, err := st.CampaignProgress(r.Context(), c.TenantID, c.ID)
		if err != nil {
			return err
		}
		out[i] = newCampaignView(c, p)
	}
	next := ""
	if len(cs) == limit {
		next = cs[len(cs)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"campaigns": out, "next_cursor": next})
	return nil
}

func (s *Server) handleGetCampaign(w http.ResponseWriter, r *http.Request) error {
	return s.writeCampaign(w, r, http.StatusOK, r.PathValue("campaign_id"))
}

func (s *Server) handleAddCampaignContacts(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.campaigns()
	if err != nil {
		return err
	}
	var in contactsInput
	if err := decodeJSON(r, bodyLimit(r), &in); err != nil {
		return err
	}
	if in.Contacts == nil {
		return callscope.ValidationError(callscope.FieldError{Loc: []string{"body", "contacts"}, Msg: "Field required", Type: "missing"})
	}
	contacts, err := contactInputs(in.Contacts)
	if err != nil {
		return err
	}
	added, err := svc.AddContacts(r.Context(), tenantID(r), r.PathValue("campaign_id"), contacts)
	if err != nil {
		return err
	}
	st, err := s.campaignStore()
	if err != nil {
		return err
	}
	c, err := st.Campaign(r.Context(), tenantID(r), r.PathValue("campaign_id"))
	if err != nil {
		return err
	}
	p, err := st.CampaignProgress(r.Context(), c.TenantID, c.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"added": added, "campaign": newCampaignView(c, p)})
	return nil
}

func (s *Server) campaignAction(action func(svc *campaign.Service, r *http.Request) (*callscope.Campaign, error)) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		svc, err := s.campaigns()
		if err != nil {
			return err
		}
		c, err := action(svc, r)
		if err != nil {
			return err
		}
		return s.writeCampaign(w, r, http.StatusOK, c.ID)
	}
}

func (s *Server) handlePauseCampaign(w http.ResponseWriter, r *http.Request) error {
	return s.campaignAction(func(svc *campaign.Service, r *http.Request) (*callscope.Campaign, error) {
		return svc.Pause(r.Context(), tenantID(r), r.PathValue("campaign_id"))
	})(w, r)
}

func (s *Server) handleResumeCampaign(w http.ResponseWriter, r *http.Request) error {
	return s.campaignAction(func(svc *campaign.Service, r *http.Request) (*callscope.Campaign, error) {
		return svc.Resume(r.Context(), tenantID(r), r.PathValue("campaign_id"))
	})(w, r)
}

func (s *Server) handleCancelCampaign(w http.ResponseWriter, r *http.Request) error {
	return s.campaignAction(func(svc *campaign.Service, r *http.Request) (*callscope.Campaign, error) {
		return svc.Cancel(r.Context(), tenantID(r), r.PathValue("campaign_id"))
	})(w, r)
}

// campaignAttemptView is one entry of a campaign's attempt and skip log.
type campaignAttemptView struct {
	ID      string `json:"id"`
	Event   string `json:"event"`
	Contact string `json:"contact"`
	CallID  string `json:"call_id"`
	Attempt int    `json:"attempt"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
	At      string `json:"at"`
}

func (s *Server) handleCampaignAttempts(w http.ResponseWriter, r *http.Request) error {
	st, err := s.campaignStore()
	if err != nil {
		return err
	}
	c, err := st.Campaign(r.Context(), tenantID(r), r.PathValue("campaign_id"))
	if err != nil {
		return err
	}
	limit, cursor, err := pageQuery(r, 100)
	if err != nil {
		return err
	}
	event := r.URL.Query().Get("event")
	if event != "" && event != callscope.LogAttempt && event != callscope.LogOutcome && event != callscope.LogSkip {
		return callscope.ValidationError(callscope.FieldError{Loc: []string{"query", "event"},
			Msg: "Input should be one of attempt, outcome, skip", Type: "enum"})
	}
	log, err := st.CampaignLog(r.Context(), c.TenantID, c.ID, event, cursor, limit)
	if err != nil {
		return err
	}
	out := make([]campaignAttemptView, len(log))
	for i, e := range log {
		out[i] = campaignAttemptView{ID: e.ID, Event: e.Event, Contact: e.Contact, CallID: e.CallID, Attempt: e.Attempt,
			Outcome: e.Outcome, Reason: e.Reason, At: e.At.Format(time.RFC3339Nano)}
	}
	next := ""
	if len(log) == limit {
		next = log[len(log)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"attempts": out, "next_cursor": next})
	return nil
}

// doNotCallView is a number on the do-not-call list.
type doNotCallView struct {
	Number    string `json:"number"`
	Source    string `json:"source"`
	CallID    string `json:"call_id"`
	Reason    string `json:"reason"`
	CreatedAt string `json:"created_at"`
}

func newDoNotCallView(e *callscope.DoNotCallEntry) doNotCallView {
	return doNotCallView{Number: e.Number, Source: e.Source, CallID: e.CallID, Reason: e.Reason, CreatedAt: e.CreatedAt.Format(time.RFC3339Nano)}
}

// doNotCallInput is the body that adds a number to the list.
type doNotCallInput struct {
	Number *string `json:"number"`
	Reason string  `json:"reason"`
}

func (s *Server) handleListDoNotCall(w http.ResponseWriter, r *http.Request) error {
	st, err := s.campaignStore()
	if err != nil {
		return err
	}
	limit, cursor, err := pageQuery(r, 100)
	if err != nil {
		return err
	}
	list, err := st.DoNotCallList(r.Context(), tenantID(r), cursor, limit)
	if err != nil {
		return err
	}
	out := make([]doNotCallView, len(list))
	for i, e := range list {
		out[i] = newDoNotCallView(e)
	}
	next := ""
	if len(list) == limit {
		next = list[len(list)-1].Number
	}
	writeJSON(w, http.StatusOK, map[string]any{"numbers": out, "next_cursor": next})
	return nil
}

func (s *Server) handleAddDoNotCall(w http.ResponseWriter, r *http.Request) error {
	st, err := s.campaignStore()
	if err != nil {
		return err
	}
	var in doNotCallInput
	if err := decodeJSON(r, bodyLimit(r), &in); err != nil {
		return err
	}
	switch {
	case in.Number == nil:
		return callscope.ValidationError(callscope.FieldError{Loc: []string{"body", "number"}, Msg: "Field required", Type: "missing"})
	case !callscope.ValidE164(strings.TrimSpace(*in.Number)):
		return callscope.ValidationError(callscope.FieldError{Loc: []string{"body", "number"},
			Msg: "Input should be a phone number in E.164 form, e.g. +14155550123", Type: "value_error"})
	case len(in.Reason) > 1000:
		return callscope.ValidationError(callscope.FieldError{Loc: []string{"body", "reason"}, Msg: "Reason is longer than 1000 characters", Type: "string_too_long"})
	}
	e, added, err := st.AddDoNotCall(r.Context(), &callscope.DoNotCallEntry{TenantID: tenantID(r), Number: strings.TrimSpace(*in.Number),
		Source: callscope.DNCSourceAPI, Reason: in.Reason})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if added {
		status = http.StatusCreated
	}
	writeJSON(w, status, newDoNotCallView(e))
	return nil
}

func (s *Server) handleDeleteDoNotCall(w http.ResponseWriter, r *http.Request) error {
	st, err := s.campaignStore()
	if err != nil {
		return err
	}
	if err := st.DeleteDoNotCall(r.Context(), tenantID(r), r.PathValue("number")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
