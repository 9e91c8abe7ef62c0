// Command davgate serves CalDAV/CardDAV over calendars and contacts held by
// non-DAV services (Google, Exchange EWS, ICS feeds).
//
//	davgate serve -config FILE          run the gateway
//	davgate check-config -config FILE   validate a config offline
//	davgate hash-password [-argon2id]   hash a password read from stdin
//	davgate export|migrate|verify ...    back up, copy and compare collections
//	davgate version                     print the version
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	_ "github.com/davgate/davgate/adapters/all" // every adapter type
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `usage: davgate <command> [flags]

commands:
  serve -config FILE          run the gateway until SIGINT/SIGTERM
  check-config -config FILE   validate FILE offline and exit 1 on errors
  hash-password [-argon2id]   read a password from stdin, print its hash for password_hash
  auth google -config FILE -user USER -source SOURCE [-device]
                              authorise a Google source and store its token
  export SOURCE --to-dir DIR  write collections to a vdir folder (or one file each), incrementally
  migrate SOURCE --to URL     copy collections to a CalDAV/CardDAV server (idempotent; --dry-run)
  verify SOURCE --to URL|--to-dir DIR
                              compare source and target object by object; exit 1 on differences
  version                     print the version
`

// run is main without os.Exit, so tests call it directly. It returns the
// exit code: 0 ok, 1 failure, 2 usage error.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "check-config":
		return checkConfig(args[1:], stdout, stderr)
	case "hash-password":
		return hashPassword(args[1:], stdin, stdout, stderr)
	case "auth":
		return runAuth(ctx, args[1:], stdout, stderr)
	case "export":
		return runExport(ctx, args[1:], stdin, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args[1:], stdin, stdout, stderr)
	case "verify":
		return runVerify(ctx, args[1:], stdin, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "davgate", versionString())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "davgate: unknown command %q\n%s", args[0], usage)
	return 2
}
