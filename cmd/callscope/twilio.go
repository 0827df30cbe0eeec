package main

import (
	"log/slog"

	"github.com/callscope/callscope/internal/config"
	twiliodial "github.com/callscope/callscope/internal/dial/twilio"
	"github.com/callscope/callscope/internal/egress"
)

// twilioRecordingWorker is the worker that downloads Twilio recordings,
// bounded like every recording download (DOWNLOAD_TIMEOUT_SECONDS,
// CALLSCOPE_MAX_UPLOAD_BYTES); its call service and recording store are
// set once they exist.
func twilioRecordingWorker(cfg *config.Config, policy egress.Policy, log *slog.Logger) *twiliodial.RecordingWorker {
	return &twiliodial.RecordingWorker{Egress: policy, DownloadTimeout: cfg.DownloadTimeout, MaxBytes: cfg.MaxUploadBytes,
		Logger: log.With("component", "twilio_recordings")}
}
