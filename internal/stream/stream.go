// Package stream takes call audio live from telephony systems.
//
// Three protocols arrive here, each in its own subpackage: Asterisk
// AudioSocket over TCP (audiosocket), the OpenCHS raw TCP stream (openchs)
// and Twilio Media Streams over WebSocket (twilio). Each turns its wire
// format into the same few calls on a Sessions implementation: a call
// opens, carries 16-bit PCM per track and DTMF digits, and ends once with a
// reason. What a call becomes (a record, segments, a recording) is the
// business of the Sessions implementation, not of this package.
//
// The subpackages also hold a player for each protocol, which sends audio
// the way Asterisk or Twilio would; it drives the listeners in tests and in
// the "callscope stream" command.
package stream

import (
	"context"
	"net/netip"
	"time"
)

// Protocol names the wire protocol a call arrived on.
type Protocol string

// The protocols of the subpackages.
const (
	ProtocolAudioSocket Protocol = "audiosocket" // Asterisk AudioSocket over TCP
	ProtocolOpenCHS     Protocol = "openchs"     // OpenCHS raw TCP: call id + CR, then 16 kHz PCM
	ProtocolTwilio      Protocol = "twilio"      // Twilio Media Streams over WebSocket
)

// Track names, as given in Start.Tracks.
const (
	// TrackInbound is what the caller says (Twilio "inbound").
	TrackInbound = "inbound"
	// TrackOutbound is what the caller hears (Twilio "outbound").
	TrackOutbound = "outbound"
	// TrackChannel is the audio Asterisk reads from the channel running
	// AudioSocket: the caller with the dialplan application, the bridge mix
	// when the call is tapped through ARI externalMedia.
	TrackChannel = "channel"
	// TrackMixed is both parties mixed in one channel (OpenCHS).
	TrackMixed = "mixed"
)

// Start describes a call whose audio begins to arrive.
type Start struct {
	Protocol Protocol
	// ExternalID is the id the peer gave the call: the AudioSocket UUID, the
	// OpenCHS call id (the PBX unique id, e.g. 1761295415.12887) or the
	// Twilio CallSid.
	ExternalID string
	// StreamID is the Twilio streamSid; empty for the other protocols.
	StreamID string
	// AccountID is the Twilio accountSid; empty for the other protocols.
	AccountID string
	// ClientAddr is the remote address of the connection.
	ClientAddr netip.AddrPort
	// SampleRate is the rate of every PCM slice passed to Session.Audio.
	SampleRate int
	// Tracks names the tracks; Session.Audio's track argument indexes it.
	Tracks []string
	// Params are the Twilio customParameters (from <Parameter> in TwiML).
	Params map[string]string
	// StartedAt is when the connection was accepted.
	StartedAt time.Time
}

// EndReason says why a call's stream ended.
type EndReason string

// The reasons a stream ends.
const (
	// EndHangup: the peer said the call is over (an AudioSocket hangup
	// frame, a Twilio stop message).
	EndHangup EndReason = "hangup"
	// EndClosed: the peer closed the connection. This is how Asterisk ends
	// an AudioSocket call and how an OpenCHS stream always ends.
	EndClosed EndReason = "closed"
	// EndTimeout: the peer sent nothing for longer than the idle timeout.
	EndTimeout EndReason = "timeout"
	// EndPeerError: the peer reported an error (AudioSocket error frame).
	EndPeerError EndReason = "peer_error"
	// EndProtocol: the peer sent something the protocol does not allow;
	// the connection was closed.
	EndProtocol EndReason = "protocol_error"
	// EndSession: the Session asked to end the stream by returning an error.
	EndSession EndReason = "session"
	// EndShutdown: the listener was stopped.
	EndShutdown EndReason = "shutdown"
)

// Sessions opens a Session for each call that starts streaming.
type Sessions interface {
	// Open is called once per call, when the protocol has told who the call
	// is. ctx lasts as long as the connection. An error refuses the call:
	// the connection is closed (AudioSocket gets a hangup frame first) and
	// Close is not called.
	Open(ctx context.Context, s Start) (Session, error)
}

// Session receives the media of one call, from the connection's goroutine,
// one method at a time. Methods should return quickly: while they run,
// nothing is read from the peer.
type Session interface {
	// Audio delivers PCM samples of one track at Start.SampleRate. at is the
	// position of the first sample from the start of the stream. pcm is
	// reused once Audio returns: copy it to keep it. An error ends the
	// stream (AudioSocket gets a hangup frame), then Close is called with
	// EndSession.
	Audio(track int, pcm []int16, at time.Duration) error
	// DTMF delivers one key press (0-9, *, #, A-D) heard at position at.
	// An error ends the stream as for Audio.
	DTMF(digit string, at time.Duration) error
	// Close is called exactly once, after every other call, when the
	// stream ends for any reason.
	Close(reason EndReason)
}
