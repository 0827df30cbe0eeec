package ari

// fakeARI is an Asterisk REST Interface as the declarations of Asterisk's
// rest-api/api-docs describe it (channels.json: originateWithId, get,
// hangup, snoopChannel, play, record; recordings.json: getStoredFile,
// deleteStored; events.json: the event WebSocket and its messages). The
// events it sends are the golden messages in testdata/events, shaped as
// events.json declares them, with the channel, state, cause and so on of
// the moment filled in.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

type fakeChannel struct {
	id, state, endpoint string
	args                []string
	vars                map[string]string
	query               map[string]string // the originate's query
	snoopOf             string
	snoop               string // its snoop channel
	recording           string // live recording on it
}

type fakeARI struct {
	t                testing.TB
	srv              *httptest.Server
	user, pass, app  string
	recordingWAV     []byte
	mu               sync.Mutex
	refuse           bool // the event WebSocket is refused
	conns            map[*websocket.Conn]bool
	connects         int
	channels         map[string]*fakeChannel
	stored           map[string][]byte
	plays            []string // channel id + " " + media
	deletedRecording []string
	originated       chan *fakeChannel
}

func newFakeARI(t testing.TB) *fakeARI {
	f := &fakeARI{t: t, user: "callscope", pass: "p@ss word", app: "callscope", conns: map[*websocket.Conn]bool{},
		channels: map[string]*fakeChannel{}, stored: map[string][]byte{}, originated: make(chan *fakeChannel, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ari/events", f.events)
	mux.HandleFunc("POST /ari/channels/{channelId}", f.auth(f.originate))
	mux.HandleFunc("GET /ari/channels/{channelId}", f.auth(f.get))
	mux.HandleFunc("DELETE /ari/channels/{channelId}", f.auth(f.delete))
	mux.HandleFunc("POST /ari/channels/{channelId}/snoop", f.auth(f.snoop))
	mux.HandleFunc("POST /ari/channels/{channelId}/play", f.auth(f.play))
	mux.HandleFunc("POST /ari/channels/{channelId}/record", f.auth(f.record))
	mux.HandleFunc("GET /ari/recordings/stored/{recordingName}/file", f.auth(f.storedFile))
	mux.HandleFunc("DELETE /ari/recordings/stored/{recordingName}", f.auth(f.deleteStored))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		f.drop()
		f.srv.Close()
	})
	return f
}

func (f *fakeARI) client() *Client {
	return &Client{BaseURL: f.srv.URL + "/ari", User: f.user, Password: f.pass}
}

// fail answers as ARI does: a JSON object with a message.
func fail(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeARI) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != f.user || p != f.pass {
			fail(w, http.StatusUnauthorized, "Authentication required")
			return
		}
		h(w, r)
	}
}

func (f *fakeARI) events(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	refuse := f.refuse
	f.mu.Unlock()
	if refuse {
		fail(w, http.StatusServiceUnavailable, "down")
		return
	}
	if r.URL.Query().Get("api_key") != f.user+":"+f.pass {
		fail(w, http.StatusUnauthorized, "Authentication required")
		return
	}
	if r.URL.Query().Get("app") != f.app {
		fail(w, http.StatusBadRequest, "Invalid application provided in param [app].")
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	f.mu.Lock()
	f.conns[conn] = true
	f.connects++
	f.mu.Unlock()
	// Asterisk sends; whatever the client sends is read and dropped.
	for {
		if _, _, err := conn.Read(context.Background()); err != nil {
			break
		}
	}
	f.mu.Lock()
	delete(f.conns, conn)
	f.mu.Unlock()
}

// connections is how many event WebSockets were accepted so far.
func (f *fakeARI) connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connects
}

// waitConnected waits for an event WebSocket to be up on the server's
// side: the client may see its handshake answered a moment before.
func (f *fakeARI) waitConnected(t testing.TB) {
	t.Helper()
	waitFor(t, "the event connection", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.conns) > 0
	})
}

// drop closes the event WebSockets.
func (f *fakeARI) drop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		c.CloseNow()
		delete(f.conns, c)
	}
}

func (f *fakeARI) setRefuse(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refuse = v
}

// golden reads testdata/events/typ.json.
func golden(t testing.TB, typ string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", typ+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// emit sends the golden event typ to every connected client, with set
// applied; the caller holds f.mu.
func (f *fakeARI) emit(typ string, set func(m map[string]any)) {
	m := golden(f.t, typ)
	m["timestamp"] = time.Now().UTC().Format("2006-01-02T15:04:05.000-0700")
	m["application"] = f.app
	if set != nil {
		set(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		f.t.Error(err)
		return
	}
	for c := range f.conns {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = c.Write(ctx, websocket.MessageText, b)
		cancel()
	}
}

// channelEvent emits an event of ch.
func (f *fakeARI) channelEvent(typ string, ch *fakeChannel, set func(m map[string]any)) {
	f.emit(typ, func(m map[string]any) {
		c := m["channel"].(map[string]any)
		c["id"], c["state"] = ch.id, ch.state
		if set != nil {
			set(m)
		}
	})
}

func (f *fakeARI) channelJSON(ch *fakeChannel) map[string]any {
	c := golden(f.t, "StasisStart")["channel"].(map[string]any)
	c["id"], c["state"] = ch.id, ch.state
	return c
}

func (f *fakeARI) originate(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := r.PathValue("channelId")
	if q.Get("endpoint") == "" || q.Get("app") == "" || q.Get("context") != "" {
		fail(w, http.StatusBadRequest, "Invalid parameters for originating a channel.")
		return
	}
	var body struct {
		Variables map[string]string `json:"variables"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			fail(w, http.StatusBadRequest, "Invalid variables")
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.channels[id]; ok {
		fail(w, http.StatusConflict, "Channel with given unique ID already exists")
		return
	}
	ch := &fakeChannel{id: id, state: "Down", endpoint: q.Get("endpoint"), vars: body.Variables, query: map[string]string{}}
	for k := range q {
		ch.query[k] = q.Get(k)
	}
	if a := q.Get("appArgs"); a != "" {
		ch.args = strings.Split(a, ",")
	}
	f.channels[id] = ch
	reply(w, http.StatusOK, f.channelJSON(ch))
	f.originated <- ch
}

func (f *fakeARI) get(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.channels[r.PathValue("channelId")]
	if !ok {
		fail(w, http.StatusNotFound, "Channel not found")
		return
	}
	reply(w, http.StatusOK, f.channelJSON(ch))
}

func (f *fakeARI) delete(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.channels[r.PathValue("channelId")]
	if !ok {
		fail(w, http.StatusNotFound, "Channel not found")
		return
	}
	f.destroy(ch, CauseNormalClearing, true)
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeARI) snoop(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.channels[r.PathValue("channelId")]
	if !ok {
		fail(w, http.StatusNotFound, "Channel not found")
		return
	}
	if q.Get("app") == "" || !oneOf(q.Get("spy"), "", "none", "both", "out", "in") {
		fail(w, http.StatusBadRequest, "Invalid parameters")
		return
	}
	sn := &fakeChannel{id: q.Get("snoopId"), state: "Up", snoopOf: ch.id, query: map[string]string{"spy": q.Get("spy")}}
	if a := q.Get("appArgs"); a != "" {
		sn.args = strings.Split(a, ",")
	}
	f.channels[sn.id], ch.snoop = sn, sn.id
	reply(w, http.StatusOK, f.channelJSON(sn))
	f.channelEvent("StasisStart", sn, func(m map[string]any) { m["args"] = sn.args })
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

func (f *fakeARI) play(w http.ResponseWriter, r *http.Request) {
	media := r.URL.Query()["media"]
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.channels[r.PathValue("channelId")]
	if !ok {
		fail(w, http.StatusNotFound, "Channel not found")
		return
	}
	if len(media) == 0 {
		fail(w, http.StatusBadRequest, "media is required")
		return
	}
	for _, m := range media {
		f.plays = append(f.plays, ch.id+" "+m)
	}
	pb := map[string]any{"id": r.URL.Query().Get("playbackId"), "media_uri": media[0], "target_uri": "channel:" + ch.id,
		"language": "en", "state": "queued"}
	reply(w, http.StatusCreated, pb)
	f.emit("PlaybackStarted", func(m map[string]any) { pb["state"] = "playing"; m["playback"] = pb })
}

func (f *fakeARI) record(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.channels[r.PathValue("channelId")]
	if !ok {
		fail(w, http.StatusNotFound, "Channel not found")
		return
	}
	switch {
	case q.Get("name") == "" || q.Get("format") == "":
		fail(w, http.StatusBadRequest, "Invalid parameters")
	case q.Get("format") != "wav":
		fail(w, http.StatusUnprocessableEntity, "The format specified is unknown on this system")
	case ch.snoopOf == "" && ch.state != "Up":
		fail(w, http.StatusConflict, "Channel is not in a Stasis application")
	default:
		ch.recording = q.Get("name")
		reply(w, http.StatusCreated, map[string]any{"name": ch.recording, "format": "wav", "target_uri": "channel:" + ch.id,
			"state": "queued"})
	}
}

func (f *fakeARI) storedFile(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.stored[r.PathValue("recordingName")]
	if !ok {
		fail(w, http.StatusNotFound, "Recording not found")
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	_, _ = w.Write(b)
}

func (f *fakeARI) deleteStored(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := r.PathValue("recordingName")
	if _, ok := f.stored[name]; !ok {
		fail(w, http.StatusNotFound, "Recording not found")
		return
	}
	delete(f.stored, name)
	f.deletedRecording = append(f.deletedRecording, name)
	w.WriteHeader(http.StatusNoContent)
}

// destroy hangs up a channel with cause: a hangup request (when the
// channel's side asked, request), its destruction, that of its snoop
// channel, and the end of a recording on it. The caller holds f.mu.
func (f *fakeARI) destroy(ch *fakeChannel, cause int, request bool) {
	if request {
		f.channelEvent("ChannelHangupRequest", ch, func(m map[string]any) { m["cause"] = cause })
	}
	if ch.args != nil && ch.state == "Up" {
		f.channelEvent("StasisEnd", ch, nil)
	}
	f.channelEvent("ChannelDestroyed", ch, func(m map[string]any) {
		m["cause"], m["cause_txt"] = cause, CauseText(cause)
	})
	delete(f.channels, ch.id)
	// The snoop channel goes after the channel it hears, and its
	// recording is finished after that.
	if ch.snoop != "" {
		if sn := f.channels[ch.snoop]; sn != nil {
			f.destroy(sn, cause, false)
		}
	}
	if ch.recording != "" {
		f.stored[ch.recording] = f.recordingWAV
		f.emit("RecordingFinished", func(m map[string]any) {
			rec := m["recording"].(map[string]any)
			rec["name"], rec["target_uri"] = ch.recording, "channel:"+ch.id
		})
	}
}

// The far end's doings, as a test plays them.

func (f *fakeARI) waitOriginate(t testing.TB) *fakeChannel {
	t.Helper()
	select {
	case ch := <-f.originated:
		return ch
	case <-time.After(10 * time.Second):
		t.Fatal("no call was originated")
		return nil
	}
}

func (f *fakeARI) channel(id string) *fakeChannel {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.channels[id]
}

func (f *fakeARI) setState(id, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := f.channels[id]
	ch.state = state
	f.channelEvent("ChannelStateChange", ch, nil)
}

func (f *fakeARI) ring(id string) { f.setState(id, "Ringing") }

// answer: the channel comes up and enters the Stasis application.
func (f *fakeARI) answer(id string) {
	f.setState(id, "Up")
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := f.channels[id]
	f.channelEvent("StasisStart", ch, func(m map[string]any) { m["args"] = ch.args })
}

func (f *fakeARI) dtmf(id, digit string, ms int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.channelEvent("ChannelDtmfReceived", f.channels[id], func(m map[string]any) { m["digit"], m["duration_ms"] = digit, ms })
}

// hangup: the far end (or the network) ends the call with cause.
func (f *fakeARI) hangup(id string, cause int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.destroy(f.channels[id], cause, true)
}

func (f *fakeARI) storedNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.stored {
		out = append(out, k)
	}
	return out
}
