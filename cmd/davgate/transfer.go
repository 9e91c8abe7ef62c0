package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"
	"gopkg.in/yaml.v3"

	"github.com/davgate/davgate/adapters"
	_ "github.com/davgate/davgate/adapters/caldav" // migrate/verify endpoints
	"github.com/davgate/davgate/adapters/transfer"
	_ "github.com/davgate/davgate/adapters/vdir" // export target
	"github.com/davgate/davgate/gateway/config"
)

// Usage of the transfer commands; main.go's usage lists them in one line each.
const transferUsage = `source (one of):
  --config FILE --user NAME [--source S]... [--collection C]...
                      the user's configured sources (all, or those named)
  --from URL [--from-user NAME] [--from-password-file F]
                      any CalDAV/CardDAV server; the password comes from
                      DAVGATE_FROM_PASSWORD, the file, or a prompt on a terminal
  --from-dir DIR      a vdir folder (verify an export)
target:
  migrate/verify: --to URL [--to-user NAME] [--to-password-file F]
                      password from DAVGATE_TO_PASSWORD, the file, or a prompt
  export/verify:  --to-dir DIR [--format vdir|file]
`

// endpointFlags are the source and target flags shared by the commands.
type endpointFlags struct {
	configPath, user         string
	sources, collections     stringList
	from, fromUser, fromPWF  string
	fromDir                  string
	to, toUser, toPWF, toDir string
	format                   string
	verbose                  bool
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func (e *endpointFlags) register(fs *flag.FlagSet, target string) {
	fs.StringVar(&e.configPath, "config", "", "configuration `FILE` holding the source user")
	fs.StringVar(&e.user, "user", "", "user `NAME` in the configuration")
	fs.Var(&e.sources, "source", "only this configured source (repeatable)")
	fs.Var(&e.collections, "collection", "only this collection ID (repeatable)")
	fs.StringVar(&e.from, "from", "", "source CalDAV/CardDAV `URL`")
	fs.StringVar(&e.fromUser, "from-user", "", "user `NAME` for --from")
	fs.StringVar(&e.fromPWF, "from-password-file", "", "`FILE` holding the --from password")
	fs.StringVar(&e.fromDir, "from-dir", "", "source vdir `DIR`")
	if strings.Contains(target, "url") {
		fs.StringVar(&e.to, "to", "", "target CalDAV/CardDAV `URL`")
		fs.StringVar(&e.toUser, "to-user", "", "user `NAME` for --to")
		fs.StringVar(&e.toPWF, "to-password-file", "", "`FILE` holding the --to password")
	}
	if strings.Contains(target, "dir") {
		fs.StringVar(&e.toDir, "to-dir", "", "target `DIR`")
		fs.StringVar(&e.format, "format", "vdir", "folder layout: vdir (one file per object) or file (one file per collection)")
	}
	fs.BoolVar(&e.verbose, "v", false, "log debug details on stderr")
}

func (e *endpointFlags) check() error {
	n := 0
	for _, s := range []string{e.configPath, e.from, e.fromDir} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return errors.New("give exactly one source: --config with --user, --from URL, or --from-dir DIR")
	}
	if (e.configPath != "") != (e.user != "") {
		return errors.New("--config and --user go together")
	}
	if e.configPath == "" && len(e.sources) > 0 {
		return errors.New("--source needs --config")
	}
	if e.format != "" && e.format != "vdir" && e.format != "file" {
		return fmt.Errorf("--format %q: want vdir or file", e.format)
	}
	return nil
}

// session holds the opened endpoints; close releases them.
type session struct {
	jobs    []transfer.Job
	target  adapters.Reader // nil for --format file
	srcKey  string          // identifies the source, for the state file name
	dstKey  string
	closers []func() error
	log     *slog.Logger
}

func (s *session) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil {
			s.log.Warn("closing adapter", "err", err)
		}
	}
}

// mapOptions implements adapters.Options over flag values, decoded as
// strictly as configuration options are.
type mapOptions map[string]any

func (m mapOptions) Decode(v any) error {
	b, err := yaml.Marshal(map[string]any(m))
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// newAdapter builds, validates and provisions a registered adapter type.
func newAdapter(ctx context.Context, typ string, opts mapOptions, env adapters.Env) (adapters.Reader, error) {
	info, ok := adapters.Lookup(typ)
	if !ok {
		return nil, fmt.Errorf("adapter type %q is not built into this binary: %w", typ, adapters.ErrUnsupported)
	}
	a, err := info.New(opts, env)
	if err != nil {
		return nil, err
	}
	if v, ok := a.(adapters.Validator); ok {
		if err := v.Validate(); err != nil {
			_ = a.Close()
			return nil, err
		}
	}
	if p, ok := a.(adapters.Provisioner); ok {
		if err := p.Provision(ctx); err != nil {
			_ = a.Close()
			return nil, err
		}
	}
	r, ok := a.(adapters.Reader)
	if !ok {
		_ = a.Close()
		return nil, fmt.Errorf("adapter type %q cannot be read: %w", typ, adapters.ErrUnsupported)
	}
	return r, nil
}

// password finds a DAV password without it ever being a flag value: the
// environment, a file, or a no-echo prompt when stdin is a terminal.
func password(envName, file, user, url string, stdin io.Reader, stderr io.Writer) (string, error) {
	if v, ok := os.LookupEnv(envName); ok {
		return v, nil
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		line, _, _ := strings.Cut(string(b), "\n")
		return strings.TrimRight(line, "\r"), nil
	}
	if user == "" {
		return "", nil
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(stderr, "password for %s at %s: ", user, url)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		return string(b), err
	}
	return "", fmt.Errorf("no password for %s: set %s, or pass a password file, or run on a terminal to be asked", user, envName)
}

func (s *session) dav(ctx context.Context, url, user, pwFile, envName string, stdin io.Reader, stderr io.Writer, env adapters.Env) (adapters.Reader, error) {
	pw, err := password(envName, pwFile, user, url, stdin, stderr)
	if err != nil {
		return nil, err
	}
	// A batch copy waits for slow listings: Radicale answers a PROPFIND
	// of a 10,000-object calendar after about a minute.
	opts := mapOptions{"url": url, "timeout": transferTimeout.String()}
	if user != "" {
		opts["username"] = user
		opts["password"] = pw
	}
	r, err := newAdapter(ctx, "caldav", opts, env)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", url, err)
	}
	s.closers = append(s.closers, r.Close)
	return r, nil
}

// transferTimeout bounds one upstream request of export, migrate and
// verify. They are batch jobs against servers whose answers grow with the
// collection, so it is far longer than the gateway's.
const transferTimeout = 10 * time.Minute

// transferClient is upstreamClient with transferTimeout for the response
// headers and the whole request.
func transferClient() *http.Client {
	c := upstreamClient()
	if tr, ok := c.Transport.(*http.Transport); ok {
		tr.ResponseHeaderTimeout = transferTimeout
	}
	c.Timeout = transferTimeout
	return c
}

// open builds the source jobs and the target. targetKind is "url", "dir"
// or "" (the caller opens no target).
func (e *endpointFlags) open(ctx context.Context, stdin io.Reader, stderr io.Writer, log *slog.Logger) (_ *session, err error) {
	env := adapters.Env{Logger: log, HTTP: transferClient(), Now: time.Now}
	s := &session{log: log}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	want := map[string]bool{}
	for _, c := range e.collections {
		want[c] = true
	}
	var src []namedSource
	switch {
	case e.configPath != "":
		srcs, closeRT, err := configSources(ctx, e.configPath, e.user, e.sources, env, stderr)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, closeRT)
		src = srcs
		s.srcKey = "config:" + absPath(e.configPath) + ":" + e.user + ":" + strings.Join(e.sources, ",")
	case e.from != "":
		r, err := s.dav(ctx, e.from, e.fromUser, e.fromPWF, "DAVGATE_FROM_PASSWORD", stdin, stderr, env)
		if err != nil {
			return nil, err
		}
		src = []namedSource{{reader: r}}
		s.srcKey = "dav:" + e.fromUser + "@" + e.from
	default:
		r, err := newAdapter(ctx, "vdir", mapOptions{"path": e.fromDir}, env)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", e.fromDir, err)
		}
		s.closers = append(s.closers, r.Close)
		src = []namedSource{{reader: r}}
		s.srcKey = "dir:" + absPath(e.fromDir)
	}
	for _, ns := range src {
		colls, err := ns.reader.Collections(ctx)
		if err != nil {
			return nil, fmt.Errorf("list collections of %s: %w", orDefault(ns.name, "the source"), err)
		}
		for _, c := range colls {
			if len(want) > 0 && !want[c.ID] {
				continue
			}
			if ns.name != "" && ns.displayName != "" {
				c.Name = ns.displayName
			}
			if ns.color != "" {
				c.Color = ns.color
			}
			s.jobs = append(s.jobs, transfer.Job{
				Source: ns.reader, Collection: c,
				Target: targetID(ns.name, c.ID, len(src) > 1),
				Label:  strings.Trim(ns.name+"/"+c.ID, "/"),
			})
		}
	}
	if len(s.jobs) == 0 {
		return nil, errors.New("no collection selected: the source has none, or --collection matched none")
	}
	switch {
	case e.to != "":
		r, err := s.dav(ctx, e.to, e.toUser, e.toPWF, "DAVGATE_TO_PASSWORD", stdin, stderr, env)
		if err != nil {
			return nil, err
		}
		s.target = r
		s.dstKey = "dav:" + e.toUser + "@" + e.to
	case e.toDir != "" && e.format == "vdir":
		r, err := newAdapter(ctx, "vdir", mapOptions{"path": e.toDir}, env)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", e.toDir, err)
		}
		s.closers = append(s.closers, r.Close)
		s.target = r
		s.dstKey = "dir:" + absPath(e.toDir)
	}
	return s, nil
}

type namedSource struct {
	name, displayName, color string
	reader                   adapters.Reader
}

// configSources builds only the chosen user's chosen sources: other users'
// adapters (OAuth, EWS) are neither dialled nor needed.
func configSources(ctx context.Context, path, user string, only []string, env adapters.Env, stderr io.Writer) ([]namedSource, func() error, error) {
	cfg, ok := loadConfig(path, stderr)
	if !ok {
		return nil, nil, fmt.Errorf("config %s is invalid", path)
	}
	var u *config.User
	for i := range cfg.Users {
		if cfg.Users[i].Name == user {
			u = &cfg.Users[i]
		}
	}
	if u == nil {
		return nil, nil, fmt.Errorf("user %q is not in %s", user, path)
	}
	sel := *u
	if len(only) > 0 {
		sel.Sources = nil
		for _, name := range only {
			found := false
			for _, s := range u.Sources {
				if s.Name == name {
					sel.Sources = append(sel.Sources, s)
					found = true
				}
			}
			if !found {
				return nil, nil, fmt.Errorf("user %q has no source %q in %s", user, name, path)
			}
		}
	}
	one := *cfg
	one.Users = []config.User{sel}
	rt, err := config.Build(ctx, &one, env)
	if err != nil {
		return nil, nil, err
	}
	var out []namedSource
	for _, gu := range rt.Options.Users {
		for _, s := range gu.Sources {
			out = append(out, namedSource{name: s.Name, displayName: s.DisplayName, color: s.Color, reader: s.Adapter})
		}
	}
	return out, rt.Close, nil
}

// targetID names a source collection on the target: its own ID, prefixed
// by the source name when several sources go to one account (their IDs
// may clash). Characters a path segment should not hold become "-".
func targetID(source, coll string, prefix bool) string {
	id := coll
	switch {
	case coll == "":
		id = orDefault(source, "calendar")
	case prefix && source != "":
		id = source + "-" + coll
	}
	var b strings.Builder
	for _, r := range id {
		if r < 0x80 && !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._@+-", r)) {
			r = '-'
		}
		b.WriteRune(r)
	}
	return strings.TrimLeft(b.String(), ".")
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// statePath is the default state file of a source/target pair, in the
// user's cache directory: it is only a cache (see transfer.State).
func statePath(srcKey, dstKey string) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	sum := sha256.Sum256([]byte(srcKey + "\x00" + dstKey))
	return filepath.Join(dir, "davgate", "transfer", hex.EncodeToString(sum[:12])+".json")
}

func newLogger(stderr io.Writer, verbose bool) *slog.Logger {
	lvl := slog.LevelWarn
	if verbose {
		lvl = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
}

// progress draws a bar when stderr is a terminal, else plain lines: one
// per finished collection and one per 1000 objects.
type progress struct {
	w     io.Writer
	tty   bool
	verb  string
	mu    sync.Mutex
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer, verb string) *progress {
	p := &progress{w: w, verb: verb}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

func (p *progress) update(ev transfer.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ev.Finished {
		if p.drawn {
			fmt.Fprint(p.w, "\r\033[K")
			p.drawn = false
		}
		line := fmt.Sprintf("[%d/%d] %s: %d objects", ev.Collection, ev.Jobs, ev.Label, ev.Total)
		if r := ev.Report; r != nil {
			line += fmt.Sprintf(", %d copied, %d unchanged, %d skipped, %d deleted, %d failed", r.Copied, r.Unchanged, r.Skipped, r.Deleted, r.Failed)
			if r.Pending > 0 {
				line += fmt.Sprintf(", %d not attempted", r.Pending)
			}
			if r.Err != nil {
				line += ": " + r.Err.Error()
			}
		}
		fmt.Fprintln(p.w, line)
		return
	}
	if p.tty {
		if time.Since(p.last) < 100*time.Millisecond && ev.Done != ev.Total {
			return
		}
		p.last = time.Now()
		const width = 30
		fill := 0
		if ev.Total > 0 {
			fill = ev.Done * width / ev.Total
		}
		fmt.Fprintf(p.w, "\r\033[K%s [%d/%d] %s [%s%s] %d/%d", p.verb, ev.Collection, ev.Jobs, ev.Label,
			strings.Repeat("=", fill), strings.Repeat(" ", width-fill), ev.Done, ev.Total)
		p.drawn = true
		return
	}
	if ev.Done%1000 == 0 && ev.Done > 0 {
		fmt.Fprintf(p.w, "%s [%d/%d] %s: %d/%d\n", p.verb, ev.Collection, ev.Jobs, ev.Label, ev.Done, ev.Total)
	}
}

func signalContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
}

// runMigrate implements `davgate migrate`.
func runMigrate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: davgate migrate SOURCE --to URL [flags]\n\n%s\nflags:\n", transferUsage)
		fs.PrintDefaults()
	}
	var e endpointFlags
	e.register(fs, "url")
	conflict := fs.String("conflict", "skip", "when a target object differs and was changed there: skip, overwrite or keep-both")
	dry := fs.Bool("dry-run", false, "print the plan, write nothing")
	noBulk := fs.Bool("no-bulk", false, "write object by object even where the target takes a whole new collection in one request")
	del := fs.Bool("delete", false, "delete target copies (made by an earlier run) of objects deleted in the source")
	conc := fs.Int("concurrency", 4, "writes in flight")
	retries := fs.Int("retries", 4, "retries of a call the server answers with 5xx/429 or a timeout")
	state := fs.String("state", "", "state `FILE` (default: in the user cache directory; \"none\" to compare content only)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	policy, perr := transfer.ParsePolicy(*conflict)
	if err := errors.Join(e.check(), perr); err != nil || e.to == "" || fs.NArg() > 0 {
		if err == nil {
			err = errors.New("--to URL is required")
		}
		fmt.Fprintf(stderr, "davgate migrate: %v\n", err)
		return 2
	}
	if *conc < 1 || *conc > 64 {
		fmt.Fprintln(stderr, "davgate migrate: --concurrency must be 1..64")
		return 2
	}
	ctx, stop := signalContext(ctx)
	defer stop()
	log := newLogger(stderr, e.verbose)
	s, err := e.open(ctx, stdin, stderr, log)
	if err != nil {
		fmt.Fprintf(stderr, "davgate migrate: %v\n", err)
		return 1
	}
	defer s.close()
	target, ok := s.target.(transfer.Target)
	if !ok {
		fmt.Fprintln(stderr, "davgate migrate: the target cannot be written")
		return 1
	}
	opts := transfer.Options{Policy: policy, DryRun: *dry, Concurrency: *conc, Retries: *retries, NoBulk: *noBulk, Logger: log}
	if *retries == 0 {
		opts.Retries = -1
	}
	if *del {
		opts.Delete = transfer.DeleteTracked
	}
	if opts.State, err = openState(*state, s, stderr); err != nil {
		return 1
	}
	opts.Progress = newProgress(stderr, "migrate").update
	rep := transfer.Copy(ctx, s.jobs, target, opts)
	printReport(stdout, "migrate", rep)
	if !rep.OK() {
		return 1
	}
	return 0
}

func openState(flagVal string, s *session, stderr io.Writer) (*transfer.State, error) {
	if flagVal == "none" {
		return nil, nil
	}
	path := flagVal
	if path == "" {
		path = statePath(s.srcKey, s.dstKey)
	}
	if path == "" {
		return nil, nil
	}
	st, err := transfer.OpenState(path)
	if err != nil && st != nil {
		fmt.Fprintf(stderr, "davgate: %v\n", err)
		return st, nil
	}
	if err != nil {
		fmt.Fprintf(stderr, "davgate: %v\n", err)
	}
	return st, err
}

// runExport implements `davgate export`.
func runExport(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: davgate export SOURCE --to-dir DIR [flags]\n\n%s\nflags:\n", transferUsage)
		fs.PrintDefaults()
	}
	var e endpointFlags
	e.register(fs, "dir")
	dry := fs.Bool("dry-run", false, "print what would change, write nothing")
	conc := fs.Int("concurrency", 4, "files written in parallel")
	state := fs.String("state", "", "state `FILE` (default: in the user cache directory; \"none\" to compare content only)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := e.check(); err != nil || e.toDir == "" || fs.NArg() > 0 {
		if err == nil {
			err = errors.New("--to-dir DIR is required")
		}
		fmt.Fprintf(stderr, "davgate export: %v\n", err)
		return 2
	}
	ctx, stop := signalContext(ctx)
	defer stop()
	log := newLogger(stderr, e.verbose)
	s, err := e.open(ctx, stdin, stderr, log)
	if err != nil {
		fmt.Fprintf(stderr, "davgate export: %v\n", err)
		return 1
	}
	defer s.close()

	if e.format == "file" {
		if err := os.MkdirAll(e.toDir, 0o755); err != nil {
			fmt.Fprintf(stderr, "davgate export: %v\n", err)
			return 1
		}
		code := 0
		for _, j := range s.jobs {
			ext := ".ics"
			if j.Collection.Kind == adapters.KindAddressBook {
				ext = ".vcf"
			}
			res, err := transfer.WriteCollectionFile(ctx, j, filepath.Join(e.toDir, j.Target+ext), *dry)
			switch {
			case err != nil:
				fmt.Fprintf(stdout, "%s: failed: %v\n", j.Label, err)
				code = 1
			case res.Written:
				fmt.Fprintf(stdout, "%s: %d objects written to %s\n", j.Label, res.Objects, res.Path)
			default:
				fmt.Fprintf(stdout, "%s: %d objects, %s unchanged\n", j.Label, res.Objects, res.Path)
			}
		}
		return code
	}
	target, ok := s.target.(transfer.Target)
	if !ok {
		fmt.Fprintln(stderr, "davgate export: the target folder cannot be written")
		return 1
	}
	// The export folder mirrors the source: the source wins every
	// difference, and objects deleted there are deleted here.
	opts := transfer.Options{Policy: transfer.Overwrite, Delete: transfer.DeleteAll, DryRun: *dry, Concurrency: *conc, Logger: log}
	if opts.State, err = openState(*state, s, stderr); err != nil {
		return 1
	}
	opts.Progress = newProgress(stderr, "export").update
	rep := transfer.Copy(ctx, s.jobs, target, opts)
	printReport(stdout, "export", rep)
	if !rep.OK() {
		return 1
	}
	return 0
}

// runVerify implements `davgate verify`.
func runVerify(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: davgate verify SOURCE (--to URL | --to-dir DIR) [flags]\n\n%s\nflags:\n", transferUsage)
		fs.PrintDefaults()
	}
	var e endpointFlags
	e.register(fs, "url,dir")
	var ignore stringList
	fs.Var(&ignore, "ignore", "also disregard this `PROPERTY` when comparing (repeatable)")
	maxDiff := fs.Int("max-diff-lines", 20, "diff lines shown per changed object")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	err := e.check()
	if err == nil && (e.to == "") == (e.toDir == "") {
		err = errors.New("give exactly one target: --to URL or --to-dir DIR")
	}
	if err == nil && e.toDir != "" && e.format == "file" {
		err = errors.New("verify reads vdir folders; --format file exports are not comparable object by object")
	}
	if err != nil || fs.NArg() > 0 {
		if err == nil {
			err = fmt.Errorf("unexpected arguments %q", fs.Args())
		}
		fmt.Fprintf(stderr, "davgate verify: %v\n", err)
		return 2
	}
	ctx, stop := signalContext(ctx)
	defer stop()
	log := newLogger(stderr, e.verbose)
	s, err := e.open(ctx, stdin, stderr, log)
	if err != nil {
		fmt.Fprintf(stderr, "davgate verify: %v\n", err)
		return 1
	}
	defer s.close()
	rep := transfer.Verify(ctx, s.jobs, s.target, transfer.VerifyOptions{Ignore: ignore, Logger: log})
	printVerify(stdout, rep, *maxDiff)
	if !rep.OK() {
		return 1
	}
	return 0
}

func printReport(w io.Writer, verb string, rep *transfer.Report) {
	t := rep.Totals()
	mode := ""
	if rep.DryRun {
		mode = " (dry run: nothing written)"
	}
	fmt.Fprintf(w, "%s%s: %d collections, %d objects: %d copied (%d created, %d updated, %d overwritten, %d kept both), %d unchanged, %d skipped, %d deleted, %d failed",
		verb, mode, len(rep.Collections), t.Total, t.Copied, t.Created, t.Updated, t.Overwritten, t.KeptBoth, t.Unchanged, t.Skipped, t.Deleted, t.Failed)
	if t.Pending > 0 {
		fmt.Fprintf(w, ", %d not attempted", t.Pending)
	}
	fmt.Fprintf(w, " in %s\n", rep.Duration.Round(time.Millisecond))
	for _, c := range rep.Collections {
		switch {
		case c.Err != nil:
			fmt.Fprintf(w, "collection %s -> %s: FAILED: %v\n", c.Label, c.Target, c.Err)
		case c.CreatedCollection:
			fmt.Fprintf(w, "collection %s -> %s: created\n", c.Label, c.Target)
		case c.UpdatedCollection:
			fmt.Fprintf(w, "collection %s -> %s: name/color updated\n", c.Label, c.Target)
		}
		items := append([]transfer.Item(nil), c.Items...)
		sort.SliceStable(items, func(i, j int) bool { return rank(items[i].Action) < rank(items[j].Action) })
		for _, it := range items {
			if !rep.DryRun && (it.Action == transfer.ActCreate || it.Action == transfer.ActUpdate) {
				continue // the counts say it; a 10,000-line list would not
			}
			line := fmt.Sprintf("  %-9s %s/%s", it.Action, c.Label, it.ID)
			if it.TargetID != "" {
				line += " -> " + it.TargetID
			}
			if it.UID != "" && it.UID != it.ID {
				line += " (UID " + it.UID + ")"
			}
			if it.Reason != "" {
				line += ": " + it.Reason
			}
			fmt.Fprintln(w, line)
		}
	}
	if rep.Aborted != nil {
		fmt.Fprintf(w, "stopped early: %v\nrerun the same command to complete the job; what was copied is not copied again\n", rep.Aborted)
	}
}

func rank(a transfer.Action) int {
	switch a {
	case transfer.ActFail:
		return 0
	case transfer.ActSkip:
		return 1
	}
	return 2
}

func printVerify(w io.Writer, rep *transfer.VerifyReport, maxDiff int) {
	bad := 0
	for _, c := range rep.Collections {
		if c.OK() {
			fmt.Fprintf(w, "ok        %s -> %s: %d objects equal\n", c.Label, c.Target, c.Equal)
			continue
		}
		bad++
		fmt.Fprintf(w, "DIFFERENT %s -> %s: %d equal, %d missing, %d extra, %d changed (source %d, target %d objects)\n",
			c.Label, c.Target, c.Equal, len(c.Missing), len(c.Extra), len(c.Changed), c.SourceCount, c.TargetCount)
		if c.Err != nil {
			fmt.Fprintf(w, "  error: %v\n", c.Err)
		}
		for _, d := range c.Missing {
			fmt.Fprintf(w, "  missing %s (UID %s)\n", d.SourceID, d.UID)
		}
		for _, d := range c.Extra {
			fmt.Fprintf(w, "  extra   %s (UID %s)\n", d.TargetID, d.UID)
		}
		for _, d := range c.Changed {
			fmt.Fprintf(w, "  changed %s (UID %s):\n", d.SourceID, d.UID)
			lines := strings.Split(d.Diff, "\n")
			if len(lines) > maxDiff {
				lines = append(lines[:maxDiff], fmt.Sprintf("... %d more lines", len(lines)-maxDiff))
			}
			for _, l := range lines {
				fmt.Fprintf(w, "      %s\n", l)
			}
		}
	}
	if rep.Aborted != nil {
		fmt.Fprintf(w, "stopped early: %v\n", rep.Aborted)
		bad++
	}
	if bad == 0 {
		fmt.Fprintf(w, "verify: %d collections identical\n", len(rep.Collections))
	} else {
		fmt.Fprintf(w, "verify: differences in %d of %d collections\n", bad, len(rep.Collections))
	}
}
