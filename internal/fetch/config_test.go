package fetch_test

import (
	"context"
	"strings"
	"testing"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/config"
	"github.com/callscope/callscope/internal/egress"
	"github.com/callscope/callscope/internal/fetch"
)

func mustConfig(tb testing.TB, env map[string]string) *config.Config {
	tb.Helper()
	c, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "")
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestFromConfig(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("SFTPFromSeedVariables", func(t *testing.T) {
		srv := MustSFTPServer(t)
		cfg := mustConfig(t, map[string]string{
			"AUDIO_DOWNLOAD_METHOD": "scp", "SCP_USER": "helpline", "SCP_SERVER": srv.Addr, "SCP_PASSWORD": "pbx-password",
			"REMOTE_PATH_TEMPLATE": srv.template(), "SCP_KNOWN_HOSTS": srv.knownHosts(t, srv.HostKey),
			"DOWNLOAD_TIMEOUT_SECONDS": "10",
		})
		src, err := fetch.FromConfig(cfg, egress.Policy{})
		if err != nil {
			t.Fatal(err)
		}
		got, info, err := readAll(t, src, pbxRef(pbxID))
		if err != nil || string(got) != string(srv.Audio) || info.Name != pbxID+".gsm" {
			t.Fatalf("read %d bytes, %+v, %v", len(got), info, err)
		}
	})

	t.Run("URLWinsOverMethod", func(t *testing.T) {
		tw, _ := twilio(t)
		cfg := mustConfig(t, map[string]string{
			"CALLSCOPE_RECORDING_URL_USER": accountSID, "CALLSCOPE_RECORDING_URL_PASSWORD": authToken,
			"CALLSCOPE_RECORDING_URL_AUTH_HOSTS": "127.0.0.1",
		})
		src, err := fetch.FromConfig(cfg, loopback)
		if err != nil {
			t.Fatal(err)
		}
		if got, _, err := readAll(t, src, recordingURL(tw, "RE0001.mp3")); err != nil || string(got) != string(mp3) {
			t.Fatalf("read %d bytes, %v", len(got), err)
		}
		// Without a URL and with AUDIO_DOWNLOAD_METHOD=none there is nowhere to look.
		_, _, err = src.Fetch(ctx, pbxRef(pbxID))
		if callscope.ErrorCode(err) != callscope.EUNAVAILABLE || !strings.Contains(callscope.ErrorMessage(err), "AUDIO_DOWNLOAD_METHOD=none") {
			t.Fatalf("Fetch without URL = %v, want EUNAVAILABLE naming AUDIO_DOWNLOAD_METHOD", err)
		}
	})

	t.Run("S3", func(t *testing.T) {
		_, s3srv := MustS3(t, nil)
		cfg := mustConfig(t, map[string]string{
			"AUDIO_DOWNLOAD_METHOD": "s3", "CALLSCOPE_S3_ENDPOINT": strings.TrimPrefix(s3srv.URL, "https://"),
			"CALLSCOPE_S3_BUCKET": "calls", "REMOTE_PATH_TEMPLATE": "/pbx/{call_id}.wav",
		})
		src, err := fetch.FromConfig(cfg, egress.Policy{})
		if err != nil {
			t.Fatal(err)
		}
		s3src := src.Method.(*fetch.S3)
		if s3src.Bucket != "calls" || s3src.KeyTemplate != "pbx/{call_id}.wav" {
			t.Fatalf("S3 source = %+v", s3src)
		}
	})

	t.Run("NamesTheVariable", func(t *testing.T) {
		for _, tc := range []struct {
			env  map[string]string
			want string
		}{
			{map[string]string{"AUDIO_DOWNLOAD_METHOD": "sftp", "SCP_SERVER": "pbx", "REMOTE_PATH_TEMPLATE": "/c/{call_id}.gsm", "SCP_PASSWORD": "x", "SCP_INSECURE_IGNORE_HOST_KEY": "true"}, "SCP_USER"},
			{map[string]string{"AUDIO_DOWNLOAD_METHOD": "sftp", "SCP_SERVER": "pbx", "REMOTE_PATH_TEMPLATE": "/c/{call_id}.gsm", "SCP_USER": "u", "SCP_INSECURE_IGNORE_HOST_KEY": "true"}, "SCP_PASSWORD"},
			{map[string]string{"AUDIO_DOWNLOAD_METHOD": "sftp", "SCP_SERVER": "pbx", "REMOTE_PATH_TEMPLATE": "/c/{call_id}.gsm", "SCP_USER": "u", "SCP_PASSWORD": "x", "SCP_KNOWN_HOSTS": "/nonexistent/known_hosts"}, "SCP_KNOWN_HOSTS"},
			{map[string]string{"AUDIO_DOWNLOAD_METHOD": "http", "REMOTE_PATH_TEMPLATE": "/calls/{call_id}.gsm"}, "REMOTE_PATH_TEMPLATE"},
			{map[string]string{"AUDIO_DOWNLOAD_METHOD": "s3", "CALLSCOPE_S3_ENDPOINT": "minio:9000", "CALLSCOPE_S3_BUCKET": "b", "REMOTE_PATH_TEMPLATE": "fixed.wav"}, "REMOTE_PATH_TEMPLATE"},
		} {
			_, err := fetch.FromConfig(mustConfig(t, tc.env), egress.Policy{})
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("FromConfig(%v) = %v, want an error naming %s", tc.env, err, tc.want)
			}
		}
		cfg := mustConfig(t, nil)
		cfg.S3Bucket, cfg.AudioDownloadMethod = "", "s3"
		if _, err := fetch.FromConfig(cfg, egress.Policy{}); err == nil || !strings.HasPrefix(err.Error(), "CALLSCOPE_S3_ENDPOINT") {
			t.Errorf("FromConfig without endpoint = %v", err)
		}
	})
}
