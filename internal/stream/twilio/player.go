package twilio

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"

	"github.com/callscope/callscope/internal/audio"
	"github.com/callscope/callscope/internal/stream"
)

// Player sends a call to a Media Streams handler the way Twilio does: it
// opens the WebSocket with a signed handshake, sends connected and start,
// a media message per 20 ms and track on a live call's schedule, then stop.
type Player struct {
	// URL is the stream's URL, ws://host:port/twilio/stream.
	URL string
	// AuthToken, if set, signs the handshake (X-Twilio-Signature).
	AuthToken string
	// AccountSid is sent in start and stop; empty means a made-up one.
	AccountSid string
	// Params are sent as start.customParameters.
	Params map[string]string
	// Speed is how many times faster than real time to send; 0 or less
	// sends as fast as the handler reads.
	Speed float64
}

// Sign returns the X-Twilio-Signature of a WebSocket handshake to url:
// base64 of the HMAC-SHA1 of the URL, keyed with the auth token.
func Sign(authToken, url string) string {
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(url))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// NewSid returns a random Twilio-style id with the given prefix ("CA" for
// a call, "MZ" for a stream): the prefix and 32 hex digits.
func NewSid(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Play sends one or two tracks of 8 kHz audio (inbound, then outbound) as
// call callSid. The tracks are cut to the length of the shortest.
func (p Player) Play(ctx context.Context, callSid string, tracks ...[]int16) (stream.PlayResult, error) {
	res := stream.PlayResult{ID: callSid}
	if len(tracks) == 0 || len(tracks) > 2 {
		return res, fmt.Errorf("twilio: %d tracks; a stream has one or two", len(tracks))
	}
	names := []string{TrackInbound, TrackOutbound}[:len(tracks)]
	account := p.AccountSid
	if account == "" {
		account = NewSid("AC")
	}
	streamSid := NewSid("MZ")
	began := time.Now()
	h := http.Header{}
	if p.AuthToken != "" {
		h.Set("X-Twilio-Signature", Sign(p.AuthToken, p.URL))
	}
	c, resp, err := websocket.Dial(ctx, p.URL, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		if resp != nil {
			return res, fmt.Errorf("twilio: handshake refused with %s", resp.Status)
		}
		return res, err
	}
	defer c.CloseNow()

	seq := 0
	send := func(m Message) error {
		if m.Event != EventConnected {
			seq++
			m.SequenceNumber = strconv.Itoa(seq)
			m.StreamSid = streamSid
		}
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		return c.Write(ctx, websocket.MessageText, b)
	}
	if err := send(Message{Event: EventConnected, Protocol: "Call", Version: "1.0.0"}); err != nil {
		return res, err
	}
	err = send(Message{Event: EventStart, Start: &StartInfo{
		StreamSid: streamSid, AccountSid: account, CallSid: callSid, Tracks: names,
		CustomParameters: p.Params,
		MediaFormat:      MediaFormat{Encoding: Encoding, SampleRate: SampleRate, Channels: 1},
	}})
	if err != nil {
		return res, err
	}
	n := len(tracks[0])
	for _, t := range tracks[1:] {
		n = min(n, len(t))
	}
	chunks := make([][][]int16, len(tracks))
	for i, t := range tracks {
		chunks[i] = stream.Chunks(t[:n], SampleRate)
	}
	pace := stream.Pacer{Speed: p.Speed}
	var ulaw []byte
	var ms int64
	for f := range chunks[0] {
		if err := pace.Wait(ctx); err != nil {
			return res, err
		}
		for i := range tracks {
			ulaw = audio.AppendULawEncoded(ulaw[:0], chunks[i][f])
			err := send(Message{Event: EventMedia, Media: &Media{
				Track: names[i], Chunk: strconv.Itoa(f + 1), Timestamp: strconv.FormatInt(ms, 10),
				Payload: base64.StdEncoding.EncodeToString(ulaw),
			}})
			if err != nil {
				return res, fmt.Errorf("twilio: after %d media messages: %w", res.Frames, err)
			}
			res.Frames++
		}
		ms += int64(len(chunks[0][f])) * 1000 / SampleRate
	}
	res.Audio = time.Duration(n) * time.Second / SampleRate
	if err := send(Message{Event: EventStop, Stop: &StopInfo{AccountSid: account, CallSid: callSid}}); err != nil {
		return res, err
	}
	// Twilio leaves the closing to the service after stop.
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil && websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		return res, err
	}
	res.Elapsed = time.Since(began)
	return res, nil
}
