package console

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/contactcsv"
)

// maxCSVUpload bounds an uploaded contacts file (the form around it is
// small).
const maxCSVUpload = 8 << 20

// campaignItem is a campaign as GET /api/v1/campaigns gives it.
type campaignItem struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	State     string `json:"state"`
	Title     string `json:"title"`
	Script    string `json:"script"`
	CreatedAt string `json:"created_at"`
	Progress  struct {
		Contacts int            `json:"contacts"`
		Attempts int            `json:"attempts"`
		Counts   map[string]int `json:"counts"`
	} `json:"progress"`
}

// countView is one outcome's count.
type countView struct {
	Outcome string
	N       int
}

// Counts are the campaign's counts by outcome, in name order.
func (c campaignItem) Counts() []countView {
	out := make([]countView, 0, len(c.Progress.Counts))
	for k, n := range c.Progress.Counts {
		out = append(out, countView{k, n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Outcome < out[j].Outcome })
	return out
}

// attemptItem is one entry of a campaign's attempt log.
type attemptItem struct {
	Event   string `json:"event"`
	Contact string `json:"contact"`
	CallID  string `json:"call_id"`
	Attempt int    `json:"attempt"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
	At      string `json:"at"`
}

// campaignForm is the create form's values and errors.
type campaignForm struct {
	Name, Title, Script, Concurrency, RingSeconds, TalkSeconds string
	Errors                                                     map[string]string
	Error                                                      string
}

// campaignsPage is the campaigns page's content.
type campaignsPage struct {
	Form      campaignForm
	Campaigns []campaignItem
}

// campaignPage is one campaign's page.
type campaignPage struct {
	Campaign campaignItem
	Attempts []attemptItem
	Finished bool
}

// dncItem is a number on the do-not-call list.
type dncItem struct {
	Number    string `json:"number"`
	Source    string `json:"source"`
	CallID    string `json:"call_id"`
	Reason    string `json:"reason"`
	CreatedAt string `json:"created_at"`
}

// dncPage is the do-not-call page's content.
type dncPage struct {
	Numbers []dncItem
	Number  string
	Reason  string
	Error   string
}

func (c *Console) noAPI(w http.ResponseWriter, r *http.Request, s *session) bool {
	if c.API == nil {
		c.renderError(w, r, s, http.StatusNotFound, "Not found", "Campaigns are not served here.")
		return true
	}
	return false
}

func (c *Console) handleCampaigns(w http.ResponseWriter, r *http.Request, s *session) {
	c.showCampaigns(w, r, s, http.StatusOK, campaignForm{Concurrency: "5"})
}

func (c *Console) showCampaigns(w http.ResponseWriter, r *http.Request, s *session, status int, f campaignForm) {
	if c.noAPI(w, r, s) {
		return
	}
	var ans struct {
		Campaigns []campaignItem `json:"campaigns"`
	}
	if err := c.call(r.Context(), s, "GET", "/api/v1/campaigns?limit=100", nil, &ans); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, "campaigns", status, page{Title: "Campaigns", Nav: "outbound", User: s.user, CSRF: s.sess.CSRFToken,
		Flash: flashOf(r), Content: campaignsPage{Form: f, Campaigns: ans.Campaigns}})
}

// campaignFields maps the API's field names to the form's.
var campaignFields = map[string]string{"name": "name", "title": "title", "script": "script", "concurrency": "concurrency",
	"contacts": "contacts", "provider": "ring_seconds"}

func (c *Console) handleCreateCampaign(w http.ResponseWriter, r *http.Request, s *session) {
	if c.noAPI(w, r, s) {
		return
	}
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := campaignForm{Name: v("name"), Title: v("title"), Script: r.PostFormValue("script"), Concurrency: v("concurrency"),
		RingSeconds: v("ring_seconds"), TalkSeconds: v("talk_seconds"), Errors: map[string]string{}}
	body := map[string]any{"name": f.Name}
	if f.Title != "" {
		body["title"] = f.Title
	}
	if f.Script != "" {
		body["script"] = f.Script
	}
	if f.Concurrency != "" {
		n, err := strconv.Atoi(f.Concurrency)
		if err != nil {
			f.Errors["concurrency"] = "Enter a whole number."
		}
		body["concurrency"] = n
	}
	sim := map[string]any{}
	for _, p := range []struct{ form, name, key string }{{f.RingSeconds, "ring_seconds", "ringSeconds"}, {f.TalkSeconds, "talk_seconds", "talkSeconds"}} {
		if p.form == "" {
			continue
		}
		n, err := strconv.Atoi(p.form)
		if err != nil || n < 0 {
			f.Errors[p.name] = "Enter a whole number of seconds."
			continue
		}
		sim[p.key] = n
	}
	if len(sim) > 0 {
		body["provider"] = map[string]any{"simulate": sim}
	}
	file, _, err := r.FormFile("contacts")
	switch {
	case errors.Is(err, http.ErrMissingFile):
		f.Errors["contacts"] = "Choose a CSV file of contacts."
	case err != nil:
		f.Errors["contacts"] = "The file could not be read: it must be at most 8 MB."
	default:
		defer file.Close()
		list, err := contactcsv.Read(file)
		if err != nil {
			f.Errors["contacts"] = err.Error()
		} else {
			body["contacts"] = list
		}
	}
	if len(f.Errors) > 0 {
		c.showCampaigns(w, r, s, http.StatusUnprocessableEntity, f)
		return
	}
	var ans campaignItem
	if err := c.call(r.Context(), s, "POST", "/api/v1/campaigns", body, &ans); err != nil {
		c.adminFail(w, r, s, err, func(e *apiError) {
			for k, msg := range e.Fields {
				if name, ok := campaignFields[k]; ok {
					f.Errors[name] = msg
				}
			}
			f.Error = e.Message
			c.showCampaigns(w, r, s, http.StatusUnprocessableEntity, f)
		})
		return
	}
	c.Logger.Info("console campaign created", "user", s.user.ID, "campaign", ans.ID, "contacts", ans.Progress.Contacts)
	seeOther(w, r, "/outbound/campaigns/"+ans.ID, "campaign-created")
}

func (c *Console) handleCampaign(w http.ResponseWriter, r *http.Request, s *session) {
	if c.noAPI(w, r, s) {
		return
	}
	id := url.PathEscape(r.PathValue("id"))
	var p campaignPage
	fail := func(err error) {
		c.adminFail(w, r, s, err, func(e *apiError) {
			if e.Status == http.StatusNotFound {
				c.renderError(w, r, s, http.StatusNotFound, "Not found", "Your organization has no such campaign.")
				return
			}
			c.renderError(w, r, s, http.StatusBadRequest, "Cannot do that", e.Message)
		})
	}
	if err := c.call(r.Context(), s, "GET", "/api/v1/campaigns/"+id, nil, &p.Campaign); err != nil {
		fail(err)
		return
	}
	var log struct {
		Attempts []attemptItem `json:"attempts"`
	}
	if err := c.call(r.Context(), s, "GET", "/api/v1/campaigns/"+id+"/attempts?limit=200", nil, &log); err != nil {
		fail(err)
		return
	}
	p.Attempts = log.Attempts
	p.Finished = p.Campaign.State == callscope.CampaignCompleted || p.Campaign.State == callscope.CampaignCancelled
	c.render(w, r, "campaign", http.StatusOK, page{Title: "Campaign " + p.Campaign.Name, Nav: "outbound", User: s.user,
		CSRF: s.sess.CSRFToken, Flash: flashOf(r), Content: p})
}

func (c *Console) handleDoNotCall(w http.ResponseWriter, r *http.Request, s *session) {
	c.showDoNotCall(w, r, s, http.StatusOK, dncPage{})
}

func (c *Console) showDoNotCall(w http.ResponseWriter, r *http.Request, s *session, status int, p dncPage) {
	if c.noAPI(w, r, s) {
		return
	}
	var ans struct {
		Numbers []dncItem `json:"numbers"`
	}
	if err := c.call(r.Context(), s, "GET", "/api/v1/do-not-call?limit=100", nil, &ans); err != nil {
		c.fail(w, r, s, err)
		return
	}
	p.Numbers = ans.Numbers
	c.render(w, r, "dnc", status, page{Title: "Do-not-call list", Nav: "outbound", User: s.user, CSRF: s.sess.CSRFToken,
		Flash: flashOf(r), Content: p})
}

func (c *Console) handleAddDoNotCall(w http.ResponseWriter, r *http.Request, s *session) {
	if c.noAPI(w, r, s) {
		return
	}
	p := dncPage{Number: strings.TrimSpace(r.PostFormValue("number")), Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	if err := c.call(r.Context(), s, "POST", "/api/v1/do-not-call", map[string]any{"number": p.Number, "reason": p.Reason}, nil); err != nil {
		c.adminFail(w, r, s, err, func(e *apiError) {
			p.Error = e.Message
			if msg, ok := e.Fields["number"]; ok {
				p.Error = "Number: " + msg
			}
			c.showDoNotCall(w, r, s, http.StatusUnprocessableEntity, p)
		})
		return
	}
	c.Logger.Info("console do-not-call added", "user", s.user.ID)
	seeOther(w, r, "/outbound/do-not-call", "dnc-added")
}

func (c *Console) handleRemoveDoNotCall(w http.ResponseWriter, r *http.Request, s *session) {
	if c.noAPI(w, r, s) {
		return
	}
	if err := c.call(r.Context(), s, "DELETE", "/api/v1/do-not-call/"+url.PathEscape(r.PathValue("number")), nil, nil); err != nil {
		c.adminFail(w, r, s, err, func(e *apiError) {
			if e.Status == http.StatusNotFound {
				c.renderError(w, r, s, http.StatusNotFound, "Not found", "That number is not on the do-not-call list.")
				return
			}
			c.showDoNotCall(w, r, s, http.StatusUnprocessableEntity, dncPage{Error: e.Message})
		})
		return
	}
	c.Logger.Info("console do-not-call removed", "user", s.user.ID)
	seeOther(w, r, "/outbound/do-not-call", "dnc-removed")
}
