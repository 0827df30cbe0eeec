// Package twilio carries calls over Twilio in both directions: it places
// outbound calls through Twilio's REST API (Dialer, a dial.Dialer), writes
// the TwiML that answers inbound calls, finds the tenant a callback
// belongs to by its account and phone number, and downloads call
// recordings once Twilio has them (RecordingWorker, a River job that waits
// out Twilio's 404 for a recording not yet ready).
//
// REST requests go through twilio-go (github.com/twilio/twilio-go); API is
// where they go (https://api.twilio.com unless BaseURL says otherwise, for
// tests and regional gateways).
package twilio

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	twiliogo "github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/callscope/callscope"
)

// DefaultAPIHost is the host of Twilio's REST API.
const DefaultAPIHost = "api.twilio.com"

// API is how callscope reaches Twilio's REST API.
type API struct {
	// BaseURL, if set, replaces https://api.twilio.com: requests twilio-go
	// addresses to api.twilio.com go there instead (scheme, host and port),
	// with the same path.
	BaseURL string
	// HTTPClient makes the requests; nil uses a client with a 30 s timeout.
	HTTPClient *http.Client
}

// Host is the host recordings are downloaded from with the account's
// credentials: the BaseURL's host, or api.twilio.com.
func (a *API) Host() string {
	if u, err := url.Parse(a.BaseURL); err == nil && a.BaseURL != "" {
		return u.Hostname()
	}
	return DefaultAPIHost
}

// service returns the REST API of the account in tw, authenticated by its
// API key or auth token. Returns EUNAVAILABLE when the tenant has no
// usable Twilio account.
func (a *API) service(tw *callscope.TwilioSetting) (*api.ApiService, error) {
	user, pass, ok := tw.RESTCredentials()
	if !ok {
		return nil, callscope.Errorf(callscope.EUNAVAILABLE, "the tenant has no Twilio account: set settings.twilio.account_sid and auth_token (or api_key_sid and api_key_secret)")
	}
	hc := a.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	if a.BaseURL != "" {
		base, err := url.Parse(a.BaseURL)
		if err != nil || base.Host == "" {
			return nil, callscope.Errorf(callscope.EINVALID, "Twilio API base URL %q is not an absolute URL", a.BaseURL)
		}
		c := *hc
		next := c.Transport
		if next == nil {
			next = http.DefaultTransport
		}
		c.Transport = rebase{base: base, next: next}
		hc = &c
	}
	base := &client.Client{Credentials: client.NewCredentials(user, pass), HTTPClient: hc}
	base.SetAccountSid(tw.AccountSID)
	return twiliogo.NewRestClientWithParams(twiliogo.ClientParams{Client: base}).Api, nil
}

// rebase sends requests for api.twilio.com to another base URL.
type rebase struct {
	base *url.URL
	next http.RoundTripper
}

func (r rebase) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == DefaultAPIHost {
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host = r.base.Scheme, r.base.Host
		req.Host = r.base.Host
	}
	return r.next.RoundTrip(req)
}

// restError maps an error of twilio-go to callscope's codes: Twilio's 404
// is ENOTFOUND, its other 4xx EINVALID (with Twilio's message and code),
// anything else EUNAVAILABLE.
func restError(ctx context.Context, op string, err error) error {
	var te *client.TwilioRestError
	if errors.As(err, &te) {
		msg := strings.TrimSpace(te.Message)
		switch {
		case te.Status == http.StatusNotFound:
			return callscope.Errorf(callscope.ENOTFOUND, "%s: Twilio answered 404: %s", op, msg)
		case te.Status >= 400 && te.Status < 500:
			return callscope.Errorf(callscope.EINVALID, "%s: Twilio refused (HTTP %d, error %d): %s", op, te.Status, te.Code, msg)
		}
		return callscope.Errorf(callscope.EUNAVAILABLE, "%s: Twilio answered HTTP %d: %s", op, te.Status, msg)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return callscope.Errorf(callscope.EUNAVAILABLE, "%s: %v", op, err)
}
