package deliver_test

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/deliver"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/nlp"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

// receivedMail is one message an in-process SMTP server accepted.
type receivedMail struct {
	From string
	To   []string
	Data []byte
}

// smtpSink is an SMTP backend keeping every message.
type smtpSink struct {
	mu   sync.Mutex
	msgs []receivedMail
	got  chan struct{}
}

func (b *smtpSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{b: b}, nil }

type smtpSession struct {
	b   *smtpSink
	cur receivedMail
}

func (s *smtpSession) Reset()        { s.cur = receivedMail{} }
func (s *smtpSession) Logout() error { return nil }
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.cur.From = from
	return nil
}
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = b
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	s.b.got <- struct{}{}
	return nil
}

// mustSMTPServer starts a real SMTP server on loopback and returns its
// sink and port.
func mustSMTPServer(t *testing.T) (*smtpSink, int) {
	t.Helper()
	sink := &smtpSink{got: make(chan struct{}, 16)}
	srv := smtp.NewServer(sink)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sink, ln.Addr().(*net.TCPAddr).Port
}

// deliverEnv is a store and a working queue with the given channels.
type deliverEnv struct {
	store *sqlstore.Store
	queue *job.Queue
}

// mustDeliverEnv opens a SQLite store and starts a queue whose dispatch
// worker hands events to channels; add registers further workers.
func mustDeliverEnv(t *testing.T, channels []job.Channel, add func(*river.Workers, *sqlstore.Store)) *deliverEnv {
	t.Helper()
	ctx := context.Background()
	s := sqlstoretest.Open(t, sqlstore.SQLite)
	if err := job.Migrate(ctx, s); err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &job.DispatchEventWorker{Store: s, Channels: channels})
	if add != nil {
		add(workers, s)
	}
	q, err := job.New(s, workers, job.Config{PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	q.DispatchTo(channels...)
	return &deliverEnv{store: s, queue: q}
}

func (e *deliverEnv) start(t *testing.T) {
	t.Helper()
	if err := e.queue.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.queue.Stop(context.Background()) })
}

// mustCall stores a finished call with n transcript segments and results.
func mustCall(t *testing.T, s *sqlstore.Store, tenantID string, n int) *callscope.Call {
	t.Helper()
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	raw := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	c := &callscope.Call{TenantID: tenantID, Direction: callscope.Inbound, From: "+254700000001", To: "116",
		ContactName: "Amina Otieno", Status: callscope.CallCompleted, StartedAt: &start, DurationSeconds: 95,
		ExternalIDs: []callscope.ExternalID{{Kind: "pbx", Value: "1761295415." + strconv.Itoa(n) + lastN(callscope.NewID(), 8)}},
		Summary:     raw(nlp.Summary{Text: "Customer asked to move the delivery to Friday."}),
		Entities:    raw([]nlp.Entity{{Type: "DATE", Text: "Friday"}, {Type: "PERSON", Text: "Amina"}}),
		Todos:       raw([]nlp.Todo{{Text: "Reschedule the delivery", Owner: "agent", Due: "2026-03-06"}}),
		QA:          raw(nlp.QAResult{Score: 87})}
	if err := s.CreateCall(ctx, c); err != nil {
		t.Fatal(err)
	}
	segs := make([]callscope.Segment, n)
	for i := range segs {
		segs[i] = callscope.Segment{SegmentID: i, Speaker: "agent", StartTime: float64(i), EndTime: float64(i) + 1, Text: "words"}
	}
	if err := s.PutSegments(ctx, c.ID, segs); err != nil {
		t.Fatal(err)
	}
	return c
}

func mustTenantWith(t *testing.T, s *sqlstore.Store, settings map[string]any) *callscope.Tenant {
	t.Helper()
	tn := &callscope.Tenant{Name: "tenant-" + callscope.NewID(), Settings: callscope.SettingsOf(settings)}
	if err := s.CreateTenant(context.Background(), tn); err != nil {
		t.Fatal(err)
	}
	return tn
}

// recordEvents records events for calls in one transaction, as the
// pipeline does when analysis completes.
func recordEvents(t *testing.T, e *deliverEnv, typ string, calls ...*callscope.Call) {
	t.Helper()
	err := e.store.InTx(context.Background(), func(tx *sqlstore.Tx) error {
		for _, c := range calls {
			if _, err := e.queue.RecordEvent(context.Background(), tx, c, eventOf(typ, c)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestEmailReport(t *testing.T) {
	sink, port := mustSMTPServer(t)
	email := &deliver.Email{From: "calls@callscope.test", PublicURL: "https://calls.example.com",
		Mailer: &deliver.SMTP{Host: "127.0.0.1", Port: port, TLS: "none", Timeout: 5 * time.Second}}
	env := mustDeliverEnv(t, []job.Channel{email}, func(w *river.Workers, s *sqlstore.Store) {
		river.AddWorker(w, &deliver.EmailWorker{Email: email})
	})
	email.Store, email.Queue = env.store, env.queue
	env.start(t)
	ctx := context.Background()
	tn := mustTenantWith(t, env.store, map[string]any{callscope.SettingEmailReport: map[string]any{
		"recipients": []string{"ops@example.com", "lead@example.com"}}})
	full := mustCall(t, env.store, tn.ID, 6)
	empty := mustCall(t, env.store, tn.ID, 2)

	// The empty call's event is dispatched first, in the same job: by the
	// time the full call's report arrives, the empty call has been judged.
	recordEvents(t, env, callscope.EventAnalysisCompleted, empty, full)
	select {
	case <-sink.got:
	case <-time.After(20 * time.Second):
		t.Fatal("no e-mail received")
	}

	sink.mu.Lock()
	msgs := append([]receivedMail(nil), sink.msgs...)
	sink.mu.Unlock()
	if len(msgs) != 1 {
		t.Fatalf("receivedMail %d messages, want 1 (none for the empty call)", len(msgs))
	}
	got := msgs[0]
	if got.From != "calls@callscope.test" || strings.Join(got.To, ",") != "ops@example.com,lead@example.com" {
		t.Fatalf("envelope from %q to %v", got.From, got.To)
	}
	m, err := mail.ReadMessage(strings.NewReader(string(got.Data)))
	if err != nil {
		t.Fatal(err)
	}
	if subj := m.Header.Get("Subject"); !strings.Contains(subj, "Call summary: Amina Otieno (+254700000001)") {
		t.Fatalf("subject = %q", subj)
	}
	if to := m.Header.Get("To"); !strings.Contains(to, "ops@example.com") || !strings.Contains(to, "lead@example.com") {
		t.Fatalf("To = %q", to)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q (%v), want multipart/alternative", mt, err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		b, _ := io.ReadAll(p) // NextPart decodes quoted-printable
		parts[ct] = string(b)
	}
	link := "https://calls.example.com/api/v1/calls/" + full.PublicID()
	for ct, want := range map[string][]string{
		"text/plain": {"Customer asked to move the delivery to Friday.", "DATE: Friday", "Reschedule the delivery (agent), due 2026-03-06", "QA score: 87/100", link},
		"text/html":  {"<h2>Summary</h2>", "Customer asked to move the delivery to Friday.", "<li>DATE: Friday</li>", "QA score: <b>87</b>/100", `href="` + link + `"`},
	} {
		body, ok := parts[ct]
		if !ok {
			t.Fatalf("no %s part in %v", ct, parts)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s part lacks %q:\n%s", ct, w, body)
			}
		}
	}

	ds, err := env.store.Deliveries(ctx, tn.ID, full.ID)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for (len(ds) != 1 || ds[0].Status != callscope.DeliverySucceeded) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		ds, _ = env.store.Deliveries(ctx, tn.ID, full.ID)
	}
	if len(ds) != 1 || ds[0].Channel != deliver.ChannelEmail || ds[0].Status != callscope.DeliverySucceeded || ds[0].Attempts != 1 {
		t.Fatalf("deliveries = %+v, want one succeeded e-mail", ds)
	}
	if ds, _ := env.store.Deliveries(ctx, tn.ID, empty.ID); len(ds) != 0 {
		t.Fatalf("empty call has deliveries %+v", ds)
	}
}

func TestEmailReportOtherEventsAndTenants(t *testing.T) {
	sink, port := mustSMTPServer(t)
	email := &deliver.Email{From: "calls@callscope.test",
		Mailer: &deliver.SMTP{Host: "127.0.0.1", Port: port, TLS: "none", Timeout: 5 * time.Second}}
	env := mustDeliverEnv(t, []job.Channel{email}, func(w *river.Workers, s *sqlstore.Store) {
		river.AddWorker(w, &deliver.EmailWorker{Email: email})
	})
	email.Store, email.Queue = env.store, env.queue
	env.start(t)
	without := mustTenantWith(t, env.store, nil)
	with := mustTenantWith(t, env.store, map[string]any{callscope.SettingEmailReport: map[string]any{
		"recipients": []string{"ops@example.com"}, "from": "reports@tenant.example"}})
	a := mustCall(t, env.store, without.ID, 5)
	b := mustCall(t, env.store, with.ID, 5)
	recordEvents(t, env, callscope.EventCallCompleted, b)     // not the report's event
	recordEvents(t, env, callscope.EventAnalysisCompleted, a) // tenant without recipients
	recordEvents(t, env, callscope.EventAnalysisCompleted, b)
	select {
	case <-sink.got:
	case <-time.After(20 * time.Second):
		t.Fatal("no e-mail received")
	}
	time.Sleep(300 * time.Millisecond) // room for a wrongly sent second message
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.msgs) != 1 || sink.msgs[0].From != "reports@tenant.example" {
		t.Fatalf("messages = %+v, want one from the tenant's sender", sink.msgs)
	}
}

func lastN(s string, n int) string { return s[len(s)-n:] }

// eventOf is a payload of event type typ for c.
func eventOf(typ string, c *callscope.Call) callscope.EventData {
	switch typ {
	case callscope.EventCallCompleted:
		return callscope.CallEndedData{CallRefData: callscope.RefOf(c), Status: callscope.CallCompleted}
	case callscope.EventCallFailed:
		return callscope.CallEndedData{CallRefData: callscope.RefOf(c), Status: callscope.CallFailed}
	case callscope.EventAnalysisCompleted:
		return callscope.AnalysisCompletedData{CallRefData: callscope.RefOf(c)}
	case callscope.EventProcessingFailed:
		return callscope.ProcessingFailedData{CallRefData: callscope.RefOf(c)}
	case callscope.EventRecordingReady:
		return callscope.RecordingReadyData{CallRefData: callscope.RefOf(c)}
	case callscope.EventTranscriptionReady:
		return callscope.TranscriptionReadyData{CallRefData: callscope.RefOf(c)}
	case callscope.EventCallStarted:
		return callscope.CallStartedData{CallRefData: callscope.RefOf(c)}
	}
	return callscope.CallCreatedData{CallRefData: callscope.RefOf(c)}
}
