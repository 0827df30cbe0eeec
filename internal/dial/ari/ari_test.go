package ari

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/audio"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/dial"
)

// recorder is a dial.Events that keeps what it is told.
type recorder struct {
	mu       sync.Mutex
	statuses []call.StatusChange
	segs     []callscope.Segment
	keys     []string // digit@offset
	wavs     [][]byte
	seconds  []float64
}

var (
	_ dial.Events    = (*recorder)(nil)
	_ dial.KeyEvents = (*recorder)(nil)
)

func (r *recorder) DTMF(_ context.Context, _, _, digit, track string, offset time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = append(r.keys, digit+" "+track)
	return nil
}

func (r *recorder) waitKeys(t testing.TB, n int) []string {
	t.Helper()
	var keys []string
	waitFor(t, "keys", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		keys = slices.Clone(r.keys)
		return len(keys) >= n
	})
	return keys
}

func (r *recorder) Status(_ context.Context, _, _ string, ch call.StatusChange) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses = append(r.statuses, ch)
	return nil
}

func (r *recorder) Recording(_ context.Context, _, _ string, wav []byte, secs float64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.wavs, r.seconds = append(r.wavs, wav), append(r.seconds, secs)
	return nil
}

func (r *recorder) Segments(_ context.Context, _, _ string, segs []callscope.Segment) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.segs = append(r.segs, segs...)
	return nil
}

func (r *recorder) Transcript(context.Context, string, string, []callscope.Segment) error { return nil }
func (r *recorder) Cost(context.Context, string, string, float64) error                   { return nil }
func (r *recorder) Alive(context.Context, string, string) error                           { return nil }

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses, r.segs, r.keys, r.wavs, r.seconds = nil, nil, nil, nil, nil
}

func (r *recorder) statusList() []callscope.CallStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []callscope.CallStatus
	for _, s := range r.statuses {
		out = append(out, s.Status)
	}
	return out
}

// final waits for the final status reported.
func (r *recorder) final(t testing.TB) call.StatusChange {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		for _, s := range r.statuses {
			if s.Status.Final() {
				r.mu.Unlock()
				return s
			}
		}
		r.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no final status; statuses %v", r.statusList())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitStatuses waits for n statuses.
func (r *recorder) waitStatuses(t testing.TB, n int) []callscope.CallStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if l := r.statusList(); len(l) >= n {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %d statuses, have %v", n, r.statusList())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func startDialer(t testing.TB, f *fakeARI, ev dial.Events) *Dialer {
	t.Helper()
	d := &Dialer{Client: f.client(), App: f.app, Endpoint: "PJSIP/{number}@trunk", CallerID: "+14155550100", Events: ev,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, RecordingWait: 2 * time.Second}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	f.waitConnected(t)
	return d
}

func request(to string) dial.Request {
	return dial.Request{TenantID: "tenant-1", CallID: "call_0001", To: to, ContactName: "Ada Lovelace",
		Title: "Renewal", Purpose: "your renewal", Script: "Hello {{contactName}}, shall we renew?", MaxDuration: 15 * time.Minute}
}

func waitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCallOutcomes originates a call, lets it ring, answers it (or not),
// presses a key and ends it with each Q.850 cause: the statuses follow,
// the cause is mapped, the key is on the transcript.
func TestCallOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cause    int
		answer   bool
		want     callscope.CallStatus
		by       string
		errorful bool
	}{
		{"NormalClearing", CauseNormalClearing, true, callscope.CallCompleted, "contact", false},
		{"UserBusy", CauseUserBusy, false, callscope.CallBusy, "contact", true},
		{"NoUserResponse", CauseNoUserResponse, false, callscope.CallNoAnswer, "", true},
		{"NoAnswer", CauseNoAnswer, false, callscope.CallNoAnswer, "", true},
		{"CallRejected", CauseCallRejected, false, callscope.CallFailed, "", true},
		{"Unallocated", CauseUnallocated, false, callscope.CallFailed, "", true},
		{"Congestion", CauseCongestion, false, callscope.CallFailed, "", true},
		{"FailedAfterAnswer", CauseNoRouteDestination, true, callscope.CallFailed, "", true},
		{"ClearedBeforeAnswer", CauseNormalClearing, false, callscope.CallNoAnswer, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeARI(t)
			ev := &recorder{}
			d := startDialer(t, f, ev)
			sid, err := d.Dial(context.Background(), request("+14155550101"))
			if err != nil {
				t.Fatal(err)
			}
			ch := f.waitOriginate(t)
			if ch.id != sid || ch.endpoint != "PJSIP/+14155550101@trunk" || ch.query["app"] != "callscope" ||
				ch.query["appArgs"] != "callscope,call_0001" || ch.query["callerId"] != "+14155550100" ||
				ch.vars["CALLSCOPE_CALL_ID"] != "call_0001" {
				t.Fatalf("originated %+v (session %s)", ch, sid)
			}
			f.ring(sid)
			want := []callscope.CallStatus{callscope.CallRinging}
			ev.waitStatuses(t, 1)
			if tc.answer {
				f.answer(sid)
				ev.waitStatuses(t, 2)
				f.dtmf(sid, "5", 120)
				if keys := ev.waitKeys(t, 1); keys[0] != "5 inbound" {
					t.Fatalf("keys = %v", keys)
				}
				want = append(want, callscope.CallInProgress)
			}
			f.hangup(sid, tc.cause)
			end := ev.final(t)
			want = append(want, tc.want)
			if got := ev.statusList(); !slices.Equal(got, want) {
				t.Fatalf("statuses %v, want %v", got, want)
			}
			if end.Status != tc.want || end.DisconnectedBy != tc.by || (end.ErrorInfo != "") != tc.errorful ||
				!strings.Contains(end.Reason, "Q.850 cause") {
				t.Fatalf("end = %+v", end)
			}
			if err := d.Hangup(context.Background(), sid); callscope.ErrorCode(err) != callscope.ENOTFOUND {
				t.Fatalf("hangup of an ended call: %v, want ENOTFOUND", err)
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	for cause, want := range map[int]callscope.CallStatus{16: callscope.CallCompleted, 17: callscope.CallBusy,
		18: callscope.CallNoAnswer, 19: callscope.CallNoAnswer, 0: callscope.CallFailed, 21: callscope.CallFailed,
		27: callscope.CallFailed, 31: callscope.CallFailed, 38: callscope.CallFailed} {
		if got := StatusOf(cause); got != want {
			t.Errorf("StatusOf(%d) = %s, want %s", cause, got, want)
		}
	}
}

// TestHangup: callscope hangs up an answered call; it completes, ended by
// the user's side.
func TestHangup(t *testing.T) {
	f := newFakeARI(t)
	ev := &recorder{}
	d := startDialer(t, f, ev)
	sid, err := d.Dial(context.Background(), request("+14155550101"))
	if err != nil {
		t.Fatal(err)
	}
	f.waitOriginate(t)
	f.answer(sid)
	ev.waitStatuses(t, 1)
	if err := d.Hangup(context.Background(), sid); err != nil {
		t.Fatal(err)
	}
	if end := ev.final(t); end.Status != callscope.CallCompleted || end.DisconnectedBy != "user" {
		t.Fatalf("end = %+v", end)
	}
	if err := d.Hangup(context.Background(), "callscope-unknown"); callscope.ErrorCode(err) != callscope.ENOTFOUND {
		t.Fatalf("hangup of an unknown call: %v", err)
	}
}

func TestDialRefused(t *testing.T) {
	f := newFakeARI(t)
	d := startDialer(t, f, &recorder{})
	for _, to := range []string{"", "1000&PJSIP/evil", "+1 415", "1000@other", "12345678901234567890123456789012345"} {
		if _, err := d.Dial(context.Background(), request(to)); callscope.ErrorCode(err) != callscope.EINVALID {
			t.Errorf("dial %q: %v, want EINVALID", to, err)
		}
	}
	// Asterisk refuses the originate (wrong credentials): the dial fails.
	bad := *d.Client
	bad.Password = "wrong"
	d2 := &Dialer{Client: &bad, App: f.app, Endpoint: "PJSIP/{number}", Events: &recorder{}, ConnectWait: 200 * time.Millisecond,
		MinBackoff: 20 * time.Millisecond}
	if err := d2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer d2.Stop()
	if _, err := d2.Dial(context.Background(), request("+14155550101")); callscope.ErrorCode(err) != callscope.EUNAVAILABLE ||
		strings.Contains(err.Error(), "wrong") {
		t.Fatalf("dial with the event connection refused: %v", err)
	}
}

// TestReconnect drops the event WebSocket mid-call: the dialer reconnects
// and the call goes on; a call hung up while the connection is down ends
// all the same, found gone when read again.
func TestReconnect(t *testing.T) {
	f := newFakeARI(t)
	ev := &recorder{}
	d := startDialer(t, f, ev)
	sid, err := d.Dial(context.Background(), request("+14155550101"))
	if err != nil {
		t.Fatal(err)
	}
	f.waitOriginate(t)
	f.ring(sid)
	f.answer(sid)
	ev.waitStatuses(t, 2)

	f.drop()
	waitFor(t, "a reconnection", func() bool { return f.connections() >= 2 })
	f.dtmf(sid, "#", 80)
	if keys := ev.waitKeys(t, 1); keys[0] != "# inbound" {
		t.Fatalf("keys after reconnecting: %v", keys)
	}

	// Down for a while; the contact hangs up meanwhile, unheard.
	f.setRefuse(true)
	f.drop()
	time.Sleep(100 * time.Millisecond)
	f.hangup(sid, CauseNormalClearing)
	time.Sleep(100 * time.Millisecond)
	if l := ev.statusList(); len(l) != 2 {
		t.Fatalf("statuses while disconnected: %v", l)
	}
	f.setRefuse(false)
	end := ev.final(t)
	if end.Status != callscope.CallCompleted {
		t.Fatalf("call hung up during the drop ended %+v", end)
	}
	if got := ev.statusList(); !slices.Equal(got, []callscope.CallStatus{callscope.CallRinging, callscope.CallInProgress, callscope.CallCompleted}) {
		t.Fatalf("statuses %v", got)
	}

	// A call answered while the connection is down is found up.
	ev2 := ev
	ev2.reset()
	sid2, err := d.Dial(context.Background(), request("+14155550102"))
	if err != nil {
		t.Fatal(err)
	}
	f.waitOriginate(t)
	f.setRefuse(true)
	f.drop()
	f.answer(sid2)
	n := f.connections()
	f.setRefuse(false)
	waitFor(t, "a reconnection", func() bool { return f.connections() > n })
	if l := ev2.waitStatuses(t, 1); l[0] != callscope.CallInProgress {
		t.Fatalf("statuses after reconnecting: %v", l)
	}
	f.hangup(sid2, CauseUserBusy)
	if end := ev2.final(t); end.Status != callscope.CallBusy {
		t.Fatalf("end = %+v", end)
	}
}

type toneSpeaker struct{ rate int }

func (s toneSpeaker) Speak(context.Context, string) ([]byte, float64, error) {
	n := s.rate
	ch := make([]float32, n)
	for i := range ch {
		ch[i] = 0.1
	}
	return (&audio.PCM{SampleRate: s.rate, Channels: [][]float32{ch}}).WAV(), 1, nil
}

// TestScriptAndRecording: the answered call hears its script (a sound:
// file written for it) and is recorded from a snoop channel; the recording
// is fetched when it ends, handed over and deleted from Asterisk.
func TestScriptAndRecording(t *testing.T) {
	f := newFakeARI(t)
	f.recordingWAV = dial.ToneWAV(2)
	ev := &recorder{}
	d := startDialer(t, f, ev)
	dir := t.TempDir()
	d.PromptDir, d.PromptSoundDir, d.Speech = dir, "/var/lib/asterisk/callscope", toneSpeaker{rate: 16000}
	d.RecordingWait = 8 * time.Second
	req := request("+14155550101")
	req.RecordingEnabled = true
	sid, err := d.Dial(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	f.waitOriginate(t)
	prompt := filepath.Join(dir, sid+".wav")
	b, err := os.ReadFile(prompt)
	if err != nil {
		t.Fatal(err)
	}
	if pcm, err := audio.DecodeBytes(b, audio.Format{}); err != nil || pcm.SampleRate != 8000 || len(pcm.Channels) != 1 {
		t.Fatalf("prompt is not 8 kHz mono: %v", err)
	}
	f.answer(sid)
	waitFor(t, "the script and the recording", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		sn := f.channels[sid+snoopSuffix]
		return len(f.plays) == 1 && sn != nil && sn.recording == sid
	})
	f.mu.Lock()
	play, spy := f.plays[0], f.channels[sid+snoopSuffix].query["spy"]
	f.mu.Unlock()
	if play != sid+" sound:/var/lib/asterisk/callscope/"+sid || spy != "both" {
		t.Fatalf("played %q, spied %q", play, spy)
	}
	hungUp := time.Now()
	f.hangup(sid, CauseNormalClearing)
	if end := ev.final(t); end.Status != callscope.CallCompleted {
		t.Fatalf("end = %+v", end)
	}
	// Fetched once RecordingFinished came, not after waiting it out.
	if waited := time.Since(hungUp); waited > d.RecordingWait/2 {
		t.Fatalf("the recording was handed over after %s", waited)
	}
	ev.mu.Lock()
	wavs, secs := ev.wavs, ev.seconds
	ev.mu.Unlock()
	if len(wavs) != 1 || string(wavs[0]) != string(f.recordingWAV) || secs[0] < 1.99 || secs[0] > 2.01 {
		t.Fatalf("recordings handed over: %d, seconds %v", len(wavs), secs)
	}
	if names := f.storedNames(); len(names) != 0 {
		t.Fatalf("recordings left on Asterisk: %v", names)
	}
	if _, err := os.Stat(prompt); !os.IsNotExist(err) {
		t.Fatalf("prompt left behind: %v", err)
	}
}

// TestGoldenEvents holds the golden messages to events.json: each has the
// properties the declaration requires (Message: type; Event: application,
// timestamp; then the type's own), and decodes.
func TestGoldenEvents(t *testing.T) {
	required := map[string][]string{
		"StasisStart":          {"args", "channel"},
		"StasisEnd":            {"channel"},
		"ChannelStateChange":   {"channel"},
		"ChannelDtmfReceived":  {"digit", "duration_ms", "channel"},
		"ChannelHangupRequest": {"channel"},
		"ChannelDestroyed":     {"cause", "cause_txt", "channel"},
		"RecordingFinished":    {"recording"},
		"PlaybackStarted":      {"playback"},
	}
	// channels.json's Channel model.
	channel := []string{"id", "protocol_id", "name", "state", "caller", "connected", "accountcode", "dialplan", "creationtime", "language"}
	for typ, props := range required {
		m := golden(t, typ)
		for _, p := range append([]string{"type", "application", "timestamp"}, props...) {
			if _, ok := m[p]; !ok {
				t.Errorf("%s: no %s", typ, p)
			}
		}
		if c, ok := m["channel"].(map[string]any); ok {
			for _, p := range channel {
				if _, ok := c[p]; !ok {
					t.Errorf("%s: channel has no %s", typ, p)
				}
			}
		}
		b, _ := json.Marshal(m)
		e, err := DecodeEvent(b)
		if err != nil || e.Type != typ {
			t.Errorf("%s: decoded %+v, %v", typ, e, err)
		} else if e.Time(time.Time{}).IsZero() {
			t.Errorf("%s: timestamp %q not read", typ, e.Timestamp)
		}
	}
}

// FuzzDecodeEvent: the decoder of event messages never panics, and what
// it accepts carries what the dialer reads.
func FuzzDecodeEvent(f *testing.F) {
	entries, _ := os.ReadDir(filepath.Join("testdata", "events"))
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("testdata", "events", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"ChannelDestroyed","channel":{"id":"x"}}`))
	f.Add([]byte(`{"type":"ChannelDtmfReceived","digit":"","channel":{"id":"x"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEvent(b)
		if err != nil {
			return
		}
		if e.Type == "" {
			t.Fatal("accepted an event with no type")
		}
		switch e.Type {
		case "ChannelDestroyed":
			if e.Cause == nil || e.Channel == nil || e.Channel.ID == "" {
				t.Fatalf("accepted %s without cause or channel", e.Type)
			}
		case "ChannelDtmfReceived":
			if len(e.Digit) != 1 {
				t.Fatalf("accepted digit %q", e.Digit)
			}
		}
		_ = e.Time(time.Now())
	})
}

// TestFlitePrompt: flite's speech becomes a prompt Asterisk's wav format
// plays (8 kHz, mono, 16-bit).
func TestFlitePrompt(t *testing.T) {
	f, ok := dial.FliteInstalled()
	if !ok {
		t.Skip("flite is not installed")
	}
	wav, _, err := f.Speak(context.Background(), "Hello Ada.")
	if err != nil {
		t.Fatal(err)
	}
	nb, err := narrowband(wav)
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := audio.DecodeBytes(nb, audio.Format{})
	if err != nil || pcm.SampleRate != 8000 || len(pcm.Channels) != 1 || pcm.Duration() < 500*time.Millisecond {
		t.Fatalf("prompt: %v", err)
	}
}
