package twilio

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/twilio/twilio-go/client"
)

// Messages as Twilio documents them.
var (
	connectedJSON = `{"event":"connected","protocol":"Call","version":"1.0.0"}`
	startJSON     = `{"event":"start","sequenceNumber":"1","streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0",` +
		`"start":{"streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0","accountSid":"AC123","callSid":"CA123",` +
		`"tracks":["inbound","outbound"],"customParameters":{"callId":"1761295415.12887"},` +
		`"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}`
	mediaJSON = `{"event":"media","sequenceNumber":"3","streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0",` +
		`"media":{"track":"outbound","chunk":"1","timestamp":"5","payload":"/38AgA=="}}`
	dtmfJSON = `{"event":"dtmf","streamSid":"MZ1","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"1"}}`
	markJSON = `{"event":"mark","sequenceNumber":"4","streamSid":"MZ1","mark":{"name":"my label"}}`
	stopJSON = `{"event":"stop","sequenceNumber":"5","streamSid":"MZ1","stop":{"accountSid":"AC123","callSid":"CA123"}}`
)

func TestDecodeDocumentedMessages(t *testing.T) {
	t.Parallel()
	for _, s := range []string{connectedJSON, startJSON, mediaJSON, dtmfJSON, markJSON, stopJSON} {
		if _, err := Decode([]byte(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	m, _ := Decode([]byte(startJSON))
	if m.Start.CallSid != "CA123" || !slices.Equal(m.Start.Tracks, []string{"inbound", "outbound"}) ||
		m.Start.CustomParameters["callId"] != "1761295415.12887" {
		t.Fatalf("start = %+v", m.Start)
	}
	m, _ = Decode([]byte(mediaJSON))
	pcm, _, err := m.Media.Decode(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 0xff and 0x7f are μ-law zeros, 0x00 and 0x80 the extremes.
	if !slices.Equal(pcm, []int16{0, 0, -32124, 32124}) {
		t.Fatalf("payload decodes to %v", pcm)
	}
	if ms, _ := m.Media.Millis(); ms != 5 {
		t.Fatalf("timestamp %d", ms)
	}
}

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     error
	}{
		{"NotJSON", `media`, ErrProtocol},
		{"NoEvent", `{"streamSid":"MZ1"}`, ErrProtocol},
		{"NumberAsEvent", `{"event":5}`, ErrProtocol},
		{"StartWithoutStart", `{"event":"start"}`, ErrProtocol},
		{"StartALaw", `{"event":"start","start":{"streamSid":"MZ1","callSid":"CA1","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-alaw","sampleRate":8000,"channels":1}}}`, ErrProtocol},
		{"Start16k", `{"event":"start","start":{"streamSid":"MZ1","callSid":"CA1","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":16000,"channels":1}}}`, ErrProtocol},
		{"StartNoCallSid", `{"event":"start","start":{"streamSid":"MZ1","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}`, ErrProtocol},
		{"StartUnknownTrack", `{"event":"start","start":{"streamSid":"MZ1","callSid":"CA1","tracks":["both"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}`, ErrProtocol},
		{"StartTrackTwice", `{"event":"start","start":{"streamSid":"MZ1","callSid":"CA1","tracks":["inbound","inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}`, ErrProtocol},
		{"MediaWithoutMedia", `{"event":"media"}`, ErrProtocol},
		{"MediaUnknownTrack", `{"event":"media","media":{"track":"left","chunk":"1","timestamp":"0","payload":"AA=="}}`, ErrProtocol},
		{"MediaTimestampNotNumber", `{"event":"media","media":{"track":"inbound","chunk":"1","timestamp":"soon","payload":"AA=="}}`, ErrProtocol},
		{"MediaNegativeTimestamp", `{"event":"media","media":{"track":"inbound","chunk":"1","timestamp":"-20","payload":"AA=="}}`, ErrProtocol},
		{"MediaTimestampAsNumber", `{"event":"media","media":{"track":"inbound","chunk":"1","timestamp":20,"payload":"AA=="}}`, ErrProtocol},
		{"DTMFUnknownKey", `{"event":"dtmf","dtmf":{"track":"inbound_track","digit":"x"}}`, ErrProtocol},
		{"NewEvent", `{"event":"transcription"}`, ErrUnknownEvent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Decode([]byte(tc.in)); !errors.Is(err, tc.want) {
				t.Fatalf("Decode = %v, want %v", err, tc.want)
			}
		})
	}
	for _, p := range []string{"not base64!", ""} {
		m := Media{Payload: p}
		if _, _, err := m.Decode(nil, nil); !errors.Is(err, ErrProtocol) {
			t.Errorf("payload %q: %v", p, err)
		}
	}
}

func TestEncodeServerMessages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		got  []byte
		want string
	}{
		{EncodeMedia("MZ1", []byte{0xff, 0x7f}), `{"event":"media","streamSid":"MZ1","media":{"payload":"/38="}}`},
		{EncodeMark("MZ1", `utt "7"`), `{"event":"mark","streamSid":"MZ1","mark":{"name":"utt \"7\""}}`},
		{EncodeClear("MZ1"), `{"event":"clear","streamSid":"MZ1"}`},
	} {
		if string(tc.got) != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
}

func TestSignMatchesTwilio(t *testing.T) {
	t.Parallel()
	// The vector computed with the official npm twilio library.
	if got := Sign("12345", "wss://example.com/media"); got != "7PR3qMkpDyEJtMrVOY/LDyNq8J8=" {
		t.Fatalf("Sign = %s", got)
	}
	v := client.NewRequestValidator("12345")
	if !v.Validate("ws://127.0.0.1:8123/twilio/stream", map[string]string{}, Sign("12345", "ws://127.0.0.1:8123/twilio/stream")) {
		t.Fatal("twilio-go does not accept the player's signature")
	}
}

// FuzzDecode checks that no message makes Decode or the payload decoder
// panic, and that an accepted message survives encoding and decoding.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{connectedJSON, startJSON, mediaJSON, dtmfJSON, markJSON, stopJSON} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := Decode(in)
		if err != nil {
			if !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrUnknownEvent) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if m.Media != nil {
			pcm, _, err := m.Media.Decode(nil, nil)
			if err == nil && len(pcm) == 0 {
				t.Fatal("a payload decoded to no samples without an error")
			}
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := Decode(b)
		if err != nil {
			t.Fatalf("re-encoded %s is refused: %v", b, err)
		}
		if b2, _ := json.Marshal(m2); !bytes.Equal(b, b2) {
			t.Fatalf("round trip changed %s into %s", b, b2)
		}
	})
}
