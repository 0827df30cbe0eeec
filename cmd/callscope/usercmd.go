package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/callscope/callscope"
	"github.com/callscope/callscope/internal/console"
	"github.com/callscope/callscope/internal/sqlstore"
)

type userOut struct {
	ID        string `json:"id"`
	TenantID  string `json:"tenant_id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	Disabled  bool   `json:"disabled"`
	CreatedAt string `json:"created_at"`
}

func newUserOut(u *callscope.User) userOut {
	return userOut{u.ID, u.TenantID, u.Email, u.Name, string(u.Role), u.Disabled, u.CreatedAt.Format(time.RFC3339)}
}

// cmdUser manages the web console's users directly in the database.
func cmdUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	const syn = "Usage: callscope user create --tenant ID|NAME --email ADDRESS [--name NAME] [--role admin|supervisor|agent] [--password-stdin]\n" +
		"       callscope user list [--tenant ID|NAME]\n       callscope user disable [--enable] EMAIL"
	if len(args) == 0 || (args[0] != "create" && args[0] != "list" && args[0] != "disable") {
		fmt.Fprintln(stderr, syn)
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return nil
		}
		return errUsage
	}
	sub := args[0]
	fs, file := newFlags("user "+sub, map[string]string{
		"create": "user create --tenant ID|NAME --email ADDRESS [--name NAME] [--role admin|supervisor|agent] [--password-stdin]\n\n" +
			"Creates a console user. The password is read from the first line of standard input with --password-stdin;\n" +
			"otherwise one is generated and printed alone on the last line of output. Only its argon2id hash is stored.",
		"list":    "user list [--tenant ID|NAME]\n\nPrints console users (never their passwords) as JSON.",
		"disable": "user disable [--enable] EMAIL\n\nDisables a console user and ends their sessions (--enable lets them sign in again).",
	}[sub], stderr)
	tenant := fs.String("tenant", "", "the tenant's `ID or NAME`")
	email := fs.String("email", "", "the user's e-mail `ADDRESS`, which they sign in with")
	name := fs.String("name", "", "the user's `NAME`")
	role := fs.String("role", string(callscope.RoleAgent), "the user's `ROLE`: admin, supervisor or agent")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	enable := fs.Bool("enable", false, "enable the user again")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	switch {
	case sub == "create" && (*tenant == "" || *email == ""):
		fmt.Fprintln(stderr, "callscope user create: --tenant and --email are required")
		return errUsage
	case sub == "disable" && fs.NArg() != 1:
		fmt.Fprintln(stderr, "callscope user disable: give the EMAIL of the user")
		return errUsage
	}
	return withStore(ctx, *file, stderr, func(s *sqlstore.Store) error {
		tenantID, err := tenantIDOf(ctx, s, *tenant)
		if err != nil {
			return err
		}
		switch sub {
		case "create":
			password, generated := "", false
			if *fromStdin {
				line, err := bufio.NewReader(stdin).ReadString('\n')
				if err != nil && line == "" {
					return fmt.Errorf("read the password from standard input: %w", err)
				}
				password = strings.TrimRight(line, "\r\n")
				if msg := console.CheckPasswordStrength(password); msg != "" {
					return fmt.Errorf("password: %s", msg)
				}
			} else {
				b := make([]byte, 15)
				if _, err := rand.Read(b); err != nil {
					return err
				}
				password, generated = base64.RawURLEncoding.EncodeToString(b), true
			}
			hash, err := console.HashPassword(password)
			if err != nil {
				return err
			}
			u := &callscope.User{TenantID: tenantID, Email: *email, Name: *name, Role: callscope.Role(*role), PasswordHash: hash}
			if err := s.CreateUser(ctx, u); err != nil {
				return err
			}
			if err := printJSON(stdout, newUserOut(u)); err != nil {
				return err
			}
			if generated {
				fmt.Fprintf(stderr, "Created user %s. Their password (shown once; they can change it on the Account page):\n", u.Email)
				fmt.Fprintln(stdout, password)
			}
			return nil
		case "list":
			us, err := s.Users(ctx, tenantID)
			if err != nil {
				return err
			}
			out := make([]userOut, len(us))
			for i, u := range us {
				out[i] = newUserOut(u)
			}
			return printJSON(stdout, out)
		default:
			u, err := s.SetUserDisabled(ctx, fs.Arg(0), !*enable)
			if err != nil {
				return err
			}
			return printJSON(stdout, newUserOut(u))
		}
	})
}

// consoleFirstUser logs how to create the first console user when there
// is none.
func consoleFirstUser(ctx context.Context, s *sqlstore.Store, log *slog.Logger) error {
	n, err := s.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	log.Info("the web console has no users yet: create the first with " +
		"`callscope user create --tenant default --email YOU@EXAMPLE.ORG --role admin`, then sign in at /login")
	return nil
}

// newConsole is the web console, served by srv beside the API.
func newConsole(s *sqlstore.Store, rerun console.Rerunner, srv interface {
	ServeCallRecording(w http.ResponseWriter, r *http.Request, tenantID, callID string) error
	ServeCallEvents(w http.ResponseWriter, r *http.Request, tenantID, callID string) error
	ConsoleAPI(ctx context.Context, tenantID, method, target string, body []byte) (int, []byte)
	ConsoleAutocallerPrefix() string
}, log *slog.Logger) *console.Console {
	return &console.Console{Store: s, Analysis: rerun, Recording: srv.ServeCallRecording, Events: srv.ServeCallEvents,
		API: srv.ConsoleAPI, AutocallerPrefix: srv.ConsoleAutocallerPrefix(), Logger: log.With("component", "console")}
}
