package fetch

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/blob/s3blob"
	"github.com/callscope/callscope/internal/config"
	"github.com/callscope/callscope/internal/egress"
)

// Auto fetches a Ref's URL over HTTP when it has one, and otherwise uses
// the configured method.
type Auto struct {
	// URL fetches Refs that carry a URL.
	URL *HTTP
	// Method fetches the rest (AUDIO_DOWNLOAD_METHOD); nil when it is none.
	Method Source
	// MethodName is AUDIO_DOWNLOAD_METHOD, named in errors.
	MethodName string
}

var _ Source = (*Auto)(nil)

// Fetch implements Source. Returns EUNAVAILABLE when the Ref has no URL and
// no download method is configured.
func (a *Auto) Fetch(ctx context.Context, ref Ref) (io.ReadCloser, Info, error) {
	if ref.URL != "" {
		return a.URL.Fetch(ctx, ref)
	}
	if a.Method == nil {
		return nil, Info{}, permanent(callscope.EUNAVAILABLE, nil, "the call has no recording URL and AUDIO_DOWNLOAD_METHOD=%s", a.MethodName)
	}
	return a.Method.Fetch(ctx, ref)
}

// FromConfig builds the sources the configuration asks for: an HTTP source
// obeying policy for recording URLs, and the AUDIO_DOWNLOAD_METHOD source
// for calls without one. Returns an error naming the variable that is
// missing or wrong.
func FromConfig(cfg *config.Config, policy egress.Policy) (*Auto, error) {
	timeout, maxBytes := cfg.DownloadTimeout, cfg.MaxUploadBytes
	h := NewHTTP(policy, timeout, maxBytes)
	h.Username, h.Password, h.AuthHosts = cfg.RecordingURLUser, cfg.RecordingURLPassword, cfg.RecordingURLAuthHosts
	a := &Auto{URL: h, MethodName: cfg.AudioDownloadMethod}
	switch cfg.AudioDownloadMethod {
	case "", "none":
		a.MethodName = "none"
	case "http":
		if t := cfg.RemotePathTemplate; t != "" {
			u, err := url.Parse(strings.ReplaceAll(t, "{call_id}", "x"))
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.Contains(t, "{call_id}") {
				return nil, fmt.Errorf("REMOTE_PATH_TEMPLATE: want an http(s) URL with {call_id} when AUDIO_DOWNLOAD_METHOD=http, not %q", t)
			}
			if u.User != nil {
				return nil, fmt.Errorf("REMOTE_PATH_TEMPLATE: may not carry credentials; set CALLSCOPE_RECORDING_URL_USER and CALLSCOPE_RECORDING_URL_PASSWORD")
			}
			tmpl := *h
			tmpl.URLTemplate = t
			a.Method = &tmpl
		} else {
			a.MethodName = "http (recording URLs only)"
		}
	case "scp", "sftp":
		s, err := NewSFTP(SFTPOptions{
			User: cfg.SCPUser, Server: cfg.SCPServer, Password: cfg.SCPPassword, KeyFile: cfg.SCPKeyFile,
			KnownHostsFile: cfg.SCPKnownHosts, InsecureIgnoreHostKey: cfg.SCPInsecureHostKey,
			PathTemplate: cfg.RemotePathTemplate, Timeout: timeout, MaxBytes: maxBytes,
		})
		if err != nil {
			return nil, err
		}
		a.Method = s
	case "s3":
		if cfg.S3Endpoint == "" {
			return nil, fmt.Errorf("CALLSCOPE_S3_ENDPOINT: required when AUDIO_DOWNLOAD_METHOD=s3")
		}
		if cfg.S3Bucket == "" {
			return nil, fmt.Errorf("CALLSCOPE_S3_BUCKET: required when AUDIO_DOWNLOAD_METHOD=s3")
		}
		if t := cfg.RemotePathTemplate; t != "" && !strings.Contains(t, "{call_id}") {
			return nil, fmt.Errorf("REMOTE_PATH_TEMPLATE: must contain {call_id} when AUDIO_DOWNLOAD_METHOD=s3")
		}
		cl, err := s3blob.NewClient(s3blob.Config{Endpoint: cfg.S3Endpoint, Region: cfg.S3Region,
			AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey, UseSSL: cfg.S3UseSSL})
		if err != nil {
			return nil, fmt.Errorf("CALLSCOPE_S3_ENDPOINT: %w", err)
		}
		a.Method = &S3{Client: cl, Bucket: cfg.S3Bucket, KeyTemplate: strings.TrimPrefix(cfg.RemotePathTemplate, "/"),
			Timeout: timeout, MaxBytes: maxBytes}
	default:
		return nil, fmt.Errorf("AUDIO_DOWNLOAD_METHOD: unknown method %q (want none, scp, sftp, http or s3)", cfg.AudioDownloadMethod)
	}
	return a, nil
}
