package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/analyze"
	"github.com/callscope/callscope/internal/apertium"
	"github.com/callscope/callscope/internal/blob"
	"github.com/callscope/callscope/internal/blob/s3blob"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/campaign"
	"github.com/callscope/callscope/internal/config"
	"github.com/callscope/callscope/internal/deliver"
	"github.com/callscope/callscope/internal/dial"
	twiliodial "github.com/callscope/callscope/internal/dial/twilio"
	"github.com/callscope/callscope/internal/egress"
	"github.com/callscope/callscope/internal/engines"
	"github.com/callscope/callscope/internal/feed"
	"github.com/callscope/callscope/internal/fetch"
	cshttp "github.com/callscope/callscope/internal/http"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/llm"
	"github.com/callscope/callscope/internal/pipeline"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/stt"
)

var jobMigrate = job.Migrate

// retentionInterval is how often tenants' retention settings are applied
// (and once at start).
const retentionInterval = time.Hour

func serveUsage() string {
	var b strings.Builder
	b.WriteString("serve [--config FILE] [--addr HOST:PORT]\n\n")
	b.WriteString("Runs the HTTP server and the job workers until SIGINT or SIGTERM, then\n")
	b.WriteString("drains requests and jobs for CALLSCOPE_SHUTDOWN_TIMEOUT.\n\nConfiguration (environment variables, or KEY=VALUE lines in --config FILE;\nany X may be given as X_FILE naming a file that holds the value):\n")
	for _, v := range config.Vars {
		name := v.Name
		if len(v.Aliases) > 0 {
			name += " (" + strings.Join(v.Aliases, ", ") + ")"
		}
		def := ""
		if v.Default != "" {
			def = " [default " + v.Default + "]"
		}
		fmt.Fprintf(&b, "  %s\n      %s%s\n", name, v.Help, def)
	}
	b.WriteString("  ENABLE_* switches: ")
	var sw []string
	for k, v := range config.Switches {
		sw = append(sw, fmt.Sprintf("%s=%t", k, v))
	}
	sort.Strings(sw)
	b.WriteString(strings.Join(sw, ", "))
	b.WriteString("\n\nOptions:")
	return b.String()
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, file := newFlags("serve", serveUsage(), stderr)
	addr := fs.String("addr", "", "listen on `HOST:PORT` (overrides CALLSCOPE_ADDR)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*file)
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	log := newLogger(cfg, stderr)

	s, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := makePrivateDir(filepath.Join(cfg.DataDir, "recordings")); err != nil {
		return fmt.Errorf("CALLSCOPE_DATA_DIR: %w", err)
	}
	if err := bootstrap(ctx, s, stdout, log); err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	jobMetrics := cshttp.NewJobMetrics(reg)
	workers := river.NewWorkers()
	// Delivery channels: e-mail reports, agent notifications; CRM push and
	// campaign reconciliation are enqueued by the results webhook.
	outbound := egress.Policy{AllowPrivate: cfg.AllowPrivateURLs, Allow: cfg.AllowedNetworks, Lookups: egress.NewLookupCache(30 * time.Second)}
	emails := &deliver.Email{Store: s, From: cfg.SMTPFrom, PublicURL: cfg.PublicURL, Logger: log.With("component", "email")}
	if cfg.SMTPHost != "" {
		emails.Mailer = &deliver.SMTP{Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername,
			Password: cfg.SMTPPassword, TLS: cfg.SMTPTLS}
	}
	agents := &deliver.Agent{Store: s, Egress: outbound, Logger: log.With("component", "agent_service")}
	if cfg.AgentCAFile != "" {
		if agents.RootCAs, err = deliver.LoadCertPool(cfg.AgentCAFile); err != nil {
			return fmt.Errorf("CALLSCOPE_AGENT_CA_FILE: %w", err)
		}
	}
	hooks := &deliver.Webhooks{Store: s, Policy: outbound, Schedule: cfg.WebhookSchedule}
	// Outbound calls (Auto-Caller API): callbacks and the placing engine.
	callbacks := &deliver.Callbacks{Store: s, Webhooks: hooks, PublicURL: cfg.PublicURL}
	river.AddWorker(workers, callbacks.Worker())
	placer := &dial.Engine{DialerName: cfg.Dialer, Logger: log.With("component", "dialer")}
	if cfg.Dialer != "none" {
		placer.AddWorkers(workers)
	}
	// End of outbound calls.
	river.AddWorker(workers, &job.DispatchEventWorker{Store: s, Channels: []job.Channel{emails, agents, hooks, callbacks}})
	river.AddWorker(workers, hooks.Worker())
	river.AddWorker(workers, &deliver.EmailWorker{Email: emails})
	river.AddWorker(workers, &deliver.AgentWorker{Agent: agents})
	river.AddWorker(workers, &deliver.CRMWorker{CRM: &deliver.CRM{Store: s, Egress: outbound, PublicURL: cfg.PublicURL,
		Logger: log.With("component", "crm")}})
	// Outbound campaigns: their calls' outcomes decide the next call.
	campaigns := &campaign.Service{Store: s, Logger: log.With("component", "campaigns")}
	river.AddWorker(workers, &campaign.Worker{Store: s, Logger: log.With("component", "campaigns"), Campaigns: campaigns})
	// Twilio recording downloads; the worker gets the call service below.
	twRecordings := twilioRecordingWorker(cfg, outbound, log)
	river.AddWorker(workers, twRecordings)
	learner := &pipeline.Learner{Store: s}
	engineCfg := engines.Config{Stages: cfg.LLMStages, Learner: learner}
	engineCfg.Translator, engineCfg.TranslatorDetail = offlineTranslator(ctx)
	log.Info("offline translation", "detail", engineCfg.TranslatorDetail)
	if cfg.LLMBaseURL != "" {
		engineCfg.LLM = &llm.Config{BaseURL: cfg.LLMBaseURL, APIKey: cfg.LLMAPIKey, Model: cfg.LLMModel,
			Timeout: cfg.LLMTimeout, Temperature: cfg.LLMTemperature}
	}
	provider, err := engines.New(engineCfg)
	if err != nil {
		return fmt.Errorf("CALLSCOPE_LLM_STAGES: %w", err)
	}
	recordings, err := recordingStore(ctx, cfg)
	if err != nil {
		return err
	}
	recordings = blob.Counted(recordings, reg)
	policy := egress.Policy{AllowPrivate: cfg.AllowPrivateURLs, Allow: cfg.AllowedNetworks}
	sources, err := fetch.FromConfig(cfg, policy)
	if err != nil {
		return err
	}
	speech, speechEngine, err := transcriber(cfg, policy)
	if err != nil {
		return err
	}
	var q *job.Queue
	runner := &pipeline.Runner{Store: s, Engines: provider.For, Switches: cfg.Enable,
		Recordings: recordings, Audio: engines.Downloader{Source: sources}, Speech: speech,
		Logger: log.With("component", "pipeline"),
		Events: func(ctx context.Context, tx *sqlstore.Tx, c *callscope.Call, data callscope.EventData) error {
			_, err := q.RecordEvent(ctx, tx, c, data)
			return err
		}}
	runner.OnStage = cshttp.NewStageMetrics(reg).Observe
	processWorker := &pipeline.Worker{Runner: runner, Limit: cfg.ProcessingTimeout}
	river.AddWorker(workers, processWorker)
	calls := &call.Service{Store: s, ProcessingEnabled: cfg.Enable["ENABLE_POSTCALL_PROCESSING"],
		Stages: pipeline.Stages, Recordings: recordings}
	campaigns.Calls = calls
	river.AddWorker(workers, &call.RetentionWorker{Calls: calls, Logger: log.With("component", "retention")})
	analyze.AddWorkers(workers, analyze.Config{Store: s, Engines: runner.Engines, Redact: analyze.RedactsLike(runner),
		Logger: log.With("component", "analyzers")})
	q, err = job.New(s, workers, job.Config{
		Workers:           cfg.Workers,
		ProcessingWorkers: cfg.MaxConcurrentProcessing,
		JobTimeout:        cfg.ProcessingTimeout,
		Logger:            log.With("component", "queue"),
		OnJobDone:         jobMetrics.Observe,
		Periodic:          []*river.PeriodicJob{job.RetentionJob(retentionInterval)},
		Discarded: map[string]func(context.Context, []byte){
			pipeline.ProcessCallArgs{}.Kind(): processWorker.Discarded,
			// Reconciling is idempotent and a contact waits on it: a job
			// lost with its process is asked for again.
			job.CampaignReconcileArgs{}.Kind(): func(ctx context.Context, raw []byte) {
				var a job.CampaignReconcileArgs
				if json.Unmarshal(raw, &a) == nil {
					if _, err := q.Insert(ctx, a, nil); err != nil {
						log.Warn("asking again for a campaign reconcile lost with its process", "err", err)
					}
				}
			},
		},
	})
	if err != nil {
		return err
	}
	emails.Queue, agents.Queue = q, q
	calls.Queue = q
	hooks.Queue, callbacks.Queue = q, q
	q.DispatchTo(emails, agents, hooks, callbacks)
	reg.MustRegister(q.Collector())
	if err := q.Start(ctx); err != nil {
		return err
	}

	// The live feed behind the event streams: every replica polls it, and
	// this one looks at once when it wrote to it.
	hub := &feed.Hub{Source: s, Logger: log.With("component", "feed")}
	q.OnFeed(hub.Wake)
	hubCtx, stopHub := context.WithCancel(context.WithoutCancel(ctx))
	hubDone := make(chan struct{})
	go func() { hub.Run(hubCtx); close(hubDone) }()
	defer func() { stopHub(); <-hubDone }()

	outboundCalls := outboundEngine(cfg, placer, calls, recordings, log)
	streams := newLiveStreams(cfg, calls, recordings, log)
	if speechEngine != nil {
		streams.sessions.Speech = speechEngine
	}
	streams.sessions.Engines = runner.Engines
	cshttp.Gauge(reg, "callscope_live_sessions", "Live call streams this process holds.",
		func() float64 { return float64(streams.sessions.Live()) })
	cshttp.Gauge(reg, "callscope_event_stream_subscribers", "Server-Sent Events subscribers of this process.",
		func() float64 { return float64(hub.Subscribers()) })
	srv := &cshttp.Server{
		Store: s, Logger: log, Registry: reg, Version: version,
		Calls: calls, Live: streams.sessions, TwilioStream: streams.handler(), Feed: hub, Learner: learner,
		Outbound: outboundCalls, Callbacks: callbacks, AutocallerPrefix: cfg.AutocallerPrefix, Campaigns: campaigns,
		Analysis: &analyze.Service{Store: s, Queue: q}, Jobs: q, Webhooks: hooks,
		Agents: func() *deliver.Agent {
			return &deliver.Agent{Store: s, Egress: outbound, RootCAs: agents.RootCAs, Logger: log.With("component", "agent_service")}
		},
		TrustedNetworks: cfg.TrustedNetworks, RateLimitGet: cfg.RateLimitGet, RateLimitPost: cfg.RateLimitPost,
		MaxBodyBytes: cfg.MaxBodyBytes, MaxUploadBytes: cfg.MaxUploadBytes,
		MaxConcurrentProcessing: cfg.MaxConcurrentProcessing,
		Recordings:              recordings, Egress: outbound,
		Models: func(ctx context.Context) []cshttp.ModelStatus {
			var out []cshttp.ModelStatus
			out = append(out, speechStatus(ctx, speechEngine))
			for _, st := range provider.Health(ctx) {
				out = append(out, cshttp.ModelStatus{Stage: st.Stage, Provider: st.Provider, Model: st.Model,
					Endpoint: st.Endpoint, Reachable: st.Reachable, Detail: st.Detail})
			}
			return out
		},
	}
	// The web console, beside the API (usercmd.go).
	srv.Console = newConsole(s, srv.Analysis, srv, log)
	if err := consoleFirstUser(ctx, s, log); err != nil {
		q.Stop(ctx)
		return err
	}
	// Twilio's voice, status and recording callbacks.
	twRecordings.Calls, twRecordings.Recordings = calls, recordings
	srv.Twilio = &cshttp.TwilioHooks{PublicURL: cfg.PublicURL, Recordings: &twiliodial.Recordings{Store: s, Queue: q}}
	if err := srv.Open(cfg.Addr); err != nil {
		q.Stop(ctx)
		return err
	}
	if err := streams.Start(ctx, log); err != nil {
		_ = srv.Close(ctx)
		q.Stop(ctx)
		return err
	}
	if outboundCalls != nil {
		if err := placer.Open(ctx); err != nil {
			return err
		}
		defer placer.Close()
		if err := campaigns.Open(ctx); err != nil {
			return err
		}
		defer campaigns.Close()
	}
	log.Info("callscope serving", "addr", srv.Addr(), "database", s.Describe(), "version", version,
		"queue_client_id", q.ClientID())

	<-ctx.Done()
	log.Info("shutting down", "lame_duck", cfg.ShutdownDelay.String(), "drain_timeout", cfg.ShutdownTimeout.String())
	drain, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	srv.Drain()
	// Live calls end now: each is finished (recording attached, call
	// ended, processing queued) while the queue still runs.
	streams.Stop()
	time.Sleep(cfg.ShutdownDelay)
	// Event streams end, so that their connections do not hold the drain.
	stopHub()
	<-hubDone
	var errs []error
	if err := srv.Close(drain); err != nil {
		errs = append(errs, fmt.Errorf("http drain: %w", err))
	}
	if err := q.Stop(drain); err != nil {
		errs = append(errs, fmt.Errorf("queue stop: %w", err))
	}
	log.Info("stopped")
	return errors.Join(errs...)
}

// bootstrap creates the default tenant and an admin key on first start with
// an empty database, and prints the key once.
// outboundEngine completes the placing engine with the call service and
// its dialer; nil (the Auto-Caller API answers 503) with CALLSCOPE_DIALER=none.
func outboundEngine(cfg *config.Config, e *dial.Engine, calls *call.Service, recordings blob.Store, log *slog.Logger) cshttp.Outbound {
	if cfg.Dialer == "none" {
		return nil
	}
	if cfg.Dialer == "twilio" {
		e.Calls, e.Dialer = calls, &twiliodial.Dialer{Tenants: calls.Store, Calls: calls, PublicURL: cfg.PublicURL,
			Logger: log.With("component", "twilio_dialer")}
		return e
	}
	if cfg.Dialer == "ari" {
		e.Calls, e.Dialer = calls, ariDialer(cfg, &dial.Reporter{Calls: calls, Recordings: recordings}, log)
		return e
	}
	sim := &dial.Simulator{Events: &dial.Reporter{Calls: calls, Recordings: recordings}, Logger: log.With("component", "simulator")}
	if f, ok := dial.FliteInstalled(); ok {
		sim.Speech = f
	} else {
		log.Info("flite is not installed: simulated calls are recorded as a tone")
	}
	e.Calls, e.Dialer = calls, sim
	return e
}

func bootstrap(ctx context.Context, s *sqlstore.Store, stdout io.Writer, log *slog.Logger) error {
	ts, err := s.Tenants(ctx)
	if err != nil || len(ts) > 0 {
		return err
	}
	var plain string
	err = s.InTx(ctx, func(tx *sqlstore.Tx) error {
		t := &callscope.Tenant{Name: callscope.DefaultTenantName}
		if err := tx.CreateTenant(ctx, t); err != nil {
			return err
		}
		_, k, err := tx.CreateAPIKey(ctx, t.ID, "bootstrap admin", true)
		plain = k
		return err
	})
	if callscope.ErrorCode(err) == callscope.ECONFLICT {
		return nil // another replica bootstrapped at the same moment
	} else if err != nil {
		return err
	}
	log.Info("created tenant \"default\" and an admin API key (printed once on stdout)")
	fmt.Fprintf(stdout, "Created tenant %q. Admin API key (shown once, only its hash is kept):\n%s\n", callscope.DefaultTenantName, plain)
	return nil
}

// recordingStore returns where recordings are kept: the data directory, or
// S3-compatible storage (CALLSCOPE_RECORDINGS_STORE=s3), checked at start.
func recordingStore(ctx context.Context, cfg *config.Config) (blob.Store, error) {
	if cfg.RecordingsStore != "s3" {
		return blob.Dir{Root: filepath.Join(cfg.DataDir, "recordings")}, nil
	}
	st, err := s3blob.FromConfig(cfg)
	if err != nil {
		return nil, err
	}
	if err := st.Check(ctx); err != nil {
		return nil, err
	}
	return st, nil
}

// transcriber builds the transcription engine CALLSCOPE_STT_ENGINE names;
// "auto" takes pocketsphinx when it is installed and none otherwise.
func transcriber(cfg *config.Config, policy egress.Policy) (pipeline.SpeechTranscriber, stt.Engine, error) {
	name := cfg.STTEngine
	if name == "auto" {
		name = "none"
		if stt.PocketSphinxInstalled() {
			name = stt.ProviderPocketSphinx
		}
	}
	if name == "none" {
		return nil, nil, nil
	}
	eng, err := stt.New(stt.Config{Engine: name, BaseURL: cfg.STTBaseURL, Model: cfg.WhisperModel, APIKey: cfg.STTAPIKey,
		Timeout: cfg.ProcessingTimeout, HTTPClient: http.DefaultClient})
	if err != nil {
		return nil, nil, fmt.Errorf("CALLSCOPE_STT_ENGINE: %w", err)
	}
	return engines.Speech{Pipeline: &stt.Pipeline{Engine: eng}}, eng, nil
}

func speechStatus(ctx context.Context, eng stt.Engine) cshttp.ModelStatus {
	if eng == nil {
		return cshttp.ModelStatus{Stage: pipeline.StageTranscribe, Provider: "none", Reachable: true,
			Detail: "no transcription engine: calls need a transcript of their own (CALLSCOPE_STT_ENGINE)"}
	}
	d := eng.Describe()
	st := cshttp.ModelStatus{Stage: pipeline.StageTranscribe, Provider: d.Provider, Model: d.Model, Endpoint: d.Endpoint, Reachable: true}
	if err := eng.Health(ctx); err != nil {
		st.Reachable, st.Detail = false, callscope.ErrorMessage(err)
	}
	return st
}

// offlineTranslator returns the Apertium translator for the language pairs
// installed, or nil and why there is none.
func offlineTranslator(ctx context.Context) (pipeline.Translator, string) {
	t, err := apertium.New(ctx, "")
	if err != nil {
		return nil, err.Error()
	}
	return t, "Apertium pairs: " + strings.Join(t.Pairs(), ", ")
}
