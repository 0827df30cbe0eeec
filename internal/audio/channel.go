package audio

import (
	"github.com/callscope/callscope"
)

// Speaker labels used by the channel layouts below.
const (
	SpeakerCaller = "caller" // the party who placed or received the call from outside
	SpeakerAgent  = "agent"  // the party answering for the organisation
	SpeakerMixed  = "mixed"  // both parties in one channel
)

// ChannelMap names the speaker of each channel of a recording, by channel
// index. An empty label drops the channel; channels with the same label are
// mixed into one stream.
type ChannelMap []string

// Channel layouts of common recorders.
var (
	// TwilioDualChannel is Twilio's dual-channel recording: channel 0 is the
	// caller (the parent call leg), channel 1 the agent.
	TwilioDualChannel = ChannelMap{SpeakerCaller, SpeakerAgent}
	// MixMonitorStereo is Asterisk MixMonitor's D option when it monitors
	// the caller's inbound channel: left is the audio read from that
	// channel (the caller), right the audio written to it (the agent).
	MixMonitorStereo = ChannelMap{SpeakerCaller, SpeakerAgent}
	// MonoMixed is a single channel carrying both parties.
	MonoMixed = ChannelMap{SpeakerMixed}
)

// Stream is the mono audio of one speaker.
type Stream struct {
	Speaker    string
	SampleRate int
	Samples    []float32
}

// Split returns one stream per speaker of m, in order of first appearance
// in m. Channels labelled "" are dropped; channels sharing a label are
// averaged. A nil map labels a mono recording SpeakerMixed and a stereo one
// with TwilioDualChannel.
// Returns EINVALID if p is invalid or m does not label every channel.
func Split(p *PCM, m ChannelMap) ([]Stream, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	if m == nil {
		switch len(p.Channels) {
		case 1:
			m = MonoMixed
		case 2:
			m = TwilioDualChannel
		}
	}
	if len(m) != len(p.Channels) {
		return nil, callscope.Errorf(callscope.EINVALID, "audio: channel map has %d entries for %d channels", len(m), len(p.Channels))
	}
	var streams []Stream
	for _, speaker := range m {
		if speaker == "" || hasSpeaker(streams, speaker) {
			continue
		}
		var chans [][]float32
		for c, s := range m {
			if s == speaker {
				chans = append(chans, p.Channels[c])
			}
		}
		mixed := (&PCM{Channels: chans}).Mono()
		if len(chans) == 1 {
			mixed = append([]float32(nil), mixed...)
		}
		streams = append(streams, Stream{Speaker: speaker, SampleRate: p.SampleRate, Samples: mixed})
	}
	if len(streams) == 0 {
		return nil, callscope.Errorf(callscope.EINVALID, "audio: channel map drops every channel")
	}
	return streams, nil
}

func hasSpeaker(streams []Stream, speaker string) bool {
	for _, s := range streams {
		if s.Speaker == speaker {
			return true
		}
	}
	return false
}

// SpeakerStreams splits p per speaker with Split and resamples every stream
// to rate, the form a transcriber takes (for most, 16000).
// Returns EINVALID as Split and Resample do.
func SpeakerStreams(p *PCM, m ChannelMap, rate int) ([]Stream, error) {
	streams, err := Split(p, m)
	if err != nil {
		return nil, err
	}
	for i, s := range streams {
		if s.Samples, err = Resample(s.Samples, s.SampleRate, rate); err != nil {
			return nil, err
		}
		s.SampleRate = rate
		streams[i] = s
	}
	return streams, nil
}
