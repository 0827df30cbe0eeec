package deliver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/egress"
	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/sqlstore"
)

// ChannelCRM names CRM push deliveries.
const ChannelCRM = "crm"

// DefaultCRMMapping is the CRM body sent when a tenant maps no fields.
var DefaultCRMMapping = map[string]string{
	"call_id": "{{.ID}}", "phone": "{{.Phone}}", "status": "{{.Status}}", "started_at": "{{.StartedAt}}",
	"duration_seconds": "{{.DurationSeconds}}", "summary": "{{.Summary}}", "recording": "{{.RecordingURL}}",
}

// CRMView is what CRM mapping templates read: the call's fields, with times
// in the bot's time zone (RFC 3339) and the stable recording URL.
type CRMView struct {
	ID              string // the id the call is known by (its first external id)
	CallscopeID     string
	Direction       string
	From            string
	To              string
	Phone           string // the other party: From for inbound, To for outbound calls
	ContactName     string
	CampaignID      string
	Status          string
	DisconnectedBy  string
	StartedAt       string
	EndedAt         string
	DurationSeconds float64
	Language        string
	Summary         string
	Entities        []nlp.Entity
	Todos           []nlp.Todo
	QAScore         float64
	// RecordingURL is CALLSCOPE_PUBLIC_URL + /recordings/{token}, or "".
	RecordingURL string
	// Results is the voice-bot results document (post_call_analysis, …).
	Results map[string]any
}

// NewCRMView returns the view of a call for mapping templates.
func NewCRMView(c *callscope.Call, recordingURL string, loc *time.Location) *CRMView {
	v := &CRMView{ID: c.PublicID(), CallscopeID: c.ID, Direction: string(c.Direction), From: c.From, To: c.To,
		Phone: c.From, ContactName: c.ContactName, CampaignID: c.CampaignID, Status: string(c.Status),
		DisconnectedBy: c.DisconnectedBy, DurationSeconds: c.DurationSeconds, Language: c.Language,
		RecordingURL: recordingURL, Results: map[string]any{}}
	if c.Direction == callscope.Outbound {
		v.Phone = c.To
	}
	if c.StartedAt != nil {
		v.StartedAt = c.StartedAt.In(loc).Format(time.RFC3339)
	}
	if c.EndedAt != nil {
		v.EndedAt = c.EndedAt.In(loc).Format(time.RFC3339)
	} else if c.CompletedAt != nil {
		v.EndedAt = c.CompletedAt.In(loc).Format(time.RFC3339)
	}
	var s nlp.Summary
	if json.Unmarshal(c.Summary, &s) == nil {
		v.Summary = s.Text
	}
	_ = json.Unmarshal(c.Entities, &v.Entities)
	_ = json.Unmarshal(c.Todos, &v.Todos)
	var qa nlp.QAResult
	if json.Unmarshal(c.QA, &qa) == nil {
		v.QAScore = qa.Score
	}
	_ = json.Unmarshal(c.Raw["call_results"], &v.Results)
	return v
}

// RenderCRMBody executes a mapping over a view into the JSON object sent to
// the CRM. Returns EINVALID for a template that does not parse or run.
func RenderCRMBody(mapping map[string]string, v *CRMView) (map[string]string, error) {
	if len(mapping) == 0 {
		mapping = DefaultCRMMapping
	}
	keys := make([]string, 0, len(mapping))
	for k := range mapping {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]string, len(mapping))
	for _, k := range keys {
		t, err := template.New(k).Option("missingkey=zero").Parse(mapping[k])
		if err != nil {
			return nil, callscope.Errorf(callscope.EINVALID, "settings.%s.mapping.%s: %v", callscope.SettingCRMPush, k, err)
		}
		var b strings.Builder
		if err := t.Execute(&b, v); err != nil {
			return nil, callscope.Errorf(callscope.EINVALID, "settings.%s.mapping.%s: %v", callscope.SettingCRMPush, k, err)
		}
		out[k] = b.String()
	}
	return out, nil
}

// CRM pushes finished calls to tenants' CRMs (seed 004): the worker of
// crm.push jobs, each logged as a delivery.
type CRM struct {
	Store  *sqlstore.Store
	Egress egress.Policy
	// PublicURL is the base of stable recording URLs (CALLSCOPE_PUBLIC_URL).
	PublicURL string
	// RequestTimeout bounds one outbound request.
	RequestTimeout time.Duration
	Logger         *slog.Logger
}

// CRMPushArgs asks for a call's results to be pushed to the tenant's CRM.
type CRMPushArgs struct {
	TenantID string `json:"tenant_id"`
	CallID   string `json:"call_id"`
}

// Kind implements river.JobArgs.
func (CRMPushArgs) Kind() string { return "crm.push" }

// CRMWorker works crm.push jobs.
type CRMWorker struct {
	river.WorkerDefaults[CRMPushArgs]
	*CRM
}

// Work implements river.Worker. A call flagged skip_post_push, or a tenant
// without a CRM, is skipped; 5xx answers, 429 and network errors are
// retried, other answers fail the delivery for good.
func (w *CRMWorker) Work(ctx context.Context, j *river.Job[CRMPushArgs]) error {
	a := j.Args
	c, err := w.Store.Call(ctx, a.TenantID, a.CallID)
	if err != nil {
		return river.JobCancel(err)
	}
	t, err := w.Store.Tenant(ctx, a.TenantID)
	if err != nil {
		return river.JobCancel(err)
	}
	var set callscope.CRMPushSetting
	ok := t.Settings.CRMPush != nil
	if ok {
		set = *t.Settings.CRMPush
	}
	if ok && set.URL == "" {
		err = callscope.Errorf(callscope.EINVALID, "settings.%s.url is not set", callscope.SettingCRMPush)
	}
	if !ok && err == nil {
		return river.RecordOutput(ctx, map[string]string{"skipped": "no CRM push configured"})
	}
	if skipPostPush(c) {
		return river.RecordOutput(ctx, map[string]string{"skipped": "skip_post_push"})
	}
	d, derr := w.delivery(ctx, c, j.JobRow.Attempt, set.URL)
	if derr != nil {
		return derr
	}
	if err != nil {
		return finishDelivery(ctx, w.Store, d, j.JobRow, river.JobCancel(err))
	}
	return finishDelivery(ctx, w.Store, d, j.JobRow, w.push(ctx, c, &set))
}

// delivery returns the delivery this job logs to: a new one on the first
// attempt, the call's latest CRM delivery after.
func (w *CRMWorker) delivery(ctx context.Context, c *callscope.Call, attempt int, target string) (*callscope.Delivery, error) {
	if attempt > 1 {
		ds, err := w.Store.Deliveries(ctx, c.TenantID, c.ID)
		if err != nil {
			return nil, err
		}
		for i := len(ds) - 1; i >= 0; i-- {
			if ds[i].Channel == ChannelCRM {
				return ds[i], nil
			}
		}
	}
	d := &callscope.Delivery{TenantID: c.TenantID, CallID: c.ID, Channel: ChannelCRM, Target: target}
	return d, w.Store.CreateDelivery(ctx, d)
}

// skipPostPush reports whether the call's results ask for no CRM push.
func skipPostPush(c *callscope.Call) bool {
	var doc struct {
		Skip any `json:"skip_post_push"`
	}
	_ = json.Unmarshal(c.Raw["call_results"], &doc)
	switch v := doc.Skip.(type) {
	case bool:
		return v
	case string:
		return v == "true" || v == "1"
	}
	return false
}

// RecordingURL returns the stable public URL of a call's first recording
// with an access token, or "".
func (w *CRM) RecordingURL(ctx context.Context, c *callscope.Call) (string, error) {
	if w.PublicURL == "" {
		return "", nil
	}
	recs, err := w.Store.Recordings(ctx, c.ID)
	if err != nil {
		return "", err
	}
	for _, r := range recs {
		if r.AccessToken != "" {
			return strings.TrimRight(w.PublicURL, "/") + "/recordings/" + r.AccessToken, nil
		}
	}
	return "", nil
}

func (w *CRM) push(ctx context.Context, c *callscope.Call, set *callscope.CRMPushSetting) error {
	loc := time.UTC
	if set.Timezone != "" {
		l, err := time.LoadLocation(set.Timezone)
		if err != nil {
			return river.JobCancel(callscope.Errorf(callscope.EINVALID, "settings.%s.timezone: unknown zone %q", callscope.SettingCRMPush, set.Timezone))
		}
		loc = l
	}
	rec, err := w.RecordingURL(ctx, c)
	if err != nil {
		return err
	}
	body, err := RenderCRMBody(set.Mapping, NewCRMView(c, rec, loc))
	if err != nil {
		return river.JobCancel(err)
	}
	b, _ := json.Marshal(body)
	if err := w.Egress.CheckURL(ctx, set.URL); err != nil {
		return river.JobCancel(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, set.URL, bytes.NewReader(b))
	if err != nil {
		return river.JobCancel(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if set.AuthHeader != "" {
		req.Header.Set("Authorization", set.AuthHeader)
	}
	timeout := w.RequestTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	resp, err := w.Egress.Client(timeout).Do(req)
	if err != nil {
		return err // network errors and timeouts are retried
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		return fmt.Errorf("CRM answered %d", resp.StatusCode)
	}
	return river.JobCancel(fmt.Errorf("CRM answered %d", resp.StatusCode))
}
