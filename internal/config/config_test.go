package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callscope/callscope/internal/config"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := config.Load(env(nil), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8123" || c.DataDir != "./data" || c.DatabaseURL != "" || c.RateLimitGet != 100 ||
		c.RateLimitPost != 20 || c.MaxConcurrentProcessing != 5 || c.ProcessingTimeout != 300*time.Second ||
		c.ShutdownTimeout != 30*time.Second || !c.Enable["ENABLE_QA_SCORING"] {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestSeedAliases(t *testing.T) {
	c, err := config.Load(env(map[string]string{
		"API_HOST": "0.0.0.0", "API_PORT": "9000", "MAX_CONCURRENT_PROCESSING": "3",
		"PROCESSING_TIMEOUT_SECONDS": "120", "AUDIO_DOWNLOAD_METHOD": "scp", "SCP_SERVER": "10.0.0.3",
		"SCP_USER": "helpline", "REMOTE_PATH_TEMPLATE": "/calls/{call_id}.gsm", "ENABLE_QA_SCORING": "false",
	}), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:9000" || c.MaxConcurrentProcessing != 3 || c.ProcessingTimeout != 2*time.Minute ||
		c.AudioDownloadMethod != "scp" || c.SCPUser != "helpline" || c.Enable["ENABLE_QA_SCORING"] {
		t.Fatalf("aliases = %+v", c)
	}
}

func TestFileAndSecretFile(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "db-url")
	os.WriteFile(secret, []byte("postgres://u:p@db/x\n"), 0o600)
	file := filepath.Join(dir, "callscope.env")
	os.WriteFile(file, []byte("CALLSCOPE_ADDR=127.0.0.1:9999\nCALLSCOPE_DATABASE_URL_FILE="+secret+"\nCALLSCOPE_RATE_LIMIT_GET=5\n"), 0o600)
	c, err := config.Load(env(map[string]string{"CALLSCOPE_RATE_LIMIT_GET": "7"}), file)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" || c.DatabaseURL != "postgres://u:p@db/x" || c.RateLimitGet != 7 {
		t.Fatalf("file config = %+v", c)
	}
}

func TestInvalidNamesTheVariable(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"CALLSCOPE_ADDR": "nonsense"}, "CALLSCOPE_ADDR"},
		{map[string]string{"API_PORT": "99999"}, "API_PORT"},
		{map[string]string{"CALLSCOPE_RATE_LIMIT_GET": "-1"}, "CALLSCOPE_RATE_LIMIT_GET"},
		{map[string]string{"MAX_CONCURRENT_PROCESSING": "lots"}, "MAX_CONCURRENT_PROCESSING"},
		{map[string]string{"CALLSCOPE_TRUSTED_NETWORKS": "10.0.0.0/8,not-a-net"}, "CALLSCOPE_TRUSTED_NETWORKS"},
		{map[string]string{"CALLSCOPE_LOG_FORMAT": "xml"}, "CALLSCOPE_LOG_FORMAT"},
		{map[string]string{"ENABLE_QA_SCORING": "maybe"}, "ENABLE_QA_SCORING"},
		{map[string]string{"CALLSCOPE_DATABASE_URL": "mysql://x"}, "CALLSCOPE_DATABASE_URL"},
		{map[string]string{"CALLSCOPE_DATABASE_URL_FILE": "/nonexistent/secret"}, "CALLSCOPE_DATABASE_URL_FILE"},
		{map[string]string{"AUDIO_DOWNLOAD_METHOD": "scp", "SCP_SERVER": "pbx", "REMOTE_PATH_TEMPLATE": "/calls/x.gsm"}, "REMOTE_PATH_TEMPLATE"},
		{map[string]string{"CALLSCOPE_SHUTDOWN_TIMEOUT": "soon"}, "CALLSCOPE_SHUTDOWN_TIMEOUT"},
		{map[string]string{"CALLSCOPE_LLM_BASE_URL": "ftp://models"}, "CALLSCOPE_LLM_BASE_URL"},
		{map[string]string{"CALLSCOPE_LLM_BASE_URL": "http://localhost:11434/v1"}, "CALLSCOPE_LLM_MODEL"},
		{map[string]string{"CALLSCOPE_LLM_TEMPERATURE": "hot"}, "CALLSCOPE_LLM_TEMPERATURE"},
		{map[string]string{"CALLSCOPE_ALLOW_PRIVATE_URLS": "sometimes"}, "CALLSCOPE_ALLOW_PRIVATE_URLS"},
		{map[string]string{"CALLSCOPE_RECORDINGS_STORE": "s3", "CALLSCOPE_S3_BUCKET": "rec"}, "CALLSCOPE_S3_ENDPOINT"},
		{map[string]string{"AUDIO_DOWNLOAD_METHOD": "s3", "CALLSCOPE_S3_ENDPOINT": "minio:9000"}, "CALLSCOPE_S3_BUCKET"},
		{map[string]string{"CALLSCOPE_RECORDINGS_STORE": "gcs"}, "CALLSCOPE_RECORDINGS_STORE"},
		{map[string]string{"CALLSCOPE_S3_ENDPOINT": "https://s3.example.com"}, "CALLSCOPE_S3_ENDPOINT"},
		{map[string]string{"CALLSCOPE_S3_USE_SSL": "sometimes"}, "CALLSCOPE_S3_USE_SSL"},
		{map[string]string{"CALLSCOPE_S3_PREFIX": "../up"}, "CALLSCOPE_S3_PREFIX"},
		{map[string]string{"CALLSCOPE_RECORDINGS_STORE": "s3", "CALLSCOPE_S3_ENDPOINT": "minio:9000", "CALLSCOPE_S3_BUCKET": "rec", "CALLSCOPE_S3_ACCESS_KEY": "k"}, "CALLSCOPE_S3_SECRET_KEY"},
		{map[string]string{"SCP_INSECURE_IGNORE_HOST_KEY": "yes please"}, "SCP_INSECURE_IGNORE_HOST_KEY"},
		{map[string]string{"CALLSCOPE_RECORDING_URL_USER": "AC123"}, "CALLSCOPE_RECORDING_URL_PASSWORD"},
		{map[string]string{"CALLSCOPE_RECORDING_URL_AUTH_HOSTS": "https://api.twilio.com/"}, "CALLSCOPE_RECORDING_URL_AUTH_HOSTS"},
		{map[string]string{"CALLSCOPE_SECRET_KEY": "too-short"}, "CALLSCOPE_SECRET_KEY"},
		{map[string]string{"CALLSCOPE_SECRET_KEY": strings.Repeat("ab", 32) + "," + strings.Repeat("ab", 32)}, "CALLSCOPE_SECRET_KEY"},
		{map[string]string{"CALLSCOPE_SECRET_KEY_FILE": "/nonexistent/key"}, "CALLSCOPE_SECRET_KEY_FILE"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, err := config.Load(env(tc.env), "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one naming %s", err, tc.want)
			}
		})
	}
}

func TestTrustedNetworks(t *testing.T) {
	c, err := config.Load(env(map[string]string{"CALLSCOPE_TRUSTED_NETWORKS": "10.0.0.0/8, 192.168.8.18"}), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.TrustedNetworks) != 2 || c.TrustedNetworks[1].Bits() != 32 {
		t.Fatalf("nets = %v", c.TrustedNetworks)
	}
}

func TestRecordingStoreAndSources(t *testing.T) {
	c, err := config.Load(env(nil), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.RecordingsStore != "local" || !c.S3UseSSL || c.S3Region != "us-east-1" || c.SCPInsecureHostKey ||
		len(c.RecordingURLAuthHosts) != 1 || c.RecordingURLAuthHosts[0] != "api.twilio.com" {
		t.Fatalf("defaults = %+v", c)
	}
	secret := filepath.Join(t.TempDir(), "s3-secret")
	os.WriteFile(secret, []byte("s3cr3t\n"), 0o600)
	c, err = config.Load(env(map[string]string{
		"CALLSCOPE_RECORDINGS_STORE": "s3", "CALLSCOPE_S3_ENDPOINT": "minio:9000", "CALLSCOPE_S3_BUCKET": "recordings",
		"CALLSCOPE_S3_ACCESS_KEY": "callscope", "CALLSCOPE_S3_SECRET_KEY_FILE": secret, "CALLSCOPE_S3_USE_SSL": "false",
		"CALLSCOPE_S3_PREFIX": "tenant-a/", "CALLSCOPE_S3_REGION": "eu-central-1",
		"AUDIO_DOWNLOAD_METHOD": "sftp", "SCP_SERVER": "192.168.10.3", "REMOTE_PATH_TEMPLATE": "/calls/{call_id}.gsm",
		"SCP_KNOWN_HOSTS": "/etc/callscope/known_hosts", "CALLSCOPE_RECORDING_URL_USER": "AC1",
		"CALLSCOPE_RECORDING_URL_PASSWORD": "tok", "CALLSCOPE_RECORDING_URL_AUTH_HOSTS": "api.twilio.com, Recordings.Example.com",
	}), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.RecordingsStore != "s3" || c.S3Endpoint != "minio:9000" || c.S3Bucket != "recordings" || c.S3AccessKey != "callscope" ||
		c.S3SecretKey != "s3cr3t" || c.S3UseSSL || c.S3Prefix != "tenant-a/" || c.S3Region != "eu-central-1" ||
		c.SCPKnownHosts != "/etc/callscope/known_hosts" || c.RecordingURLUser != "AC1" || c.RecordingURLPassword != "tok" ||
		len(c.RecordingURLAuthHosts) != 2 || c.RecordingURLAuthHosts[1] != "recordings.example.com" {
		t.Fatalf("config = %+v", c)
	}
}

func TestDeliveries(t *testing.T) {
	c, err := config.Load(env(map[string]string{"CALLSCOPE_SMTP_HOST": "mail.example.com", "CALLSCOPE_SMTP_PORT": "465",
		"CALLSCOPE_SMTP_TLS": "tls", "CALLSCOPE_SMTP_FROM": "reports@example.com",
		"CALLSCOPE_PUBLIC_URL": "https://calls.example.com/"}), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTPHost != "mail.example.com" || c.SMTPPort != 465 || c.SMTPTLS != "tls" || c.PublicURL != "https://calls.example.com" {
		t.Fatalf("config = %+v", c)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"CALLSCOPE_SMTP_PORT": "0"}, "CALLSCOPE_SMTP_PORT"},
		{map[string]string{"CALLSCOPE_SMTP_TLS": "ssl3"}, "CALLSCOPE_SMTP_TLS"},
		{map[string]string{"CALLSCOPE_SMTP_HOST": "mail.example.com"}, "CALLSCOPE_SMTP_FROM"},
		{map[string]string{"CALLSCOPE_SMTP_FROM": "nobody"}, "CALLSCOPE_SMTP_FROM"},
		{map[string]string{"CALLSCOPE_SMTP_USERNAME": "u"}, "CALLSCOPE_SMTP_PASSWORD"},
		{map[string]string{"CALLSCOPE_PUBLIC_URL": "calls.example.com"}, "CALLSCOPE_PUBLIC_URL"},
		{map[string]string{"CALLSCOPE_AGENT_CA_FILE": "/nonexistent/ca.pem"}, "CALLSCOPE_AGENT_CA_FILE"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, err := config.Load(env(tc.env), "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one naming %s", err, tc.want)
			}
		})
	}
}

func TestSecretKeys(t *testing.T) {
	c, err := config.Load(env(nil), "")
	if err != nil || len(c.SecretKeys) != 0 {
		t.Fatalf("default keys = %d, %v", len(c.SecretKeys), err)
	}
	a, b := strings.Repeat("a1", 32), "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="
	c, err = config.Load(env(map[string]string{"CALLSCOPE_SECRET_KEY": b + ", " + a}), "")
	if err != nil || len(c.SecretKeys) != 2 || string(c.SecretKeys[0]) != strings.Repeat("B", 32) || c.SecretKeys[1][0] != 0xa1 {
		t.Fatalf("keys = %x, %v", c.SecretKeys, err)
	}
	file := filepath.Join(t.TempDir(), "secret-key")
	os.WriteFile(file, []byte(a+"\n"), 0o600)
	c, err = config.Load(env(map[string]string{"CALLSCOPE_SECRET_KEY_FILE": file}), "")
	if err != nil || len(c.SecretKeys) != 1 || c.SecretKeys[0][31] != 0xa1 {
		t.Fatalf("keys from file = %x, %v", c.SecretKeys, err)
	}
	os.WriteFile(file, []byte("nope\n"), 0o600)
	if _, err := config.Load(env(map[string]string{"CALLSCOPE_SECRET_KEY_FILE": file}), ""); err == nil ||
		!strings.HasPrefix(err.Error(), "CALLSCOPE_SECRET_KEY_FILE: key 1:") {
		t.Fatalf("bad key file: %v", err)
	}
}
