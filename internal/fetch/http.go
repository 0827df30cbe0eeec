package fetch

import (
	"context"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/egress"
)

// HTTP fetches recordings by URL.
type HTTP struct {
	// Client makes the requests; it must come from egress.Policy.Client so
	// that private addresses stay refused, and its timeout bounds the whole
	// download.
	Client *http.Client
	// Timeout is the client's time limit, named in timeout errors.
	Timeout time.Duration
	// MaxBytes refuses longer recordings; 0 means no limit.
	MaxBytes int64
	// URLTemplate is used, with {call_id} filled, when a Ref has no URL.
	URLTemplate string
	// Username and Password are sent as Basic auth to AuthHosts and to the
	// URLTemplate's host, never elsewhere.
	Username, Password string
	// AuthHosts are the host names (e.g. api.twilio.com) credentials go to.
	AuthHosts []string
}

var _ Source = (*HTTP)(nil)

// NewHTTP returns an HTTP source whose requests obey policy and stop after
// timeout, refusing bodies over maxBytes (0: no limit).
func NewHTTP(policy egress.Policy, timeout time.Duration, maxBytes int64) *HTTP {
	return &HTTP{Client: policy.Client(timeout), Timeout: timeout, MaxBytes: maxBytes}
}

// Fetch implements Source. Returns EINVALID for a malformed URL or one that
// reaches a refused address, ENOTFOUND for 404 and 410, EUNAVAILABLE for
// refused credentials (401, 403) and other failures; timeouts, connection
// errors, 408, 429 and 5xx are retryable.
func (h *HTTP) Fetch(ctx context.Context, ref Ref) (io.ReadCloser, Info, error) {
	raw := ref.URL
	if raw == "" {
		if h.URLTemplate == "" {
			return nil, Info{}, permanent(callscope.EINVALID, nil, "the call has no recording URL")
		}
		id := ref.RemoteID()
		if err := checkID(id); err != nil {
			return nil, Info{}, err
		}
		raw = strings.ReplaceAll(h.URLTemplate, "{call_id}", url.PathEscape(id))
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, Info{}, permanent(callscope.EINVALID, err, "recording URL must be an absolute http or https URL")
	}
	if u.User != nil {
		return nil, Info{}, permanent(callscope.EINVALID, nil, "recording URL may not carry credentials; configure CALLSCOPE_RECORDING_URL_USER and CALLSCOPE_RECORDING_URL_PASSWORD")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, Info{}, permanent(callscope.EINVALID, err, "recording URL")
	}
	req.Header.Set("Accept", "audio/*, application/octet-stream;q=0.9, */*;q=0.1")
	sentAuth := false
	if h.Username != "" && h.authHost(u.Hostname()) {
		// Go drops the header on a redirect to another host (Twilio
		// redirects to a signed storage URL).
		req.SetBasicAuth(h.Username, h.Password)
		sentAuth = true
	}
	res, err := h.Client.Do(req)
	if err != nil {
		return nil, Info{}, h.transportError(ctx, err)
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, Info{}, statusError(res, u.Host, sentAuth)
	}
	if h.MaxBytes > 0 && res.ContentLength > h.MaxBytes {
		res.Body.Close()
		return nil, Info{}, tooLarge(h.MaxBytes)
	}
	info := Info{Name: fileName(res, u), Size: res.ContentLength}
	if ct, _, err := mime.ParseMediaType(res.Header.Get("Content-Type")); err == nil && ct != "application/octet-stream" {
		info.ContentType = ct
	} else {
		info.ContentType = contentTypeOf(info.Name)
	}
	body := newLimitReader(res.Body, res.Body.Close, h.MaxBytes, func(err error) error { return h.transportError(ctx, err) })
	return body, info, nil
}

func (h *HTTP) authHost(host string) bool {
	host = strings.ToLower(host)
	for _, a := range h.AuthHosts {
		if strings.ToLower(a) == host {
			return true
		}
	}
	if h.URLTemplate != "" {
		if t, err := url.Parse(strings.ReplaceAll(h.URLTemplate, "{call_id}", "x")); err == nil && strings.ToLower(t.Hostname()) == host {
			return true
		}
	}
	return false
}

// transportError classifies a failed request or body read.
func (h *HTTP) transportError(ctx context.Context, err error) error {
	if errors.Is(err, egress.ErrBlocked) {
		return permanent(callscope.EINVALID, err, "recording URL reaches a private or reserved address; allow it with CALLSCOPE_ALLOW_PRIVATE_URLS or CALLSCOPE_ALLOWED_NETWORKS")
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return retryable(0, err, "recording download timed out after %s (DOWNLOAD_TIMEOUT_SECONDS)", h.Timeout)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return retryable(0, err, "recording download failed")
}

func statusError(res *http.Response, host string, sentAuth bool) error {
	code := res.StatusCode
	switch {
	case code == http.StatusNotFound || code == http.StatusGone:
		return permanent(callscope.ENOTFOUND, nil, "recording not found at its URL (HTTP %d)", code)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		if !sentAuth {
			return permanent(callscope.EUNAVAILABLE, nil, "recording URL on %s needs credentials (HTTP %d); set CALLSCOPE_RECORDING_URL_USER and CALLSCOPE_RECORDING_URL_PASSWORD and list the host in CALLSCOPE_RECORDING_URL_AUTH_HOSTS", host, code)
		}
		return permanent(callscope.EUNAVAILABLE, nil, "%s refused the recording URL credentials (HTTP %d); check CALLSCOPE_RECORDING_URL_USER and CALLSCOPE_RECORDING_URL_PASSWORD", host, code)
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return retryable(callscope.ParseRetryAfter(res.Header.Get("Retry-After"), time.Now()), nil, "recording URL answered HTTP %d", code)
	default:
		return permanent(callscope.EUNAVAILABLE, nil, "recording URL answered HTTP %d", code)
	}
}

// fileName is the recording's name from Content-Disposition or the URL
// path.
func fileName(res *http.Response, u *url.URL) string {
	if _, params, err := mime.ParseMediaType(res.Header.Get("Content-Disposition")); err == nil {
		if n := path.Base(strings.ReplaceAll(params["filename"], `\`, "/")); n != "" && n != "." && n != "/" && n != ".." {
			return n
		}
	}
	if n := path.Base(res.Request.URL.Path); n != "" && n != "." && n != "/" {
		return n
	}
	if n := path.Base(u.Path); n != "" && n != "." && n != "/" {
		return n
	}
	return "recording"
}
