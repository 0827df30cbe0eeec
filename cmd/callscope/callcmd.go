package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

const callUsage = `callscope call schedule|list|status|cancel — outbound calls through a running server's Auto-Caller API

  callscope call schedule --user ID --to +E164 --name NAME --title TITLE [--at TIME|+DURATION] [--minutes N]
                          [--purpose TEXT] [--script TEXT] [--callback-url URL] [--simulate OUTCOME]
  callscope call list --user ID [--status STATUS] [--limit N]
  callscope call status --user ID CALL_ID
  callscope call cancel --user ID CALL_ID

The server is CALLSCOPE_URL (default http://CALLSCOPE_ADDR), the API key
CALLSCOPE_API_KEY, the prefix CALLSCOPE_AUTOCALLER_PREFIX (default /autocaller).
`

// autoClient calls a running server's Auto-Caller API.
type autoClient struct {
	base, key string
	http      *http.Client
}

func autoClientFromEnv(server, key string) (*autoClient, error) {
	c, err := apiClientFromEnv(server, key)
	if err != nil {
		return nil, err
	}
	prefix := os.Getenv("CALLSCOPE_AUTOCALLER_PREFIX")
	if prefix == "" {
		prefix = "/autocaller"
	}
	c.base += "/" + strings.Trim(prefix, "/")
	return c, nil
}

// apiClientFromEnv returns a client of a running server's API root:
// server, else CALLSCOPE_URL, else http://CALLSCOPE_ADDR; key, else
// CALLSCOPE_API_KEY.
func apiClientFromEnv(server, key string) (*autoClient, error) {
	if server == "" {
		server = os.Getenv("CALLSCOPE_URL")
	}
	if server == "" {
		addr := os.Getenv("CALLSCOPE_ADDR")
		if addr == "" {
			addr = "127.0.0.1:8123"
		}
		server = "http://" + addr
	}
	if key == "" {
		key = os.Getenv("CALLSCOPE_API_KEY")
	}
	if key == "" {
		return nil, fmt.Errorf("no API key: set CALLSCOPE_API_KEY or --key")
	}
	return &autoClient{base: strings.TrimRight(server, "/"), key: key, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// do sends a request and decodes the JSON answer; an error answer becomes
// an error with its detail.
func (c *autoClient) do(ctx context.Context, method, path string, body any) (map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if res.StatusCode >= 300 {
		detail, _ := json.Marshal(m["detail"])
		if m == nil {
			detail = bytes.TrimSpace(b)
		}
		return nil, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, detail)
	}
	return m, nil
}

func cmdCall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, callUsage)
		return errUsage
	}
	sub, rest := args[0], args[1:]
	fs, _ := newFlags("call "+sub, strings.TrimSpace(callUsage), stderr)
	server := fs.String("url", "", "server `URL` (default CALLSCOPE_URL)")
	key := fs.String("key", "", "API `KEY` (default CALLSCOPE_API_KEY)")
	user := fs.String("user", "", "the `userId` the calls belong to")
	var to, name, title, at, purpose, script, cb, sim, status *string
	var minutes, limit *int
	switch sub {
	case "schedule":
		to = fs.String("to", "", "number to call, E.164 (`+14155550123`)")
		name = fs.String("name", "", "contact `NAME`")
		title = fs.String("title", "", "call `TITLE`")
		at = fs.String("at", "+0s", "when: RFC 3339 `TIME`, or +DURATION from now")
		minutes = fs.Int("minutes", 15, "hang up after `N` minutes of talk")
		purpose = fs.String("purpose", "", "purpose `TEXT`")
		script = fs.String("script", "", "script `TEXT` ({{contactName}}, {{title}}, {{purpose}} are filled in)")
		cb = fs.String("callback-url", "", "`URL` receiving the call's callbacks")
		sim = fs.String("simulate", "", "simulator `OUTCOME`: answer, busy, no-answer, voicemail or failed")
	case "list":
		status = fs.String("status", "", "only calls in `STATUS`")
		limit = fs.Int("limit", 50, "at most `N` calls")
	case "status", "cancel":
	default:
		fmt.Fprint(stderr, callUsage)
		return errUsage
	}
	if err := parse(fs, rest); err != nil {
		return err
	}
	if *user == "" {
		fmt.Fprintln(stderr, "callscope call: --user is required")
		return errUsage
	}
	c, err := autoClientFromEnv(*server, *key)
	if err != nil {
		return err
	}
	switch sub {
	case "schedule":
		when := time.Now().UTC()
		if d, err := time.ParseDuration(strings.TrimPrefix(*at, "+")); err == nil && strings.HasPrefix(*at, "+") {
			when = when.Add(d)
		} else if t, err := time.Parse(time.RFC3339, *at); err == nil {
			when = t
		} else {
			fmt.Fprintf(stderr, "callscope call schedule: --at %q is neither a time nor +DURATION\n", *at)
			return errUsage
		}
		body := map[string]any{"userId": *user, "contactPhone": *to, "contactName": *name, "title": *title,
			"scheduledTime": when.Format(time.RFC3339), "durationMinutes": *minutes}
		for k, v := range map[string]string{"purpose": *purpose, "aiScriptTemplate": *script, "callbackUrl": *cb} {
			if v != "" {
				body[k] = v
			}
		}
		if *sim != "" {
			body["simulate"] = map[string]any{"outcome": *sim}
		}
		m, err := c.do(ctx, "POST", "/calls/schedule", body)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\n", m["callId"], m["status"], m["scheduledTime"])
	case "list":
		q := url.Values{"userId": {*user}, "limit": {fmt.Sprint(*limit)}}
		if *status != "" {
			q.Set("status", *status)
		}
		m, err := c.do(ctx, "GET", "/calls?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CALL ID\tSTATUS\tSCHEDULED\tCONTACT\tTITLE")
		calls, _ := m["calls"].([]any)
		for _, x := range calls {
			cl, _ := x.(map[string]any)
			fmt.Fprintf(tw, "%v\t%v\t%v\t%v\t%v\n", cl["callId"], cl["status"], cl["scheduledTime"], cl["contactName"], cl["title"])
		}
		tw.Flush()
		fmt.Fprintf(stdout, "%v of %v calls\n", len(calls), m["totalCount"])
	case "status", "cancel":
		if fs.NArg() != 1 {
			fmt.Fprintf(stderr, "callscope call %s: give one CALL_ID\n", sub)
			return errUsage
		}
		id := url.PathEscape(fs.Arg(0))
		var m map[string]any
		if sub == "status" {
			m, err = c.do(ctx, "GET", "/calls/"+id+"?userId="+url.QueryEscape(*user), nil)
		} else {
			m, err = c.do(ctx, "POST", "/calls/"+id+"/cancel", map[string]any{"userId": *user})
		}
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}
	return nil
}
