package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/secret"
	"github.com/callscope/callscope/internal/sqlstore"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestGeneratedSecretKey: with no key configured and SQLite, the first
// start generates DATA_DIR/secret.key (0600) in a new 0700 data directory
// with a 0600 database, says where, and later starts reuse it quietly.
func TestGeneratedSecretKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	_, errOut, code := cli(t, []string{"CALLSCOPE_DATA_DIR=" + dir}, "migrate")
	if code != 0 {
		t.Fatalf("migrate: %d %s", code, errOut)
	}
	keyFile := filepath.Join(dir, "secret.key")
	if !strings.Contains(errOut, keyFile) || !strings.Contains(errOut, "CALLSCOPE_SECRET_KEY") {
		t.Fatalf("first start does not say where the key went: %s", errOut)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, keyFile: 0o600, filepath.Join(dir, "callscope.db"): 0o600} {
		if got := mode(t, p); got != want {
			t.Errorf("%s: mode %04o, want %04o", p, got, want)
		}
	}
	b, _ := os.ReadFile(keyFile)
	if _, err := secret.ParseKey(strings.TrimSpace(string(b))); err != nil {
		t.Fatalf("key file: %v", err)
	}
	_, errOut, code = cli(t, []string{"CALLSCOPE_DATA_DIR=" + dir}, "tenant", "list")
	if code != 0 || strings.Contains(errOut, "generated") {
		t.Fatalf("second start: %d %s", code, errOut)
	}
	if b2, _ := os.ReadFile(keyFile); string(b2) != string(b) {
		t.Fatal("the key file changed on the second start")
	}
}

func TestSecretKeyRequiredWithPostgres(t *testing.T) {
	_, errOut, code := cli(t, []string{"CALLSCOPE_DATA_DIR=" + t.TempDir(), "CALLSCOPE_DATABASE_URL=postgres://nobody@127.0.0.1:1/x"}, "migrate")
	if code != 1 || !strings.Contains(errOut, "CALLSCOPE_SECRET_KEY: required with PostgreSQL") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestInvalidSecretKey(t *testing.T) {
	for _, v := range []string{"CALLSCOPE_SECRET_KEY=not-a-key", "CALLSCOPE_SECRET_KEY_FILE=/nonexistent/key"} {
		name, _, _ := strings.Cut(v, "=")
		_, errOut, code := cli(t, []string{v, "CALLSCOPE_DATA_DIR=" + t.TempDir()}, "serve")
		if code != 1 || !strings.Contains(errOut, name) {
			t.Fatalf("%s: exit %d, stderr %q", v, code, errOut)
		}
	}
}

func TestSecretKeyGenerate(t *testing.T) {
	out, errOut, code := cli(t, nil, "secret-key", "generate")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	k, err := secret.ParseKey(strings.TrimSpace(out))
	if err != nil || !strings.Contains(errOut, secret.KeyID(k)) {
		t.Fatalf("printed %q / %q: %v", out, errOut, err)
	}
	if out2, _, _ := cli(t, nil, "secret-key", "generate"); out2 == out {
		t.Fatal("two runs printed the same key")
	}
	if _, _, code := cli(t, nil, "secret-key"); code != 2 {
		t.Fatalf("secret-key alone: exit %d", code)
	}
}

// TestRotationAtStart: secrets sealed with the generated key file are
// sealed again with CALLSCOPE_SECRET_KEY's first key when one is
// configured, and a key that opens nothing stored stops the start with a
// message naming CALLSCOPE_SECRET_KEY.
func TestRotationAtStart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, errOut, code := cli(t, []string{"CALLSCOPE_DATA_DIR=" + dir}, "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "secret.key"))
	fileKey, err := secret.ParseKey(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	ring, _ := secret.New(fileKey)
	st, err := sqlstore.Open(ctx, sqlstore.Config{DataDir: dir, Secrets: ring})
	if err != nil {
		t.Fatal(err)
	}
	tn := &callscope.Tenant{Name: "rot"}
	if err := st.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	ep := &callscope.WebhookEndpoint{TenantID: tn.ID, URL: "https://hooks.example.com/x", Enabled: true, Secret: "whsec_c2VhbGVkQnlUaGVLZXlGaWxl"}
	if err := st.CreateWebhookEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	st.Close()

	b2 := secret.GenerateKey()
	env := []string{"CALLSCOPE_DATA_DIR=" + dir, "CALLSCOPE_LOG_FORMAT=json", "CALLSCOPE_SECRET_KEY=" + secret.EncodeKey(b2)}
	_, errOut, code := cli(t, env, "migrate")
	if code != 0 || !strings.Contains(errOut, `"count":1`) {
		t.Fatalf("migrate with a configured key: %d %s", code, errOut)
	}
	os.Remove(filepath.Join(dir, "secret.key"))
	ring2, _ := secret.New(b2)
	st, err = sqlstore.Open(ctx, sqlstore.Config{DataDir: dir, Secrets: ring2})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.WebhookEndpoint(ctx, tn.ID, ep.ID)
	var raw string
	if err == nil {
		err = st.SQLDB().QueryRow(`SELECT secret FROM webhook_endpoints WHERE id = $1`, ep.ID).Scan(&raw)
	}
	st.Close()
	if err != nil || got.Secret != ep.Secret || !strings.HasPrefix(raw, "enc:v1:"+secret.KeyID(b2)+":") {
		t.Fatalf("after rotation: %v, stored %q", err, raw)
	}

	// A key that opens nothing stored: the start stops and says why.
	env[2] = "CALLSCOPE_SECRET_KEY=" + secret.EncodeKey(secret.GenerateKey())
	_, errOut, code = cli(t, env, "tenant", "list")
	if code != 1 || !strings.Contains(errOut, "CALLSCOPE_SECRET_KEY") || !strings.Contains(errOut, secret.KeyID(b2)) {
		t.Fatalf("start with the wrong key: %d %s", code, errOut)
	}
}
