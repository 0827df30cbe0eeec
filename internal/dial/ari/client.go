package ari

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/callscope/callscope"
)

// Client is a small client of Asterisk's REST Interface: the few
// operations of channels.json and recordings.json the dialer uses, and the
// event WebSocket of events.json. No maintained Go ARI library can be had
// as a module, so it is written here on net/http and
// github.com/coder/websocket.
type Client struct {
	// BaseURL is the REST Interface's base, ending in /ari
	// (http://127.0.0.1:8088/ari).
	BaseURL  string
	User     string
	Password string
	// HTTP sends the requests; nil is a client with a 15 s timeout.
	HTTP *http.Client
}

// maxBody bounds what is read of a REST answer other than a recording.
const maxBody = 1 << 20

// maxRecording bounds a recording fetched (about 4 h of 8 kHz 16-bit WAV).
const maxRecording = 256 << 20

var defaultHTTP = &http.Client{Timeout: 15 * time.Second}

func (c *Client) http() *http.Client {
	if c.HTTP == nil {
		return defaultHTTP
	}
	return c.HTTP
}

// apiError is the body of ARI's error answers.
type apiError struct {
	Message string `json:"message"`
}

// do sends a request to path (below BaseURL) with query and, when body is
// not nil, a JSON body; it decodes a JSON answer into out when out is not
// nil. An answer of 404 is ENOTFOUND, 409 ECONFLICT, 400 and 422 EINVALID,
// anything else not 2xx EUNAVAILABLE.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	resp, err := c.send(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(out); err != nil {
		return callscope.Errorf(callscope.EUNAVAILABLE, "ARI %s %s: reading the answer: %v", method, path, err)
	}
	return nil
}

// send sends a request and returns the answer when it is 2xx.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body any) (*http.Response, error) {
	u := c.BaseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(c.User, c.Password)
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, callscope.Errorf(callscope.EUNAVAILABLE, "ARI %s %s: %v", method, path, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	var e apiError
	_ = json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&e)
	msg := fmt.Sprintf("ARI %s %s: %s", method, path, resp.Status)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	code := callscope.EUNAVAILABLE
	switch resp.StatusCode {
	case http.StatusNotFound:
		code = callscope.ENOTFOUND
	case http.StatusConflict:
		code = callscope.ECONFLICT
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		code = callscope.EINVALID
	}
	return nil, callscope.Errorf(code, "%s", msg)
}

// Originate is the originate operation (channels.json, POST
// /channels/{channelId}): it calls endpoint and, once answered, places the
// channel in the Stasis application app with args. variables are set on
// the channel. Returns ECONFLICT when the id is taken.
type Originate struct {
	ChannelID string
	Endpoint  string
	App       string
	AppArgs   []string
	CallerID  string
	// Timeout is how long to ring, in seconds; 0 is Asterisk's default (30).
	Timeout   int
	Variables map[string]string
}

// Originate places a call (POST /channels/{channelId}).
func (c *Client) Originate(ctx context.Context, o Originate) (*Channel, error) {
	q := url.Values{"endpoint": {o.Endpoint}, "app": {o.App}}
	if len(o.AppArgs) > 0 {
		q.Set("appArgs", strings.Join(o.AppArgs, ","))
	}
	if o.CallerID != "" {
		q.Set("callerId", o.CallerID)
	}
	if o.Timeout != 0 {
		q.Set("timeout", fmt.Sprint(o.Timeout))
	}
	var body any
	if len(o.Variables) > 0 {
		body = map[string]any{"variables": o.Variables}
	}
	var ch Channel
	if err := c.do(ctx, http.MethodPost, "/channels/"+url.PathEscape(o.ChannelID), q, body, &ch); err != nil {
		return nil, err
	}
	return &ch, nil
}

// Channel reads a channel (GET /channels/{channelId}). Returns ENOTFOUND
// for a channel that is gone.
func (c *Client) Channel(ctx context.Context, id string) (*Channel, error) {
	var ch Channel
	if err := c.do(ctx, http.MethodGet, "/channels/"+url.PathEscape(id), nil, nil, &ch); err != nil {
		return nil, err
	}
	return &ch, nil
}

// Hangup hangs up a channel (DELETE /channels/{channelId}) for reason
// ("normal"). Returns ENOTFOUND for a channel that is gone.
func (c *Client) Hangup(ctx context.Context, id, reason string) error {
	var q url.Values
	if reason != "" {
		q = url.Values{"reason": {reason}}
	}
	return c.do(ctx, http.MethodDelete, "/channels/"+url.PathEscape(id), q, nil, nil)
}

// Play plays media URIs on a channel (POST /channels/{channelId}/play).
func (c *Client) Play(ctx context.Context, channelID, playbackID string, media ...string) error {
	q := url.Values{"media": media}
	if playbackID != "" {
		q.Set("playbackId", playbackID)
	}
	return c.do(ctx, http.MethodPost, "/channels/"+url.PathEscape(channelID)+"/play", q, nil, nil)
}

// Snoop creates a channel that hears a channel (spy: in, out, both) and
// places it in app (POST /channels/{channelId}/snoop).
func (c *Client) Snoop(ctx context.Context, channelID, snoopID, spy, app string, args ...string) (*Channel, error) {
	q := url.Values{"spy": {spy}, "app": {app}, "snoopId": {snoopID}}
	if len(args) > 0 {
		q.Set("appArgs", strings.Join(args, ","))
	}
	var ch Channel
	if err := c.do(ctx, http.MethodPost, "/channels/"+url.PathEscape(channelID)+"/snoop", q, nil, &ch); err != nil {
		return nil, err
	}
	return &ch, nil
}

// Record records a channel into the stored recording name in format
// ("wav"), overwriting one of that name; maxSeconds 0 is no limit (POST
// /channels/{channelId}/record).
func (c *Client) Record(ctx context.Context, channelID, name, format string, maxSeconds int) (*LiveRecording, error) {
	q := url.Values{"name": {name}, "format": {format}, "ifExists": {"overwrite"}}
	if maxSeconds > 0 {
		q.Set("maxDurationSeconds", fmt.Sprint(maxSeconds))
	}
	var r LiveRecording
	if err := c.do(ctx, http.MethodPost, "/channels/"+url.PathEscape(channelID)+"/record", q, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// StoredFile reads a stored recording's file (GET
// /recordings/stored/{recordingName}/file). Returns ENOTFOUND for an
// unknown recording.
func (c *Client) StoredFile(ctx context.Context, name string) ([]byte, error) {
	resp, err := c.send(ctx, http.MethodGet, "/recordings/stored/"+url.PathEscape(name)+"/file", nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxRecording+1))
	if err != nil {
		return nil, callscope.Errorf(callscope.EUNAVAILABLE, "ARI recording %s: %v", name, err)
	}
	if len(b) > maxRecording {
		return nil, callscope.Errorf(callscope.EUNAVAILABLE, "ARI recording %s: larger than %d bytes", name, maxRecording)
	}
	return b, nil
}

// DeleteStored deletes a stored recording (DELETE
// /recordings/stored/{recordingName}).
func (c *Client) DeleteStored(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/recordings/stored/"+url.PathEscape(name), nil, nil, nil)
}

// EventsURL is the event WebSocket's URL for app: ws(s)://…/ari/events
// with the credentials as api_key.
func (c *Client) EventsURL(app string) (string, error) {
	u, err := url.Parse(c.BaseURL + "/events")
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("ARI base URL %q is not http(s)", c.BaseURL)
	}
	u.RawQuery = url.Values{"app": {app}, "api_key": {c.User + ":" + c.Password}}.Encode()
	return u.String(), nil
}

// Connect opens the event WebSocket of app.
func (c *Client) Connect(ctx context.Context, app string) (*websocket.Conn, error) {
	u, err := c.EventsURL(app)
	if err != nil {
		return nil, err
	}
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: c.dialHTTP()})
	if err != nil {
		return nil, callscope.Errorf(callscope.EUNAVAILABLE, "ARI events: %v", redact(err.Error(), c.Password))
	}
	conn.SetReadLimit(maxBody)
	return conn, nil
}

// dialHTTP is the HTTP client of the WebSocket handshake: the REST client
// without its timeout, which would cut the long-lived connection.
func (c *Client) dialHTTP() *http.Client {
	h := *c.http()
	h.Timeout = 0
	return &h
}

// redact keeps a password out of an error that quotes the events URL.
func redact(s, password string) string {
	if password == "" {
		return s
	}
	s = strings.ReplaceAll(s, url.QueryEscape(password), "****")
	return strings.ReplaceAll(s, password, "****")
}
