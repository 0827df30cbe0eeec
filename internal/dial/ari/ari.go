// Package ari places outbound calls through Asterisk's REST Interface
// (ARI): a dial.Dialer that originates each call into a Stasis
// application, follows it on ARI's event WebSocket, plays the call's
// script when it is answered, records both directions and hands the
// recording over when it ends.
//
// The calls and the events are matched by the channel id, which the dialer
// chooses. The event WebSocket is reconnected, with backoff, when it drops;
// the calls in flight keep their state, and each is read again
// (GET /channels/{id}) after a reconnect so that a call hung up while the
// connection was down still ends.
//
// The script is spoken by a speech synthesiser (flite) into an 8 kHz WAV
// file in a directory shared with Asterisk and played with a sound: media
// URI — ARI's play operation takes sound:, recording:, number:, digits:,
// characters: and tone: URIs (channels.json), and there is no operation to
// upload a sound. The recording is made on a snoop channel that hears both
// directions (spy=both), so that it runs while the script plays, and is
// fetched with GET /recordings/stored/{name}/file.
package ari

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/audio"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/dial"
)

// Dialer is a dial.Dialer over ARI. Start it before dialling; Stop ends
// its event connection.
type Dialer struct {
	Client *Client
	// App is the Stasis application the calls are placed into.
	App string
	// Endpoint is the endpoint dialled, {number} standing for the number
	// called (PJSIP/{number}@trunk).
	Endpoint string
	// CallerID is the caller id of calls that name no from number.
	CallerID string
	// PromptDir is where the spoken scripts are written, a directory
	// Asterisk reads too; PromptSoundDir is that directory as Asterisk sees
	// it ("" is PromptDir). With no PromptDir or no Speech no script is
	// played.
	PromptDir      string
	PromptSoundDir string
	Speech         dial.Speaker

	Events dial.Events
	Logger *slog.Logger
	// RecordingWait is how long Asterisk may take to finish a recording
	// after its call ends (default 5 s).
	RecordingWait time.Duration
	// MinBackoff and MaxBackoff bound the wait before reconnecting the
	// event WebSocket (defaults 500 ms and 30 s); ConnectWait is how long a
	// dial waits for the connection to be up (default 5 s).
	MinBackoff, MaxBackoff, ConnectWait time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time

	mu    sync.Mutex
	calls map[string]*callState // by channel id
	// ended are the calls over whose recording is awaited, by channel id.
	ended map[string]*callState
	ready chan struct{} // closed while the event connection is up
	stop  func()
	wg    sync.WaitGroup
}

var _ dial.Dialer = (*Dialer)(nil)

// callState is what the dialer knows of a call in flight; its fields
// other than req and id are guarded by Dialer.mu.
type callState struct {
	req    dial.Request
	id     string
	prompt string // the script's file, "" for none

	originated        bool // Asterisk took the originate
	ringing, answered bool
	answeredAt        time.Time
	cause             *int // from a hangup request
	causeTxt          string
	hungUp            bool // hung up by callscope
	media             bool // script and recording begun
	recording         bool // recording started
	recDone           chan struct{}
	recClosed         bool
}

// snoopSuffix ends the id of a call's snoop channel, whose name is the
// call's recording's too.
const snoopSuffix = "-rec"

func (d *Dialer) log() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

func (d *Dialer) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

func orDuration(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// Start connects the event WebSocket and keeps it connected until Stop.
// Starting twice is not an error.
func (d *Dialer) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stop != nil {
		return nil
	}
	if d.calls == nil {
		d.calls, d.ended = map[string]*callState{}, map[string]*callState{}
	}
	if d.ready == nil {
		d.ready = make(chan struct{})
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	d.stop = func() { cancel(); <-done }
	go func() {
		defer close(done)
		d.run(ctx)
	}()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.keepAlive(ctx)
	}()
	return nil
}

// Stop closes the event connection and waits for the calls being ended to
// be reported; stopping twice is not an error.
func (d *Dialer) Stop() {
	d.mu.Lock()
	stop := d.stop
	d.stop = func() {}
	d.mu.Unlock()
	if stop != nil {
		stop()
	}
	d.wg.Wait()
}

// run keeps the event WebSocket connected, reading it, until ctx ends.
func (d *Dialer) run(ctx context.Context) {
	minB, maxB := orDuration(d.MinBackoff, 500*time.Millisecond), orDuration(d.MaxBackoff, 30*time.Second)
	backoff := minB
	for ctx.Err() == nil {
		conn, err := d.Client.Connect(ctx, d.App)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// Full jitter keeps replicas from reconnecting in step.
			wait := backoff/2 + rand.N(backoff/2+1)
			d.log().Warn("ARI event connection failed; retrying", "err", err, "in", wait)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return
			}
			backoff = min(backoff*2, maxB)
			continue
		}
		backoff = minB
		d.setReady(true)
		d.log().Info("ARI event connection up", "app", d.App)
		d.resync(ctx)
		err = d.read(ctx, conn)
		d.setReady(false)
		conn.CloseNow()
		if ctx.Err() == nil {
			d.log().Warn("ARI event connection lost; reconnecting", "err", err)
		}
	}
}

func (d *Dialer) setReady(up bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	select {
	case <-d.ready:
		if !up {
			d.ready = make(chan struct{})
		}
	default:
		if up {
			close(d.ready)
		}
	}
}

// read reads events until the connection fails.
func (d *Dialer) read(ctx context.Context, conn *websocket.Conn) error {
	for {
		typ, b, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		if typ != websocket.MessageText {
			continue
		}
		e, err := DecodeEvent(b)
		if err != nil {
			d.log().Warn("ARI event ignored", "err", err)
			continue
		}
		d.handle(ctx, e)
	}
}

// resync reads again every call in flight, after the event connection was
// down: a call whose channel is gone ended meanwhile, one that rang or was
// answered is reported so.
func (d *Dialer) resync(ctx context.Context) {
	d.mu.Lock()
	var live []*callState
	for _, c := range d.calls {
		// A call still being originated has no channel to read yet.
		if c.originated {
			live = append(live, c)
		}
	}
	d.mu.Unlock()
	for _, c := range live {
		ch, err := d.Client.Channel(ctx, c.id)
		switch {
		case callscope.ErrorCode(err) == callscope.ENOTFOUND:
			d.lost(ctx, c)
		case err != nil:
			d.log().Warn("ARI: reading a call after reconnecting", "call_id", c.req.CallID, "err", err)
		default:
			d.state(ctx, c, ch.State, d.now())
			if ch.State == "Up" {
				// Its StasisStart may have been missed.
				d.goMedia(ctx, c)
			}
		}
	}
}

// lost ends a call whose channel went while the event connection was
// down, with the cause of its hangup request when one was seen.
func (d *Dialer) lost(ctx context.Context, c *callState) {
	d.mu.Lock()
	cause, txt, answered := c.cause, c.causeTxt, c.answered
	d.mu.Unlock()
	switch {
	case cause != nil:
	case answered:
		n := CauseNormalClearing
		cause, txt = &n, "Normal Clearing"
	default:
		n := 0
		cause, txt = &n, "the channel ended while the ARI event connection was down"
	}
	d.end(ctx, c, *cause, txt, d.now())
}

// keepAlive reports the calls in flight alive every dial.KeepAlive.
func (d *Dialer) keepAlive(ctx context.Context) {
	tick := time.NewTicker(dial.KeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		d.mu.Lock()
		var live []dial.Request
		for _, c := range d.calls {
			live = append(live, c.req)
		}
		d.mu.Unlock()
		for _, r := range live {
			if err := d.Events.Alive(ctx, r.TenantID, r.CallID); err != nil {
				d.log().Warn("ARI call: keeping its line", "call_id", r.CallID, "err", err)
			}
		}
	}
}

// handle applies one event.
func (d *Dialer) handle(ctx context.Context, e *Event) {
	if e.Recording != nil && (e.Type == "RecordingFinished" || e.Type == "RecordingFailed") {
		d.mu.Lock()
		c := d.calls[e.Recording.Name]
		if c == nil {
			c = d.ended[e.Recording.Name]
		}
		if c != nil {
			d.recordingDone(c)
		}
		d.mu.Unlock()
		if e.Type == "RecordingFailed" {
			d.log().Warn("ARI recording failed", "recording", e.Recording.Name, "cause", e.Recording.Cause)
		}
		return
	}
	if e.Channel == nil {
		return
	}
	at := e.Time(d.now())
	d.mu.Lock()
	c := d.calls[e.Channel.ID]
	snoop := false
	if c == nil && strings.HasSuffix(e.Channel.ID, snoopSuffix) {
		c, snoop = d.calls[strings.TrimSuffix(e.Channel.ID, snoopSuffix)], true
	}
	d.mu.Unlock()
	if c == nil {
		return
	}
	if snoop {
		if e.Type == "StasisStart" && c.req.RecordingEnabled {
			d.goRecord(ctx, c)
		}
		return
	}
	switch e.Type {
	case "ChannelStateChange":
		d.state(ctx, c, e.Channel.State, at)
	case "StasisStart":
		// An originated channel enters its application when answered;
		// only then can it be played to.
		d.state(ctx, c, "Up", at)
		d.goMedia(ctx, c)
	case "ChannelDtmfReceived":
		d.dtmf(ctx, c, e, at)
	case "ChannelHangupRequest":
		if e.Cause != nil {
			d.mu.Lock()
			c.cause, c.causeTxt = e.Cause, CauseText(*e.Cause)
			d.mu.Unlock()
		}
	case "ChannelDestroyed":
		txt := e.CauseTxt
		if txt == "" {
			txt = CauseText(*e.Cause)
		}
		d.end(ctx, c, *e.Cause, txt, at)
	}
}

// state reports a channel state: Ringing the call ringing, Up the call
// answered, once each.
func (d *Dialer) state(ctx context.Context, c *callState, state string, at time.Time) {
	d.mu.Lock()
	var report callscope.CallStatus
	switch {
	case state == "Ringing" && !c.ringing && !c.answered:
		c.ringing, report = true, callscope.CallRinging
	case state == "Up" && !c.answered:
		c.answered, c.answeredAt, report = true, at, callscope.CallInProgress
	}
	d.mu.Unlock()
	if report == "" {
		return
	}
	if err := d.Events.Status(ctx, c.req.TenantID, c.req.CallID, call.StatusChange{Status: report, At: at, Reason: "ari"}); err != nil {
		d.log().Warn("ARI call: reporting its status", "call_id", c.req.CallID, "status", report, "err", err)
	}
}

// dtmf records a key the contact pressed as a call.dtmf event of the
// call (when Events can: dial.KeyEvents). Not as a transcript line: a
// call with a transcript is not transcribed from its recording.
func (d *Dialer) dtmf(ctx context.Context, c *callState, e *Event, at time.Time) {
	k, ok := d.Events.(dial.KeyEvents)
	if !ok {
		return
	}
	d.mu.Lock()
	var offset time.Duration
	if c.answered {
		offset = max(0, at.Sub(c.answeredAt))
	}
	d.mu.Unlock()
	if err := k.DTMF(ctx, c.req.TenantID, c.req.CallID, e.Digit, "inbound", offset); err != nil {
		d.log().Warn("ARI call: recording a key pressed", "call_id", c.req.CallID, "err", err)
	}
}

// goMedia plays the script on an answered call in its Stasis application
// and starts its recording, once, in the background.
func (d *Dialer) goMedia(ctx context.Context, c *callState) {
	d.mu.Lock()
	begun := c.media
	c.media = true
	d.mu.Unlock()
	if begun {
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if c.req.RecordingEnabled {
			// The snoop channel's StasisStart starts the recording.
			if _, err := d.Client.Snoop(ctx, c.id, c.id+snoopSuffix, "both", d.App, "callscope-recording", c.req.CallID); err != nil {
				d.log().Warn("ARI call: cannot record", "call_id", c.req.CallID, "err", err)
			}
		}
		if c.prompt != "" {
			media := "sound:" + filepath.Join(orString(d.PromptSoundDir, d.PromptDir), c.id)
			if err := d.Client.Play(ctx, c.id, c.id+"-script", media); err != nil {
				d.log().Warn("ARI call: cannot play the script", "call_id", c.req.CallID, "err", err)
			}
		}
	}()
}

// goRecord records the call's snoop channel, in the background.
func (d *Dialer) goRecord(ctx context.Context, c *callState) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		maxSecs := 0
		if c.req.MaxDuration > 0 {
			maxSecs = int(c.req.MaxDuration.Seconds()) + 60
		}
		if _, err := d.Client.Record(ctx, c.id+snoopSuffix, c.id, "wav", maxSecs); err != nil {
			d.log().Warn("ARI call: cannot record", "call_id", c.req.CallID, "err", err)
			return
		}
		d.mu.Lock()
		c.recording = true
		d.mu.Unlock()
	}()
}

func (d *Dialer) recordingDone(c *callState) {
	if !c.recClosed {
		c.recClosed = true
		close(c.recDone)
	}
}

// end ends a call: its recording is handed over, then its final status
// (the Q.850 cause mapped by StatusOf) reported. A call ends once.
func (d *Dialer) end(ctx context.Context, c *callState, cause int, causeTxt string, at time.Time) {
	d.mu.Lock()
	if d.calls[c.id] != c {
		d.mu.Unlock()
		return
	}
	delete(d.calls, c.id)
	answered, answeredAt, hungUp := c.answered, c.answeredAt, c.hungUp
	record := answered && c.req.RecordingEnabled
	if record {
		d.ended[c.id] = c
	}
	d.mu.Unlock()
	status := StatusOf(cause)
	// Cleared before anyone answered: the call was not taken.
	notTaken := status == callscope.CallCompleted && !answered
	if notTaken {
		status = callscope.CallNoAnswer
	}
	ch := call.StatusChange{Status: status, At: at, Reason: fmt.Sprintf("Q.850 cause %d: %s", cause, causeTxt)}
	switch {
	case notTaken:
	case hungUp:
		ch.DisconnectedBy = "user"
	case ch.Status == callscope.CallCompleted || ch.Status == callscope.CallBusy:
		ch.DisconnectedBy = "contact"
	}
	if callscope.AutoStatus(ch.Status) == callscope.AutoFailed {
		ch.ErrorInfo = ch.Reason
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		ctx := context.WithoutCancel(ctx)
		if c.prompt != "" {
			_ = os.Remove(c.prompt)
		}
		if record {
			d.handOver(ctx, c, at.Sub(answeredAt))
			d.mu.Lock()
			delete(d.ended, c.id)
			d.mu.Unlock()
		}
		if err := d.Events.Status(ctx, c.req.TenantID, c.req.CallID, ch); err != nil {
			d.log().Error("ARI call: reporting its end", "call_id", c.req.CallID, "err", err)
		}
	}()
}

// handOver waits for the call's recording to be finished, fetches it and
// hands it over, then deletes it from Asterisk.
func (d *Dialer) handOver(ctx context.Context, c *callState, talked time.Duration) {
	select {
	case <-c.recDone:
	case <-time.After(orDuration(d.RecordingWait, 5*time.Second)):
	}
	d.mu.Lock()
	started := c.recording
	d.mu.Unlock()
	if !started {
		return
	}
	wav, err := d.Client.StoredFile(ctx, c.id)
	if err != nil {
		d.log().Warn("ARI call: fetching its recording", "call_id", c.req.CallID, "err", err)
		return
	}
	pcm, err := audio.DecodeBytes(wav, audio.Format{})
	if err != nil {
		d.log().Warn("ARI call: its recording is not audio", "call_id", c.req.CallID, "err", err)
		return
	}
	secs := pcm.Duration().Seconds()
	if secs <= 0 {
		secs = talked.Seconds()
	}
	if err := d.Events.Recording(ctx, c.req.TenantID, c.req.CallID, wav, secs); err != nil {
		d.log().Error("ARI call: handing over its recording", "call_id", c.req.CallID, "err", err)
		return
	}
	if err := d.Client.DeleteStored(ctx, c.id); err != nil {
		d.log().Warn("ARI call: deleting its recording from Asterisk", "call_id", c.req.CallID, "err", err)
	}
}

// dialable is a number that may go into a dial string: digits, * and #,
// with an optional leading +; nothing that could add a second endpoint or
// option.
var dialable = regexp.MustCompile(`^\+?[0-9*#]{1,32}$`)

// Dial implements dial.Dialer: it originates the call into the Stasis
// application under a channel id of its own, which it returns. Returns
// EINVALID for a number that cannot be dialled and EUNAVAILABLE when the
// event connection is down or Asterisk refuses the call.
func (d *Dialer) Dial(ctx context.Context, req dial.Request) (string, error) {
	if !dialable.MatchString(req.To) {
		return "", callscope.Errorf(callscope.EINVALID, "number %q cannot be dialled", req.To)
	}
	d.mu.Lock()
	ready := d.ready
	d.mu.Unlock()
	if ready == nil {
		return "", callscope.Errorf(callscope.EUNAVAILABLE, "the ARI dialer is not started")
	}
	select {
	case <-ready:
	case <-ctx.Done():
		return "", ctx.Err()
	case <-time.After(orDuration(d.ConnectWait, 5*time.Second)):
		return "", callscope.Errorf(callscope.EUNAVAILABLE, "the ARI event connection is down")
	}
	c := &callState{req: req, id: "callscope-" + callscope.NewID(), recDone: make(chan struct{})}
	c.prompt = d.writePrompt(ctx, c)
	callerID := d.CallerID
	if dialable.MatchString(req.From) {
		callerID = req.From
	}
	d.mu.Lock()
	d.calls[c.id] = c
	d.mu.Unlock()
	_, err := d.Client.Originate(ctx, Originate{ChannelID: c.id, Endpoint: strings.ReplaceAll(d.Endpoint, "{number}", req.To),
		App: d.App, AppArgs: []string{"callscope", req.CallID}, CallerID: callerID,
		Variables: map[string]string{"CALLSCOPE_CALL_ID": req.CallID}})
	if err != nil {
		d.mu.Lock()
		delete(d.calls, c.id)
		d.mu.Unlock()
		if c.prompt != "" {
			_ = os.Remove(c.prompt)
		}
		return "", err
	}
	d.mu.Lock()
	c.originated = true
	d.mu.Unlock()
	return c.id, nil
}

// writePrompt speaks the call's script into PromptDir as an 8 kHz mono
// WAV named after the channel and returns its path; "" when no script is
// to be played.
func (d *Dialer) writePrompt(ctx context.Context, c *callState) string {
	if d.PromptDir == "" || d.Speech == nil {
		return ""
	}
	text := dial.Render(orString(strings.TrimSpace(c.req.Script), defaultScript), c.req)
	wav, _, err := d.Speech.Speak(ctx, text)
	if err == nil {
		wav, err = narrowband(wav)
	}
	if err != nil {
		d.log().Warn("ARI call: speaking its script", "call_id", c.req.CallID, "err", err)
		return ""
	}
	path := filepath.Join(d.PromptDir, c.id+".wav")
	// Asterisk, another user, reads the file.
	if err := os.WriteFile(path, wav, 0o644); err != nil {
		d.log().Warn("ARI call: writing its script", "call_id", c.req.CallID, "err", err)
		return ""
	}
	return path
}

const defaultScript = "Hello {{contactName}}, this is an automated call about {{title}}. " +
	"I am calling regarding {{purpose}}. Thank you for your time. Goodbye."

// narrowband makes a WAV 8 kHz mono, what Asterisk's wav format reads.
func narrowband(wav []byte) ([]byte, error) {
	pcm, err := audio.DecodeBytes(wav, audio.Format{})
	if err != nil {
		return nil, err
	}
	if len(pcm.Channels) > 1 {
		pcm = &audio.PCM{SampleRate: pcm.SampleRate, Channels: pcm.Channels[:1]}
	}
	if pcm.SampleRate != 8000 {
		if pcm, err = audio.ResamplePCM(pcm, 8000); err != nil {
			return nil, err
		}
	}
	return pcm.WAV(), nil
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Hangup implements dial.Dialer: DELETE /channels/{id}. The call's end is
// reported when its channel is destroyed. Returns ENOTFOUND for a call
// that is neither known here nor to Asterisk.
func (d *Dialer) Hangup(ctx context.Context, sessionID string) error {
	d.mu.Lock()
	c := d.calls[sessionID]
	if c != nil {
		c.hungUp = true
	}
	d.mu.Unlock()
	err := d.Client.Hangup(ctx, sessionID, "normal")
	if callscope.ErrorCode(err) == callscope.ENOTFOUND && c != nil {
		// Gone before its destruction was heard of: end it here.
		d.lost(ctx, c)
		return nil
	}
	return err
}
