package http_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/twilio/twilio-go/client"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/analyze"
	"github.com/callscope/callscope/internal/audio"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/config"
	"github.com/callscope/callscope/internal/deliver"
	"github.com/callscope/callscope/internal/dial"
	twiliodial "github.com/callscope/callscope/internal/dial/twilio"
	"github.com/callscope/callscope/internal/egress"
	cshttp "github.com/callscope/callscope/internal/http"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/live"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
	"github.com/callscope/callscope/internal/stream"
	twiliostream "github.com/callscope/callscope/internal/stream/twilio"
)

// The Twilio tests run callscope against a fake of Twilio's REST API
// written from Twilio's documentation (the Call resource,
// https://www.twilio.com/docs/voice/api/call-resource; the Recording
// resource, https://www.twilio.com/docs/voice/api/recording) and post
// Twilio's callbacks signed as https://www.twilio.com/docs/usage/security
// describes.

const (
	twPublic  = "https://calls.example.com"
	twAccount = "AC0123456789abcdef0123456789abcdef"
	twToken   = "authtoken12345"
	twOther   = "ACfedcba9876543210fedcba9876543210"
	twNumber  = "+15559876543"
	twCaller  = "+15551234567"
	twGlobex  = "+15550001111"
)

// signTwilio is X-Twilio-Signature: base64 HMAC-SHA1, keyed with the auth
// token, of the URL followed by every parameter's name and value sorted by
// name.
func signTwilio(token, u string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(u)
	for _, k := range keys {
		b.WriteString(k + params.Get(k))
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// TestTwilioSignatureVector holds the signing of these tests to a vector
// computed with Twilio's official Node library (npm twilio 5.13.1,
// twilio.getExpectedTwilioSignature), and to twilio-go's validator.
func TestTwilioSignatureVector(t *testing.T) {
	u := "https://calls.example.com/twilio/status?call_id=c-1"
	params := url.Values{"AccountSid": {"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}, "CallSid": {"CA0123456789abcdef0123456789abcdef"},
		"CallStatus": {"completed"}, "Direction": {"outbound-api"}, "From": {"+15005550006"}, "To": {"+15558675310"},
		"AnsweredBy": {"machine_end_beep"}}
	const node = "H9MriTTQMFNmdNSdGydO2YCpGYc="
	if got := signTwilio(twToken, u, params); got != node {
		t.Fatalf("signature %s, Node library says %s", got, node)
	}
	m := map[string]string{}
	for k := range params {
		m[k] = params.Get(k)
	}
	v := client.NewRequestValidator(twToken)
	for _, url := range []string{u, "https://calls.example.com:443/twilio/status?call_id=c-1"} {
		if !v.Validate(url, m, node) {
			t.Errorf("twilio-go refuses the vector for %s", url)
		}
	}
}

// fakeTwilio is Twilio's REST API as far as callscope uses it: Calls.json
// (create), Calls/{Sid}.json (update) and recording media, which answers
// 404 for its first notReady requests as Twilio does for a recording still
// being processed.
type fakeTwilio struct {
	t        testing.TB
	srv      *httptest.Server
	mu       sync.Mutex
	creates  []url.Values
	updates  map[string][]string
	media    map[string]int // requests per recording
	notReady int
	mp3      []byte
	wav      []byte // served for .wav when set
	nextSid  int
}

func newFakeTwilio(t testing.TB) *fakeTwilio {
	mp3, err := os.ReadFile(filepath.Join("testdata", "twilio", "recording.mp3"))
	must(t, err)
	f := &fakeTwilio{t: t, updates: map[string][]string{}, media: map[string]int{}, notReady: 2, mp3: mp3}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

var (
	callsPath     = regexp.MustCompile(`^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Calls\.json$`)
	callPath      = regexp.MustCompile(`^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Calls/(CA[0-9a-f]{32})\.json$`)
	recordingPath = regexp.MustCompile(`^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Recordings/(RE[0-9a-f]{32})\.(mp3|wav)$`)
)

// twilioError is Twilio's error body.
func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status})
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	user, pass, ok := r.BasicAuth()
	if !ok || user != twAccount || pass != twToken {
		twilioError(w, 401, 20003, "Authenticate")
		return
	}
	switch p := r.URL.Path; {
	case r.Method == "POST" && callsPath.MatchString(p):
		must(f.t, r.ParseForm())
		f.creates = append(f.creates, r.PostForm)
		f.nextSid++
		sid := fmt.Sprintf("CA%032x", f.nextSid)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		_ = json.NewEncoder(w).Encode(map[string]any{"sid": sid, "account_sid": twAccount, "status": "queued",
			"to": r.PostForm.Get("To"), "from": r.PostForm.Get("From"), "direction": "outbound-api",
			"api_version": "2010-04-01", "uri": "/2010-04-01/Accounts/" + twAccount + "/Calls/" + sid + ".json"})
	case r.Method == "POST" && callPath.MatchString(p):
		must(f.t, r.ParseForm())
		sid := callPath.FindStringSubmatch(p)[2]
		f.updates[sid] = append(f.updates[sid], r.PostForm.Get("Status"))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"sid": sid, "account_sid": twAccount, "status": r.PostForm.Get("Status")})
	case r.Method == "GET" && recordingPath.MatchString(p):
		sid := recordingPath.FindStringSubmatch(p)[2]
		f.media[sid]++
		if f.media[sid] <= f.notReady {
			twilioError(w, 404, 20404, "The requested resource "+p+" was not found")
			return
		}
		if recordingPath.FindStringSubmatch(p)[3] == "wav" {
			if f.wav == nil {
				twilioError(w, 404, 20404, "The requested resource "+p+" was not found")
				return
			}
			w.Header().Set("Content-Type", "audio/x-wav")
			_, _ = w.Write(f.wav)
			return
		}
		w.Header().Set("Content-Type", "audio/mpeg")
		_, _ = w.Write(f.mp3)
	default:
		twilioError(w, 404, 20404, "The requested resource "+p+" was not found")
	}
}

func (f *fakeTwilio) mediaRequests(sid string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.media[sid]
}

// transcriberStub stands in for speech recognition: it hears the same
// three sentences in every recording.
type transcriberStub struct{}

func (transcriberStub) Transcribe(_ context.Context, _ *audio.PCM, _ audio.ChannelMap, _ string) ([]callscope.Segment, string, pipeline.Usage, error) {
	return []callscope.Segment{
		{SegmentID: 0, Speaker: "caller", StartTime: 0, EndTime: 0.6, Text: "Hello, I am calling about my invoice."},
		{SegmentID: 1, Speaker: "agent", StartTime: 0.7, EndTime: 1.2, Text: "Certainly, let me look at it."},
		{SegmentID: 2, Speaker: "caller", StartTime: 1.3, EndTime: 1.9, Text: "Thank you very much."},
	}, "en", pipeline.Usage{AudioSeconds: 2}, nil
}

// twEnv is a server with Twilio's callbacks, the twilio dialer, the
// Media Streams listener, the recording downloads and the pipeline
// working, for tenant acme (twNumber in twAccount) beside tenant globex
// (twGlobex in another account).
type twEnv struct {
	*env
	fake   *fakeTwilio
	acme   *callscope.Tenant
	globex *callscope.Tenant
	rv     *receiver
}

func newTwilioEnv(t testing.TB, d sqlstore.Dialect) *twEnv {
	t.Helper()
	ctx := context.Background()
	s := sqlstoretest.Open(t, d)
	must(t, job.Migrate(ctx, s))
	fake := newFakeTwilio(t)
	workers := river.NewWorkers()
	var q *job.Queue
	hooks := &deliver.Webhooks{Store: s, Policy: egress.Policy{AllowPrivate: true},
		Schedule: []time.Duration{0, 50 * time.Millisecond, 50 * time.Millisecond}}
	callbacks := &deliver.Callbacks{Store: s, Webhooks: hooks}
	river.AddWorker(workers, &job.DispatchEventWorker{Store: s, Channels: []job.Channel{hooks, callbacks}})
	river.AddWorker(workers, hooks.Worker())
	river.AddWorker(workers, callbacks.Worker())
	placer := &dial.Engine{DialerName: "twilio"}
	placer.AddWorkers(workers)
	recordings := blob.Dir{Root: t.TempDir()}
	runner := &pipeline.Runner{Store: s, Engines: (&pipeline.BuiltinEngines{}).For, Switches: config.Switches,
		Recordings: recordings, Speech: transcriberStub{},
		Events: func(ctx context.Context, tx *sqlstore.Tx, c *callscope.Call, data callscope.EventData) error {
			_, err := q.RecordEvent(ctx, tx, c, data)
			return err
		}}
	river.AddWorker(workers, &pipeline.Worker{Runner: runner, Limit: time.Minute})
	api := twiliodial.API{BaseURL: fake.srv.URL}
	recWorker := &twiliodial.RecordingWorker{Egress: egress.Policy{AllowPrivate: true}, API: api,
		Backoff: func(int) time.Duration { return 50 * time.Millisecond }}
	river.AddWorker(workers, recWorker)
	var err error
	q, err = job.New(s, workers, job.Config{PollInterval: 20 * time.Millisecond})
	must(t, err)
	hooks.Queue, callbacks.Queue = q, q
	q.DispatchTo(hooks, callbacks)
	must(t, q.Start(ctx))
	t.Cleanup(func() { q.Stop(context.Background()) })

	e := &twEnv{env: &env{t: t, store: s, queue: q}, fake: fake}
	if tt, ok := t.(*testing.T); ok {
		e.rv = newReceiver(tt)
	}
	e.acme = &callscope.Tenant{Name: "acme", Settings: callscope.SettingsOf(map[string]any{"twilio": map[string]any{
		"account_sid": twAccount, "auth_token": twToken,
		"numbers": []any{map[string]any{"number": twNumber, "label": "Support line"}}}})}
	must(t, s.CreateTenant(ctx, e.acme))
	e.globex = &callscope.Tenant{Name: "globex", Settings: callscope.SettingsOf(map[string]any{"twilio": map[string]any{
		"account_sid": twOther, "auth_token": "othertoken678", "numbers": []any{map[string]any{"number": twGlobex}}}})}
	must(t, s.CreateTenant(ctx, e.globex))
	e.tenant = e.acme
	_, e.key, err = s.CreateAPIKey(ctx, e.acme.ID, "", false)
	must(t, err)

	// Short line leases: the dialer must vouch for its calls while Twilio
	// carries them.
	calls := &call.Service{Store: s, Queue: q, ProcessingEnabled: true, Stages: pipeline.Stages, Recordings: recordings,
		Outbound: call.OutboundConfig{LineLease: 400 * time.Millisecond}}
	recWorker.Calls, recWorker.Recordings = calls, recordings
	placer.Calls = calls
	placer.Dialer = &twiliodial.Dialer{Tenants: s, Calls: calls, PublicURL: twPublic, API: api, KeepAlive: 100 * time.Millisecond}
	sessions := &live.Sessions{Calls: calls, Recordings: recordings, SpoolDir: t.TempDir()}
	streams := &twiliostream.Handler{Sessions: sessions, Tokens: tenantTokens{s}}
	t.Cleanup(streams.Stop)
	e.server = &cshttp.Server{Store: s, Calls: calls, Recordings: recordings, Jobs: q, Webhooks: hooks,
		Analysis: &analyze.Service{Store: s, Queue: q}, Egress: egress.Policy{AllowPrivate: true},
		Outbound: placer, Callbacks: callbacks, Live: sessions, TwilioStream: streams,
		Twilio: &cshttp.TwilioHooks{PublicURL: twPublic, Recordings: &twiliodial.Recordings{Store: s, Queue: q}}}
	hs := httptest.NewServer(e.server.Handler())
	t.Cleanup(hs.Close)
	e.url = hs.URL
	r := e.do("POST", "/autocaller/callback-secret", e.key, nil)
	wantStatus(t, r, 201)
	return e
}

// tenantTokens signs a tenant's streams with its settings' auth token.
type tenantTokens struct{ s *sqlstore.Store }

func (tt tenantTokens) AuthTokenFor(r *http.Request) (string, bool) {
	tn, err := tt.s.TenantByName(r.Context(), stream.TenantFrom(r.Context()))
	if err != nil || tn.Settings.Twilio == nil {
		return "", false
	}
	return tn.Settings.Twilio.AuthToken, true
}

// callback posts a Twilio callback to path (with its query), signed for
// the public URL with token.
func (e *twEnv) callback(path, token string, params url.Values) response {
	e.t.Helper()
	return e.do("POST", path, "", params.Encode(), "Content-Type", "application/x-www-form-urlencoded",
		"X-Twilio-Signature", signTwilio(token, twPublic+path, params))
}

// canonicalXML re-writes a TwiML document with each element's attributes
// sorted, so documents compare whatever order they were written in.
func canonicalXML(t *testing.T, doc string) string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(doc))
	var out bytes.Buffer
	enc := xml.NewEncoder(&out)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		must(t, err)
		switch x := tok.(type) {
		case xml.StartElement:
			sort.Slice(x.Attr, func(i, j int) bool { return x.Attr[i].Name.Local < x.Attr[j].Name.Local })
			must(t, enc.EncodeToken(x))
		case xml.ProcInst:
		default:
			must(t, enc.EncodeToken(xml.CopyToken(tok)))
		}
	}
	must(t, enc.Flush())
	return out.String()
}

// golden compares got with testdata/twilio/name, after replacing the
// values that change from run to run by their names.
func golden(t *testing.T, name, got string, vars map[string]string) {
	t.Helper()
	for k, v := range vars {
		got = strings.ReplaceAll(got, v, "{"+k+"}")
	}
	path := filepath.Join("testdata", "twilio", name)
	if os.Getenv("UPDATE_GOLDEN") != "" {
		must(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	must(t, err)
	if strings.TrimSpace(string(want)) != strings.TrimSpace(got) {
		t.Errorf("%s differs:\n got: %s\nwant: %s", name, got, want)
	}
}

func (e *twEnv) waitCall(ref string, ok func(c *callscope.Call) bool) *callscope.Call {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := e.store.Call(context.Background(), e.acme.ID, ref)
		if err == nil && ok(c) {
			return c
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("call %s never got there: %+v (%v)", ref, c, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitProcessed waits until the call's post-call processing has finished,
// so that no job is running when the test's queue stops.
func (e *twEnv) waitProcessed(ref string) {
	e.t.Helper()
	e.waitCall(ref, func(c *callscope.Call) bool {
		return c.ProcessingStatus == callscope.ProcessingCompleted || c.ProcessingStatus == callscope.ProcessingFailed
	})
}

func (e *twEnv) countEvents(callID, typ string) int {
	e.t.Helper()
	evs, err := e.store.Events(context.Background(), e.acme.ID, callID)
	must(e.t, err)
	n := 0
	for _, ev := range evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

// TestTwilioInbound: an inbound call is answered with TwiML that streams
// and records it; the stream, the status callbacks and the recording all
// land on the one call, keyed by its CallSid.
func TestTwilioInbound(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newTwilioEnv(t, d)
			sid := twiliostream.NewSid("CA")
			voice := url.Values{"AccountSid": {twAccount}, "CallSid": {sid}, "From": {twCaller}, "To": {twNumber},
				"CallStatus": {"ringing"}, "Direction": {"inbound"}, "ApiVersion": {"2010-04-01"}}

			// A bad signature, a number no tenant owns, another tenant's
			// number: refused, and no call is made.
			bad := e.do("POST", "/twilio/voice", "", voice.Encode(), "Content-Type", "application/x-www-form-urlencoded",
				"X-Twilio-Signature", signTwilio("wrongtoken", twPublic+"/twilio/voice", voice))
			wantStatus(t, bad, 403)
			for _, to := range []string{"+15550009999", twGlobex} {
				other := url.Values{}
				for k, v := range voice {
					other[k] = v
				}
				other.Set("To", to)
				wantStatus(t, e.callback("/twilio/voice", twToken, other), 404)
			}
			if _, err := e.store.Call(context.Background(), e.acme.ID, sid); callscope.ErrorCode(err) != callscope.ENOTFOUND {
				t.Fatalf("a refused voice webhook made a call: %v", err)
			}

			r := e.callback("/twilio/voice", twToken, voice)
			wantStatus(t, r, 200)
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
				t.Fatalf("TwiML Content-Type %q", ct)
			}
			c := e.waitCall(sid, func(*callscope.Call) bool { return true })
			golden(t, "voice_answer.xml", canonicalXML(t, string(r.Body)), map[string]string{"call_id": c.ID})
			// Twilio retries a webhook it got no answer to: the same call.
			wantStatus(t, e.callback("/twilio/voice", twToken, voice), 200)

			// The stream: a second of both tracks.
			wsURL := "ws" + strings.TrimPrefix(e.url, "http") + "/twilio/stream/acme"
			tone := make([]int16, 8000)
			for i := range tone {
				tone[i] = int16(4000 * ((i / 20) % 2))
			}
			p := twiliostream.Player{URL: wsURL, AuthToken: twToken, AccountSid: twAccount, Params: map[string]string{"call_id": c.ID}}
			if _, err := p.Play(context.Background(), sid, tone, tone); err != nil {
				t.Fatal(err)
			}
			c = e.waitCall(sid, func(c *callscope.Call) bool { return c.Status == callscope.CallCompleted })

			// Status callbacks, out of order and twice.
			status := func(st string, extra ...string) url.Values {
				v := url.Values{"AccountSid": {twAccount}, "CallSid": {sid}, "From": {twCaller}, "To": {twNumber},
					"CallStatus": {st}, "Direction": {"inbound"}, "ApiVersion": {"2010-04-01"}}
				for i := 0; i+1 < len(extra); i += 2 {
					v.Set(extra[i], extra[i+1])
				}
				return v
			}
			wantStatus(t, e.callback("/twilio/status", twToken, status("completed", "CallDuration", "1")), 204)
			wantStatus(t, e.callback("/twilio/status", twToken, status("ringing")), 204)
			wantStatus(t, e.callback("/twilio/status", twToken, status("completed", "CallDuration", "1")), 204)
			before := e.waitCall(sid, func(*callscope.Call) bool { return true })
			r = e.do("POST", "/twilio/status", "", status("failed").Encode(), "Content-Type", "application/x-www-form-urlencoded",
				"X-Twilio-Signature", signTwilio(twToken, twPublic+"/twilio/status", status("busy")))
			wantStatus(t, r, 403)
			unknown := status("completed")
			unknown.Set("CallSid", twiliostream.NewSid("CA"))
			wantStatus(t, e.callback("/twilio/status", twToken, unknown), 404)

			// The recording, after Twilio's 404s.
			rsid := twiliostream.NewSid("RE")
			rec := url.Values{"AccountSid": {twAccount}, "CallSid": {sid}, "RecordingSid": {rsid},
				"RecordingUrl":    {e.fake.srv.URL + "/2010-04-01/Accounts/" + twAccount + "/Recordings/" + rsid},
				"RecordingStatus": {"completed"}, "RecordingDuration": {"2"}, "RecordingChannels": {"2"},
				"RecordingSource": {"StartCallRecording"}}
			q := "?call_id=" + c.ID
			r = e.do("POST", "/twilio/recording"+q, "", rec.Encode(), "Content-Type", "application/x-www-form-urlencoded",
				"X-Twilio-Signature", signTwilio(twToken, twPublic+"/twilio/recording", rec))
			wantStatus(t, r, 403) // signed without the query it was sent with
			wantStatus(t, e.callback("/twilio/recording"+q, twToken, rec), 204)
			deadline := time.Now().Add(30 * time.Second)
			var mp3 response
			for {
				mp3 = e.do("GET", "/api/calls/"+c.ID+"/recording", e.key, nil)
				if mp3.Status == 200 && mp3.Header.Get("Content-Type") == "audio/mpeg" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no MP3 recording: %d %s", mp3.Status, mp3.Header)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if !bytes.Equal(mp3.Body, e.fake.mp3) || e.fake.mediaRequests(rsid) != 3 {
				t.Fatalf("recording: %d bytes after %d requests", len(mp3.Body), e.fake.mediaRequests(rsid))
			}
			part := e.do("GET", "/api/calls/"+c.ID+"/recording", e.key, nil, "Range", "bytes=0-99")
			wantStatus(t, part, 206)
			if len(part.Body) != 100 || !bytes.Equal(part.Body, e.fake.mp3[:100]) {
				t.Fatalf("range: %d bytes", len(part.Body))
			}

			// One call, complete.
			list := e.do("GET", "/api/calls", e.key, nil)
			wantStatus(t, list, 200)
			var calls []map[string]any
			must(t, json.Unmarshal(list.Body, &calls))
			if len(calls) != 1 || calls[0]["call_sid"] != sid || calls[0]["from_to_number"] != twCaller+" -> "+twNumber ||
				calls[0]["has_recording"] != true {
				t.Fatalf("console calls: %s", list.Body)
			}
			after := e.waitCall(sid, func(*callscope.Call) bool { return true })
			if after.Status != callscope.CallCompleted || after.Direction != callscope.Inbound ||
				after.Metadata["phone_number"] != twNumber || after.Metadata["phone_number_label"] != "Support line" ||
				after.AudioSeconds <= 0 || after.AnsweredAt == nil {
				t.Fatalf("call: %+v", after)
			}
			if before.Status != after.Status {
				t.Fatalf("a bad signature changed the call")
			}
			if n := e.countEvents(c.ID, callscope.EventCallCompleted); n != 1 {
				t.Fatalf("%d call.completed events", n)
			}
			if n := e.countEvents(c.ID, callscope.EventRecordingReady); n != 2 {
				t.Fatalf("%d recording.ready events, want the stream's and Twilio's", n)
			}
			e.waitProcessed(c.ID)
		})
	}
}

// canonicalForm writes a form one "name=value" line per value, sorted, with
// the TwiML canonical.
func canonicalForm(t *testing.T, v url.Values) string {
	t.Helper()
	var lines []string
	for k, vs := range v {
		for _, x := range vs {
			if k == "Twiml" {
				x = canonicalXML(t, x)
			}
			lines = append(lines, k+"="+x)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func (e *twEnv) outboundStatus(callID, sid, to, st string, extra ...string) response {
	e.t.Helper()
	v := url.Values{"AccountSid": {twAccount}, "CallSid": {sid}, "From": {twNumber}, "To": {to},
		"CallStatus": {st}, "Direction": {"outbound-api"}, "ApiVersion": {"2010-04-01"}, "CallbackSource": {"call-progress-events"}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return e.callback("/twilio/status?call_id="+url.QueryEscape(callID), twToken, v)
}

// startOutbound schedules an Auto-Caller call and starts it now; it
// returns the callId, callscope's id of the call and its CallSid.
func (e *twEnv) startOutbound(t *testing.T, to string, extra map[string]any) (string, string, string) {
	t.Helper()
	body := map[string]any{"userId": "u1", "title": "Invoice follow-up", "contactName": "Ada Lovelace", "contactPhone": to,
		"scheduledTime": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "purpose": "the open invoice",
		"aiScriptTemplate": "Hello {{contactName}}, I am calling about {{purpose}}.", "callbackUrl": e.rv.srv.URL + "/hook"}
	if e.rv == nil {
		delete(body, "callbackUrl")
	}
	for k, v := range extra {
		body[k] = v
	}
	r := e.do("POST", "/autocaller/calls/schedule", e.key, body)
	wantStatus(t, r, 201)
	id := r.json(t)["callId"].(string)
	r = e.do("POST", "/autocaller/calls/"+id+"/start", e.key, map[string]any{"userId": "u1"})
	wantStatus(t, r, 200)
	sid, _ := r.json(t)["sessionDetails"].(map[string]any)["providerSessionId"].(string)
	if !strings.HasPrefix(sid, "CA") {
		t.Fatalf("start answered %s", r.Body)
	}
	c, err := e.store.Call(context.Background(), e.acme.ID, id)
	must(t, err)
	if c.ExternalID(callscope.ExtCallSID) != sid {
		t.Fatalf("CallSid %s not linked to the call: %+v", sid, c.ExternalIDs)
	}
	return id, c.ID, sid
}

// TestTwilioOutbound: a seed 002 call placed through Twilio rings, is
// answered and completes by Twilio's status callbacks (some twice, some
// late), its recording arrives after two 404s, is transcribed, and the
// Auto-Caller app is called back with recording.ready,
// transcription.ready and one call.completed.
func TestTwilioOutbound(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newTwilioEnv(t, d)
			const to = "+14155550101"
			id, callID, sid := e.startOutbound(t, to, nil)
			if len(e.fake.creates) != 1 {
				t.Fatalf("%d calls created at Twilio", len(e.fake.creates))
			}
			golden(t, "create_call.txt", canonicalForm(t, e.fake.creates[0]), map[string]string{"call_id": callID})

			for _, st := range [][]string{{"initiated"}, {"ringing"}, {"in-progress", "AnsweredBy", "human"},
				{"completed", "CallDuration", "20"}, {"completed", "CallDuration", "20"}, {"ringing"}} {
				wantStatus(t, e.outboundStatus(callID, sid, to, st[0], st[1:]...), 204)
			}
			c := e.waitCall(id, func(c *callscope.Call) bool { return true })
			if c.Status != callscope.CallCompleted || c.AnsweredAt == nil || c.ProcessingStatus != callscope.ProcessingNone {
				t.Fatalf("after completed: status %s, processing %q (it waits for the recording)", c.Status, c.ProcessingStatus)
			}

			rsid := twiliostream.NewSid("RE")
			rec := url.Values{"AccountSid": {twAccount}, "CallSid": {sid}, "RecordingSid": {rsid},
				"RecordingUrl":    {e.fake.srv.URL + "/2010-04-01/Accounts/" + twAccount + "/Recordings/" + rsid},
				"RecordingStatus": {"completed"}, "RecordingDuration": {"2"}, "RecordingChannels": {"2"},
				"RecordingSource": {"OutboundAPI"}}
			wantStatus(t, e.callback("/twilio/recording?call_id="+callID, twToken, rec), 204)
			for _, typ := range []string{"recording.ready", "transcription.ready", "call.completed"} {
				e.rv.waitFor(t, typ)
			}
			if n := e.fake.mediaRequests(rsid); n != 3 {
				t.Fatalf("%d media requests, want 404, 404, 200", n)
			}
			r := e.do("GET", "/autocaller/calls/"+id+"?userId=u1", e.key, nil)
			wantStatus(t, r, 200)
			det := r.json(t)
			if det["status"] != "completed" || det["recordingUrl"] == nil || !strings.Contains(fmt.Sprint(det["transcriptionText"]), "invoice") {
				t.Fatalf("details: %s", r.Body)
			}
			time.Sleep(300 * time.Millisecond)
			completed := 0
			for _, got := range e.rv.events() {
				var m map[string]any
				if json.Unmarshal(got.body, &m) == nil && m["eventType"] == "call.completed" {
					completed++
				}
			}
			if completed != 1 || e.countEvents(callID, callscope.EventCallCompleted) != 1 {
				t.Fatalf("%d call.completed callbacks, %d events", completed, e.countEvents(callID, callscope.EventCallCompleted))
			}
			c = e.waitCall(id, func(c *callscope.Call) bool { return true })
			if c.Metadata["phone_number"] != twNumber || c.From != "" && c.From != twNumber {
				t.Fatalf("call: %+v", c)
			}
			e.waitProcessed(id)
		})
	}
}

// TestTwilioOutboundMachineAndHangup: an answering machine makes the call
// voicemail; ending a call in progress updates it at Twilio to completed.
func TestTwilioOutboundMachineAndHangup(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newTwilioEnv(t, d)
			const to = "+14155550102"
			id, callID, sid := e.startOutbound(t, to, map[string]any{"recordingEnabled": false, "transcriptionEnabled": false})
			wantStatus(t, e.outboundStatus(callID, sid, to, "in-progress", "AnsweredBy", "machine_end_beep"), 204)
			wantStatus(t, e.outboundStatus(callID, sid, to, "completed", "AnsweredBy", "machine_end_beep"), 204)
			if c := e.waitCall(id, func(c *callscope.Call) bool { return c.Status.Final() }); c.Status != callscope.CallVoicemail {
				t.Fatalf("machine-answered call: %s", c.Status)
			}
			e.waitProcessed(id)

			id, callID, sid = e.startOutbound(t, to, map[string]any{"recordingEnabled": false, "transcriptionEnabled": false})
			wantStatus(t, e.outboundStatus(callID, sid, to, "in-progress", "AnsweredBy", "human"), 204)
			e.waitCall(id, func(c *callscope.Call) bool { return c.Status == callscope.CallInProgress })
			time.Sleep(1500 * time.Millisecond) // several line leases
			if c := e.waitCall(id, func(*callscope.Call) bool { return true }); c.Status != callscope.CallInProgress {
				t.Fatalf("a call Twilio carries ended by itself: %s (%s)", c.Status, c.ErrorInfo)
			}
			wantStatus(t, e.do("POST", "/autocaller/calls/"+id+"/end", e.key, map[string]any{"userId": "u1"}), 200)
			e.fake.mu.Lock()
			got := e.fake.updates[sid]
			e.fake.mu.Unlock()
			if len(got) != 1 || got[0] != "completed" {
				t.Fatalf("updates at Twilio: %v", got)
			}
			wantStatus(t, e.outboundStatus(callID, sid, to, "completed", "CallDuration", "3"), 204)
			if c := e.waitCall(id, func(c *callscope.Call) bool { return c.Status.Final() }); c.Status != callscope.CallCompleted {
				t.Fatalf("ended call: %s", c.Status)
			}
			e.waitProcessed(id)
			if len(e.fake.creates) != 2 {
				t.Fatalf("%d calls created", len(e.fake.creates))
			}
			create := e.fake.creates[1]
			if create.Get("Record") != "" || strings.Contains(create.Get("Twiml"), "<Stream") || create.Get("MachineDetection") != "Enable" {
				t.Fatalf("create without recording or stream: %v", create)
			}
		})
	}
}

// TestTwilioSettings: a tenant's API key and numbers are stored, the key's
// secret sealed and never shown, kept when the settings are written back
// without it; malformed ones are refused naming the field.
func TestTwilioSettings(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			const keySID = "SK0123456789abcdef0123456789abcdef"
			body := `{"settings":{"twilio":{"account_sid":"` + twAccount + `","auth_token":"very-secret-token",
				"api_key_sid":"` + keySID + `","api_key_secret":"very-secret-key",
				"numbers":[{"number":"+15559876543","label":"Support line"},{"number":"+15559876544"}]}}}`
			wantStatus(t, e.do("PATCH", "/api/v1/tenants/"+e.tenant.ID, e.admin, body), 200)
			r := e.do("GET", "/api/v1/tenants/"+e.tenant.ID, e.admin, nil)
			wantStatus(t, r, 200)
			if strings.Contains(string(r.Body), "very-secret") || !strings.Contains(string(r.Body), `"has_api_key_secret":true`) ||
				!strings.Contains(string(r.Body), `"label":"Support line"`) || !strings.Contains(string(r.Body), keySID) {
				t.Fatalf("tenant shows: %s", r.Body)
			}
			var raw string
			const q = `SELECT CAST(settings AS TEXT) FROM tenants WHERE id = $1`
			if d == sqlstore.Postgres {
				must(t, e.store.Pool().QueryRow(t.Context(), q, e.tenant.ID).Scan(&raw))
			} else {
				must(t, e.store.SQLDB().QueryRow(q, e.tenant.ID).Scan(&raw))
			}
			if strings.Contains(raw, "very-secret") {
				t.Fatalf("stored in the clear: %s", raw)
			}
			wantStatus(t, e.do("PATCH", "/api/v1/tenants/"+e.tenant.ID, e.admin,
				`{"settings":{"twilio":{"account_sid":"`+twAccount+`","api_key_sid":"`+keySID+`","numbers":[{"number":"+15559876543"}]}}}`), 200)
			tn, err := e.store.Tenant(t.Context(), e.tenant.ID)
			must(t, err)
			if user, pass, ok := tn.Settings.Twilio.RESTCredentials(); !ok || user != keySID || pass != "very-secret-key" ||
				tn.Settings.Twilio.AuthToken != "very-secret-token" || len(tn.Settings.Twilio.Numbers) != 1 {
				t.Fatalf("after write-back: %+v", tn.Settings.Twilio)
			}
			for _, tc := range []struct {
				body string
				loc  []any
			}{
				{`{"settings":{"twilio":{"numbers":[{"number":"5551234"}]}}}`, []any{"body", "settings", "twilio", "numbers", "0", "number"}},
				{`{"settings":{"twilio":{"numbers":[{"number":"+15551234567"},{"number":"+15551234567"}]}}}`, []any{"body", "settings", "twilio", "numbers", "1", "number"}},
				{`{"settings":{"twilio":{"numbers":[{"number":"+15551234567","extension":"12"}]}}}`, []any{"body", "settings", "twilio", "numbers", "0", "extension"}},
				{`{"settings":{"twilio":{"api_key_sid":"AK1"}}}`, []any{"body", "settings", "twilio", "api_key_sid"}},
			} {
				wantField(t, e.do("PATCH", "/api/v1/tenants/"+e.tenant.ID, e.admin, tc.body), tc.loc...)
			}
		})
	}
}

// FuzzTwilioCallback posts arbitrary form bodies, correctly signed, to
// each Twilio callback: every answer is a 2xx or 4xx, never a 5xx.
func FuzzTwilioCallback(f *testing.F) {
	e := newTwilioEnv(f, sqlstore.SQLite)
	sid := twiliostream.NewSid("CA")
	f.Add("/twilio/voice", "AccountSid="+twAccount+"&CallSid="+sid+"&From=%2B15551234567&To=%2B15559876543&CallStatus=ringing&Direction=inbound")
	f.Add("/twilio/status", "AccountSid="+twAccount+"&CallSid="+sid+"&To=%2B15559876543&CallStatus=completed&Direction=inbound&Timestamp=x")
	f.Add("/twilio/status", "AccountSid="+twAccount+"&CallSid="+sid+"&To=%2B15559876543&CallStatus=in-progress&AnsweredBy=machine_start&Direction=inbound")
	f.Add("/twilio/recording", "AccountSid="+twAccount+"&CallSid="+sid+"&RecordingStatus=completed&RecordingUrl=ftp%3A%2F%2Fx&RecordingChannels=x")
	f.Add("/twilio/recording", "AccountSid="+twAccount+"&CallSid="+sid+"&RecordingStatus=absent")
	f.Add("/twilio/status?call_id=nope", "%zz&&=")
	f.Fuzz(func(t *testing.T, path, body string) {
		switch {
		case strings.HasPrefix(path, "/twilio/voice"), strings.HasPrefix(path, "/twilio/status"), strings.HasPrefix(path, "/twilio/recording"):
		default:
			return
		}
		u, err := url.Parse(path)
		if err != nil || u.Path == "" || strings.ContainsAny(path, "# \t\r\n") {
			return
		}
		params, _ := url.ParseQuery(body)
		e.t = t
		r := e.do("POST", path, "", body, "Content-Type", "application/x-www-form-urlencoded",
			"X-Twilio-Signature", signTwilio(twToken, twPublic+path, params))
		if r.Status >= 500 {
			t.Fatalf("%s %q: %d %s", path, body, r.Status, r.Body)
		}
	})
}

// TestTwilioSignatureForms: a callback signed for the URL with its port, and
// one with a JSON body (signed URL carrying bodySHA256), are accepted as
// twilio-go's validator accepts them; a JSON body that does not match its
// hash is 403.
func TestTwilioSignatureForms(t *testing.T) {
	e := newTwilioEnv(t, sqlstore.SQLite)
	sid := twiliostream.NewSid("CA")
	voice := url.Values{"AccountSid": {twAccount}, "CallSid": {sid}, "From": {twCaller}, "To": {twNumber},
		"CallStatus": {"ringing"}, "Direction": {"inbound"}}
	r := e.do("POST", "/twilio/voice", "", voice.Encode(), "Content-Type", "application/x-www-form-urlencoded",
		"X-Twilio-Signature", signTwilio(twToken, "https://calls.example.com:443/twilio/voice", voice))
	wantStatus(t, r, 200)

	body := []byte(`{"AccountSid":"` + twAccount + `","CallSid":"` + sid + `","From":"` + twCaller + `","To":"` + twNumber +
		`","CallStatus":"in-progress","Direction":"inbound"}`)
	sum := sha256.Sum256(body)
	path := "/twilio/status?bodySHA256=" + hex.EncodeToString(sum[:])
	sig := signTwilio(twToken, twPublic+path, nil)
	tampered := bytes.Replace(body, []byte("in-progress"), []byte("completed"), 1)
	wantStatus(t, e.do("POST", path, "", tampered, "Content-Type", "application/json", "X-Twilio-Signature", sig), 403)
	wantStatus(t, e.do("POST", path, "", body, "Content-Type", "application/json", "X-Twilio-Signature", sig), 204)
	if c := e.waitCall(sid, func(*callscope.Call) bool { return true }); c.Status != callscope.CallInProgress {
		t.Fatalf("status after the JSON callback: %s", c.Status)
	}
	wantStatus(t, e.callback("/twilio/status", twToken, url.Values{"AccountSid": {twAccount}, "CallSid": {sid},
		"To": {twNumber}, "CallStatus": {"completed"}, "Direction": {"inbound"}}), 204)
	e.waitProcessed(sid)
}

// TestTwilioRecording8kHz: an MP3 the decoder cannot read (MPEG 2.5, as an
// 8 kHz recording is) is replaced by the WAV of the same recording, so the
// call can be transcribed.
func TestTwilioRecording8kHz(t *testing.T) {
	e := newTwilioEnv(t, "sqlite")
	var err error
	e.fake.mp3, err = os.ReadFile(filepath.Join("testdata", "twilio", "recording-8khz.mp3"))
	must(t, err)
	e.fake.wav, err = os.ReadFile(filepath.Join("testdata", "twilio", "recording-8khz.wav"))
	must(t, err)
	e.fake.notReady = 0
	sid := twiliostream.NewSid("CA")
	voice := url.Values{"AccountSid": {twAccount}, "CallSid": {sid}, "From": {twCaller}, "To": {twNumber},
		"CallStatus": {"ringing"}, "Direction": {"inbound"}, "ApiVersion": {"2010-04-01"}}
	wantStatus(t, e.callback("/twilio/voice", twToken, voice), 200)
	c := e.waitCall(sid, func(*callscope.Call) bool { return true })
	rsid := twiliostream.NewSid("RE")
	rec := url.Values{"AccountSid": {twAccount}, "CallSid": {sid}, "RecordingSid": {rsid},
		"RecordingUrl":    {e.fake.srv.URL + "/2010-04-01/Accounts/" + twAccount + "/Recordings/" + rsid},
		"RecordingStatus": {"completed"}, "RecordingDuration": {"2"}, "RecordingChannels": {"1"},
		"RecordingSource": {"StartCallRecording"}}
	wantStatus(t, e.callback("/twilio/recording?call_id="+c.ID, twToken, rec), 204)
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := e.do("GET", "/api/calls/"+c.ID+"/recording", e.key, nil)
		if r.Status == 200 {
			if !bytes.Equal(r.Body, e.fake.wav) || !strings.HasPrefix(r.Header.Get("Content-Type"), "audio/") {
				t.Fatalf("recording kept: %d bytes, %s; want the WAV", len(r.Body), r.Header.Get("Content-Type"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recording: %d", r.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The MP3 is one the decoder refuses, the WAV one it reads.
	if err := audio.CheckMP3(e.fake.mp3); err == nil {
		t.Fatal("the 8 kHz MP3 passes the check")
	}
	if _, err := audio.DecodeBytes(e.fake.mp3, audio.Format{}); err == nil {
		t.Fatal("the 8 kHz MP3 decodes: the fallback is not needed")
	}
	if err := audio.CheckMP3(e.fake.mp3[:0]); err == nil {
		t.Fatal("no data passes the check")
	}
	ok, err := os.ReadFile(filepath.Join("testdata", "twilio", "recording.mp3"))
	must(t, err)
	must(t, audio.CheckMP3(ok))
	pcm, err := audio.DecodeBytes(e.fake.wav, audio.Format{})
	must(t, err)
	if pcm.SampleRate != 8000 {
		t.Fatalf("test WAV at %d Hz", pcm.SampleRate)
	}
}
