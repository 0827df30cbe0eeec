// Package config reads callscope's configuration from environment variables
// and an optional file of KEY=VALUE lines (the same names; the environment
// wins). The names of the Call Sessions API deployment (API_HOST, API_PORT,
// MAX_CONCURRENT_PROCESSING, …) are accepted as aliases. Every variable X
// may instead be given as X_FILE, naming a file that holds the value (for
// secrets). An invalid value is an error naming the variable.
package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"github.com/callscope/callscope/internal/secret"
)

// Config is callscope's whole configuration.
type Config struct {
	Addr             string         // CALLSCOPE_ADDR; API_HOST + API_PORT
	DataDir          string         // CALLSCOPE_DATA_DIR
	DatabaseURL      string         // CALLSCOPE_DATABASE_URL (secret)
	TrustedNetworks  []netip.Prefix // CALLSCOPE_TRUSTED_NETWORKS
	RateLimitGet     int            // CALLSCOPE_RATE_LIMIT_GET, requests per minute per client; 0 = off
	RateLimitPost    int            // CALLSCOPE_RATE_LIMIT_POST, writes per minute per client; 0 = off
	LogFormat        string         // CALLSCOPE_LOG_FORMAT: auto, json, text
	LogLevel         string         // CALLSCOPE_LOG_LEVEL: debug, info, warn, error
	MaxBodyBytes     int64          // CALLSCOPE_MAX_BODY_BYTES: JSON request bodies
	MaxUploadBytes   int64          // CALLSCOPE_MAX_UPLOAD_BYTES: recording uploads
	AllowPrivateURLs bool           // CALLSCOPE_ALLOW_PRIVATE_URLS: outbound requests may reach private addresses
	AllowedNetworks  []netip.Prefix // CALLSCOPE_ALLOWED_NETWORKS: private ranges outbound requests may reach
	ShutdownTimeout  time.Duration  // CALLSCOPE_SHUTDOWN_TIMEOUT: drain deadline
	ShutdownDelay    time.Duration  // CALLSCOPE_SHUTDOWN_DELAY: lame-duck time before closing

	MaxConcurrentProcessing int           // MAX_CONCURRENT_PROCESSING
	Workers                 int           // jobs other than pipeline runs at once
	ProcessingTimeout       time.Duration // PROCESSING_TIMEOUT_SECONDS
	DownloadTimeout         time.Duration // DOWNLOAD_TIMEOUT_SECONDS
	TempPath                string        // TEMP_PATH
	LogsPath                string        // LOGS_PATH
	ModelsPath              string        // MODELS_PATH

	// Audio retrieval from the PBX.
	AudioDownloadMethod string // AUDIO_DOWNLOAD_METHOD: none, scp, sftp, http, s3
	SCPUser             string // SCP_USER
	SCPServer           string // SCP_SERVER
	SCPPassword         string // SCP_PASSWORD (secret)
	SCPKeyFile          string // SCP_KEY_FILE
	RemotePathTemplate  string // REMOTE_PATH_TEMPLATE, e.g. /calls/{call_id}.gsm
	SCPKnownHosts       string // SCP_KNOWN_HOSTS: known_hosts file with the PBX's host key; "" = ~/.ssh/known_hosts
	SCPInsecureHostKey  bool   // SCP_INSECURE_IGNORE_HOST_KEY: accept any host key (closed networks only)

	// Recording URLs (AUDIO_DOWNLOAD_METHOD=http, Twilio RecordingUrl).
	RecordingURLUser      string   // CALLSCOPE_RECORDING_URL_USER: Basic auth user (Twilio AccountSid)
	RecordingURLPassword  string   // CALLSCOPE_RECORDING_URL_PASSWORD (secret): Basic auth password (Twilio AuthToken)
	RecordingURLAuthHosts []string // CALLSCOPE_RECORDING_URL_AUTH_HOSTS: hosts the credentials are sent to

	// S3-compatible storage, for recordings kept (CALLSCOPE_RECORDINGS_STORE=s3)
	// and recordings fetched (AUDIO_DOWNLOAD_METHOD=s3).
	RecordingsStore string // CALLSCOPE_RECORDINGS_STORE: local or s3
	S3Endpoint      string // CALLSCOPE_S3_ENDPOINT: host[:port], without scheme
	S3Bucket        string // CALLSCOPE_S3_BUCKET
	S3AccessKey     string // CALLSCOPE_S3_ACCESS_KEY
	S3SecretKey     string // CALLSCOPE_S3_SECRET_KEY (secret)
	S3Region        string // CALLSCOPE_S3_REGION
	S3UseSSL        bool   // CALLSCOPE_S3_USE_SSL
	S3Prefix        string // CALLSCOPE_S3_PREFIX: key prefix of stored recordings, e.g. "recordings/"

	// Models.
	WhisperModel     string // WHISPER_MODEL
	TranslationModel string // TRANSLATION_MODEL

	// Chat model for the language stages (OpenAI-compatible).
	LLMBaseURL     string        // CALLSCOPE_LLM_BASE_URL
	LLMAPIKey      string        // CALLSCOPE_LLM_API_KEY (secret)
	LLMModel       string        // CALLSCOPE_LLM_MODEL
	LLMStages      []string      // CALLSCOPE_LLM_STAGES
	LLMTimeout     time.Duration // CALLSCOPE_LLM_TIMEOUT_SECONDS
	LLMTemperature float64       // CALLSCOPE_LLM_TEMPERATURE

	// Transcription engine.
	STTEngine  string // CALLSCOPE_STT_ENGINE: auto, none, pocketsphinx, openai, whisper.cpp
	STTBaseURL string // CALLSCOPE_STT_BASE_URL
	STTAPIKey  string // CALLSCOPE_STT_API_KEY (secret)

	// WebhookSchedule is when a webhook message is tried: the first
	// attempt's delay, then each retry's (CALLSCOPE_WEBHOOK_RETRY_SCHEDULE).
	WebhookSchedule []time.Duration

	// Pipeline switches (ENABLE_*), by stage name.
	Enable map[string]bool

	// Deliveries: e-mail reports, links, the agent notification service.
	SMTPHost     string // CALLSCOPE_SMTP_HOST; "" sends no e-mail
	SMTPPort     int    // CALLSCOPE_SMTP_PORT
	SMTPUsername string // CALLSCOPE_SMTP_USERNAME
	SMTPPassword string // CALLSCOPE_SMTP_PASSWORD (secret)
	SMTPFrom     string // CALLSCOPE_SMTP_FROM: sender of reports unless a tenant sets its own
	SMTPTLS      string // CALLSCOPE_SMTP_TLS: none, starttls, tls
	PublicURL    string // CALLSCOPE_PUBLIC_URL: base of links to calls and recordings
	AgentCAFile  string // CALLSCOPE_AGENT_CA_FILE: extra CA certificates trusted for the agent service

	// Outbound calls (Auto-Caller API).
	AutocallerPrefix string // CALLSCOPE_AUTOCALLER_PREFIX: path prefix of the Auto-Caller API
	Dialer           string // CALLSCOPE_DIALER: simulator, twilio or none

	// Live call audio: the listeners serve the default tenant.
	AudioSocketAddr       string         // CALLSCOPE_AUDIOSOCKET_ADDR: Asterisk AudioSocket listener; "" = off
	OpenCHSAddr           string         // CALLSCOPE_OPENCHS_ADDR: OpenCHS raw TCP listener; "" = off
	StreamAllowedNetworks []netip.Prefix // CALLSCOPE_STREAM_ALLOWED_NETWORKS: peers the TCP listeners accept; nil = loopback
	TwilioAuthToken       string         // CALLSCOPE_TWILIO_AUTH_TOKEN (secret): signs /twilio/stream handshakes; "" = route off
	ProgressiveChars      int            // CALLSCOPE_PROGRESSIVE_MIN_CHARS: new transcript text a progressive-analysis window needs
	ProgressiveInterval   time.Duration  // CALLSCOPE_PROGRESSIVE_INTERVAL: least time between two windows of a live call

	// SecretKeys seal the secrets stored in the database (webhook signing
	// secrets, service credentials): the first seals, every one opens
	// (CALLSCOPE_SECRET_KEY, secret). Empty: a key generated in the data
	// directory is used, with SQLite only.
	SecretKeys [][]byte

	// ARI configures the Asterisk ARI dialer (CALLSCOPE_DIALER=ari).
	ARI ARI
}

// Var describes one configuration variable, for validation and --help.
type Var struct {
	Name    string
	Aliases []string
	Default string
	Help    string
	Secret  bool
}

// Vars lists every variable callscope reads, in the order --help shows them.
var Vars = []Var{
	{Name: "CALLSCOPE_ADDR", Default: "127.0.0.1:8123", Help: "address the HTTP server listens on (API_HOST and API_PORT also accepted)"},
	{Name: "CALLSCOPE_DATA_DIR", Default: "./data", Help: "directory for the SQLite database and recordings"},
	{Name: "CALLSCOPE_DATABASE_URL", Help: "postgres://… to use PostgreSQL; empty for SQLite in the data directory", Secret: true},
	{Name: "CALLSCOPE_SECRET_KEY", Help: "keys sealing the secrets stored in the database: 32 bytes each, base64 or hex, comma-separated; the first seals, all open (rotation). Required with PostgreSQL; with SQLite, empty uses DATA_DIR/secret.key, generated on first start", Secret: true},
	{Name: "CALLSCOPE_TRUSTED_NETWORKS", Help: "comma-separated CIDRs whose requests act as the default tenant without a key"},
	{Name: "CALLSCOPE_RATE_LIMIT_GET", Default: "100", Help: "GET requests per minute per API key (or IP); 0 disables"},
	{Name: "CALLSCOPE_RATE_LIMIT_POST", Default: "20", Help: "POST/PUT/PATCH/DELETE requests per minute per API key (or IP); 0 disables"},
	{Name: "CALLSCOPE_LOG_FORMAT", Default: "auto", Help: "auto (JSON unless stderr is a terminal), json or text"},
	{Name: "CALLSCOPE_LOG_LEVEL", Default: "info", Help: "debug, info, warn or error"},
	{Name: "CALLSCOPE_MAX_BODY_BYTES", Default: "1048576", Help: "largest JSON request body accepted"},
	{Name: "CALLSCOPE_MAX_UPLOAD_BYTES", Default: "1073741824", Help: "largest recording upload"},
	{Name: "CALLSCOPE_ALLOW_PRIVATE_URLS", Default: "false", Help: "let outbound requests (webhooks, recording URLs, CRM) reach private and loopback addresses"},
	{Name: "CALLSCOPE_ALLOWED_NETWORKS", Help: "comma-separated CIDRs outbound requests may reach although private (e.g. the PBX's subnet)"},
	{Name: "CALLSCOPE_SHUTDOWN_TIMEOUT", Default: "30s", Help: "how long a stopping server drains requests and jobs"},
	{Name: "CALLSCOPE_SHUTDOWN_DELAY", Default: "2s", Help: "after SIGTERM, how long /health answers 503 and responses close their connections before the listener closes"},
	{Name: "CALLSCOPE_MAX_CONCURRENT_PROCESSING", Aliases: []string{"MAX_CONCURRENT_PROCESSING"}, Default: "5", Help: "pipeline runs at once"},
	{Name: "CALLSCOPE_WORKERS", Default: "50", Help: "other queue jobs (deliveries, agent notifications, CRM push, campaign reconciliation) at once"},
	{Name: "CALLSCOPE_PROCESSING_TIMEOUT_SECONDS", Aliases: []string{"PROCESSING_TIMEOUT_SECONDS"}, Default: "300", Help: "time limit of one call's processing"},
	{Name: "CALLSCOPE_DOWNLOAD_TIMEOUT_SECONDS", Aliases: []string{"DOWNLOAD_TIMEOUT_SECONDS"}, Default: "60", Help: "time limit of one recording download"},
	{Name: "CALLSCOPE_TEMP_PATH", Aliases: []string{"TEMP_PATH"}, Help: "scratch directory (default: the system's)"},
	{Name: "CALLSCOPE_LOGS_PATH", Aliases: []string{"LOGS_PATH"}, Help: "accepted for compatibility; logs go to stderr"},
	{Name: "CALLSCOPE_MODELS_PATH", Aliases: []string{"MODELS_PATH"}, Help: "directory of local model files"},
	{Name: "CALLSCOPE_AUDIO_DOWNLOAD_METHOD", Aliases: []string{"AUDIO_DOWNLOAD_METHOD"}, Default: "none", Help: "none, scp, sftp, http or s3"},
	{Name: "CALLSCOPE_SCP_USER", Aliases: []string{"SCP_USER"}, Help: "PBX login for scp/sftp"},
	{Name: "CALLSCOPE_SCP_SERVER", Aliases: []string{"SCP_SERVER"}, Help: "PBX host[:port] for scp/sftp"},
	{Name: "CALLSCOPE_SCP_PASSWORD", Aliases: []string{"SCP_PASSWORD"}, Help: "PBX password (prefer SCP_KEY_FILE)", Secret: true},
	{Name: "CALLSCOPE_SCP_KEY_FILE", Aliases: []string{"SCP_KEY_FILE"}, Help: "SSH private key file for the PBX"},
	{Name: "CALLSCOPE_REMOTE_PATH_TEMPLATE", Aliases: []string{"REMOTE_PATH_TEMPLATE"}, Help: "recording path on the PBX (or object key, or URL), with {call_id}"},
	{Name: "CALLSCOPE_SCP_KNOWN_HOSTS", Aliases: []string{"SCP_KNOWN_HOSTS"}, Help: "known_hosts file holding the PBX's SSH host key (default ~/.ssh/known_hosts); unknown hosts are refused"},
	{Name: "CALLSCOPE_SCP_INSECURE_IGNORE_HOST_KEY", Aliases: []string{"SCP_INSECURE_IGNORE_HOST_KEY"}, Default: "false", Help: "accept any SSH host key from the PBX; only on a closed network"},
	{Name: "CALLSCOPE_RECORDING_URL_USER", Help: "Basic auth user for recording URLs (Twilio AccountSid)"},
	{Name: "CALLSCOPE_RECORDING_URL_PASSWORD", Help: "Basic auth password for recording URLs (Twilio AuthToken)", Secret: true},
	{Name: "CALLSCOPE_RECORDING_URL_AUTH_HOSTS", Default: "api.twilio.com", Help: "comma-separated hosts recording URL credentials are sent to"},
	{Name: "CALLSCOPE_RECORDINGS_STORE", Default: "local", Help: "where recordings are kept: local (the data directory) or s3"},
	{Name: "CALLSCOPE_S3_ENDPOINT", Help: "S3-compatible endpoint, host[:port] (e.g. s3.amazonaws.com, minio:9000)"},
	{Name: "CALLSCOPE_S3_BUCKET", Help: "S3 bucket of recordings"},
	{Name: "CALLSCOPE_S3_ACCESS_KEY", Help: "S3 access key"},
	{Name: "CALLSCOPE_S3_SECRET_KEY", Help: "S3 secret key", Secret: true},
	{Name: "CALLSCOPE_S3_REGION", Default: "us-east-1", Help: "S3 region"},
	{Name: "CALLSCOPE_S3_USE_SSL", Default: "true", Help: "use HTTPS to reach the S3 endpoint"},
	{Name: "CALLSCOPE_S3_PREFIX", Help: "key prefix of recordings kept in S3 (e.g. recordings/)"},
	{Name: "CALLSCOPE_LLM_BASE_URL", Help: "OpenAI-compatible server for the language stages, e.g. http://localhost:11434/v1 (Ollama); empty runs them offline"},
	{Name: "CALLSCOPE_LLM_API_KEY", Help: "bearer key for that server (local servers need none)", Secret: true},
	{Name: "CALLSCOPE_LLM_MODEL", Help: "model name on that server (required with CALLSCOPE_LLM_BASE_URL)"},
	{Name: "CALLSCOPE_LLM_STAGES", Default: "translate,entities,classify,summarize,qa_score,todos,analyzers", Help: "stages that run on the model; the others run offline"},
	{Name: "CALLSCOPE_LLM_TIMEOUT_SECONDS", Default: "120", Help: "time limit of one model request"},
	{Name: "CALLSCOPE_LLM_TEMPERATURE", Default: "0", Help: "sampling temperature, always sent"},
	{Name: "CALLSCOPE_STT_ENGINE", Default: "auto", Help: "transcription engine: auto (pocketsphinx when installed), none, pocketsphinx, openai (any OpenAI-compatible server) or whisper.cpp"},
	{Name: "CALLSCOPE_STT_BASE_URL", Help: "transcription server for openai or whisper.cpp, e.g. http://localhost:8000/v1"},
	{Name: "CALLSCOPE_STT_API_KEY", Help: "bearer key for the transcription server", Secret: true},
	{Name: "CALLSCOPE_WEBHOOK_RETRY_SCHEDULE", Default: "0s,5s,5m,30m,2h,5h,10h,10h", Help: "when webhook attempts are made: the first attempt's delay, then each retry's (Standard Webhooks' schedule)"},
	{Name: "CALLSCOPE_WHISPER_MODEL", Aliases: []string{"WHISPER_MODEL"}, Help: "transcription model name"},
	{Name: "CALLSCOPE_TRANSLATION_MODEL", Aliases: []string{"TRANSLATION_MODEL"}, Help: "translation model name"},
	{Name: "CALLSCOPE_SMTP_HOST", Help: "SMTP server for e-mail reports; empty sends none"},
	{Name: "CALLSCOPE_SMTP_PORT", Default: "587", Help: "SMTP port"},
	{Name: "CALLSCOPE_SMTP_USERNAME", Help: "SMTP login (empty: no authentication)"},
	{Name: "CALLSCOPE_SMTP_PASSWORD", Help: "SMTP password", Secret: true},
	{Name: "CALLSCOPE_SMTP_FROM", Help: "sender address of e-mail reports (a tenant's email_report.from wins)"},
	{Name: "CALLSCOPE_SMTP_TLS", Default: "starttls", Help: "none, starttls (required) or tls (implicit, usually port 465)"},
	{Name: "CALLSCOPE_PUBLIC_URL", Help: "public base URL of this server, e.g. https://calls.example.com, for links to calls and stable recording URLs"},
	{Name: "CALLSCOPE_AUTOCALLER_PREFIX", Default: "/autocaller", Help: "path prefix of the Auto-Caller API (outbound calls)"},
	{Name: "CALLSCOPE_DIALER", Default: "simulator", Help: "dialer that places outbound calls: simulator (plays calls out, no phone line), twilio (each tenant's settings.twilio account; needs CALLSCOPE_PUBLIC_URL), ari (Asterisk, see CALLSCOPE_ARI_*) or none"},
	{Name: "CALLSCOPE_AGENT_CA_FILE", Help: "PEM file of extra CA certificates trusted for the agent notification service"},
	{Name: "CALLSCOPE_AUDIOSOCKET_ADDR", Help: "host:port of the Asterisk AudioSocket listener for live calls (e.g. 127.0.0.1:9092); empty: off"},
	{Name: "CALLSCOPE_OPENCHS_ADDR", Help: "host:port of the OpenCHS raw TCP audio listener for live calls (e.g. 127.0.0.1:8300); empty: off"},
	{Name: "CALLSCOPE_STREAM_ALLOWED_NETWORKS", Help: "comma-separated CIDRs the AudioSocket and OpenCHS listeners accept connections from (default: loopback only)"},
	{Name: "CALLSCOPE_PROGRESSIVE_MIN_CHARS", Default: "150", Help: "live realtime/hybrid calls: new transcript characters that start a progressive-analysis window"},
	{Name: "CALLSCOPE_PROGRESSIVE_INTERVAL", Default: "30s", Help: "live realtime/hybrid calls: least time between two progressive-analysis windows (the last window is taken when the call ends)"},
	{Name: "CALLSCOPE_TWILIO_AUTH_TOKEN", Help: "Twilio auth token that signs Media Streams handshakes at /twilio/stream (default tenant); empty: the route is off", Secret: true},
	// Asterisk ARI dialer (CALLSCOPE_DIALER=ari).
	{Name: "CALLSCOPE_ARI_URL", Help: "CALLSCOPE_DIALER=ari: base URL of Asterisk's REST Interface, e.g. http://127.0.0.1:8088/ari"},
	{Name: "CALLSCOPE_ARI_USER", Help: "CALLSCOPE_DIALER=ari: ARI user (a section of ari.conf)"},
	{Name: "CALLSCOPE_ARI_PASSWORD", Help: "CALLSCOPE_DIALER=ari: that user's password", Secret: true},
	{Name: "CALLSCOPE_ARI_APP", Default: "callscope", Help: "CALLSCOPE_DIALER=ari: Stasis application the calls are placed into"},
	{Name: "CALLSCOPE_ARI_ENDPOINT", Default: "PJSIP/{number}@trunk", Help: "CALLSCOPE_DIALER=ari: endpoint dialled; {number} is the number called"},
	{Name: "CALLSCOPE_ARI_CALLER_ID", Help: "CALLSCOPE_DIALER=ari: caller id of calls that name no from number"},
	{Name: "CALLSCOPE_ARI_PROMPT_DIR", Help: "CALLSCOPE_DIALER=ari: directory, shared with Asterisk, where the spoken scripts are written; empty: no script is played"},
	{Name: "CALLSCOPE_ARI_PROMPT_SOUND_DIR", Help: "CALLSCOPE_DIALER=ari: that directory as Asterisk sees it (default: CALLSCOPE_ARI_PROMPT_DIR)"},
}

// Switches are the ENABLE_* variables and their defaults.
var Switches = map[string]bool{
	"ENABLE_FULL_PIPELINE":       true,
	"ENABLE_DIARIZATION":         false,
	"ENABLE_NOISE_REDUCTION":     false,
	"CONVERT_TO_WAV":             true,
	"ENABLE_TRANSLATION":         true,
	"ENABLE_NER":                 true,
	"ENABLE_CLASSIFICATION":      true,
	"ENABLE_SUMMARIZATION":       true,
	"ENABLE_INSIGHTS_GENERATION": true,
	"ENABLE_QA_SCORING":          true,
	"ENABLE_PII_REDACTION":       false,
	"NOTIFY_COMPLETION":          true,
	"ENABLE_POSTCALL_PROCESSING": true,
}

// Load reads the configuration from lookup (os.LookupEnv in production) and,
// when file is not "", from that file.
func Load(lookup func(string) (string, bool), file string) (*Config, error) {
	fileVals := map[string]string{}
	if file != "" {
		m, err := godotenv.Read(file)
		if err != nil {
			return nil, fmt.Errorf("config file %s: %w", file, err)
		}
		fileVals = m
	}
	r := reader{lookup: lookup, file: fileVals}
	c := &Config{Enable: map[string]bool{}}

	addr, addrVar, err := r.get("CALLSCOPE_ADDR")
	if err != nil {
		return nil, err
	}
	if addrVar == "" {
		host, _, err := r.raw("API_HOST")
		if err != nil {
			return nil, err
		}
		port, portVar, err := r.raw("API_PORT")
		if err != nil {
			return nil, err
		}
		if host != "" || port != "" {
			if host == "" {
				host = "127.0.0.1"
			}
			if port == "" {
				port = "8123"
			}
			if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
				return nil, fmt.Errorf("%s: invalid port %q", portVar, port)
			}
			addr, addrVar = net.JoinHostPort(host, port), "API_HOST/API_PORT"
		}
	}
	if _, port, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("%s: invalid address %q: want host:port", orDefault(addrVar, "CALLSCOPE_ADDR"), addr)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return nil, fmt.Errorf("%s: invalid port in %q", orDefault(addrVar, "CALLSCOPE_ADDR"), addr)
	}
	c.Addr = addr

	if c.DataDir, _, err = r.get("CALLSCOPE_DATA_DIR"); err != nil {
		return nil, err
	}
	if c.DatabaseURL, _, err = r.get("CALLSCOPE_DATABASE_URL"); err != nil {
		return nil, err
	}
	if u := c.DatabaseURL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") &&
		!strings.HasPrefix(u, "sqlite:") && !strings.HasPrefix(u, "file:") {
		return nil, fmt.Errorf("CALLSCOPE_DATABASE_URL: want postgres://…, sqlite:PATH or file:PATH")
	}
	keys, keysVar, err := r.get("CALLSCOPE_SECRET_KEY")
	if err != nil {
		return nil, err
	}
	if c.SecretKeys, err = secret.ParseKeys(keys); err != nil {
		return nil, fmt.Errorf("%s: %w", orDefault(keysVar, "CALLSCOPE_SECRET_KEY"), err)
	}
	if _, err := secret.New(c.SecretKeys...); err != nil && len(c.SecretKeys) > 0 {
		return nil, fmt.Errorf("%s: %w", orDefault(keysVar, "CALLSCOPE_SECRET_KEY"), err)
	}
	if c.TrustedNetworks, err = r.prefixes("CALLSCOPE_TRUSTED_NETWORKS"); err != nil {
		return nil, err
	}
	if c.AllowedNetworks, err = r.prefixes("CALLSCOPE_ALLOWED_NETWORKS"); err != nil {
		return nil, err
	}
	if c.StreamAllowedNetworks, err = r.prefixes("CALLSCOPE_STREAM_ALLOWED_NETWORKS"); err != nil {
		return nil, err
	}
	for _, v := range []struct {
		name string
		dst  *string
	}{{"CALLSCOPE_AUDIOSOCKET_ADDR", &c.AudioSocketAddr}, {"CALLSCOPE_OPENCHS_ADDR", &c.OpenCHSAddr}} {
		a, _, err := r.get(v.name)
		if err != nil {
			return nil, err
		}
		if a = strings.TrimSpace(a); a != "" {
			if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
				return nil, fmt.Errorf("%s: want host:port, got %q", v.name, a)
			}
		}
		*v.dst = a
	}
	if c.TwilioAuthToken, _, err = r.get("CALLSCOPE_TWILIO_AUTH_TOKEN"); err != nil {
		return nil, err
	}
	if c.ProgressiveChars, err = r.intVar("CALLSCOPE_PROGRESSIVE_MIN_CHARS", 1, 1_000_000); err != nil {
		return nil, err
	}
	pi, piName, err := r.get("CALLSCOPE_PROGRESSIVE_INTERVAL")
	if err != nil {
		return nil, err
	}
	if c.ProgressiveInterval, err = time.ParseDuration(strings.TrimSpace(pi)); err != nil || c.ProgressiveInterval < 0 || c.ProgressiveInterval > 24*time.Hour {
		return nil, fmt.Errorf("%s: invalid duration %q (from 0s to 24h, e.g. 30s)", orDefault(piName, "CALLSCOPE_PROGRESSIVE_INTERVAL"), pi)
	}
	ap, apName, err := r.get("CALLSCOPE_ALLOW_PRIVATE_URLS")
	if err != nil {
		return nil, err
	}
	if c.AllowPrivateURLs, err = strconv.ParseBool(strings.TrimSpace(ap)); err != nil {
		return nil, fmt.Errorf("%s: invalid boolean %q (want true or false)", orDefault(apName, "CALLSCOPE_ALLOW_PRIVATE_URLS"), ap)
	}
	if c.RateLimitGet, err = r.intVar("CALLSCOPE_RATE_LIMIT_GET", 0, 1_000_000_000); err != nil {
		return nil, err
	}
	if c.RateLimitPost, err = r.intVar("CALLSCOPE_RATE_LIMIT_POST", 0, 1_000_000_000); err != nil {
		return nil, err
	}
	if c.LogFormat, err = r.oneOf("CALLSCOPE_LOG_FORMAT", "auto", "json", "text"); err != nil {
		return nil, err
	}
	if c.LogLevel, err = r.oneOf("CALLSCOPE_LOG_LEVEL", "debug", "info", "warn", "error"); err != nil {
		return nil, err
	}
	n, err := r.intVar("CALLSCOPE_MAX_BODY_BYTES", 1024, 1<<30)
	if err != nil {
		return nil, err
	}
	c.MaxBodyBytes = int64(n)
	if n, err = r.intVar("CALLSCOPE_MAX_UPLOAD_BYTES", 1024, 1<<40); err != nil {
		return nil, err
	}
	c.MaxUploadBytes = int64(n)
	sd, name, err := r.get("CALLSCOPE_SHUTDOWN_TIMEOUT")
	if err != nil {
		return nil, err
	}
	if c.ShutdownTimeout, err = time.ParseDuration(sd); err != nil || c.ShutdownTimeout <= 0 {
		return nil, fmt.Errorf("%s: invalid duration %q (e.g. 30s)", orDefault(name, "CALLSCOPE_SHUTDOWN_TIMEOUT"), sd)
	}
	sd, name, err = r.get("CALLSCOPE_SHUTDOWN_DELAY")
	if err != nil {
		return nil, err
	}
	if c.ShutdownDelay, err = time.ParseDuration(sd); err != nil || c.ShutdownDelay < 0 || c.ShutdownDelay >= c.ShutdownTimeout {
		return nil, fmt.Errorf("%s: invalid duration %q (from 0s to less than CALLSCOPE_SHUTDOWN_TIMEOUT)", orDefault(name, "CALLSCOPE_SHUTDOWN_DELAY"), sd)
	}
	if c.Workers, err = r.intVar("CALLSCOPE_WORKERS", 1, 10000); err != nil {
		return nil, err
	}
	if c.MaxConcurrentProcessing, err = r.intVar("CALLSCOPE_MAX_CONCURRENT_PROCESSING", 1, 1000); err != nil {
		return nil, err
	}
	secs, err := r.intVar("CALLSCOPE_PROCESSING_TIMEOUT_SECONDS", 1, 86400)
	if err != nil {
		return nil, err
	}
	c.ProcessingTimeout = time.Duration(secs) * time.Second
	if secs, err = r.intVar("CALLSCOPE_DOWNLOAD_TIMEOUT_SECONDS", 1, 86400); err != nil {
		return nil, err
	}
	c.DownloadTimeout = time.Duration(secs) * time.Second
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"CALLSCOPE_TEMP_PATH", &c.TempPath}, {"CALLSCOPE_LOGS_PATH", &c.LogsPath}, {"CALLSCOPE_MODELS_PATH", &c.ModelsPath},
		{"CALLSCOPE_SCP_USER", &c.SCPUser}, {"CALLSCOPE_SCP_SERVER", &c.SCPServer}, {"CALLSCOPE_SCP_PASSWORD", &c.SCPPassword},
		{"CALLSCOPE_SCP_KEY_FILE", &c.SCPKeyFile}, {"CALLSCOPE_REMOTE_PATH_TEMPLATE", &c.RemotePathTemplate},
		{"CALLSCOPE_SCP_KNOWN_HOSTS", &c.SCPKnownHosts},
		{"CALLSCOPE_RECORDING_URL_USER", &c.RecordingURLUser}, {"CALLSCOPE_RECORDING_URL_PASSWORD", &c.RecordingURLPassword},
		{"CALLSCOPE_S3_ENDPOINT", &c.S3Endpoint}, {"CALLSCOPE_S3_BUCKET", &c.S3Bucket},
		{"CALLSCOPE_S3_ACCESS_KEY", &c.S3AccessKey}, {"CALLSCOPE_S3_SECRET_KEY", &c.S3SecretKey},
		{"CALLSCOPE_S3_REGION", &c.S3Region}, {"CALLSCOPE_S3_PREFIX", &c.S3Prefix},
		{"CALLSCOPE_WHISPER_MODEL", &c.WhisperModel}, {"CALLSCOPE_TRANSLATION_MODEL", &c.TranslationModel},
	} {
		if *f.dst, _, err = r.get(f.name); err != nil {
			return nil, err
		}
	}
	if c.STTEngine, err = r.oneOf("CALLSCOPE_STT_ENGINE", "auto", "none", "pocketsphinx", "openai", "whisper.cpp"); err != nil {
		return nil, err
	}
	if c.STTBaseURL, _, err = r.get("CALLSCOPE_STT_BASE_URL"); err != nil {
		return nil, err
	}
	if c.STTAPIKey, _, err = r.get("CALLSCOPE_STT_API_KEY"); err != nil {
		return nil, err
	}
	if (c.STTEngine == "openai" || c.STTEngine == "whisper.cpp") && c.STTBaseURL == "" {
		return nil, fmt.Errorf("CALLSCOPE_STT_BASE_URL: required with CALLSCOPE_STT_ENGINE=%s", c.STTEngine)
	}
	sched, schedName, err := r.get("CALLSCOPE_WEBHOOK_RETRY_SCHEDULE")
	if err != nil {
		return nil, err
	}
	for _, part := range strings.Split(sched, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%s: %q is not a duration (want e.g. 0s,5s,5m,30m)", orDefault(schedName, "CALLSCOPE_WEBHOOK_RETRY_SCHEDULE"), part)
		}
		c.WebhookSchedule = append(c.WebhookSchedule, d)
	}
	if c.LLMBaseURL, _, err = r.get("CALLSCOPE_LLM_BASE_URL"); err != nil {
		return nil, err
	}
	if c.LLMAPIKey, _, err = r.get("CALLSCOPE_LLM_API_KEY"); err != nil {
		return nil, err
	}
	if c.LLMModel, _, err = r.get("CALLSCOPE_LLM_MODEL"); err != nil {
		return nil, err
	}
	if c.LLMBaseURL != "" {
		if u, err := url.Parse(c.LLMBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("CALLSCOPE_LLM_BASE_URL: %q is not an http(s) URL", c.LLMBaseURL)
		}
		if c.LLMModel == "" {
			return nil, fmt.Errorf("CALLSCOPE_LLM_MODEL: required with CALLSCOPE_LLM_BASE_URL")
		}
	}
	stages, _, err := r.get("CALLSCOPE_LLM_STAGES")
	if err != nil {
		return nil, err
	}
	for _, st := range strings.Split(stages, ",") {
		if st = strings.TrimSpace(st); st != "" {
			c.LLMStages = append(c.LLMStages, st)
		}
	}
	if secs, err = r.intVar("CALLSCOPE_LLM_TIMEOUT_SECONDS", 1, 3600); err != nil {
		return nil, err
	}
	c.LLMTimeout = time.Duration(secs) * time.Second
	temp, tempName, err := r.get("CALLSCOPE_LLM_TEMPERATURE")
	if err != nil {
		return nil, err
	}
	if c.LLMTemperature, err = strconv.ParseFloat(strings.TrimSpace(temp), 64); err != nil || c.LLMTemperature < 0 || c.LLMTemperature > 2 {
		return nil, fmt.Errorf("%s: invalid temperature %q (want 0 to 2)", orDefault(tempName, "CALLSCOPE_LLM_TEMPERATURE"), temp)
	}
	if c.AudioDownloadMethod, err = r.oneOf("CALLSCOPE_AUDIO_DOWNLOAD_METHOD", "none", "scp", "sftp", "http", "s3"); err != nil {
		return nil, err
	}
	if m := c.AudioDownloadMethod; m == "scp" || m == "sftp" {
		if c.SCPServer == "" {
			return nil, fmt.Errorf("SCP_SERVER: required when AUDIO_DOWNLOAD_METHOD=%s", m)
		}
		if !strings.Contains(c.RemotePathTemplate, "{call_id}") {
			return nil, fmt.Errorf("REMOTE_PATH_TEMPLATE: must contain {call_id} when AUDIO_DOWNLOAD_METHOD=%s", m)
		}
	}
	if err := loadRecordingSources(&r, c); err != nil {
		return nil, err
	}
	if err := loadOutbound(&r, c); err != nil {
		return nil, err
	}
	if err := loadARI(&r, c); err != nil {
		return nil, err
	}
	if err := loadDeliveries(&r, c); err != nil {
		return nil, err
	}
	for name, def := range Switches {
		v, from, err := r.raw("CALLSCOPE_" + name)
		if err != nil {
			return nil, err
		}
		if from == "" {
			if v, from, err = r.raw(name); err != nil {
				return nil, err
			}
		}
		if from == "" {
			c.Enable[name] = def
			continue
		}
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%s: invalid boolean %q (want true or false)", from, v)
		}
		c.Enable[name] = b
	}
	return c, nil
}

// loadRecordingSources reads and checks the variables of the recording
// store and of the download methods besides scp/sftp's basics.
func loadRecordingSources(r *reader, c *Config) error {
	var err error
	if c.SCPInsecureHostKey, err = r.boolVar("CALLSCOPE_SCP_INSECURE_IGNORE_HOST_KEY"); err != nil {
		return err
	}
	hosts, _, err := r.get("CALLSCOPE_RECORDING_URL_AUTH_HOSTS")
	if err != nil {
		return err
	}
	for _, h := range strings.FieldsFunc(hosts, func(r rune) bool { return r == ',' || r == ' ' }) {
		if strings.ContainsAny(h, "/:@") {
			return fmt.Errorf("CALLSCOPE_RECORDING_URL_AUTH_HOSTS: %q is not a host name", h)
		}
		c.RecordingURLAuthHosts = append(c.RecordingURLAuthHosts, strings.ToLower(h))
	}
	if (c.RecordingURLUser == "") != (c.RecordingURLPassword == "") {
		return fmt.Errorf("CALLSCOPE_RECORDING_URL_PASSWORD: set both CALLSCOPE_RECORDING_URL_USER and CALLSCOPE_RECORDING_URL_PASSWORD, or neither")
	}
	if c.RecordingsStore, err = r.oneOf("CALLSCOPE_RECORDINGS_STORE", "local", "s3"); err != nil {
		return err
	}
	ssl, sslVar, err := r.get("CALLSCOPE_S3_USE_SSL")
	if err != nil {
		return err
	}
	if c.S3UseSSL, err = strconv.ParseBool(strings.TrimSpace(ssl)); err != nil {
		return fmt.Errorf("%s: invalid boolean %q (want true or false)", orDefault(sslVar, "CALLSCOPE_S3_USE_SSL"), ssl)
	}
	if strings.Contains(c.S3Endpoint, "://") || strings.Contains(c.S3Endpoint, "/") {
		return fmt.Errorf("CALLSCOPE_S3_ENDPOINT: want host[:port] without scheme or path, not %q (use CALLSCOPE_S3_USE_SSL for http)", c.S3Endpoint)
	}
	if strings.HasPrefix(c.S3Prefix, "/") || strings.Contains(c.S3Prefix, "..") {
		return fmt.Errorf("CALLSCOPE_S3_PREFIX: %q may not start with / or contain ..", c.S3Prefix)
	}
	var why string
	if c.RecordingsStore == "s3" {
		why = "CALLSCOPE_RECORDINGS_STORE=s3"
	} else if c.AudioDownloadMethod == "s3" {
		why = "AUDIO_DOWNLOAD_METHOD=s3"
	}
	if why != "" {
		if c.S3Endpoint == "" {
			return fmt.Errorf("CALLSCOPE_S3_ENDPOINT: required when %s", why)
		}
		if c.S3Bucket == "" {
			return fmt.Errorf("CALLSCOPE_S3_BUCKET: required when %s", why)
		}
		if (c.S3AccessKey == "") != (c.S3SecretKey == "") {
			return fmt.Errorf("CALLSCOPE_S3_SECRET_KEY: set both CALLSCOPE_S3_ACCESS_KEY and CALLSCOPE_S3_SECRET_KEY, or neither (anonymous access)")
		}
	}
	return nil
}

func (r reader) boolVar(name string) (bool, error) {
	v, from, err := r.get(name)
	if err != nil {
		return false, err
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return false, fmt.Errorf("%s: invalid boolean %q (want true or false)", orDefault(from, name), v)
	}
	return b, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

type reader struct {
	lookup func(string) (string, bool)
	file   map[string]string
}

// raw returns the value of one exact name (or its _FILE variant) and which
// variable gave it ("" when unset).
func (r reader) raw(name string) (string, string, error) {
	if v, ok := r.lookup(name); ok {
		return v, name, nil
	}
	if path, ok := r.lookup(name + "_FILE"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", "", fmt.Errorf("%s_FILE: %w", name, err)
		}
		return strings.TrimRight(string(b), "\r\n"), name + "_FILE", nil
	}
	if v, ok := r.file[name]; ok {
		return v, name, nil
	}
	if path, ok := r.file[name+"_FILE"]; ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", "", fmt.Errorf("%s_FILE: %w", name, err)
		}
		return strings.TrimRight(string(b), "\r\n"), name + "_FILE", nil
	}
	return "", "", nil
}

// get returns a known variable's value, trying its aliases and default.
func (r reader) get(name string) (string, string, error) {
	var def *Var
	for i := range Vars {
		if Vars[i].Name == name {
			def = &Vars[i]
		}
	}
	if def == nil {
		panic("config: unknown variable " + name)
	}
	for _, n := range append([]string{name}, def.Aliases...) {
		v, from, err := r.raw(n)
		if err != nil || from != "" {
			return v, from, err
		}
	}
	return def.Default, "", nil
}

func (r reader) intVar(name string, min, max int) (int, error) {
	v, from, err := r.get(name)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < min || n > max {
		return 0, fmt.Errorf("%s: invalid value %q (want a whole number from %d to %d)", orDefault(from, name), v, min, max)
	}
	return n, nil
}

// prefixes reads a comma-separated list of CIDRs (a bare IP is a /32 or
// /128).
func (r reader) prefixes(name string) ([]netip.Prefix, error) {
	v, from, err := r.get(name)
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, n := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			a, aerr := netip.ParseAddr(n)
			if aerr != nil {
				return nil, fmt.Errorf("%s: %q is not a CIDR or an IP address", orDefault(from, name), n)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (r reader) oneOf(name string, allowed ...string) (string, error) {
	v, from, err := r.get(name)
	if err != nil {
		return "", err
	}
	v = strings.ToLower(strings.TrimSpace(v))
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s: invalid value %q (want one of %s)", orDefault(from, name), v, strings.Join(allowed, ", "))
}

var prefixPath = regexp.MustCompile(`^(/[A-Za-z0-9_.-]+)+$`)

// loadOutbound reads the outbound calling variables.
func loadOutbound(r *reader, c *Config) error {
	p, _, err := r.get("CALLSCOPE_AUTOCALLER_PREFIX")
	if err != nil {
		return err
	}
	c.AutocallerPrefix = strings.TrimRight(strings.TrimSpace(p), "/")
	if strings.TrimSpace(p) == "" {
		c.AutocallerPrefix = "/autocaller"
	}
	if !prefixPath.MatchString(c.AutocallerPrefix) || strings.Contains(c.AutocallerPrefix, "/.") {
		return fmt.Errorf("CALLSCOPE_AUTOCALLER_PREFIX: %q is not a path such as /autocaller", p)
	}
	for _, taken := range []string{"/api", "/health", "/recordings", "/metrics", "/docs", "/openapi.json", "/twilio", "/calls", "/console", "/admin", "/outbound", "/live", "/login", "/logout", "/account"} {
		if c.AutocallerPrefix == taken || strings.HasPrefix(c.AutocallerPrefix, taken+"/") {
			return fmt.Errorf("CALLSCOPE_AUTOCALLER_PREFIX: %q would clash with the routes under %s", p, taken)
		}
	}
	if c.Dialer, err = r.oneOf("CALLSCOPE_DIALER", "simulator", "twilio", "ari", "none"); err != nil {
		return err
	}
	return nil
}

// loadDeliveries reads and checks the SMTP, public URL and agent service
// variables.
func loadDeliveries(r *reader, c *Config) error {
	var err error
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"CALLSCOPE_SMTP_HOST", &c.SMTPHost}, {"CALLSCOPE_SMTP_USERNAME", &c.SMTPUsername},
		{"CALLSCOPE_SMTP_PASSWORD", &c.SMTPPassword}, {"CALLSCOPE_SMTP_FROM", &c.SMTPFrom},
		{"CALLSCOPE_PUBLIC_URL", &c.PublicURL}, {"CALLSCOPE_AGENT_CA_FILE", &c.AgentCAFile},
	} {
		if *f.dst, _, err = r.get(f.name); err != nil {
			return err
		}
		*f.dst = strings.TrimSpace(*f.dst)
	}
	if c.SMTPPort, err = r.intVar("CALLSCOPE_SMTP_PORT", 1, 65535); err != nil {
		return err
	}
	if c.SMTPTLS, err = r.oneOf("CALLSCOPE_SMTP_TLS", "none", "starttls", "tls"); err != nil {
		return err
	}
	if c.SMTPHost != "" {
		if strings.ContainsAny(c.SMTPHost, "/@ ") {
			return fmt.Errorf("CALLSCOPE_SMTP_HOST: %q is not a host name", c.SMTPHost)
		}
		if c.SMTPFrom == "" {
			return fmt.Errorf("CALLSCOPE_SMTP_FROM: required with CALLSCOPE_SMTP_HOST")
		}
	}
	if c.SMTPFrom != "" && !strings.Contains(c.SMTPFrom, "@") {
		return fmt.Errorf("CALLSCOPE_SMTP_FROM: %q is not an e-mail address", c.SMTPFrom)
	}
	if (c.SMTPUsername == "") != (c.SMTPPassword == "") {
		return fmt.Errorf("CALLSCOPE_SMTP_PASSWORD: set both CALLSCOPE_SMTP_USERNAME and CALLSCOPE_SMTP_PASSWORD, or neither")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("CALLSCOPE_PUBLIC_URL: %q is not an http(s) base URL", c.PublicURL)
		}
		c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	}
	if c.AgentCAFile != "" {
		if _, err := os.Stat(c.AgentCAFile); err != nil {
			return fmt.Errorf("CALLSCOPE_AGENT_CA_FILE: %w", err)
		}
	}
	return nil
}
