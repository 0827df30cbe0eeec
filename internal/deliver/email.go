// Package deliver sends results out of callscope: webhooks, e-mail reports,
// agent notifications and CRM pushes, each a durable job logged as a
// delivery, plus the reconciliation of campaign calls.
package deliver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"log/slog"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/wneessen/go-mail"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/sqlstore"
)

// ChannelEmail names e-mail report deliveries.
const ChannelEmail = "email"

// Mail is one e-mail message with a text and an HTML part.
type Mail struct {
	From    string
	To      []string
	Subject string
	Text    string
	HTML    string
}

// Mailer sends e-mail.
type Mailer interface {
	Send(ctx context.Context, m *Mail) error
}

// SMTP sends e-mail through an SMTP server (CALLSCOPE_SMTP_*).
type SMTP struct {
	Host     string
	Port     int
	Username string
	Password string
	// TLS is none, starttls (required) or tls (implicit).
	TLS     string
	Timeout time.Duration
}

var _ Mailer = (*SMTP)(nil)

// Send implements Mailer: one connection per message.
func (s *SMTP) Send(ctx context.Context, m *Mail) error {
	msg := mail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return callscope.Errorf(callscope.EINVALID, "sender %q: %v", m.From, err)
	}
	if err := msg.To(m.To...); err != nil {
		return callscope.Errorf(callscope.EINVALID, "recipients: %v", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)

	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	opts := []mail.Option{mail.WithPort(s.Port), mail.WithTimeout(timeout)}
	switch s.TLS {
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case "tls":
		opts = append(opts, mail.WithSSL())
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if s.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(s.Username), mail.WithPassword(s.Password))
	}
	c, err := mail.NewClient(s.Host, opts...)
	if err != nil {
		return err
	}
	return c.DialAndSendWithContext(ctx, msg)
}

// EmailArgs asks for one e-mail report to be sent; the delivery records
// its recipients and outcome.
type EmailArgs struct {
	TenantID   string `json:"tenant_id"`
	CallID     string `json:"call_id"`
	EventID    string `json:"event_id"`
	DeliveryID string `json:"delivery_id"`
}

// Kind implements river.JobArgs. It is stable: stored jobs refer to it.
func (EmailArgs) Kind() string { return "email.send" }

// InsertOpts retries a report for about a day.
func (EmailArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 12} }

// Email sends call reports to a tenant's recipients (seed 000): a channel
// that records a delivery and enqueues an email.send job per report, and the
// worker of those jobs.
type Email struct {
	Store *sqlstore.Store
	// Queue takes the email.send jobs; set once the queue exists.
	Queue *job.Queue
	// Mailer sends the reports; nil sends none.
	Mailer Mailer
	// From is the sender unless a tenant sets its own.
	From string
	// PublicURL is the base of the link to the call in a report.
	PublicURL string
	Logger    *slog.Logger
}

var _ job.Channel = (*Email)(nil)

// Dispatch implements job.Channel: a report for the tenant's configured
// event, unless the tenant has no recipients or the call is empty.
func (e *Email) Dispatch(ctx context.Context, tx *sqlstore.Tx, ev *callscope.Event) error {
	if e.Mailer == nil || ev.CallID == "" {
		return nil
	}
	t, err := job.Memo(ctx, "tenant:"+ev.TenantID, func() (*callscope.Tenant, error) { return tx.Tenant(ctx, ev.TenantID) })
	if err != nil {
		return err
	}
	set := t.Settings.EmailReport
	if set == nil || len(set.Recipients) == 0 {
		return nil
	}
	on := set.On
	if on == "" {
		on = callscope.EventAnalysisCompleted
	}
	if ev.Type != on {
		return nil
	}
	empty, err := isEmptyCall(ctx, tx, ev.CallID)
	if err != nil || empty {
		return err
	}
	payload, _ := json.Marshal(map[string]any{"recipients": set.Recipients, "event_type": ev.Type})
	d := &callscope.Delivery{TenantID: ev.TenantID, CallID: ev.CallID, EventID: ev.ID, Channel: ChannelEmail,
		Target: strings.Join(set.Recipients, ", "), Payload: payload}
	if err := tx.CreateDelivery(ctx, d); err != nil {
		return err
	}
	e.Queue.Enqueue(tx, EmailArgs{TenantID: ev.TenantID, CallID: ev.CallID, EventID: ev.ID, DeliveryID: d.ID}, nil)
	return nil
}

// callStats is what isEmptyCall reads, in or outside a transaction.
type callStats interface {
	Processing(ctx context.Context, callID string) (*callscope.Processing, error)
	SegmentStats(ctx context.Context, callID string) (int, float64, error)
}

// isEmptyCall reports whether a call has nothing to report: its pipeline
// skipped the language stages as an empty call, or it has two segments or
// fewer (seed 000).
func isEmptyCall(ctx context.Context, q callStats, callID string) (bool, error) {
	p, err := q.Processing(ctx, callID)
	if err != nil && callscope.ErrorCode(err) != callscope.ENOTFOUND {
		return false, err
	}
	if p != nil {
		for _, st := range p.Stages {
			if strings.Contains(st.Reason, "empty call") {
				return true, nil
			}
		}
	}
	n, _, err := q.SegmentStats(ctx, callID)
	if err != nil {
		return false, err
	}
	return n <= 2, nil
}

// EmailWorker works email.send jobs.
type EmailWorker struct {
	river.WorkerDefaults[EmailArgs]
	*Email
}

// Work implements river.Worker: the report is built from the call as it is
// now and sent to the recipients recorded with the delivery.
func (w *EmailWorker) Work(ctx context.Context, j *river.Job[EmailArgs]) error {
	a := j.Args
	d, err := findDelivery(ctx, w.Store, a.TenantID, a.CallID, a.DeliveryID)
	if err != nil {
		return river.JobCancel(err)
	}
	if d.Status == callscope.DeliverySucceeded {
		return nil
	}
	if w.Mailer == nil {
		return finishDelivery(ctx, w.Store, d, j.JobRow, river.JobCancel(errors.New("no SMTP server configured (CALLSCOPE_SMTP_HOST)")))
	}
	c, err := w.Store.Call(ctx, a.TenantID, a.CallID)
	if err != nil {
		return river.JobCancel(err)
	}
	t, err := w.Store.Tenant(ctx, a.TenantID)
	if err != nil {
		return river.JobCancel(err)
	}
	var set callscope.EmailReportSetting
	if t.Settings.EmailReport != nil {
		set = *t.Settings.EmailReport
	}
	var to []string
	_ = json.Unmarshal(d.Payload, &struct {
		Recipients *[]string `json:"recipients"`
	}{&to})
	from := set.From
	if from == "" {
		from = w.From
	}
	m, err := w.Report(ctx, c)
	if err != nil {
		return err
	}
	m.From, m.To = from, to
	err = w.Mailer.Send(ctx, m)
	return finishDelivery(ctx, w.Store, d, j.JobRow, err)
}

// Report builds the e-mail report of a call: summary, entities, to-dos, QA
// score and a link to the call.
func (e *Email) Report(ctx context.Context, c *callscope.Call) (*Mail, error) {
	v := newReportView(c, e.PublicURL)
	var text, html bytes.Buffer
	if err := reportText.Execute(&text, v); err != nil {
		return nil, err
	}
	if err := reportHTML.Execute(&html, v); err != nil {
		return nil, err
	}
	subject := "Call summary: " + v.Party
	if c.StartedAt != nil {
		subject += " on " + c.StartedAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	return &Mail{Subject: subject, Text: text.String(), HTML: html.String()}, nil
}

// reportView is what the report templates read.
type reportView struct {
	Call     *callscope.Call
	Party    string
	Summary  string
	Entities []nlp.Entity
	Todos    []nlp.Todo
	HasQA    bool
	QAScore  float64
	Link     string
}

func newReportView(c *callscope.Call, publicURL string) reportView {
	v := reportView{Call: c, Party: c.From}
	if c.Direction == callscope.Outbound {
		v.Party = c.To
	}
	if c.ContactName != "" {
		v.Party = c.ContactName + " (" + v.Party + ")"
	}
	var s nlp.Summary
	if json.Unmarshal(c.Summary, &s) == nil {
		v.Summary = s.Text
	}
	_ = json.Unmarshal(c.Entities, &v.Entities)
	_ = json.Unmarshal(c.Todos, &v.Todos)
	var qa nlp.QAResult
	if len(c.QA) > 0 && json.Unmarshal(c.QA, &qa) == nil {
		v.HasQA, v.QAScore = true, qa.Score
	}
	if publicURL != "" {
		v.Link = strings.TrimRight(publicURL, "/") + "/api/v1/calls/" + c.PublicID()
	}
	return v
}

var reportText = texttemplate.Must(texttemplate.New("text").Parse(`Call with {{.Party}} ({{.Call.Direction}}, {{printf "%.0f" .Call.DurationSeconds}} s, {{.Call.Status}})

Summary
{{if .Summary}}{{.Summary}}{{else}}(no summary){{end}}
{{if .Entities}}
Entities
{{range .Entities}}- {{.Type}}: {{.Text}}
{{end}}{{end}}{{if .Todos}}
To-dos
{{range .Todos}}- {{.Text}}{{if .Owner}} ({{.Owner}}){{end}}{{if .Due}}, due {{.Due}}{{end}}
{{end}}{{end}}{{if .HasQA}}
QA score: {{printf "%.0f" .QAScore}}/100
{{end}}{{if .Link}}
{{.Link}}
{{end}}`))

var reportHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html><body>
<h1>Call with {{.Party}}</h1>
<p>{{.Call.Direction}}, {{printf "%.0f" .Call.DurationSeconds}} s, {{.Call.Status}}</p>
<h2>Summary</h2>
<p>{{if .Summary}}{{.Summary}}{{else}}(no summary){{end}}</p>
{{if .Entities}}<h2>Entities</h2>
<ul>{{range .Entities}}<li>{{.Type}}: {{.Text}}</li>{{end}}</ul>
{{end}}{{if .Todos}}<h2>To-dos</h2>
<ul>{{range .Todos}}<li>{{.Text}}{{if .Owner}} ({{.Owner}}){{end}}{{if .Due}}, due {{.Due}}{{end}}</li>{{end}}</ul>
{{end}}{{if .HasQA}}<p>QA score: <b>{{printf "%.0f" .QAScore}}</b>/100</p>
{{end}}{{if .Link}}<p><a href="{{.Link}}">Open the call</a></p>
{{end}}</body></html>
`))

// findDelivery returns one of a call's deliveries by id. Returns ENOTFOUND
// if there is none.
func findDelivery(ctx context.Context, s *sqlstore.Store, tenantID, callID, id string) (*callscope.Delivery, error) {
	ds, err := s.Deliveries(ctx, tenantID, callID)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		if d.ID == id {
			return d, nil
		}
	}
	return nil, callscope.Errorf(callscope.ENOTFOUND, "delivery %s not found", id)
}

// finishDelivery records an attempt's outcome and returns what the job
// should return: nil on success, the error (to retry) otherwise. The
// delivery fails for good on a cancelled job or the last attempt.
func finishDelivery(ctx context.Context, s *sqlstore.Store, d *callscope.Delivery, j *rivertype.JobRow, err error) error {
	d.Attempts = j.Attempt
	if err == nil {
		now := s.Now().UTC()
		d.Status, d.LastError, d.DeliveredAt = callscope.DeliverySucceeded, "", &now
	} else {
		d.LastError = err.Error()
		if len(d.LastError) > 1000 {
			d.LastError = d.LastError[:1000]
		}
		d.Status = callscope.DeliveryPending
		var cancel *rivertype.JobCancelError
		if errors.As(err, &cancel) || j.Attempt >= j.MaxAttempts {
			d.Status = callscope.DeliveryFailed
		}
	}
	if uerr := s.UpdateDelivery(ctx, d); uerr != nil {
		return fmt.Errorf("record delivery: %w (after %v)", uerr, err)
	}
	return err
}
