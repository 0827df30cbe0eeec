package console

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/callscope/callscope"
)

// outboundForm is the schedule form's values and errors.
type outboundForm struct {
	Title, ContactName, ContactPhone, When, Script, Purpose string
	Outcome, RingSeconds, TalkSeconds                       string
	Errors                                                  map[string]string
	Error                                                   string
}

// outboundPage is the outbound page's content.
type outboundPage struct {
	Form      outboundForm
	Calls     []*callscope.Call
	Scheduled string
	Outcomes  []string
}

// outboundOutcomes are the simulator's outcomes the form offers.
var outboundOutcomes = []string{"answer", "busy", "no-answer", "voicemail", "failed"}

func (c *Console) handleOutbound(w http.ResponseWriter, r *http.Request, s *session) {
	c.showOutbound(w, r, s, http.StatusOK, outboundForm{When: c.Now().UTC().Format("2006-01-02T15:04")})
}

func (c *Console) showOutbound(w http.ResponseWriter, r *http.Request, s *session, status int, f outboundForm) {
	calls, err := c.Store.SearchCalls(r.Context(), callscope.CallQuery{CallFilter: callscope.CallFilter{TenantID: s.user.TenantID,
		Direction: callscope.Outbound, Limit: 100}})
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, "outbound", status, page{Title: "Outbound calls", Nav: "outbound", User: s.user, CSRF: s.sess.CSRFToken,
		Content: outboundPage{Form: f, Calls: calls, Scheduled: r.URL.Query().Get("scheduled"), Outcomes: outboundOutcomes}})
}

// scheduleBody is the schedule request for the form, as POST
// /autocaller/calls/schedule takes it; the API validates it.
func (c *Console) scheduleBody(r *http.Request, s *session) (outboundForm, map[string]any) {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := outboundForm{Title: v("title"), ContactName: v("contact_name"), ContactPhone: v("contact_phone"), When: v("scheduled_time"),
		Script: r.PostFormValue("script"), Purpose: v("purpose"), Outcome: v("outcome"), RingSeconds: v("ring_seconds"), TalkSeconds: v("talk_seconds"),
		Errors: map[string]string{}}
	title := f.Title
	if title == "" {
		title = "Call " + f.ContactName
	}
	body := map[string]any{"userId": s.user.ID, "title": title, "contactName": f.ContactName, "contactPhone": f.ContactPhone}
	// The form's datetime-local field is read in UTC (the page says so);
	// a full RFC 3339 time is taken as it is.
	when := f.When
	if when == "" {
		when = c.Now().UTC().Format(time.RFC3339)
	} else if t, err := time.Parse("2006-01-02T15:04", when); err == nil {
		when = t.UTC().Format(time.RFC3339)
	}
	body["scheduledTime"] = when
	if f.Script != "" {
		body["aiScriptTemplate"] = f.Script
	}
	if f.Purpose != "" {
		body["purpose"] = f.Purpose
	}
	if f.Outcome != "" {
		sim := map[string]any{"outcome": f.Outcome}
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
		body["simulate"] = sim
	}
	return f, body
}

// formFields maps the API's field names to the form's.
var formFields = map[string]string{"contactName": "contact_name", "contactPhone": "contact_phone", "scheduledTime": "scheduled_time",
	"aiScriptTemplate": "script", "title": "title", "purpose": "purpose", "simulate": "outcome"}

func (c *Console) handleSchedule(w http.ResponseWriter, r *http.Request, s *session) {
	if c.API == nil {
		c.renderError(w, r, s, http.StatusNotFound, "Not found", "Outbound calls are not served here.")
		return
	}
	f, body := c.scheduleBody(r, s)
	if len(f.Errors) > 0 {
		c.showOutbound(w, r, s, http.StatusUnprocessableEntity, f)
		return
	}
	var ans struct {
		CallID string `json:"callId"`
		Status string `json:"status"`
	}
	if err := c.call(r.Context(), s, "POST", c.autocallerPrefix()+"/calls/schedule", body, &ans); err != nil {
		c.adminFail(w, r, s, err, func(e *apiError) {
			for k, msg := range e.Fields {
				if name, ok := formFields[k]; ok {
					f.Errors[name] = msg
				}
			}
			f.Error = e.Message
			c.showOutbound(w, r, s, http.StatusUnprocessableEntity, f)
		})
		return
	}
	c.Logger.Info("console outbound call scheduled", "user", s.user.ID, "call", ans.CallID)
	http.Redirect(w, r, "/outbound?scheduled="+ans.CallID, http.StatusSeeOther)
}

func (c *Console) autocallerPrefix() string {
	if c.AutocallerPrefix == "" {
		return "/autocaller"
	}
	return c.AutocallerPrefix
}

// handleCallReplay sends one of a call's webhook deliveries again.
func (c *Console) handleCallReplay(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	call, err := c.Store.Call(ctx, s.user.TenantID, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if c.API == nil {
		c.fail(w, r, s, callscope.Errorf(callscope.ECONFLICT, "Deliveries cannot be replayed from this server."))
		return
	}
	ds, err := c.Store.Deliveries(ctx, call.TenantID, call.ID)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	var d *callscope.Delivery
	for _, x := range ds {
		if x.ID == r.PathValue("delivery_id") {
			d = x
		}
	}
	if d == nil {
		c.renderError(w, r, s, http.StatusNotFound, "Not found", "This call has no such delivery.")
		return
	}
	if d.Channel != "webhook" {
		c.fail(w, r, s, callscope.Errorf(callscope.ECONFLICT, "Only webhook deliveries can be replayed here."))
		return
	}
	wd, err := c.Store.WebhookDelivery(ctx, call.TenantID, d.ID)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if err := c.replay(r, s, wd.EndpointID, d.ID); err != nil {
		c.adminFail(w, r, s, err, func(e *apiError) { c.renderError(w, r, s, http.StatusConflict, "Cannot do that", e.Message) })
		return
	}
	c.Logger.Info("console delivery replayed", "user", s.user.ID, "call", call.ID, "delivery", d.ID)
	http.Redirect(w, r, "/calls/"+call.ID+"?replayed="+d.ID+"#deliveries", http.StatusSeeOther)
}
