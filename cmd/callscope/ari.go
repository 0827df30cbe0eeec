package main

import (
	"log/slog"

	"github.com/callscope/callscope/internal/config"
	"github.com/callscope/callscope/internal/dial"
	"github.com/callscope/callscope/internal/dial/ari"
)

// ariDialer is the Asterisk ARI dialer of CALLSCOPE_DIALER=ari; it speaks
// the scripts with flite when it is installed and a prompt directory is
// set.
func ariDialer(cfg *config.Config, events dial.Events, log *slog.Logger) *ari.Dialer {
	a := cfg.ARI
	d := &ari.Dialer{Client: &ari.Client{BaseURL: a.URL, User: a.User, Password: a.Password}, App: a.App,
		Endpoint: a.Endpoint, CallerID: a.CallerID, PromptDir: a.PromptDir, PromptSoundDir: a.PromptSoundDir,
		Events: events, Logger: log.With("component", "ari")}
	if a.PromptDir != "" {
		if f, ok := dial.FliteInstalled(); ok {
			d.Speech = f
		} else {
			log.Warn("flite is not installed: ARI calls play no script")
		}
	}
	return d
}
