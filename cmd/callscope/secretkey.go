package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/callscope/callscope/internal/secret"
)

const secretKeyUsage = `secret-key generate

Prints a new key for CALLSCOPE_SECRET_KEY: 32 random bytes in base64.

To rotate keys, put the new key first and keep the old ones after it:
CALLSCOPE_SECRET_KEY=NEW,OLD. The first key seals, every key opens, and
each start (and "callscope migrate") seals again with NEW what OLD sealed.
Once that has run, OLD can be dropped. With several replicas, first give
every replica OLD,NEW (NEW known but not yet sealing), then NEW,OLD.`

func cmdSecretKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "generate" {
		fmt.Fprintf(stderr, "Usage: callscope %s\n", secretKeyUsage)
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return flag.ErrHelp
		}
		return errUsage
	}
	fs, _ := newFlags("secret-key generate", secretKeyUsage, stderr)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	k := secret.GenerateKey()
	fmt.Fprintln(stdout, secret.EncodeKey(k))
	fmt.Fprintf(stderr, "key id %s\n", secret.KeyID(k))
	return nil
}
