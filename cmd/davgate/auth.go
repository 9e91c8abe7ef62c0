package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/google"
	"github.com/davgate/davgate/gateway/config"
)

const authUsage = `usage: davgate auth google -config FILE -user USER -source SOURCE [-device]

Authorises davgate to use a Google account for USER's source SOURCE (type
google) and stores the token where that source reads it (token_file, default
<state_dir>/<instance>/token.json, mode 0600). Without -device, it prints a
URL to open in a browser on this machine (a loopback redirect completes the
flow); with -device, it prints a code to enter on any device.
`

// runAuth is "davgate auth <provider> ...".
func runAuth(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "google" {
		fmt.Fprint(stderr, authUsage)
		return 2
	}
	fs := flag.NewFlagSet("auth google", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration `FILE` (YAML)")
	user := fs.String("user", "", "davgate `USER` whose source to authorise")
	source := fs.String("source", "", "`SOURCE` name (type google) of that user")
	device := fs.Bool("device", false, "use the device flow (enter a code on another device) instead of a browser on this machine")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *path == "" || *user == "" || *source == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, authUsage)
		return 2
	}
	cfg, ok := loadConfig(*path, stderr)
	if !ok {
		return 1
	}
	set, err := config.SourceSetup(cfg, *user, *source)
	if err != nil {
		fmt.Fprintf(stderr, "davgate: %v\n", err)
		return 1
	}
	if set.Source.Type != "google" {
		fmt.Fprintf(stderr, "davgate: source %q of user %q has type %q, not google\n", *source, *user, set.Source.Type)
		return 1
	}
	var opts google.Options
	if err := set.Options.Decode(&opts); err != nil {
		fmt.Fprintf(stderr, "davgate: source %q of user %q: %v\n", *source, *user, err)
		return 1
	}
	opts.ReauthHint = set.Reauth
	if opts.ClientSecretFile != "" && opts.ClientSecret == "" {
		b, err := os.ReadFile(opts.ClientSecretFile)
		if err != nil {
			fmt.Fprintf(stderr, "davgate: client_secret_file: %v\n", err)
			return 1
		}
		opts.ClientSecret, opts.ClientSecretFile = strings.TrimSpace(string(b)), ""
	}
	env := adapters.Env{
		Logger:   cfg.Log.NewLogger(stderr),
		HTTP:     upstreamClient(),
		StateDir: set.StateDir,
		Reauth:   set.Reauth,
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stdout, "Authorising Google for user %q, source %q (instance %q).\n", *user, *source, set.Instance)
	if *device {
		err = google.AuthorizeDevice(ctx, opts, env, stdout)
	} else {
		err = google.AuthorizeLoopback(ctx, opts, env, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "davgate: authorisation failed: %v\n", err)
		if !*device {
			fmt.Fprintf(stderr, "On a host without a browser, forward the printed 127.0.0.1 port over SSH, or try -device (see docs/google.md).\n")
		}
		return 1
	}
	fmt.Fprintf(stdout, "\nDone. Next steps:\n"+
		"  1. Restart davgate (davgate serve -config %s) so the source uses the new token;\n"+
		"     a running davgate keeps the token it loaded at start.\n"+
		"  2. Check that the source is healthy: curl http://HOST:PORT/healthz\n"+
		"If Google later rejects the token (invalid_grant: password change, revoked access,\n"+
		"or 7 days after consent while the OAuth consent screen is in \"Testing\"), run again:\n"+
		"  %s\n", *path, set.Reauth)
	return 0
}
