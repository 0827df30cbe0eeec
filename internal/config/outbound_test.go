package config_test

import (
	"strings"
	"testing"

	"github.com/callscope/callscope/internal/config"
)

func TestAutocallerPrefix(t *testing.T) {
	c, err := config.Load(env(nil), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.AutocallerPrefix != "/autocaller" || c.Dialer != "simulator" {
		t.Fatalf("defaults: prefix %q, dialer %q", c.AutocallerPrefix, c.Dialer)
	}
	c, err = config.Load(env(map[string]string{"CALLSCOPE_AUTOCALLER_PREFIX": "/v2/outbound/", "CALLSCOPE_DIALER": "none"}), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.AutocallerPrefix != "/v2/outbound" || c.Dialer != "none" {
		t.Fatalf("set: prefix %q, dialer %q", c.AutocallerPrefix, c.Dialer)
	}
	for _, bad := range []string{"autocaller", "/api/v1/x", "/a b", "/x/../y", "/recordings"} {
		_, err := config.Load(env(map[string]string{"CALLSCOPE_AUTOCALLER_PREFIX": bad}), "")
		if err == nil || !strings.Contains(err.Error(), "CALLSCOPE_AUTOCALLER_PREFIX") {
			t.Errorf("prefix %q: error %v, want one naming the variable", bad, err)
		}
	}
	if _, err := config.Load(env(map[string]string{"CALLSCOPE_DIALER": "carrier-pigeon"}), ""); err == nil || !strings.Contains(err.Error(), "CALLSCOPE_DIALER") {
		t.Errorf("unknown dialer: %v", err)
	}
}
