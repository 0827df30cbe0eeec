package ari

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Channel is ARI's Channel model (channels.json), the fields the dialer
// reads.
type Channel struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"`
	// Caller and Connected are CallerID models.
	Caller       CallerID          `json:"caller"`
	Connected    CallerID          `json:"connected"`
	CreationTime string            `json:"creationtime"`
	ChannelVars  map[string]string `json:"channelvars,omitempty"`
}

// CallerID is ARI's CallerID model.
type CallerID struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

// LiveRecording is ARI's LiveRecording model (recordings.json).
type LiveRecording struct {
	Name      string `json:"name"`
	Format    string `json:"format"`
	TargetURI string `json:"target_uri"`
	State     string `json:"state"`
	Duration  *int   `json:"duration,omitempty"`
	Cause     string `json:"cause,omitempty"`
}

// Playback is ARI's Playback model (playbacks.json).
type Playback struct {
	ID        string `json:"id"`
	MediaURI  string `json:"media_uri"`
	TargetURI string `json:"target_uri"`
	State     string `json:"state"`
}

// Event is one message of the event WebSocket (events.json: Message, its
// subtype Event, and the event types the dialer follows). Fields of other
// types are left zero.
type Event struct {
	Type        string `json:"type"`
	AsteriskID  string `json:"asterisk_id,omitempty"`
	Application string `json:"application"`
	Timestamp   string `json:"timestamp"`

	// StasisStart, StasisEnd, ChannelStateChange, ChannelDtmfReceived,
	// ChannelHangupRequest, ChannelDestroyed.
	Channel *Channel `json:"channel,omitempty"`
	// StasisStart.
	Args []string `json:"args,omitempty"`
	// ChannelHangupRequest (optional), ChannelDestroyed (required): the
	// Q.850 cause.
	Cause    *int   `json:"cause,omitempty"`
	CauseTxt string `json:"cause_txt,omitempty"`
	// ChannelDtmfReceived.
	Digit      string `json:"digit,omitempty"`
	DurationMS int    `json:"duration_ms,omitempty"`
	// RecordingStarted, RecordingFinished, RecordingFailed.
	Recording *LiveRecording `json:"recording,omitempty"`
	// PlaybackStarted, PlaybackFinished.
	Playback *Playback `json:"playback,omitempty"`
}

// maxEvent bounds one event message.
const maxEvent = 1 << 20

// DecodeEvent reads one event message and checks the properties
// events.json requires of the types the dialer follows; a message of
// another type needs only its type.
func DecodeEvent(b []byte) (*Event, error) {
	if len(b) > maxEvent {
		return nil, fmt.Errorf("event of %d bytes is too large", len(b))
	}
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	if e.Type == "" {
		return nil, errors.New("event: no type")
	}
	switch e.Type {
	case "StasisStart", "StasisEnd", "ChannelStateChange", "ChannelDtmfReceived", "ChannelHangupRequest", "ChannelDestroyed":
		if e.Channel == nil || e.Channel.ID == "" {
			return nil, fmt.Errorf("event %s: no channel id", e.Type)
		}
	case "RecordingStarted", "RecordingFinished", "RecordingFailed":
		if e.Recording == nil || e.Recording.Name == "" {
			return nil, fmt.Errorf("event %s: no recording name", e.Type)
		}
	case "PlaybackStarted", "PlaybackFinished":
		if e.Playback == nil || e.Playback.ID == "" {
			return nil, fmt.Errorf("event %s: no playback id", e.Type)
		}
	}
	switch e.Type {
	case "ChannelDestroyed":
		if e.Cause == nil {
			return nil, errors.New("event ChannelDestroyed: no cause")
		}
	case "ChannelDtmfReceived":
		if len(e.Digit) != 1 {
			return nil, fmt.Errorf("event ChannelDtmfReceived: digit %q is not one character", e.Digit)
		}
	}
	return &e, nil
}

// Time is when the event happened, now when its timestamp cannot be read.
// ARI writes timestamps as 2006-01-02T15:04:05.000-0700.
func (e *Event) Time(now time.Time) time.Time {
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, e.Timestamp); err == nil {
			return t
		}
	}
	return now
}
