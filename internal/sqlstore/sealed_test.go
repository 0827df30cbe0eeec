package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/secret"
	"github.com/callscope/callscope/internal/sqlstore"
	"github.com/callscope/callscope/internal/sqlstore/sqlstoretest"
)

const (
	knownSecret   = "whsec_S2VlcFRoaXNTZWNyZXRPdXRPZlRoZURhdGFiYXNl"
	knownPrevious = "whsec_UHJldmlvdXNTZWNyZXRBbHNvU2VhbGVkSGVyZQ=="
)

func mustKeyring(t *testing.T, keys ...[]byte) *secret.Keyring {
	t.Helper()
	k, err := secret.New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// openWith opens and migrates a store on cfg, closed after the test.
func openWith(t *testing.T, cfg sqlstore.Config) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// rawWebhookSecrets reads an endpoint's secret columns as stored.
func rawWebhookSecrets(t *testing.T, s *sqlstore.Store, id string) (secret, previous string) {
	t.Helper()
	const q = `SELECT secret, previous_secret FROM webhook_endpoints WHERE id = $1`
	var err error
	if s.Dialect() == sqlstore.Postgres {
		err = s.Pool().QueryRow(context.Background(), q, id).Scan(&secret, &previous)
	} else {
		err = s.SQLDB().QueryRow(q, id).Scan(&secret, &previous)
	}
	if err != nil {
		t.Fatal(err)
	}
	return secret, previous
}

func setRawWebhookSecret(t *testing.T, s *sqlstore.Store, id, value string) {
	t.Helper()
	const q = `UPDATE webhook_endpoints SET secret = $2 WHERE id = $1`
	var err error
	if s.Dialect() == sqlstore.Postgres {
		_, err = s.Pool().Exec(context.Background(), q, id, value)
	} else {
		_, err = s.SQLDB().Exec(q, id, value)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func newEndpoint(t *testing.T, s *sqlstore.Store) *callscope.WebhookEndpoint {
	t.Helper()
	tn := sqlstoretest.MustTenant(t, s)
	exp := time.Now().Add(time.Hour)
	w := &callscope.WebhookEndpoint{TenantID: tn.ID, URL: "https://hooks.example.com/cs", Enabled: true,
		Secret: knownSecret, PreviousSecret: knownPrevious, PreviousSecretExpiresAt: &exp}
	must(t, s.CreateWebhookEndpoint(context.Background(), w))
	return w
}

func TestWebhookSecretsSealed(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		w := newEndpoint(t, s)
		if w.Secret != knownSecret {
			t.Fatalf("create changed the caller's secret to %q", w.Secret)
		}
		sec, prev := rawWebhookSecrets(t, s, w.ID)
		for _, v := range []string{sec, prev} {
			if !secret.IsSealed(v) || strings.Contains(v, "whsec_") {
				t.Fatalf("stored secret %q is not sealed", v)
			}
		}
		got, err := s.WebhookEndpoint(ctx, w.TenantID, w.ID)
		must(t, err)
		if got.Secret != knownSecret || got.PreviousSecret != knownPrevious {
			t.Fatalf("read back %q / %q", got.Secret, got.PreviousSecret)
		}
		list, err := s.WebhookEndpoints(ctx, w.TenantID, true)
		must(t, err)
		if len(list) != 1 || list[0].Secret != knownSecret {
			t.Fatalf("listed %+v", list)
		}
		// An update seals again; clearing the previous secret stores "".
		got.PreviousSecret, got.PreviousSecretExpiresAt = "", nil
		must(t, s.UpdateWebhookEndpoint(ctx, got))
		sec2, prev2 := rawWebhookSecrets(t, s, w.ID)
		if !secret.IsSealed(sec2) || prev2 != "" {
			t.Fatalf("after update: %q / %q", sec2, prev2)
		}
		if got, _ := s.WebhookEndpoint(ctx, w.TenantID, w.ID); got.Secret != knownSecret || got.PreviousSecret != "" {
			t.Fatalf("after update read back %q / %q", got.Secret, got.PreviousSecret)
		}
		// In a transaction too.
		must(t, s.InTx(ctx, func(tx *sqlstore.Tx) error {
			ep, err := tx.WebhookEndpoint(ctx, w.TenantID, w.ID)
			if err == nil && ep.Secret != knownSecret {
				t.Errorf("in a transaction: %q", ep.Secret)
			}
			return err
		}))
	})
}

// TestSQLiteFileHoldsNoSecret checks the bytes of the database files
// themselves: the database and its log.
func TestSQLiteFileHoldsNoSecret(t *testing.T) {
	dir := t.TempDir()
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{DataDir: dir, Secrets: sqlstoretest.Keyring(t)})
	must(t, err)
	defer s.Close()
	_, err = s.Migrate(context.Background())
	must(t, err)
	w := newEndpoint(t, s)
	check := func(when string) {
		files, _ := filepath.Glob(filepath.Join(dir, "callscope.db*"))
		if len(files) == 0 {
			t.Fatal("no database files")
		}
		var total int
		for _, f := range files {
			b, err := os.ReadFile(f)
			must(t, err)
			total += len(b)
			for _, needle := range []string{knownSecret, knownPrevious, strings.TrimPrefix(knownSecret, "whsec_")} {
				if bytes.Contains(b, []byte(needle)) {
					t.Fatalf("%s: %s holds the secret in the clear", when, filepath.Base(f))
				}
			}
		}
		if !bytes.Contains(mustRead(t, files...), []byte(w.ID)) {
			t.Fatalf("%s: the endpoint's row is not in the files (%d bytes): the check sees nothing", when, total)
		}
	}
	check("open")
	must(t, s.Close())
	check("closed")
}

func mustRead(t *testing.T, files ...string) []byte {
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

func TestWebhookSecretRotation(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			a, b := secret.GenerateKey(), secret.GenerateKey()
			cfg := sqlstoretest.Config(t, d)
			cfg.Secrets = mustKeyring(t, a)
			sA := openWith(t, cfg)
			w := newEndpoint(t, sA)
			if sec, _ := rawWebhookSecrets(t, sA, w.ID); !strings.HasPrefix(sec, "enc:v1:"+secret.KeyID(a)+":") {
				t.Fatalf("sealed with the wrong key: %q", sec)
			}
			sA.Close()

			// Configured B,A: A's values still open; the reseal makes them B's.
			cfg.Secrets = mustKeyring(t, b, a)
			sBA := openWith(t, cfg)
			got, err := sBA.WebhookEndpoint(ctx, w.TenantID, w.ID)
			must(t, err)
			if got.Secret != knownSecret || got.PreviousSecret != knownPrevious {
				t.Fatalf("B,A reads %q / %q", got.Secret, got.PreviousSecret)
			}
			n, err := sBA.ResealSecrets(ctx)
			must(t, err)
			if n != 1 {
				t.Fatalf("resealed %d endpoints, want 1", n)
			}
			sec, prev := rawWebhookSecrets(t, sBA, w.ID)
			for _, v := range []string{sec, prev} {
				if !strings.HasPrefix(v, "enc:v1:"+secret.KeyID(b)+":") {
					t.Fatalf("after reseal: %q, want key %s", v, secret.KeyID(b))
				}
			}
			if n, err := sBA.ResealSecrets(ctx); n != 0 || err != nil {
				t.Fatalf("second reseal: %d, %v", n, err)
			}
			sBA.Close()

			// B alone opens them now; A alone does not, and says so.
			cfg.Secrets = mustKeyring(t, b)
			sB := openWith(t, cfg)
			if got, err := sB.WebhookEndpoint(ctx, w.TenantID, w.ID); err != nil || got.Secret != knownSecret {
				t.Fatalf("B reads %v, %v", got, err)
			}
			sB.Close()
			cfg.Secrets = mustKeyring(t, a)
			sA2 := openWith(t, cfg)
			_, err = sA2.WebhookEndpoint(ctx, w.TenantID, w.ID)
			if !errors.Is(err, secret.ErrUnknownKey) || !strings.Contains(err.Error(), "CALLSCOPE_SECRET_KEY") {
				t.Fatalf("A reads B's secret: %v", err)
			}
			if _, err := sA2.ResealSecrets(ctx); err == nil || !strings.Contains(err.Error(), "CALLSCOPE_SECRET_KEY") ||
				!strings.Contains(err.Error(), w.ID) {
				t.Fatalf("reseal with the wrong key: %v", err)
			}
		})
	}
}

// TestWebhookSecretInClear checks that secrets stored in the clear by
// earlier versions are read, and sealed by ResealSecrets.
func TestWebhookSecretInClear(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		w := newEndpoint(t, s)
		setRawWebhookSecret(t, s, w.ID, "whsec_legacy")
		got, err := s.WebhookEndpoint(ctx, w.TenantID, w.ID)
		must(t, err)
		if got.Secret != "whsec_legacy" {
			t.Fatalf("legacy secret read as %q", got.Secret)
		}
		n, err := s.ResealSecrets(ctx)
		must(t, err)
		if n != 1 {
			t.Fatalf("resealed %d, want 1", n)
		}
		if sec, _ := rawWebhookSecrets(t, s, w.ID); !secret.IsSealed(sec) {
			t.Fatalf("still in the clear: %q", sec)
		}
		if got, _ := s.WebhookEndpoint(ctx, w.TenantID, w.ID); got.Secret != "whsec_legacy" {
			t.Fatalf("after reseal: %q", got.Secret)
		}
	})
}

func TestWebhookSecretWithoutKey(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			cfg := sqlstoretest.Config(t, d)
			s := openWith(t, cfg)
			w := newEndpoint(t, s)
			s.Close()

			cfg.Secrets = nil
			s = openWith(t, cfg)
			_, err := s.WebhookEndpoint(ctx, w.TenantID, w.ID)
			if !errors.Is(err, secret.ErrNoKey) || !strings.Contains(err.Error(), "CALLSCOPE_SECRET_KEY") {
				t.Fatalf("read without a key: %v", err)
			}
			if _, err := s.WebhookEndpoints(ctx, w.TenantID, false); !errors.Is(err, secret.ErrNoKey) {
				t.Fatalf("list without a key: %v", err)
			}
			nw := &callscope.WebhookEndpoint{TenantID: w.TenantID, URL: "https://x.example.com", Secret: knownSecret}
			if err := s.CreateWebhookEndpoint(ctx, nw); !errors.Is(err, secret.ErrNoKey) || !strings.Contains(err.Error(), "CALLSCOPE_SECRET_KEY") {
				t.Fatalf("create without a key: %v", err)
			}
			if n, err := s.ResealSecrets(ctx); n != 0 || err != nil {
				t.Fatalf("reseal without a key: %d, %v", n, err)
			}
		})
	}
}

// TestFileModes checks the modes of a new data directory and SQLite
// files, under a umask that would leave them open to everyone.
func TestFileModes(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "fresh", "data")
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{DataDir: dir, Secrets: sqlstoretest.Keyring(t)})
	must(t, err)
	defer s.Close()
	_, err = s.Migrate(context.Background())
	must(t, err)
	newEndpoint(t, s)
	want := map[string]os.FileMode{
		dir:                                    0o700 | os.ModeDir,
		filepath.Join(dir, "callscope.db"):     0o600,
		filepath.Join(dir, "callscope.db-wal"): 0o600,
		filepath.Join(dir, "callscope.db-shm"): 0o600,
	}
	for path, mode := range want {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode() & (os.ModeDir | os.ModePerm); got != mode {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, mode)
		}
	}
	// A database named by URL gets the same treatment.
	path := filepath.Join(t.TempDir(), "other", "cs.db")
	s2, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: "sqlite:" + path})
	must(t, err)
	defer s2.Close()
	_, err = s2.Migrate(context.Background())
	must(t, err)
	for p, mode := range map[string]os.FileMode{filepath.Dir(path): 0o700 | os.ModeDir, path: 0o600, path + "-wal": 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode() & (os.ModeDir | os.ModePerm); got != mode {
			t.Errorf("%s: mode %v, want %v", p, got, mode)
		}
	}
}

// TestSettingsSecretsSealed stores a tenant's CRM header and agent client
// secret: the row holds neither, the tenant reads both back, and settings
// written in the clear by older versions are read and then sealed.
func TestSettingsSecretsSealed(t *testing.T) {
	sqlstoretest.EachDialect(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		const header, client, twilioToken = "Bearer crm-0123456789abcdef", "agent-client-secret-42", "twilio-token-0123456789"
		tn := &callscope.Tenant{Name: "sealed-" + callscope.NewID(), Settings: callscope.Settings{
			CRMPush:      &callscope.CRMPushSetting{URL: "https://crm.example.com/hook", AuthHeader: header},
			AgentService: &callscope.AgentServiceSetting{URL: "https://agents.example.com/n", TokenURL: "https://agents.example.com/t", ClientID: "cs", ClientSecret: client},
			Twilio:       &callscope.TwilioSetting{AuthToken: twilioToken},
		}}
		if err := s.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
		raw := func() string {
			var v string
			const q = `SELECT CAST(settings AS TEXT) FROM tenants WHERE id = $1`
			var err error
			if s.Dialect() == sqlstore.Postgres {
				err = s.Pool().QueryRow(ctx, q, tn.ID).Scan(&v)
			} else {
				err = s.SQLDB().QueryRow(q, tn.ID).Scan(&v)
			}
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		if r := raw(); strings.Contains(r, header) || strings.Contains(r, client) || strings.Contains(r, twilioToken) || !strings.Contains(r, "enc:v1:") {
			t.Fatalf("stored settings hold a secret in the clear: %s", r)
		}
		got, err := s.Tenant(ctx, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Settings.CRMPush.AuthHeader != header || got.Settings.AgentService.ClientSecret != client || got.Settings.Twilio.AuthToken != twilioToken {
			t.Fatalf("secrets read back as %q, %q", got.Settings.CRMPush.AuthHeader, got.Settings.AgentService.ClientSecret)
		}
		// As an older version wrote them.
		const q = `UPDATE tenants SET settings = $2 WHERE id = $1`
		clear := `{"crm_push":{"url":"https://crm.example.com/hook","auth_header":"` + header + `"}}`
		if s.Dialect() == sqlstore.Postgres {
			_, err = s.Pool().Exec(ctx, q, tn.ID, clear)
		} else {
			_, err = s.SQLDB().Exec(q, tn.ID, clear)
		}
		if err != nil {
			t.Fatal(err)
		}
		if got, err = s.Tenant(ctx, tn.ID); err != nil || got.Settings.CRMPush.AuthHeader != header {
			t.Fatalf("clear settings read as %+v, %v", got, err)
		}
		if n, err := s.ResealSecrets(ctx); err != nil || n < 1 {
			t.Fatalf("reseal = %d, %v", n, err)
		}
		if r := raw(); strings.Contains(r, header) {
			t.Fatalf("resealed settings still hold the header: %s", r)
		}
	})
}
