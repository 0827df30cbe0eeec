package stt

import (
	"net/http"
	"strings"
	"time"

	"github.com/callscope/callscope"
)

// Engine names, as configured and as Describe reports them.
const (
	ProviderPocketSphinx = "pocketsphinx"
	ProviderOpenAI       = "openai"
	ProviderWhisperCpp   = "whisper.cpp"
)

// Config chooses and sets up a transcription engine.
type Config struct {
	// Engine is "pocketsphinx" (the default), "openai" for any
	// OpenAI-compatible server, or "whisper.cpp".
	Engine string
	// BaseURL, Model and APIKey address a server; see HTTPConfig.
	BaseURL string
	Model   string
	APIKey  string
	// Path overrides the request path (whisper-server --inference-path).
	Path string
	// Timeout bounds each server request.
	Timeout time.Duration
	// HTTPClient makes the requests; the product passes one that refuses
	// private addresses unless the operator allows them.
	HTTPClient *http.Client
	// PocketSphinx sets up the offline engine.
	PocketSphinx PocketSphinxConfig
}

// New returns the engine cfg names. Returns EINVALID for an unknown engine
// name or a server engine without its base URL (or model, for "openai").
// The pocketsphinx engine is returned even when it is not installed; its
// Health says so.
func New(cfg Config) (Engine, error) {
	hc := HTTPConfig{BaseURL: cfg.BaseURL, Path: cfg.Path, APIKey: cfg.APIKey, Model: cfg.Model,
		Timeout: cfg.Timeout, HTTPClient: cfg.HTTPClient}
	switch strings.ToLower(strings.TrimSpace(cfg.Engine)) {
	case "", ProviderPocketSphinx:
		return NewPocketSphinx(cfg.PocketSphinx), nil
	case ProviderOpenAI, "openai-compatible", "vllm", "speaches", "localai":
		return NewOpenAI(hc)
	case ProviderWhisperCpp, "whispercpp", "whisper-cpp", "whisper-server":
		return NewWhisperCpp(hc)
	}
	return nil, callscope.Errorf(callscope.EINVALID, "stt: unknown engine %q (want pocketsphinx, openai or whisper.cpp)", cfg.Engine)
}
