package config_test

import (
	"strings"
	"testing"

	"github.com/callscope/callscope/internal/config"
)

func TestARIConfig(t *testing.T) {
	c, err := config.Load(env(map[string]string{"CALLSCOPE_DIALER": "ari", "CALLSCOPE_ARI_URL": "http://10.0.0.5:8088/ari/",
		"CALLSCOPE_ARI_USER": "callscope", "CALLSCOPE_ARI_PASSWORD": " s3cret ", "CALLSCOPE_ARI_PROMPT_DIR": "/srv/prompts"}), "")
	if err != nil {
		t.Fatal(err)
	}
	a := c.ARI
	if c.Dialer != "ari" || a.URL != "http://10.0.0.5:8088/ari" || a.User != "callscope" || a.Password != " s3cret " ||
		a.App != "callscope" || a.Endpoint != "PJSIP/{number}@trunk" || a.PromptSoundDir != "/srv/prompts" {
		t.Fatalf("ARI config = %+v", a)
	}
	for _, tc := range []struct {
		env  map[string]string
		name string
	}{
		{map[string]string{"CALLSCOPE_DIALER": "ari"}, "CALLSCOPE_ARI_URL"},
		{map[string]string{"CALLSCOPE_DIALER": "ari", "CALLSCOPE_ARI_URL": "http://a/ari"}, "CALLSCOPE_ARI_USER"},
		{map[string]string{"CALLSCOPE_ARI_URL": "ftp://a/ari"}, "CALLSCOPE_ARI_URL"},
		{map[string]string{"CALLSCOPE_ARI_URL": "http://u:p@a/ari"}, "CALLSCOPE_ARI_URL"},
		{map[string]string{"CALLSCOPE_ARI_ENDPOINT": "PJSIP/1000"}, "CALLSCOPE_ARI_ENDPOINT"},
		{map[string]string{"CALLSCOPE_ARI_APP": "a,b"}, "CALLSCOPE_ARI_APP"},
		{map[string]string{"CALLSCOPE_ARI_PROMPT_DIR": "prompts"}, "CALLSCOPE_ARI_PROMPT_DIR"},
	} {
		if _, err := config.Load(env(tc.env), ""); err == nil || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%v: error %v, want one naming %s", tc.env, err, tc.name)
		}
	}
}
