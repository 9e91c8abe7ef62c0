package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/gateway/auth"
)

// ErrUnknownType is wrapped by errors about a source type no adapter
// registered.
var ErrUnknownType = errors.New("unknown source type")

// Error is one problem at one key path of the configuration.
type Error struct {
	File string
	Line int    // 0 if unknown
	Path string // key path, e.g. users[0].sources[1].options
	Err  error
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Path == "" {
		return fmt.Sprintf("%s: %v", loc, e.Err)
	}
	return fmt.Sprintf("%s: %s: %v", loc, e.Path, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

var (
	userNameRE   = regexp.MustCompile(`^[A-Za-z0-9._@-]+$`)
	sourceNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	colorRE      = regexp.MustCompile(`^#[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?$`)
)

// errorf builds an *Error at path, with the line recorded for it (or for
// its nearest recorded parent).
func (c *Config) errorf(path, format string, args ...any) *Error {
	return &Error{File: c.File, Line: c.line(path), Path: path, Err: fmt.Errorf(format, args...)}
}

func (c *Config) line(path string) int {
	for p := path; p != ""; {
		if l, ok := c.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

// Validate checks the configuration offline and reports every problem
// found, each as an *Error naming its key path (join them with
// errors.Join semantics; use errors.As to inspect). It calls each
// source's adapter New and Validate, which decode and check the options
// without I/O, and reads password_file and password_env.
func (c *Config) Validate() error {
	var errs []error
	add := func(e *Error) { errs = append(errs, e) }

	if c.BasePath != "" {
		add(c.errorf("base_path", "serving under a prefix is not supported yet; remove base_path or set it to \"\""))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		add(c.errorf("listen", "%q is not host:port (e.g. 127.0.0.1:5232): %v", c.Listen, err))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		add(c.errorf("tls", "set both cert_file and key_file, or neither"))
	}
	if _, err := c.Log.slogLevel(); err != nil {
		add(c.errorf("log.level", "%v", err))
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		add(c.errorf("log.format", "%q is not text or json", c.Log.Format))
	}
	if c.MaxBodyBytes < 0 {
		add(c.errorf("max_body_bytes", "must be positive, got %d", c.MaxBodyBytes))
	}
	if c.Cache.MaxBytes < 0 {
		add(c.errorf("cache.max_bytes", "must be positive, got %d", c.Cache.MaxBytes))
	}
	if c.Cache.TTL < 0 {
		add(c.errorf("cache.ttl", "must be positive, got %s", c.Cache.TTL))
	}
	if len(c.Users) == 0 {
		add(c.errorf("users", "no users configured; add at least one (see configs/example.yaml)"))
	}

	// Adapters check their options against the state directory Build
	// will give them (a google token_file defaults into it).
	plan, _ := planInstances(c) // an options error is reported per source below
	users := map[string]int{}
	for i, u := range c.Users {
		up := fmt.Sprintf("users[%d]", i)
		switch {
		case !userNameRE.MatchString(u.Name) || u.Name == "." || u.Name == "..":
			add(c.errorf(up+".name", "user name %q must match [A-Za-z0-9._@-]+ (and not be . or ..)", u.Name))
		default:
			if j, dup := users[u.Name]; dup {
				add(c.errorf(up+".name", "user %q is already defined at users[%d]; user names must be unique", u.Name, j))
			} else {
				users[u.Name] = i
			}
		}
		if _, err := u.secret(); err != nil {
			add(c.errorf(up, "user %q: %v", u.Name, err))
		}
		errs = append(errs, c.validateSources(i, u, plan)...)
	}
	return errors.Join(errs...)
}

func (c *Config) validateSources(i int, u User, plan map[[2]int]planned) []error {
	var errs []error
	names := map[string]int{}
	for j, s := range u.Sources {
		sp := fmt.Sprintf("users[%d].sources[%d]", i, j)
		switch {
		case !sourceNameRE.MatchString(s.Name) || s.Name == "." || s.Name == "..":
			errs = append(errs, c.errorf(sp+".name", "source name %q of user %q must match [A-Za-z0-9_.-]+ (and not be . or ..)", s.Name, u.Name))
		default:
			if k, dup := names[s.Name]; dup {
				errs = append(errs, c.errorf(sp+".name", "user %q already has a source %q at sources[%d]; source names must be unique per user", u.Name, s.Name, k))
			} else {
				names[s.Name] = j
			}
		}
		if s.Color != "" && !colorRE.MatchString(s.Color) {
			errs = append(errs, c.errorf(sp+".color", "%q is not #RRGGBB or #RRGGBBAA", s.Color))
		}
		p, ok := plan[[2]int{i, j}]
		if !ok {
			p.name = s.Name
		}
		if err := checkSource(s, adapters.Env{
			Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
			HTTP:     &http.Client{Transport: offline{}},
			StateDir: c.stateDir(p.name),
			Reauth:   p.reauth,
		}.WithDefaults()); err != nil {
			path := sp + ".options"
			if errors.Is(err, ErrUnknownType) {
				path = sp + ".type"
			}
			errs = append(errs, c.errorf(path, "source %q of user %q: %w", s.Name, u.Name, err))
		}
	}
	return errs
}

// checkSource builds and validates an instance offline, then closes it.
func checkSource(s Source, env adapters.Env) error {
	a, err := newInstance(s, env)
	if err != nil {
		return err
	}
	return a.Close()
}

// newInstance looks up s.Type, calls its New with s.Options and the
// instance's Validate, and checks it can serve reads.
func newInstance(s Source, env adapters.Env) (adapters.Adapter, error) {
	info, ok := adapters.Lookup(s.Type)
	if !ok {
		return nil, fmt.Errorf("%w %q (registered: %s); check the spelling or that the binary imports adapters/all",
			ErrUnknownType, s.Type, strings.Join(adapters.Types(), ", "))
	}
	a, err := info.New(nodeOptions{node: &s.Options}, env)
	if err != nil {
		return nil, err
	}
	if _, ok := a.(adapters.Reader); !ok {
		_ = a.Close()
		return nil, fmt.Errorf("adapter type %q does not implement adapters.Reader; it cannot serve a source", s.Type)
	}
	if v, ok := a.(adapters.Validator); ok {
		if err := v.Validate(); err != nil {
			_ = a.Close()
			return nil, err
		}
	}
	return a, nil
}

// offline fails every request: New and Validate must not do I/O, and
// Validate must work without network.
type offline struct{}

func (offline) RoundTrip(r *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("config validation is offline: request to %s refused", r.URL.Redacted())
}

// secret resolves the user's password from password_hash, password_file or
// password_env.
func (u User) secret() (auth.Secret, error) {
	set := 0
	for _, v := range []string{u.PasswordHash, u.PasswordFile, u.PasswordEnv} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return auth.Secret{}, errors.New("set exactly one of password_hash, password_file, password_env (make a hash with `davgate hash-password`)")
	}
	switch {
	case u.PasswordHash != "":
		s, err := auth.ParseHash(u.PasswordHash)
		if err != nil {
			return auth.Secret{}, fmt.Errorf("password_hash: %w", err)
		}
		return s, nil
	case u.PasswordFile != "":
		b, err := os.ReadFile(u.PasswordFile)
		if err != nil {
			return auth.Secret{}, fmt.Errorf("password_file: %w", err)
		}
		s, err := auth.ParseSecret(trimNewline(string(b)))
		if err != nil {
			return auth.Secret{}, fmt.Errorf("password_file %s: %w", u.PasswordFile, err)
		}
		return s, nil
	default:
		v, ok := os.LookupEnv(u.PasswordEnv)
		if !ok || v == "" {
			return auth.Secret{}, fmt.Errorf("password_env: environment variable %s is unset or empty; export it before starting davgate", u.PasswordEnv)
		}
		s, err := auth.ParseSecret(trimNewline(v))
		if err != nil {
			return auth.Secret{}, fmt.Errorf("password_env %s: %w", u.PasswordEnv, err)
		}
		return s, nil
	}
}

// trimNewline removes one trailing newline, as editors and `echo` add one.
func trimNewline(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return strings.TrimSuffix(s, "\r")
}
