package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/config"
	"github.com/callscope/callscope/internal/sqlstore"
)

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, file := newFlags("migrate", "migrate [--config FILE]\n\nApplies pending database migrations, seals stored secrets that are in the\nclear or sealed with a key other than CALLSCOPE_SECRET_KEY's first, and exits.", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*file)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	keys, err := openKeyring(cfg, log)
	if err != nil {
		return err
	}
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, Secrets: keys})
	if err != nil {
		return err
	}
	defer s.Close()
	applied, err := s.Migrate(ctx)
	if err != nil {
		return err
	}
	if err := jobMigrate(ctx, s); err != nil {
		return err
	}
	if err := resealSecrets(ctx, s, log); err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "%s: up to date\n", s.Describe())
	} else {
		fmt.Fprintf(stdout, "%s: applied migrations %v\n", s.Describe(), applied)
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

type tenantOut struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	HasResultsSecret bool   `json:"has_results_secret"`
	CreatedAt        string `json:"created_at"`
}

func newTenantOut(t *callscope.Tenant) tenantOut {
	return tenantOut{t.ID, t.Name, t.ResultsSecret != "", t.CreatedAt.Format(time.RFC3339)}
}

func cmdTenant(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "list") {
		fmt.Fprintln(stderr, "Usage: callscope tenant create --name NAME [--results-secret SECRET]\n       callscope tenant list")
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return nil
		}
		return errUsage
	}
	sub := args[0]
	switch sub {
	case "create":
		fs, file := newFlags("tenant create", "tenant create --name NAME [--results-secret SECRET]\n\nCreates a tenant and prints it as JSON.", stderr)
		name := fs.String("name", "", "the tenant's `NAME` (unique)")
		secret := fs.String("results-secret", "", "shared `SECRET` voice-bot platforms send in X-CXBCore-Secret")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if *name == "" {
			fmt.Fprintln(stderr, "callscope tenant create: --name is required")
			return errUsage
		}
		return withStore(ctx, *file, stderr, func(s *sqlstore.Store) error {
			t := &callscope.Tenant{Name: *name, ResultsSecret: *secret}
			if err := s.CreateTenant(ctx, t); err != nil {
				return err
			}
			return printJSON(stdout, newTenantOut(t))
		})
	default:
		fs, file := newFlags("tenant list", "tenant list\n\nPrints every tenant as JSON.", stderr)
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		return withStore(ctx, *file, stderr, func(s *sqlstore.Store) error {
			ts, err := s.Tenants(ctx)
			if err != nil {
				return err
			}
			out := make([]tenantOut, len(ts))
			for i, t := range ts {
				out[i] = newTenantOut(t)
			}
			return printJSON(stdout, out)
		})
	}
}

// findTenant resolves a tenant by id or name.
// tenantIDOf is the id of the tenant ref names (an id or a name), "" for
// no ref.
func tenantIDOf(ctx context.Context, s *sqlstore.Store, ref string) (string, error) {
	if ref == "" {
		return "", nil
	}
	t, err := findTenant(ctx, s, ref)
	if err != nil {
		return "", err
	}
	return t.ID, nil
}

func findTenant(ctx context.Context, s *sqlstore.Store, ref string) (*callscope.Tenant, error) {
	t, err := s.Tenant(ctx, ref)
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		t, err = s.TenantByName(ctx, ref)
	}
	if callscope.ErrorCode(err) == callscope.ENOTFOUND {
		return nil, fmt.Errorf("no tenant with id or name %q", ref)
	}
	return t, err
}

type keyOut struct {
	ID        string  `json:"id"`
	TenantID  string  `json:"tenant_id"`
	Name      string  `json:"name"`
	Prefix    string  `json:"prefix"`
	Admin     bool    `json:"admin"`
	CreatedAt string  `json:"created_at"`
	RevokedAt *string `json:"revoked_at"`
}

func newKeyOut(k *callscope.APIKey) keyOut {
	o := keyOut{ID: k.ID, TenantID: k.TenantID, Name: k.Name, Prefix: "cs_" + k.Prefix, Admin: k.Admin, CreatedAt: k.CreatedAt.Format(time.RFC3339)}
	if k.RevokedAt != nil {
		s := k.RevokedAt.Format(time.RFC3339)
		o.RevokedAt = &s
	}
	return o
}

func cmdAPIKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const syn = "Usage: callscope apikey create --tenant ID|NAME [--admin] [--name LABEL]\n       callscope apikey list --tenant ID|NAME\n       callscope apikey revoke [--tenant ID|NAME] KEY_ID"
	if len(args) == 0 || (args[0] != "create" && args[0] != "list" && args[0] != "revoke") {
		fmt.Fprintln(stderr, syn)
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return nil
		}
		return errUsage
	}
	sub := args[0]
	fs, file := newFlags("apikey "+sub, map[string]string{
		"create": "apikey create --tenant ID|NAME [--admin] [--name LABEL]\n\nMints an API key and prints it alone on the last line of output. Only its hash is stored: keep it now.",
		"list":   "apikey list --tenant ID|NAME\n\nPrints a tenant's keys (never their secrets) as JSON.",
		"revoke": "apikey revoke [--tenant ID|NAME] KEY_ID\n\nRevokes a key at once.",
	}[sub], stderr)
	tenant := fs.String("tenant", "", "the tenant's `ID or NAME`")
	admin := fs.Bool("admin", false, "the key may act on any tenant and manage tenants")
	name := fs.String("name", "", "a `LABEL` to recognise the key by")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if sub != "revoke" && *tenant == "" {
		fmt.Fprintf(stderr, "callscope apikey %s: --tenant is required\n", sub)
		return errUsage
	}
	if sub == "revoke" && fs.NArg() != 1 {
		fmt.Fprintln(stderr, "callscope apikey revoke: give the KEY_ID to revoke")
		return errUsage
	}
	return withStore(ctx, *file, stderr, func(s *sqlstore.Store) error {
		tenantID, err := tenantIDOf(ctx, s, *tenant)
		if err != nil {
			return err
		}
		switch sub {
		case "create":
			k, plain, err := s.CreateAPIKey(ctx, tenantID, *name, *admin)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "Created %s API key %s for tenant %s. It is shown once:\n", map[bool]string{true: "an admin", false: "an"}[k.Admin], k.ID, tenantID)
			fmt.Fprintln(stdout, plain)
			return nil
		case "list":
			ks, err := s.APIKeys(ctx, tenantID)
			if err != nil {
				return err
			}
			out := make([]keyOut, len(ks))
			for i, k := range ks {
				out[i] = newKeyOut(k)
			}
			return printJSON(stdout, out)
		default:
			k, err := s.RevokeAPIKey(ctx, tenantID, fs.Arg(0))
			if err != nil {
				return err
			}
			return printJSON(stdout, newKeyOut(k))
		}
	})
}

func withStore(ctx context.Context, file string, stderr io.Writer, fn func(*sqlstore.Store) error) error {
	cfg, err := loadConfig(file)
	if err != nil {
		return err
	}
	if err := existingDatabase(cfg); err != nil {
		return err
	}
	s, err := openStore(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(s)
}

// existingDatabase refuses to go on when the SQLite database the
// configuration names does not exist: a command run away from the server's
// data directory says where it looked rather than creating an empty one.
// Only serve and migrate create a database.
func existingDatabase(cfg *config.Config) error {
	if isPostgres(cfg) {
		return nil
	}
	path, err := sqlstore.SQLitePath(sqlstore.Config{URL: cfg.DatabaseURL, DataDir: cfg.DataDir})
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		abs, _ := filepath.Abs(path)
		return fmt.Errorf("no database at %s: run this where the server keeps its data, or set CALLSCOPE_DATA_DIR "+
			"(or CALLSCOPE_DATABASE_URL) as the server has it; `callscope migrate` creates an empty one", abs)
	}
	return nil
}
