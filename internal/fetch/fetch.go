// Package fetch gets a call's recording from where it was made: a URL, the
// PBX over SFTP, or S3-compatible storage. Each method is a Source:
//
//   - HTTP fetches a URL (Twilio's RecordingUrl, or REMOTE_PATH_TEMPLATE as
//     a URL with AUDIO_DOWNLOAD_METHOD=http) through an egress.Policy client,
//     so private and loopback addresses are refused unless allowed
//     (CALLSCOPE_ALLOW_PRIVATE_URLS, CALLSCOPE_ALLOWED_NETWORKS). Basic auth
//     credentials come from CALLSCOPE_RECORDING_URL_USER and
//     CALLSCOPE_RECORDING_URL_PASSWORD, never from the URL, and are sent only
//     to the hosts in CALLSCOPE_RECORDING_URL_AUTH_HOSTS (default
//     api.twilio.com).
//   - SFTP pulls REMOTE_PATH_TEMPLATE (e.g. /var/spool/calls/{call_id}.gsm)
//     from SCP_SERVER (host[:port], port 22 by default) as SCP_USER with
//     SCP_PASSWORD or SCP_KEY_FILE. AUDIO_DOWNLOAD_METHOD=scp and =sftp both
//     use the SFTP subsystem, which every current OpenSSH server offers
//     (OpenSSH's own scp client has used it by default since 9.0). The PBX's
//     host key must be in SCP_KNOWN_HOSTS (default ~/.ssh/known_hosts);
//     unknown or changed keys are refused. SCP_INSECURE_IGNORE_HOST_KEY=true
//     turns the check off, which lets anyone who can intercept the
//     connection read the PBX password and the recordings: use it only on a
//     closed network.
//   - S3 reads an object from CALLSCOPE_S3_BUCKET at CALLSCOPE_S3_ENDPOINT:
//     the Ref's Key (the recording_key a voice-bot platform sends) or
//     REMOTE_PATH_TEMPLATE as an object key.
//
// The SFTP server and the S3 endpoint are set by the operator, not by
// callers, so they may be private addresses; only URLs go through the
// egress policy.
//
// {call_id} in a template is replaced by the call's remote id (its first
// external id, such as the PBX unique id 1761295415.12887); ids containing
// "/", "\" or ".." are refused, so a template cannot be escaped. Every
// method stops after DOWNLOAD_TIMEOUT_SECONDS and refuses recordings over
// CALLSCOPE_MAX_UPLOAD_BYTES. Failures are *Error values: ENOTFOUND for a
// missing recording, EUNAVAILABLE for refused credentials or an unreachable
// source, EINVALID for a bad reference, ETOOLARGE for an oversized
// recording; timeouts, connection failures and server errors are retryable
// (pipeline.RetryableError).
package fetch

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/callscope/callscope"
)

// Ref names the recording of one call.
type Ref struct {
	// CallID is callscope's id of the call.
	CallID string
	// ExternalIDs are the ids the call came with (PBX unique id, CallSid…).
	ExternalIDs []callscope.ExternalID
	// URL is where the recording can be downloaded, if the call said so.
	URL string
	// Key is the recording's object key in S3 storage, if the call said so.
	Key string
}

// RemoteID is the id the remote side names the recording by, which fills
// {call_id}: the first external id, or CallID when there is none.
func (r Ref) RemoteID() string {
	for _, e := range r.ExternalIDs {
		if e.Value != "" {
			return e.Value
		}
	}
	return r.CallID
}

// Info describes a fetched recording.
type Info struct {
	// Name is the recording's file name, e.g. "1761295415.12887.gsm".
	Name string
	// ContentType is the media type, "" when unknown.
	ContentType string
	// Size is the length in bytes, -1 when unknown.
	Size int64
}

// Source gets recordings from one place.
type Source interface {
	// Fetch opens the recording ref names; the caller closes it. Reads
	// from it fail with an *Error when the time or size limit is reached.
	Fetch(ctx context.Context, ref Ref) (io.ReadCloser, Info, error)
}

// Error is a failed fetch: a callscope.RemoteError. Retryable ones
// (timeouts, network errors, 5xx, 429) implement the pipeline's
// RetryableError; the others are permanent.
type Error = callscope.RemoteError

func permanent(code string, err error, format string, args ...any) *Error {
	return &Error{Op: "fetch recording", Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

func retryable(after time.Duration, err error, format string, args ...any) *Error {
	return &Error{Op: "fetch recording", Code: callscope.EUNAVAILABLE, Message: fmt.Sprintf(format, args...), Err: err, Temporary: true, Wait: after}
}

// Expand returns template with every {call_id} replaced by id. Returns
// EINVALID if id is empty or could leave the template's directory (it holds
// "/", "\", "..", or a control character).
func Expand(template, id string) (string, error) {
	if err := checkID(id); err != nil {
		return "", err
	}
	return strings.ReplaceAll(template, "{call_id}", id), nil
}

func checkID(id string) error {
	if id == "" {
		return permanent(callscope.EINVALID, nil, "the call has no id to fill {call_id} with")
	}
	if strings.ContainsAny(id, `/\`) || strings.Contains(id, "..") {
		return permanent(callscope.EINVALID, nil, "call id %q may not contain /, \\ or ..", id)
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return permanent(callscope.EINVALID, nil, "call id %q contains a control character", id)
		}
	}
	return nil
}

// contentTypes are the media types of the recording formats PBXs write,
// which the system's MIME table often lacks.
var contentTypes = map[string]string{
	".gsm": "audio/x-gsm", ".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".opus": "audio/ogg",
	".flac": "audio/flac", ".m4a": "audio/mp4", ".webm": "audio/webm", ".ulaw": "audio/basic", ".au": "audio/basic",
}

func contentTypeOf(name string) string { return contentTypes[strings.ToLower(path.Ext(name))] }

// limitReader passes reads through until more than max bytes have come,
// then fails with ETOOLARGE; it translates other read errors with wrap.
type limitReader struct {
	r     io.Reader
	close func() error
	max   int64 // 0: no limit
	left  int64
	wrap  func(error) error
	err   error
}

func newLimitReader(r io.Reader, close func() error, max int64, wrap func(error) error) *limitReader {
	return &limitReader{r: r, close: close, max: max, left: max, wrap: wrap}
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if l.max > 0 && int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if l.max > 0 {
		if int64(n) > l.left {
			l.err = tooLarge(l.max)
			return int(l.left), l.err
		}
		l.left -= int64(n)
	}
	if err != nil && err != io.EOF {
		err = l.wrap(err)
		l.err = err
	}
	return n, err
}

func (l *limitReader) Close() error { return l.close() }

func tooLarge(max int64) *Error {
	return permanent(callscope.ETOOLARGE, nil, "recording is larger than %d bytes (CALLSCOPE_MAX_UPLOAD_BYTES)", max)
}
