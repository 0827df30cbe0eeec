package main

import (
	"bytes"
	"context"
	bin "encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/config"
	cshttp "github.com/callscope/callscope/internal/http"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
	"github.com/callscope/callscope/internal/stream"
	"github.com/callscope/callscope/internal/stream/audiosocket"
	"github.com/callscope/callscope/internal/stream/openchs"
	"github.com/callscope/callscope/internal/stream/twilio"
	"github.com/callscope/callscope/internal/stt"
)

// liveFixture is serve's live side on a real store: the listeners as serve
// starts them and the HTTP server, which trusts loopback as the default
// tenant.
type liveFixture struct {
	store   *sqlstore.Store
	tenant  *callscope.Tenant
	streams *liveStreams
	calls   *call.Service
	base    string
}

func newLiveFixture(t *testing.T, s *sqlstore.Store) *liveFixture {
	t.Helper()
	ctx := context.Background()
	if err := job.Migrate(ctx, s); err != nil {
		t.Fatal(err)
	}
	tn := &callscope.Tenant{Name: callscope.DefaultTenantName}
	if err := s.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, job.NewPendingWorker(s, nil, "processing is not worked in this test",
		func(a pipeline.ProcessCallArgs) (string, string) { return a.TenantID, a.CallID }))
	// The queue is not started: a requested processing stays pending.
	q, err := job.New(s, workers, job.Config{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := &config.Config{DataDir: dir, AudioSocketAddr: "127.0.0.1:0", OpenCHSAddr: "127.0.0.1:0",
		TwilioAuthToken: liveTwilioToken}
	calls := &call.Service{Store: s, Queue: q, ProcessingEnabled: true, Stages: pipeline.Stages}
	recs := blob.Dir{Root: filepath.Join(dir, "recordings")}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	streams := newLiveStreams(cfg, calls, recs, log)
	streams.sessions.FlushInterval = 200 * time.Millisecond
	if err := streams.Start(ctx, log); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(streams.Stop)
	srv := &cshttp.Server{Store: s, Calls: calls, Live: streams.sessions, Recordings: recs, Logger: log,
		TrustedNetworks: stream.Loopback, TwilioStream: streams.handler()}
	if err := srv.Open("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(context.Background()) })
	return &liveFixture{store: s, tenant: tn, streams: streams, calls: calls, base: "http://" + srv.Addr()}
}

const liveTwilioToken = "twilio-auth-token-of-the-default-tenant"

func (f *liveFixture) get(t *testing.T, path string, v any) int {
	t.Helper()
	res, err := http.Get(f.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if v != nil && res.StatusCode == 200 {
		if err := json.Unmarshal(body, v); err != nil {
			if b, ok := v.(*[]byte); ok {
				*b = body
				return res.StatusCode
			}
			t.Fatalf("GET %s: %v\n%s", path, err, body)
		}
	}
	return res.StatusCode
}

type activeCall struct {
	CallID         string `json:"call_id"`
	Status         string `json:"status"`
	ProcessingMode string `json:"processing_mode"`
	LastActivity   string `json:"last_activity"`
	ConnectionInfo struct {
		ClientAddr       []any  `json:"client_addr"`
		TempConnectionID string `json:"temp_connection_id"`
		StartTime        string `json:"start_time"`
		Fields           int    `json:"-"` // how many the object has
	} `json:"connection_info"`
	TotalAudioDuration float64 `json:"total_audio_duration"`
}

// waitActive polls GET /api/v1/calls/active until id shows with some
// audio counted.
func (f *liveFixture) waitActive(t *testing.T, id string) activeCall {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var list []json.RawMessage
		f.get(t, "/api/v1/calls/active", &list)
		for _, raw := range list {
			var c activeCall
			var fields struct {
				ConnectionInfo map[string]any `json:"connection_info"`
			}
			if json.Unmarshal(raw, &c) != nil || json.Unmarshal(raw, &fields) != nil {
				t.Fatalf("active call: %s", raw)
			}
			c.ConnectionInfo.Fields = len(fields.ConnectionInfo)
			if c.CallID == id && c.TotalAudioDuration > 0 {
				return c
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("call %s never showed as active with audio", id)
	return activeCall{}
}

func checkConnectionInfo(t *testing.T, c activeCall, mode string) {
	t.Helper()
	ci := c.ConnectionInfo
	if c.Status != "active" || c.ProcessingMode != mode || c.LastActivity == "" {
		t.Errorf("active call: status %q, mode %q, last_activity %q", c.Status, c.ProcessingMode, c.LastActivity)
	}
	if len(ci.ClientAddr) != 2 || ci.ClientAddr[0] != "127.0.0.1" {
		t.Errorf("connection_info.client_addr = %v, want [127.0.0.1, port]", ci.ClientAddr)
	} else if p, ok := ci.ClientAddr[1].(float64); !ok || p <= 0 || p != math.Trunc(p) {
		t.Errorf("connection_info.client_addr port = %v, want a number", ci.ClientAddr[1])
	}
	if ci.TempConnectionID == "" {
		t.Error("connection_info.temp_connection_id is empty")
	}
	if _, err := time.Parse(time.RFC3339Nano, ci.StartTime); err != nil {
		t.Errorf("connection_info.start_time %q: %v", ci.StartTime, err)
	}
	if ci.Fields != 3 {
		t.Errorf("connection_info has %d fields, want the seed's three", ci.Fields)
	}
}

type endedCall struct {
	Status           string         `json:"status"`
	ProcessingStatus string         `json:"processing_status"`
	Metadata         map[string]any `json:"metadata"`
	ID               string         `json:"id"`
}

// waitEnded polls the call until it is completed.
func (f *liveFixture) waitEnded(t *testing.T, id string) endedCall {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var c endedCall
	for time.Now().Before(deadline) {
		if f.get(t, "/api/v1/calls/"+id, &c) == 200 && c.Status == "completed" {
			return c
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("call %s not completed: %+v", id, c)
	return c
}

// checkRecording fetches the call's recording at its URL and checks it is
// a WAV file of the given format and about the given duration.
func (f *liveFixture) checkRecording(t *testing.T, callID string, rate, channels int, want time.Duration) {
	t.Helper()
	recs, err := f.store.Recordings(context.Background(), callID)
	if err != nil || len(recs) != 1 {
		t.Fatalf("recordings: %v, %d", err, len(recs))
	}
	res, err := http.Get(f.base + call.RecordingPath(recs[0].AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || len(body) < 44 || string(body[:4]) != "RIFF" || string(body[8:12]) != "WAVE" {
		t.Fatalf("recording URL: %d, %d bytes", res.StatusCode, len(body))
	}
	gotRate := int(bin.LittleEndian.Uint32(body[24:]))
	gotCh := int(bin.LittleEndian.Uint16(body[22:]))
	data := int(bin.LittleEndian.Uint32(body[40:]))
	if gotRate != rate || gotCh != channels || data != len(body)-44 {
		t.Fatalf("recording header: %d Hz, %d channels, data %d of %d bytes", gotRate, gotCh, data, len(body)-44)
	}
	got := time.Duration(data/(2*channels)) * time.Second / time.Duration(rate)
	if d := got - want; d < -40*time.Millisecond || d > 40*time.Millisecond {
		t.Fatalf("recording lasts %v, want %v", got, want)
	}
	if recs[0].DurationSeconds != math.Round(want.Seconds()*1000)/1000 || recs[0].Channels != channels {
		t.Errorf("recording record: %+v", recs[0])
	}
}

func tone(rate int, d time.Duration) []int16 {
	n := int(int64(rate) * int64(d) / int64(time.Second))
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
	}
	return out
}

func TestLiveCallsEndToEnd(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		f := newLiveFixture(t, s)
		ctx := context.Background()
		cases := []struct {
			name string
			rate int
			play func(pcm []int16) (string, func() (stream.PlayResult, error))
		}{
			{"audiosocket", 8000, func(pcm []int16) (string, func() (stream.PlayResult, error)) {
				id := uuid.New()
				p := audiosocket.Player{Addr: f.streams.audiosocket.ListenAddr().String(), Speed: 1}
				return id.String(), func() (stream.PlayResult, error) { return p.Play(ctx, id, pcm) }
			}},
			{"twilio", 8000, func(pcm []int16) (string, func() (stream.PlayResult, error)) {
				sid := twilio.NewSid("CA")
				p := twilio.Player{URL: "ws" + strings.TrimPrefix(f.base, "http") + "/twilio/stream",
					AuthToken: liveTwilioToken, Speed: 1}
				quiet := make([]int16, len(pcm))
				return sid, func() (stream.PlayResult, error) { return p.Play(ctx, sid, pcm, quiet) }
			}},
			{"openchs", 16000, func(pcm []int16) (string, func() (stream.PlayResult, error)) {
				id := fmt.Sprintf("1761295415.%d", time.Now().UnixNano()%100000)
				p := openchs.Player{Addr: f.streams.openchs.ListenAddr().String(), Speed: 1}
				return id, func() (stream.PlayResult, error) { return p.Play(ctx, id, pcm) }
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				const length = 2 * time.Second
				id, play := tc.play(tone(tc.rate, length))
				done := make(chan error, 1)
				go func() { _, err := play(); done <- err }()
				checkConnectionInfo(t, f.waitActive(t, id), "postcall_only")
				if err := <-done; err != nil {
					t.Fatalf("play: %v", err)
				}
				c := f.waitEnded(t, id)
				if c.ProcessingStatus != string(callscope.ProcessingPending) {
					t.Errorf("processing_status %q, want pending (requested)", c.ProcessingStatus)
				}
				channels := 1
				if tc.name == "twilio" {
					channels = 2 // inbound and outbound
				}
				f.checkRecording(t, c.ID, tc.rate, channels, length)
				if f.streams.sessions.Live() != 0 {
					t.Errorf("%d sessions still held", f.streams.sessions.Live())
				}
			})
		}

		t.Run("end endpoint closes the stream", func(t *testing.T) {
			id := uuid.New()
			p := audiosocket.Player{Addr: f.streams.audiosocket.ListenAddr().String(), Speed: 1}
			done := make(chan time.Time, 1)
			go func() { p.Play(ctx, id, tone(8000, 30*time.Second)); done <- time.Now() }()
			f.waitActive(t, id.String())
			res, err := http.Post(f.base+"/api/v1/calls/"+id.String()+"/end", "application/json", bytes.NewReader(nil))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			ended := time.Now()
			if res.StatusCode != 200 {
				t.Fatalf("end: %d", res.StatusCode)
			}
			select {
			case at := <-done:
				if at.Sub(ended) > 2*time.Second {
					t.Errorf("stream closed %v after the end", at.Sub(ended))
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the stream was not closed by the end endpoint")
			}
			c := f.waitEnded(t, id.String())
			if c.Metadata["end_reason"] != "manual" {
				t.Errorf("end_reason %v, want manual", c.Metadata["end_reason"])
			}
			recs, err := s.Recordings(ctx, c.ID)
			if err != nil || len(recs) != 1 || recs[0].DurationSeconds <= 0 || recs[0].DurationSeconds >= 30 {
				t.Fatalf("recording after end: %v %+v", err, recs)
			}
		})
	})
}

// TestLiveCallDTMFAndEndings sends AudioSocket frames by hand: a DTMF key
// becomes a call.dtmf event; a call ended elsewhere (another replica)
// closes its stream; stopping the listeners, as SIGTERM does, finishes
// the calls and queues their processing.
func TestLiveCallDTMFAndEndings(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		f := newLiveFixture(t, s)
		ctx := context.Background()
		dial := func(t *testing.T) (net.Conn, uuid.UUID) {
			t.Helper()
			c, err := net.Dial("tcp", f.streams.audiosocket.ListenAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			id := uuid.New()
			b, _ := audiosocket.AppendFrame(nil, audiosocket.KindUUID, id[:])
			if _, err := c.Write(b); err != nil {
				t.Fatal(err)
			}
			return c, id
		}
		// send writes 20 ms of audio every 20 ms until stop is closed or
		// the connection fails; it returns when the connection failed.
		send := func(c net.Conn, stop chan struct{}) chan error {
			failed := make(chan error, 1)
			go func() {
				frame, _ := audiosocket.AppendAudio(nil, audiosocket.KindSlin, tone(8000, 20*time.Millisecond))
				for {
					select {
					case <-stop:
						failed <- nil
						return
					case <-time.After(20 * time.Millisecond):
					}
					if _, err := c.Write(frame); err != nil {
						failed <- err
						return
					}
				}
			}()
			return failed
		}

		t.Run("dtmf", func(t *testing.T) {
			c, id := dial(t)
			stop := make(chan struct{})
			failed := send(c, stop)
			f.waitActive(t, id.String())
			b, _ := audiosocket.AppendFrame(nil, audiosocket.KindDTMF, []byte("7"))
			if _, err := c.Write(b); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
			close(stop)
			<-failed
			b, _ = audiosocket.AppendFrame(nil, audiosocket.KindHangup, nil)
			c.Write(b)
			ended := f.waitEnded(t, id.String())
			if ended.Metadata["end_reason"] != "hangup" {
				t.Errorf("end_reason %v, want hangup", ended.Metadata["end_reason"])
			}
			events, err := s.Events(ctx, f.tenant.ID, ended.ID)
			if err != nil {
				t.Fatal(err)
			}
			var digits []string
			for _, ev := range events {
				if ev.Type == callscope.EventCallDTMF {
					var d callscope.CallDTMFData
					json.Unmarshal(ev.Data, &d)
					digits = append(digits, d.Digit)
					if d.CallID != id.String() || d.Offset <= 0 {
						t.Errorf("call.dtmf: %s", ev.Data)
					}
				}
			}
			if len(digits) != 1 || digits[0] != "7" {
				t.Fatalf("dtmf events: %v", digits)
			}
		})

		t.Run("ended elsewhere", func(t *testing.T) {
			c, id := dial(t)
			stop := make(chan struct{})
			defer close(stop)
			failed := send(c, stop)
			f.waitActive(t, id.String())
			// As another replica would: through the service, not this
			// process's registry.
			if _, err := f.calls.End(ctx, f.tenant.ID, id.String(), "manual"); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-failed:
				if err == nil {
					t.Fatal("sender stopped without the connection failing")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the stream of a call ended elsewhere stayed open")
			}
			deadline := time.Now().Add(5 * time.Second)
			for f.streams.sessions.Live() != 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			recs, err := s.Recordings(ctx, f.mustCall(t, id.String()).ID)
			if err != nil || len(recs) != 1 {
				t.Fatalf("recording of a call ended elsewhere: %v, %d", err, len(recs))
			}
		})

		t.Run("existing call", func(t *testing.T) {
			// A call announced before its audio (here ringing, with the
			// PBX id as its call_id) is found, not duplicated.
			id := "1761295415.12887"
			pre := &callscope.Call{TenantID: f.tenant.ID, Status: callscope.CallRinging,
				ExternalIDs: []callscope.ExternalID{{Kind: callscope.ExtCallID, Value: id}}}
			if err := f.calls.Create(ctx, pre); err != nil {
				t.Fatal(err)
			}
			p := openchs.Player{Addr: f.streams.openchs.ListenAddr().String(), Speed: 4}
			if _, err := p.Play(ctx, id, tone(16000, time.Second)); err != nil {
				t.Fatal(err)
			}
			ended := f.waitEnded(t, id)
			if ended.ID != pre.ID {
				t.Fatalf("the stream made call %s, not the existing %s", ended.ID, pre.ID)
			}
			got := f.mustCall(t, id)
			if got.AnsweredAt == nil || len(got.ConnectionInfo) == 0 || got.AudioSeconds != 1 {
				t.Fatalf("existing call after its stream: answered %v, connection_info %s, audio %v",
					got.AnsweredAt, got.ConnectionInfo, got.AudioSeconds)
			}
		})

		t.Run("shutdown", func(t *testing.T) {
			c, id := dial(t)
			stop := make(chan struct{})
			defer close(stop)
			send(c, stop)
			f.waitActive(t, id.String())
			f.streams.Stop()
			got := f.mustCall(t, id.String())
			if got.Status != callscope.CallCompleted || got.Metadata["end_reason"] != "shutdown" ||
				got.ProcessingStatus != callscope.ProcessingPending {
				t.Fatalf("after stop: %s, %v, processing %q", got.Status, got.Metadata["end_reason"], got.ProcessingStatus)
			}
			if recs, err := s.Recordings(ctx, got.ID); err != nil || len(recs) != 1 {
				t.Fatalf("recording after stop: %v, %d", err, len(recs))
			}
		})
	})
}

func (f *liveFixture) mustCall(t *testing.T, ref string) *callscope.Call {
	t.Helper()
	c, err := f.store.Call(context.Background(), f.tenant.ID, ref)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestServeFinishesLiveCallsOnSIGTERM runs the binary with an AudioSocket
// listener configured, streams a call into it, and stops the server
// mid-call: the call is completed (end_reason shutdown) with its
// processing requested, as a restart shows.
func TestServeFinishesLiveCallsOnSIGTERM(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	asAddr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	env := []string{"CALLSCOPE_AUDIOSOCKET_ADDR=" + asAddr, "CALLSCOPE_TRUSTED_NETWORKS=127.0.0.1/32",
		"CALLSCOPE_SHUTDOWN_DELAY=0s", "CALLSCOPE_STT_ENGINE=none"}
	srv := startServer(t, dir, env...)
	base := "http://" + srv.addr
	id := uuid.New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go audiosocket.Player{Addr: asAddr, Speed: 1}.Play(ctx, id, tone(8000, 30*time.Second))
	f := &liveFixture{base: base}
	checkConnectionInfo(t, f.waitActive(t, id.String()), "postcall_only")
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-srv.exited:
		if err != nil {
			t.Fatalf("serve exited with %v:\n%s", err, srv.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit after SIGTERM")
	}
	if !strings.Contains(srv.stderr.String(), `"msg":"live call ended"`) {
		t.Fatalf("no live call ended line:\n%s", srv.stderr)
	}
	srv = startServer(t, dir, env...)
	f.base = "http://" + srv.addr
	var c endedCall
	if f.get(t, "/api/v1/calls/"+id.String(), &c) != 200 {
		t.Fatal("call not found after restart")
	}
	if c.Status != "completed" || c.Metadata["end_reason"] != "shutdown" || c.ProcessingStatus == "" {
		t.Fatalf("after SIGTERM: %+v", c)
	}
}

// TestServeRecoversCallsAfterACrash kills the server (SIGKILL) mid-call:
// the next start attaches the recording as far as it was made durable
// (within the 2 s flush interval of the audio sent) and ends the call as
// interrupted.
func TestServeRecoversCallsAfterACrash(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	asAddr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	env := []string{"CALLSCOPE_AUDIOSOCKET_ADDR=" + asAddr, "CALLSCOPE_TRUSTED_NETWORKS=127.0.0.1/32",
		"CALLSCOPE_STT_ENGINE=none"}
	srv := startServer(t, dir, env...)
	id := uuid.New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	played := make(chan stream.PlayResult, 1)
	go func() {
		res, _ := audiosocket.Player{Addr: asAddr, Speed: 1}.Play(ctx, id, tone(8000, 30*time.Second))
		played <- res
	}()
	f := &liveFixture{base: "http://" + srv.addr}
	f.waitActive(t, id.String())
	time.Sleep(3 * time.Second)
	srv.cmd.Process.Kill()
	<-srv.exited
	sent := time.Duration((<-played).Frames) * 20 * time.Millisecond

	srv = startServer(t, dir, env...)
	f.base = "http://" + srv.addr
	var c endedCall
	if f.get(t, "/api/v1/calls/"+id.String(), &c) != 200 {
		t.Fatal("call not found after restart")
	}
	if c.Status != "completed" || c.Metadata["end_reason"] != "interrupted" || c.ProcessingStatus == "" {
		t.Fatalf("after the crash: %+v", c)
	}
	var recs struct {
		Recordings []struct {
			DurationSeconds float64 `json:"duration_seconds"`
			Channels        int     `json:"channels"`
			URL             *string `json:"url"`
		} `json:"recordings"`
	}
	f.get(t, "/api/v1/calls/"+id.String()+"/recordings", &recs)
	if len(recs.Recordings) != 1 {
		t.Fatalf("recordings after the crash: %+v", recs)
	}
	got := time.Duration(recs.Recordings[0].DurationSeconds * float64(time.Second))
	if got <= 0 || got > sent || sent-got > 2500*time.Millisecond {
		t.Fatalf("recovered recording lasts %v of the %v sent", got, sent)
	}
	t.Logf("recovered %v of the %v sent before the crash", got, sent)
}

// TestLiveTranscription streams spoken English (flite) into a hybrid-mode
// tenant's OpenCHS listener (16 kHz: pocketsphinx's model is wideband)
// with pocketsphinx as the engine: the
// transcript has the words, timed and with the track as speaker, before
// the call ends.
func TestLiveTranscription(t *testing.T) {
	for _, tool := range []string{"pocketsphinx_continuous", "flite"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install pocketsphinx pocketsphinx-en-us flite)", tool)
		}
	}
	// Half a second of silence on both sides, as a call has.
	samples := append(speak(t, "hello world. this is a test call."), make([]int16, 8000)...)

	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		f := newLiveFixture(t, s)
		ctx := context.Background()
		st := f.tenant.Settings
		st.ProcessingMode = callscope.ModeHybrid
		if _, err := s.UpdateTenant(ctx, f.tenant.ID, callscope.TenantUpdate{Settings: &st}); err != nil {
			t.Fatal(err)
		}
		eng, err := stt.New(stt.Config{Engine: stt.ProviderPocketSphinx})
		if err != nil {
			t.Fatal(err)
		}
		f.streams.sessions.Speech = eng
		id := "1761295415.5555"
		if _, err := (openchs.Player{Addr: f.streams.openchs.ListenAddr().String(), Speed: 8}).Play(ctx, id, samples); err != nil {
			t.Fatal(err)
		}
		f.waitEnded(t, id)
		var c struct {
			ProcessingMode     string `json:"processing_mode"`
			ProcessingStatus   string `json:"processing_status"`
			TranscriptSegments []struct {
				Speaker   string  `json:"speaker"`
				Text      string  `json:"text"`
				StartTime float64 `json:"start_time"`
				EndTime   float64 `json:"end_time"`
			} `json:"transcript_segments"`
		}
		f.get(t, "/api/v1/calls/"+id, &c)
		if c.ProcessingMode != "hybrid" || c.ProcessingStatus != "pending" {
			t.Errorf("hybrid call: mode %q, processing %q", c.ProcessingMode, c.ProcessingStatus)
		}
		var words []string
		total := float64(len(samples)) / 16000
		for _, sg := range c.TranscriptSegments {
			if sg.Speaker != stream.TrackMixed || sg.StartTime < 0.3 || sg.EndTime <= sg.StartTime || sg.EndTime > total+0.1 {
				t.Errorf("segment %+v (call of %.2f s)", sg, total)
			}
			words = append(words, sg.Text)
		}
		text := strings.ToLower(strings.Join(words, " "))
		t.Logf("live transcript: %q from %+v", text, c.TranscriptSegments)
		if !strings.Contains(text, "hello") && !strings.Contains(text, "test") {
			t.Fatalf("live transcript %q has neither hello nor test", text)
		}

		// In real time, an utterance followed by a pause is in the
		// transcript while the call goes on.
		id = "1761295415.6666"
		long := append(append([]int16{}, samples...), make([]int16, 16000*8)...)
		done := make(chan error, 1)
		go func() {
			_, err := openchs.Player{Addr: f.streams.openchs.ListenAddr().String(), Speed: 1}.Play(ctx, id, long)
			done <- err
		}()
		deadline := time.Now().Add(time.Duration(len(long)) * time.Second / 16000)
		var during int
		for time.Now().Before(deadline) && during == 0 {
			var list []struct {
				CallID       string `json:"call_id"`
				SegmentCount int    `json:"segment_count"`
			}
			f.get(t, "/api/v1/calls/active", &list)
			for _, a := range list {
				if a.CallID == id {
					during = a.SegmentCount
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if during == 0 {
			t.Fatal("no segment appeared while the call was active")
		}
	})
}
