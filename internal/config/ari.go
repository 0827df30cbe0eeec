package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// ARI is the configuration of the Asterisk ARI dialer.
type ARI struct {
	URL      string // CALLSCOPE_ARI_URL: base URL of the REST Interface, ending in /ari
	User     string // CALLSCOPE_ARI_USER
	Password string // CALLSCOPE_ARI_PASSWORD (secret)
	App      string // CALLSCOPE_ARI_APP: Stasis application
	Endpoint string // CALLSCOPE_ARI_ENDPOINT: endpoint template with {number}
	CallerID string // CALLSCOPE_ARI_CALLER_ID
	// PromptDir is where spoken scripts are written (shared with
	// Asterisk); "" plays none. PromptSoundDir is the same directory as
	// Asterisk sees it.
	PromptDir      string // CALLSCOPE_ARI_PROMPT_DIR
	PromptSoundDir string // CALLSCOPE_ARI_PROMPT_SOUND_DIR
}

// loadARI reads the ARI dialer's variables; with CALLSCOPE_DIALER=ari the
// URL and user are required.
func loadARI(r *reader, c *Config) error {
	a := &c.ARI
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"CALLSCOPE_ARI_URL", &a.URL}, {"CALLSCOPE_ARI_USER", &a.User}, {"CALLSCOPE_ARI_PASSWORD", &a.Password},
		{"CALLSCOPE_ARI_APP", &a.App}, {"CALLSCOPE_ARI_ENDPOINT", &a.Endpoint}, {"CALLSCOPE_ARI_CALLER_ID", &a.CallerID},
		{"CALLSCOPE_ARI_PROMPT_DIR", &a.PromptDir}, {"CALLSCOPE_ARI_PROMPT_SOUND_DIR", &a.PromptSoundDir},
	} {
		v, _, err := r.get(f.name)
		if err != nil {
			return err
		}
		if f.name != "CALLSCOPE_ARI_PASSWORD" {
			v = strings.TrimSpace(v)
		}
		*f.dst = v
	}
	a.URL = strings.TrimRight(a.URL, "/")
	if a.URL != "" {
		u, err := url.Parse(a.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			return fmt.Errorf("CALLSCOPE_ARI_URL: %q is not an http(s) URL such as http://127.0.0.1:8088/ari", a.URL)
		}
	}
	if a.App == "" || strings.ContainsAny(a.App, ",/?&= ") {
		return fmt.Errorf("CALLSCOPE_ARI_APP: %q is not an application name", a.App)
	}
	if !strings.Contains(a.Endpoint, "{number}") {
		return fmt.Errorf("CALLSCOPE_ARI_ENDPOINT: %q must contain {number}", a.Endpoint)
	}
	for _, d := range []struct{ name, v string }{{"CALLSCOPE_ARI_PROMPT_DIR", a.PromptDir}, {"CALLSCOPE_ARI_PROMPT_SOUND_DIR", a.PromptSoundDir}} {
		if d.v != "" && !filepath.IsAbs(d.v) {
			return fmt.Errorf("%s: %q is not an absolute path", d.name, d.v)
		}
	}
	if a.PromptSoundDir == "" {
		a.PromptSoundDir = a.PromptDir
	}
	if c.Dialer == "ari" {
		if a.URL == "" {
			return fmt.Errorf("CALLSCOPE_ARI_URL: required when CALLSCOPE_DIALER=ari")
		}
		if a.User == "" {
			return fmt.Errorf("CALLSCOPE_ARI_USER: required when CALLSCOPE_DIALER=ari")
		}
	}
	return nil
}
