// Command callscope is a self-hosted call-intelligence backend: one record
// per phone call, a durable post-call pipeline, reliable delivery.
//
// Usage:
//
//	callscope serve                     run the server
//	callscope migrate                   apply database migrations
//	callscope tenant create|list        manage tenants
//	callscope apikey create|list|revoke manage API keys
//	callscope process FILE…             run the pipeline on transcript files
//	callscope eval DIR                  score the built-in analyzers
//	callscope bench asr MANIFEST        measure transcription (WER, real-time factor)
//	callscope secret-key generate       print a new key for CALLSCOPE_SECRET_KEY
//	callscope stream --protocol P FILE… play recordings into a live-audio listener
//	callscope erase CALL_ID             delete a call and everything recorded about it
//	callscope deletions                 print the erasure audit log
//	callscope backup FILE               copy the SQLite database while it serves
//	callscope restore FILE              put a backup in place of the SQLite database
//	callscope call schedule|list|…      outbound calls through a running server
//	callscope version                   print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// errUsage marks a command-line mistake; its message was printed already.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "callscope:", err)
		os.Exit(1)
	}
}

const usage = `callscope — call intelligence, self-hosted.

Usage:
  callscope serve [--config FILE] [--addr HOST:PORT]
  callscope migrate [--config FILE]
  callscope tenant create --name NAME [--results-secret SECRET]
  callscope tenant list
  callscope apikey create --tenant ID|NAME [--admin] [--name LABEL]
  callscope apikey list --tenant ID|NAME
  callscope apikey revoke [--tenant ID|NAME] KEY_ID
  callscope user create --tenant ID|NAME --email ADDRESS [--name NAME] [--role ROLE] [--password-stdin]
  callscope user list [--tenant ID|NAME]
  callscope user disable [--enable] EMAIL
  callscope process [--format json|text] [--out DIR] [--taxonomy NAME|FILE] [--language CODE] FILE...
  callscope eval DIR
  callscope bench asr [--engine NAME] [--direct] [--limit N] MANIFEST
  callscope secret-key generate
  callscope stream --protocol audiosocket|openchs|twilio --addr HOST:PORT [--speed X] [--calls N] [--stagger D] FILE...
  callscope erase [--tenant ID|NAME] [--reason TEXT] CALL_ID
  callscope deletions [--tenant ID|NAME] [--limit N]
  callscope backup FILE
  callscope restore [--force] FILE
  callscope call schedule|list|status|cancel --user ID …   (outbound calls via a running server)
  callscope campaign create --contacts FILE.csv …|list|status|attempts|pause|resume|cancel   (outbound campaigns via a running server)
  callscope version

Every command reads the same configuration (CALLSCOPE_* environment
variables, or --config FILE); run "callscope serve --help" for the list.
Run "callscope COMMAND --help" for a command's options.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "call":
		return cmdCall(ctx, rest, stdout, stderr)
	case "campaign":
		return cmdCampaign(ctx, rest, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, stdout, stderr)
	case "tenant":
		return cmdTenant(ctx, rest, stdout, stderr)
	case "apikey":
		return cmdAPIKey(ctx, rest, stdout, stderr)
	case "user":
		return cmdUser(ctx, rest, os.Stdin, stdout, stderr)
	case "process":
		return cmdProcess(ctx, rest, stdout, stderr)
	case "eval":
		return cmdEval(ctx, rest, stdout, stderr)
	case "bench":
		return cmdBench(ctx, rest, stdout, stderr)
	case "secret-key":
		return cmdSecretKey(ctx, rest, stdout, stderr)
	case "stream":
		return cmdStream(ctx, rest, stdout, stderr)
	case "erase":
		return cmdErase(ctx, rest, stdout, stderr)
	case "deletions":
		return cmdDeletions(ctx, rest, stdout, stderr)
	case "backup":
		return cmdBackup(ctx, rest, stdout, stderr)
	case "restore":
		return cmdRestore(ctx, rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "callscope", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "callscope: unknown command %q\n\n%s", cmd, usage)
	return errUsage
}

// newFlags returns a flag set whose --help prints the synopsis and options.
func newFlags(name, synopsis string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "read configuration from `FILE` (KEY=VALUE lines; the environment wins)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: callscope %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs, config
}

// parse parses flags, turning a bad flag into errUsage.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}
