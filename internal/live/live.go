// Package live turns the audio streams of internal/stream into calls: each
// stream opens (or finds) its call through the call service as in
// progress, keeps its last activity and audio seconds current, records its
// DTMF keys as events, spools its audio to a WAV recording as it arrives,
// and at the end attaches the recording, ends the call and requests its
// post-call processing as the tenant's processing mode asks.
package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/stream"
	"github.com/callscope/callscope/internal/stt"
	"github.com/callscope/callscope/internal/voicebot"
)

// Defaults of Sessions' intervals.
const (
	// DefaultFlushInterval is how often a call's spooled recording is made
	// durable and its progress stored: what a crash can lose.
	DefaultFlushInterval = 2 * time.Second
	// finishTimeout bounds the work done when a stream ends: uploading
	// the recording and ending the call.
	finishTimeout = 2 * time.Minute
	// hangupWait bounds how long Hangup waits for a session to finish.
	hangupWait = 10 * time.Second
)

// ErrEnded is what a session's Audio returns once its call was ended by
// someone else (the end endpoint, another replica): the stream is closed.
var ErrEnded = errors.New("the call was ended")

// Sessions implements stream.Sessions over the call service. Set the
// fields before the first Open.
type Sessions struct {
	Calls *call.Service
	// Recordings keeps the finished recordings.
	Recordings blob.Store
	// SpoolDir holds the recordings of calls in progress; a recording is
	// removed from it once stored in Recordings.
	SpoolDir string
	// Tenant names the tenant the calls belong to when the stream's
	// context names none (stream.WithTenant); callscope.DefaultTenantName
	// when empty.
	Tenant string
	// FlushInterval, if not zero, replaces DefaultFlushInterval. The
	// session also learns at this interval whether its call was ended
	// elsewhere.
	FlushInterval time.Duration
	Logger        *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Speech, if set, transcribes calls in realtime and hybrid mode as
	// they go: their tracks are cut into utterances by voice activity and
	// each utterance's text appended to the transcript, with its track as
	// speaker.
	Speech stt.Transcriber
	// SpeechWorkers, if not zero, replaces DefaultSpeechWorkers.
	SpeechWorkers int
	// Engines, if set, gives a tenant's analysis engines, and realtime
	// and hybrid calls are analysed progressively as their transcript
	// grows (progressive.go).
	Engines func(*callscope.Tenant) pipeline.Engines
	// ProgressiveChars and ProgressiveInterval, if not zero, replace
	// DefaultProgressiveChars and DefaultProgressiveInterval.
	ProgressiveChars    int
	ProgressiveInterval time.Duration

	mu   sync.Mutex
	live map[string]*session // by call id

	sttOnce sync.Once
	sttJobs chan utterance

	batchOnce sync.Once
	segIn     chan segAppend
	progIn    chan progReq
}

var _ stream.Sessions = (*Sessions)(nil)

func (m *Sessions) now() time.Time {
	if m.Now == nil {
		return time.Now()
	}
	return m.Now()
}

func (m *Sessions) logger() *slog.Logger {
	if m.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Logger
}

// connectionInfo is a call's connection_info (seed 001 §3.1).
type connectionInfo struct {
	ClientAddr       [2]any `json:"client_addr"`
	TempConnectionID string `json:"temp_connection_id"`
	StartTime        string `json:"start_time"`
}

// externalIDs are the ids a stream's call is known by, the one it is
// looked up by first.
func externalIDs(st stream.Start) []callscope.ExternalID {
	switch st.Protocol {
	case stream.ProtocolAudioSocket:
		return []callscope.ExternalID{{Kind: callscope.ExtAudioSocketUUID, Value: st.ExternalID}}
	case stream.ProtocolOpenCHS:
		return []callscope.ExternalID{{Kind: callscope.ExtPBXUniqueID, Value: st.ExternalID}}
	case stream.ProtocolTwilio:
		ids := []callscope.ExternalID{{Kind: callscope.ExtCallSID, Value: st.ExternalID}}
		if st.StreamID != "" {
			ids = append(ids, callscope.ExternalID{Kind: callscope.ExtStreamID, Value: st.StreamID})
		}
		return ids
	}
	return []callscope.ExternalID{{Kind: callscope.ExtCallID, Value: st.ExternalID}}
}

// Open creates or finds the stream's call, in progress, and starts its
// recording. A call already streaming through this process is refused.
func (m *Sessions) Open(ctx context.Context, st stream.Start) (stream.Session, error) {
	if st.ExternalID == "" {
		return nil, callscope.Errorf(callscope.EINVALID, "stream without a call id")
	}
	name := stream.TenantFrom(ctx)
	if name == "" {
		name = m.Tenant
	}
	if name == "" {
		name = callscope.DefaultTenantName
	}
	tn, err := m.Calls.Store.TenantByName(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("tenant %q: %w", name, err)
	}
	started := st.StartedAt
	if started.IsZero() {
		started = m.now()
	}
	started = callscope.Timestamp(started)
	info, err := json.Marshal(connectionInfo{
		ClientAddr:       [2]any{st.ClientAddr.Addr().String(), st.ClientAddr.Port()},
		TempConnectionID: callscope.NewID(),
		StartTime:        started.UTC().Format(time.RFC3339Nano),
	})
	if err != nil {
		return nil, err
	}
	mode := tn.Settings.ModeOrDefault()
	c := &callscope.Call{TenantID: tn.ID, ExternalIDs: externalIDs(st), Status: callscope.CallInProgress,
		StartedAt: &started, ProcessingMode: mode, ConnectionInfo: info,
		Metadata: map[string]any{"stream_protocol": string(st.Protocol)}}
	if len(st.Params) > 0 {
		c.Metadata["stream_parameters"] = st.Params
	}
	if st.AccountID != "" {
		c.Metadata["account_sid"] = st.AccountID
	}
	c, _, err = m.Calls.OpenLive(ctx, c)
	if err != nil {
		return nil, err
	}
	if !c.Status.Live() {
		return nil, callscope.Errorf(callscope.ECONFLICT, "call %q is over already (%s)", st.ExternalID, c.Status)
	}
	if c.Status != callscope.CallInProgress {
		// A call placed or announced before (initiating, ringing): its
		// audio flowing means it was answered.
		if c, _, err = m.Calls.SetStatus(ctx, c.TenantID, c.ID, call.StatusChange{Status: callscope.CallInProgress,
			Report: callscope.Observed, At: started}); err != nil {
			return nil, err
		}
	}
	if c.ProcessingMode != "" {
		mode = c.ProcessingMode
	}
	s := &session{m: m, call: c, tenant: tn, mode: mode, tracks: st.Tracks, rate: st.SampleRate,
		log:  m.logger().With("call", c.PublicID(), "call_db_id", c.ID, "protocol", string(st.Protocol)),
		stop: make(chan string, 1), done: make(chan struct{}), tickDone: make(chan struct{}),
		finished: make(chan struct{})}
	channels := max(1, len(st.Tracks))
	if err := os.MkdirAll(m.SpoolDir, 0o700); err != nil {
		return nil, fmt.Errorf("recording spool: %w", err)
	}
	s.path = filepath.Join(m.SpoolDir, c.TenantID+"_"+c.ID+"_"+callscope.NewID()+".wav")
	if s.spool, err = newSpool(s.path, st.SampleRate, channels); err != nil {
		return nil, fmt.Errorf("recording spool: %w", err)
	}
	if m.Speech != nil && (mode == callscope.ModeRealtime || mode == callscope.ModeHybrid) {
		s.heard = make([]trackBuf, channels)
	}
	s.prog.last = m.now()
	if !m.register(s) {
		_, _ = s.spool.finish()
		_ = os.Remove(s.path)
		return nil, callscope.Errorf(callscope.ECONFLICT, "call %q is streaming already", st.ExternalID)
	}
	go s.tick()
	s.log.Info("live call opened", "remote", st.ClientAddr.String(), "rate", st.SampleRate, "tracks", len(st.Tracks),
		"processing_mode", string(mode))
	return s, nil
}

func (m *Sessions) register(s *session) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.live == nil {
		m.live = map[string]*session{}
	}
	if _, ok := m.live[s.call.ID]; ok {
		return false
	}
	m.live[s.call.ID] = s
	return true
}

func (m *Sessions) unregister(s *session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.live[s.call.ID] == s {
		delete(m.live, s.call.ID)
	}
}

// find returns the live session of the tenant's call ref names (its id or
// one of its external ids), or nil.
func (m *Sessions) find(tenantID, ref string) *session {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.live {
		if s.call.TenantID != tenantID {
			continue
		}
		if s.call.ID == ref {
			return s
		}
		for _, e := range s.call.ExternalIDs {
			if e.Value == ref {
				return s
			}
		}
	}
	return nil
}

// Hangup ends the live stream of the tenant's call ref names when this
// process holds it: the stream is closed, the recording attached and the
// call ended for reason. It waits (bounded) for that to finish and reports
// whether it held the call.
func (m *Sessions) Hangup(ctx context.Context, tenantID, ref, reason string) bool {
	s := m.find(tenantID, ref)
	if s == nil {
		return false
	}
	s.requestStop(reason)
	t := time.NewTimer(hangupWait)
	defer t.Stop()
	select {
	case <-s.finished:
	case <-t.C:
		s.log.Warn("live call did not finish in time after hangup", "wait", hangupWait.String())
	case <-ctx.Done():
	}
	return true
}

// Live counts the streams this process holds.
func (m *Sessions) Live() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.live)
}

// session is one call's stream.
type session struct {
	m      *Sessions
	call   *callscope.Call
	tenant *callscope.Tenant
	mode   callscope.ProcessingMode
	tracks []string
	rate   int
	log    *slog.Logger
	path   string

	mu       sync.Mutex
	spool    *spool
	err      error                   // the spool's first write error
	heard    []trackBuf              // per track, for live transcription; nil without
	recs     []stt.StreamTranscriber // per track, kept recognisers
	recsDone bool
	prog     progress

	speaking sync.WaitGroup // utterances being transcribed

	stop     chan string // the reason someone asked the stream to end
	stopped  string
	done     chan struct{} // closed when the stream ends
	tickDone chan struct{}
	finished chan struct{} // closed when the call is finished
}

func (s *session) requestStop(reason string) {
	select {
	case s.stop <- reason:
	default:
	}
}

// stopReason reports the reason the stream was asked to end, or "".
func (s *session) stopReason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped == "" {
		select {
		case r := <-s.stop:
			s.stopped = r
		default:
		}
	}
	return s.stopped
}

// Audio spools pcm; once the call was ended elsewhere it returns ErrEnded.
func (s *session) Audio(track int, pcm []int16, at time.Duration) error {
	if s.stopReason() != "" {
		return ErrEnded
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil // the recording is lost; the call goes on
	}
	if track >= 0 && track < len(s.heard) {
		s.hear(track, pcm, at)
	}
	if err := s.spool.write(track, pcm, at); err != nil {
		s.err = err
		s.log.Error("recording spool write failed: the rest of the call is not recorded", "err", err)
	}
	return nil
}

// DTMF records the key as a call.dtmf event.
func (s *session) DTMF(digit string, at time.Duration) error {
	if s.stopReason() != "" {
		return ErrEnded
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.m.Calls.DTMF(ctx, s.call, digit, "", at); err != nil {
		s.log.Warn("dtmf not recorded", "digit", digit, "err", err)
	}
	return nil
}

// tick makes the recording durable and stores the call's progress every
// flush interval, and notices a call ended elsewhere.
func (s *session) tick() {
	defer close(s.tickDone)
	every := s.m.FlushInterval
	if every <= 0 {
		every = DefaultFlushInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		pos := s.flush()
		s.maybeAnalyse(false)
		ctx, cancel := context.WithTimeout(context.Background(), every*5)
		status, err := s.m.progress(ctx, call.LiveTick{TenantID: s.call.TenantID, CallID: s.call.ID, At: s.m.now(),
			AudioSeconds: pos.Seconds()})
		cancel()
		switch {
		case err != nil:
			s.log.Warn("live call progress not stored", "err", err)
		case !status.Live():
			s.log.Info("live call ended elsewhere: closing its stream", "status", string(status))
			s.requestStop("ended_elsewhere")
		}
	}
}

// flush makes the spool durable and returns the audio position.
func (s *session) flush() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		if err := s.spool.flush(); err != nil {
			s.err = err
			s.log.Error("recording spool flush failed: the rest of the call is not recorded", "err", err)
		}
	}
	return s.spool.position()
}

// endReasons name, in the call's end_reason, why its stream ended.
var endReasons = map[stream.EndReason]string{
	stream.EndHangup:    "hangup",
	stream.EndClosed:    "connection_closed",
	stream.EndTimeout:   "silence_timeout",
	stream.EndPeerError: "peer_error",
	stream.EndProtocol:  "protocol_error",
	stream.EndShutdown:  "shutdown",
	stream.EndSession:   "session",
}

// Close finishes the call: the recording is stored and attached, the call
// ended and its processing requested as its mode asks.
func (s *session) Close(why stream.EndReason) {
	defer close(s.finished)
	defer s.m.unregister(s)
	reason := endReasons[why]
	if r := s.stopReason(); r != "" {
		reason = r
	}
	if reason == "" {
		reason = string(why)
	}
	close(s.done)
	<-s.tickDone
	ctx, cancel := context.WithTimeout(context.Background(), finishTimeout)
	defer cancel()

	s.mu.Lock()
	pos := s.spool.position()
	frames, ferr := s.spool.finish()
	if ferr == nil {
		ferr = s.err
	}
	s.mu.Unlock()
	if _, err := s.m.Calls.LiveProgress(ctx, s.call.TenantID, s.call.ID, s.m.now(), pos.Seconds()); err != nil {
		s.log.Warn("live call progress not stored", "err", err)
	}
	if ferr != nil {
		s.log.Error("recording spool failed; what was flushed stays in the spool", "path", s.path, "err", ferr)
	} else if frames > 0 {
		if err := s.store(ctx, frames); err != nil {
			s.log.Error("recording not stored; it stays in the spool", "path", s.path, "err", err)
		}
	} else {
		_ = os.Remove(s.path)
	}
	// The last utterances are transcribed before the call ends.
	s.flushSpeech()
	s.speechDone(ctx)
	s.closeRecognizers()
	// And the last of the transcript is analysed.
	s.maybeAnalyse(true)
	process := s.mode != callscope.ModeRealtime
	c, err := s.m.Calls.EndLive(ctx, s.call.TenantID, s.call.ID, reason, process)
	if err != nil {
		s.log.Error("live call not ended", "reason", reason, "err", err)
		return
	}
	s.log.Info("live call ended", "reason", reason, "status", string(c.Status), "audio", pos.String(),
		"processing_mode", string(s.mode))
}

// store uploads the spooled recording and attaches it to the call.
func (s *session) store(ctx context.Context, frames int64) error {
	return s.m.storeSpool(ctx, s.call, s.path, frames, s.rate, max(1, len(s.tracks)))
}

// storeSpool uploads the WAV spool file at path (frames frames at rate,
// channels channels, header included) and attaches it to c, then removes
// the file.
func (m *Sessions) storeSpool(ctx context.Context, c *callscope.Call, path string, frames int64, rate, channels int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	key := c.TenantID + "/" + c.ID + "/" + callscope.NewID() + ".wav"
	size, err := m.Recordings.Put(ctx, key, io.LimitReader(f, wavHeaderSize+frames*int64(channels)*2))
	if err != nil {
		return err
	}
	rec := &callscope.Recording{Format: "wav", ContentType: "audio/wav", Channels: channels,
		DurationSeconds: float64(frames) / float64(rate), SizeBytes: size, StorageKey: key,
		AccessToken: voicebot.NewToken()}
	rec.DurationSeconds = float64(int64(rec.DurationSeconds*1000+0.5)) / 1000
	if err := m.Calls.AttachRecording(ctx, c, rec); err != nil {
		_ = m.Recordings.Delete(context.WithoutCancel(ctx), key)
		return err
	}
	_ = os.Remove(path)
	return nil
}

// Recover finishes the calls whose streams a crash interrupted: each
// recording left in SpoolDir is stored as far as it was last made durable
// and attached to its call, and the call is ended (end_reason
// "interrupted") with its processing requested as its mode asks. Run it
// before the listeners start. A recording that cannot be stored stays in
// the spool for the next start.
func (m *Sessions) Recover(ctx context.Context) error {
	entries, err := os.ReadDir(m.SpoolDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		parts := strings.Split(strings.TrimSuffix(e.Name(), ".wav"), "_")
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".wav") || len(parts) != 3 {
			continue
		}
		if err := m.recover(ctx, filepath.Join(m.SpoolDir, e.Name()), parts[0], parts[1]); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.Name(), err))
		}
	}
	return errors.Join(errs...)
}

func (m *Sessions) recover(ctx context.Context, path, tenantID, callID string) error {
	c, err := m.Calls.Store.Call(ctx, tenantID, callID)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		m.logger().Warn("spooled recording of an unknown call removed", "path", path)
		return os.Remove(path)
	} else if err != nil {
		return err
	}
	head := make([]byte, wavHeaderSize)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	_, err = io.ReadFull(f, head)
	f.Close()
	rate, channels, frames, ok := parseWAVHeader(head)
	switch {
	case err != nil || !ok || frames == 0:
		// Nothing was made durable.
		_ = os.Remove(path)
	default:
		if err := m.storeSpool(ctx, c, path, frames, rate, channels); err != nil {
			return err
		}
	}
	mode := c.ProcessingMode
	if mode == "" {
		mode = callscope.ModePostcallOnly
	}
	c, err = m.Calls.EndLive(ctx, c.TenantID, c.ID, "interrupted", mode != callscope.ModeRealtime)
	if err != nil {
		return err
	}
	m.logger().Info("interrupted live call finished", "call", c.PublicID(), "recorded_frames", frames, "status", string(c.Status))
	return nil
}
