package dial

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/call"
)

// Simulator is a Dialer that places no real call: it plays one out, with
// realistic timing, and reports it like a provider would — ringing, then
// the outcome; for an answered call a conversation built from the call's
// script and contact, a recording of it and its transcript, then the end.
//
// The outcome is chosen deterministically. A "simulate" provider parameter
// in the schedule request decides it:
//
//	"simulate": {"outcome": "answer|busy|no-answer|voicemail|failed",
//	             "ringSeconds": 1, "talkSeconds": 5}
//
// Otherwise the last digit of the number called decides: 7 busy, 8 no
// answer, 9 voicemail, 6 failed, any other digit answered. The call rings
// for 2 s and, answered, talks for as long as its script takes to say.
type Simulator struct {
	Events Events
	// Clock times the calls; nil is the wall clock.
	Clock Clock
	// Speech speaks recordings; nil makes a tone recording instead.
	Speech Speaker
	// CostPerMinute is charged for answered time (default 0.02).
	CostPerMinute float64
	Logger        *slog.Logger

	mu    sync.Mutex
	calls map[string]chan struct{}
	wg    sync.WaitGroup
}

var _ Dialer = (*Simulator)(nil)

// Clock is the time the simulator plays calls in.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type wallClock struct{}

func (wallClock) Now() time.Time                         { return time.Now() }
func (wallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// SimulateParams is the "simulate" provider parameter.
type SimulateParams struct {
	Outcome     string   `json:"outcome"`
	RingSeconds *float64 `json:"ringSeconds"`
	TalkSeconds *float64 `json:"talkSeconds"`
}

// ParseSimulate reads a "simulate" provider parameter; it names the field
// at fault.
func ParseSimulate(raw json.RawMessage) (*SimulateParams, error) {
	var p SimulateParams
	if err := callscope.DecodeStrict(raw, &p, "body", "simulate"); err != nil {
		return nil, err
	}
	if p.Outcome != "" && !contains(callscope.DialOutcomes, p.Outcome) {
		return nil, callscope.ValidationError(callscope.FieldError{Loc: []string{"body", "simulate", "outcome"},
			Msg: "Input should be one of: " + strings.Join(callscope.DialOutcomes, ", "), Type: "enum"})
	}
	for name, v := range map[string]*float64{"ringSeconds": p.RingSeconds, "talkSeconds": p.TalkSeconds} {
		if v != nil && (*v < 0 || *v > 3600) {
			return nil, callscope.ValidationError(callscope.FieldError{Loc: []string{"body", "simulate", name},
				Msg: "Input should be between 0 and 3600 seconds", Type: "value_error"})
		}
	}
	return &p, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// OutcomeByNumber is the simulator's default rule: the number's last digit
// decides the outcome.
func OutcomeByNumber(number string) string {
	if number == "" {
		return callscope.OutcomeAnswer
	}
	switch number[len(number)-1] {
	case '6':
		return callscope.OutcomeFailed
	case '7':
		return callscope.OutcomeBusy
	case '8':
		return callscope.OutcomeNoAnswer
	case '9':
		return callscope.OutcomeVoicemail
	}
	return callscope.OutcomeAnswer
}

// plan is how a simulated call goes.
type plan struct {
	outcome string
	ring    time.Duration
	talk    time.Duration // 0: as long as the script takes
}

func planFor(req Request) (plan, error) {
	p := plan{outcome: OutcomeByNumber(req.To), ring: 2 * time.Second}
	raw, ok := req.Provider["simulate"]
	if !ok {
		return p, nil
	}
	sp, err := ParseSimulate(raw)
	if err != nil {
		return p, err
	}
	if sp.Outcome != "" {
		p.outcome = sp.Outcome
	}
	if sp.RingSeconds != nil {
		p.ring = seconds(*sp.RingSeconds)
	}
	if sp.TalkSeconds != nil {
		p.talk = seconds(*sp.TalkSeconds)
	}
	return p, nil
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

func (s *Simulator) clock() Clock {
	if s.Clock == nil {
		return wallClock{}
	}
	return s.Clock
}

func (s *Simulator) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Dial implements Dialer: the call is played out in the background.
func (s *Simulator) Dial(ctx context.Context, req Request) (string, error) {
	p, err := planFor(req)
	if err != nil {
		return "", err
	}
	id := "sim_" + callscope.NewID()
	hang := make(chan struct{})
	s.mu.Lock()
	if s.calls == nil {
		s.calls = map[string]chan struct{}{}
	}
	s.calls[id] = hang
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.calls, id)
			s.mu.Unlock()
		}()
		if err := s.play(context.WithoutCancel(ctx), req, p, hang); err != nil {
			s.log().Error("simulated call", "call_id", req.CallID, "err", err)
		}
	}()
	return id, nil
}

// ValidateProvider checks the "simulate" provider parameter, naming the
// field at fault.
func (s *Simulator) ValidateProvider(p map[string]json.RawMessage) error {
	if raw, ok := p["simulate"]; ok {
		_, err := ParseSimulate(raw)
		return err
	}
	return nil
}

// Hangup implements Dialer: the call ends as soon as it can. Returns
// ENOTFOUND for a call that is over or unknown.
func (s *Simulator) Hangup(_ context.Context, sessionID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	hang, ok := s.calls[sessionID]
	if !ok {
		return callscope.Errorf(callscope.ENOTFOUND, "no simulated call %q in progress", sessionID)
	}
	select {
	case <-hang:
	default:
		close(hang)
	}
	return nil
}

// Wait waits for the calls in progress to finish playing.
func (s *Simulator) Wait() { s.wg.Wait() }

// wait waits d on the simulator's clock, reporting the call alive every
// KeepAlive; false when hung up first.
func (s *Simulator) wait(ctx context.Context, req Request, d time.Duration, hang <-chan struct{}) bool {
	end := s.clock().Now().Add(d)
	for {
		rem := end.Sub(s.clock().Now())
		if rem <= 0 {
			select {
			case <-hang:
				return false
			default:
				return true
			}
		}
		select {
		case <-s.clock().After(min(rem, KeepAlive)):
			if err := s.Events.Alive(ctx, req.TenantID, req.CallID); err != nil {
				s.log().Warn("simulated call: keeping its line", "call_id", req.CallID, "err", err)
			}
		case <-hang:
			return false
		}
	}
}

func (s *Simulator) status(ctx context.Context, req Request, st callscope.CallStatus, errInfo, by string) error {
	return s.Events.Status(ctx, req.TenantID, req.CallID, call.StatusChange{Status: st, At: s.clock().Now(),
		ErrorInfo: errInfo, DisconnectedBy: by, Reason: "simulated"})
}

// play plays one call out.
func (s *Simulator) play(ctx context.Context, req Request, p plan, hang <-chan struct{}) error {
	if !s.wait(ctx, req, 200*time.Millisecond, hang) {
		return s.status(ctx, req, callscope.CallCancelled, "hung up before ringing", "user")
	}
	if err := s.status(ctx, req, callscope.CallRinging, "", ""); err != nil {
		return err
	}
	if !s.wait(ctx, req, p.ring, hang) {
		return s.status(ctx, req, callscope.CallNoAnswer, "hung up while ringing", "user")
	}
	switch p.outcome {
	case callscope.OutcomeBusy:
		return s.status(ctx, req, callscope.CallBusy, "busy", "contact")
	case callscope.OutcomeNoAnswer:
		return s.status(ctx, req, callscope.CallNoAnswer, "no answer", "")
	case callscope.OutcomeFailed:
		return s.status(ctx, req, callscope.CallFailed, "simulated network failure", "")
	}
	answered := s.clock().Now()
	if err := s.status(ctx, req, callscope.CallInProgress, "", ""); err != nil {
		return err
	}
	lines := Conversation(req, p.outcome == callscope.OutcomeVoicemail)
	segs := timeLines(lines, p.talk, req.MaxDuration)
	talk := p.talk
	if talk <= 0 && len(segs) > 0 {
		talk = seconds(segs[len(segs)-1].EndTime + 0.5)
	}
	// The lines join the transcript as they are said.
	talkEnd := answered.Add(min(talk, max(req.MaxDuration, time.Second)))
	by, hungUp := "contact", false
	for _, sg := range segs {
		at := answered.Add(seconds(sg.EndTime))
		if at.After(talkEnd) {
			break
		}
		if !s.wait(ctx, req, at.Sub(s.clock().Now()), hang) {
			hungUp = true
			break
		}
		if req.TranscriptionEnabled {
			if err := s.Events.Segments(ctx, req.TenantID, req.CallID, []callscope.Segment{sg}); err != nil {
				s.log().Warn("simulated call: live transcript", "call_id", req.CallID, "err", err)
			}
		}
	}
	if hungUp || !s.wait(ctx, req, talkEnd.Sub(s.clock().Now()), hang) {
		by = "user"
	}
	spoken := s.clock().Now().Sub(answered).Seconds()
	segs = cut(segs, spoken)
	if req.RecordingEnabled {
		wav, secs, err := s.record(ctx, segs, spoken)
		if err != nil {
			s.log().Warn("simulated recording", "call_id", req.CallID, "err", err)
		} else if err := s.Events.Recording(ctx, req.TenantID, req.CallID, wav, secs); err != nil {
			return err
		}
	}
	if req.TranscriptionEnabled {
		if err := s.Events.Transcript(ctx, req.TenantID, req.CallID, segs); err != nil {
			return err
		}
	}
	rate := s.CostPerMinute
	if rate == 0 {
		rate = 0.02
	}
	if err := s.Events.Cost(ctx, req.TenantID, req.CallID, float64(int((spoken/60*rate)*10000+0.5))/10000); err != nil {
		return err
	}
	final := callscope.CallCompleted
	if p.outcome == callscope.OutcomeVoicemail {
		final, by = callscope.CallVoicemail, "user"
	}
	return s.status(ctx, req, final, "", by)
}

// record speaks the transcript, or makes a tone as long as the call.
func (s *Simulator) record(ctx context.Context, segs []callscope.Segment, spoken float64) ([]byte, float64, error) {
	if s.Speech != nil && len(segs) > 0 {
		var text []string
		for _, sg := range segs {
			text = append(text, sg.Text)
		}
		wav, secs, err := s.Speech.Speak(ctx, strings.Join(text, " "))
		if err == nil {
			return wav, secs, nil
		}
		s.log().Warn("speaking the recording failed; recording a tone", "err", err)
	}
	wav := ToneWAV(max(spoken, 1))
	return wav, max(spoken, 1), nil
}

// Conversation is what a simulated call says: the agent's lines are the
// call's script with the contact's details filled in ({{contactName}},
// {{title}}, {{purpose}}, {{contactPhone}}), the contact answers each. A
// voicemail is the agent's message alone.
func Conversation(req Request, voicemail bool) []callscope.Segment {
	script := req.Script
	if strings.TrimSpace(script) == "" {
		script = "Hello {{contactName}}, this is an automated call about {{title}}. " +
			"I am calling regarding {{purpose}}. Is now a good time? Thank you for your time. Goodbye."
	}
	agent := sentences(Render(script, req))
	if voicemail {
		agent = append([]string{"Hello {{contactName}}, sorry I missed you."}, agent...)
		agent[0] = Render(agent[0], req)
		var out []callscope.Segment
		for _, a := range agent {
			out = append(out, callscope.Segment{Speaker: "agent", Text: a, Confidence: 1})
		}
		return out
	}
	name := req.ContactName
	if name == "" {
		name = "speaking"
	}
	replies := []string{"Hello, this is " + name + ".", "Yes, go ahead.", "I see, that sounds fine.",
		"Yes, that works for me.", "Thank you.", "Goodbye."}
	out := []callscope.Segment{{Speaker: "contact", Text: replies[0], Confidence: 1}}
	for i, a := range agent {
		out = append(out, callscope.Segment{Speaker: "agent", Text: a, Confidence: 1})
		out = append(out, callscope.Segment{Speaker: "contact", Text: replies[1+i%(len(replies)-1)], Confidence: 1})
	}
	return out
}

// Render fills a script's placeholders with the call's details; each may
// be written {{name}} or {name}. Provider parameters of string value fill
// placeholders of their name too ("variables").
func Render(script string, req Request) string {
	vals := map[string]string{"contactName": req.ContactName, "title": req.Title, "purpose": req.Purpose,
		"contactPhone": req.To}
	if raw, ok := req.Provider["variables"]; ok {
		var vars map[string]any
		if json.Unmarshal(raw, &vars) == nil {
			for k, v := range vars {
				if _, taken := vals[k]; !taken {
					vals[k] = fmt.Sprint(v)
				}
			}
		}
	}
	var pairs []string
	for k, v := range vals {
		if strings.TrimSpace(v) == "" {
			v = "it"
			if k == "contactName" {
				v = "there"
			}
		}
		pairs = append(pairs, "{{"+k+"}}", v, "{{ "+k+" }}", v, "{"+k+"}", v)
	}
	return strings.NewReplacer(pairs...).Replace(script)
}

// sentences splits text after each '.', '?' or '!'.
func sentences(text string) []string {
	var out []string
	start := 0
	for i, r := range text {
		if r == '.' || r == '?' || r == '!' {
			if s := strings.TrimSpace(text[start : i+1]); s != "" {
				out = append(out, s)
			}
			start = i + 1
		}
	}
	if s := strings.TrimSpace(text[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// timeLines gives the lines times as spoken at about 2.5 words a second,
// keeping those that begin before the talk time (or the duration limit).
func timeLines(lines []callscope.Segment, talk, limit time.Duration) []callscope.Segment {
	end := talk.Seconds()
	if end <= 0 {
		end = limit.Seconds()
	}
	var out []callscope.Segment
	t := 0.3
	for i, l := range lines {
		d := max(1.0, float64(len(strings.Fields(l.Text)))/2.5)
		if end > 0 && t >= end {
			break
		}
		l.SegmentID, l.StartTime, l.EndTime = i, round2(t), round2(t+d)
		out = append(out, l)
		t += d + 0.4
	}
	return out
}

// cut keeps the lines begun within the seconds spoken, the last one ending
// there at the latest.
func cut(segs []callscope.Segment, spoken float64) []callscope.Segment {
	var out []callscope.Segment
	for _, s := range segs {
		if s.StartTime >= spoken {
			break
		}
		s.EndTime = min(s.EndTime, round2(spoken))
		out = append(out, s)
	}
	return out
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }
