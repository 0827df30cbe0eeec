package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"time"

	"github.com/riverqueue/river"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/call"
	"github.com/callscope/callscope/internal/config"
	"github.com/callscope/callscope/internal/job"
	"github.com/callscope/callscope/internal/sqlstore"
)

// cliActor names the person running a command, for the erasure audit log.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return fmt.Sprintf("cli:uid-%d", os.Getuid())
}

func cmdErase(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, file := newFlags("erase", "erase [--tenant ID|NAME] [--reason TEXT] CALL_ID\n\n"+
		"Deletes a call and everything recorded about it (segments, recordings and their stored\n"+
		"audio, results, analyzer runs, events, delivery log, queued jobs), as DELETE\n"+
		"/api/v1/calls/{call_id} does, and prints the audit log entry. A call under legal hold\n"+
		"or still in progress is refused. CALL_ID may be any of the call's ids.", stderr)
	tenant := fs.String("tenant", callscope.DefaultTenantName, "the call's tenant, by `ID or NAME`")
	reason := fs.String("reason", "", "why the call is erased, kept in the audit log")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "callscope erase: give one CALL_ID")
		return errUsage
	}
	cfg, err := loadConfig(*file)
	if err != nil {
		return err
	}
	return withStore(ctx, *file, stderr, func(s *sqlstore.Store) error {
		t, err := findTenant(ctx, s, *tenant)
		if err != nil {
			return err
		}
		recordings, err := recordingStore(ctx, cfg)
		if err != nil {
			return err
		}
		q, err := job.New(s, river.NewWorkers(), job.Config{NoWork: true})
		if err != nil {
			return err
		}
		svc := &call.Service{Store: s, Queue: q, Recordings: recordings}
		d, err := svc.Erase(ctx, t.ID, fs.Arg(0), cliActor(), *reason)
		if d != nil {
			if perr := printJSON(stdout, d); perr != nil {
				return perr
			}
		}
		return err
	})
}

func cmdDeletions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, file := newFlags("deletions", "deletions [--tenant ID|NAME] [--limit N]\n\n"+
		"Prints a tenant's erasure audit log as JSON, newest first: who erased which call, and\n"+
		"what each retention run removed.", stderr)
	tenant := fs.String("tenant", callscope.DefaultTenantName, "the tenant, by `ID or NAME`")
	limit := fs.Int("limit", 100, "at most `N` entries")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *limit < 1 || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "callscope deletions: --limit is at least 1 and there are no arguments")
		return errUsage
	}
	return withStore(ctx, *file, stderr, func(s *sqlstore.Store) error {
		t, err := findTenant(ctx, s, *tenant)
		if err != nil {
			return err
		}
		ds, err := s.Deletions(ctx, t.ID, *limit)
		if err != nil {
			return err
		}
		return printJSON(stdout, ds)
	})
}

const pgBackupAdvice = `The database is PostgreSQL: back it up with pg_dump, which takes a consistent
copy while callscope serves, and restore with pg_restore into an empty database:

  pg_dump --format=custom --file=callscope.dump "$CALLSCOPE_DATABASE_URL"
  pg_restore --no-owner --dbname="$NEW_DATABASE_URL" callscope.dump

Recordings kept in S3-compatible storage are backed up with the store's own tools.
`

// sqliteOnly loads the configuration of a command that works on the SQLite
// database file and returns the file; for PostgreSQL it prints how to use
// tool instead and fails.
func sqliteOnly(file, cmd, tool string, stderr io.Writer) (*config.Config, string, error) {
	cfg, err := loadConfig(file)
	if err != nil {
		return nil, "", err
	}
	if isPostgres(cfg) {
		fmt.Fprint(stderr, pgBackupAdvice)
		return nil, "", fmt.Errorf("%s: use %s for PostgreSQL", cmd, tool)
	}
	path, err := sqlstore.SQLitePath(sqlstore.Config{URL: cfg.DatabaseURL, DataDir: cfg.DataDir})
	return cfg, path, err
}

func cmdBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, file := newFlags("backup", "backup [--config FILE] FILE\n\n"+
		"Writes a consistent copy of the SQLite database to FILE (which must not exist) while\n"+
		"callscope serve keeps running, then checks the copy. Recordings in the data\n"+
		"directory are files: copy CALLSCOPE_DATA_DIR/recordings alongside. For PostgreSQL it\n"+
		"prints how to use pg_dump.", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "callscope backup: give the FILE to write")
		return errUsage
	}
	cfg, path, err := sqliteOnly(*file, "backup", "pg_dump", stderr)
	if err != nil {
		return err
	}
	if err := existingDatabase(cfg); err != nil {
		return err
	}
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: cfg.DatabaseURL, DataDir: cfg.DataDir})
	if err != nil {
		return err
	}
	defer s.Close()
	start := time.Now()
	if err := s.Backup(ctx, fs.Arg(0)); err != nil {
		return err
	}
	calls, err := sqlstore.CheckBackup(ctx, fs.Arg(0))
	if err != nil {
		return fmt.Errorf("the backup does not check out: %w", err)
	}
	fmt.Fprintf(stdout, "Backed up %s to %s: %d calls, in %s.\n", path, fs.Arg(0), calls, time.Since(start).Round(time.Millisecond))
	return nil
}

func cmdRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, file := newFlags("restore", "restore [--config FILE] [--force] FILE\n\n"+
		"Puts the backup FILE in place of the SQLite database, keeping the old database as\n"+
		"callscope.db.before-restore-TIME. Stop callscope serve first: while a server works\n"+
		"the database, restore refuses unless --force. For PostgreSQL it prints how to use\n"+
		"pg_restore.", stderr)
	force := fs.Bool("force", false, "restore even though a server seems to be running on the database")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "callscope restore: give the backup FILE")
		return errUsage
	}
	_, path, err := sqliteOnly(*file, "restore", "pg_restore", stderr)
	if err != nil {
		return err
	}
	calls, err := sqlstore.CheckBackup(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	live, err := sqlstore.LiveQueueClients(ctx, path, 30*time.Second)
	if err != nil {
		return err
	}
	if live > 0 && !*force {
		return fmt.Errorf("a callscope server is working %s (seen within 30s); stop it first, or pass --force", path)
	}
	kept, err := sqlstore.RestoreSQLite(ctx, fs.Arg(0), path, time.Now())
	if err != nil {
		return err
	}
	if kept != "" {
		fmt.Fprintf(stdout, "Kept the previous database as %s.\n", kept)
	}
	fmt.Fprintf(stdout, "Restored %s from %s: %d calls.\n", path, fs.Arg(0), calls)
	return nil
}
