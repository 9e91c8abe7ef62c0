package config

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/davgate/davgate/adapters"
	_ "github.com/davgate/davgate/adapters/all"
	"github.com/davgate/davgate/cache"
)

// demoHash is bcrypt cost 10 of "demo".
const demoHash = "$2a$10$xgN0t7P4kcObTHLWSH8jr.e7MGTORrflyxy5MTSAp/k4CaDA2doj6"

// counting is a test adapter type ("counting") that records its lifecycle.
type counting struct {
	opts countingOptions
	env  adapters.Env
}

type countingOptions struct {
	URL          string `yaml:"url"`
	Tags         []string
	Invalid      bool `yaml:"invalid"`
	ProvisionErr bool `yaml:"provision_err"`
}

var (
	countMu    sync.Mutex
	provisions = map[string]int{} // by URL
	closes     = map[string]int{}
	live       atomic.Int64
)

func init() {
	adapters.Register(adapters.Info{Type: "counting", New: func(o adapters.Options, env adapters.Env) (adapters.Adapter, error) {
		var c counting
		if err := o.Decode(&c.opts); err != nil {
			return nil, err
		}
		c.env = env
		live.Add(1)
		return &c, nil
	}})
}

func (c *counting) Validate() error {
	if c.opts.Invalid {
		return errors.New("counting: invalid is set; unset it")
	}
	return nil
}

func (c *counting) Provision(context.Context) error {
	countMu.Lock()
	defer countMu.Unlock()
	provisions[c.opts.URL]++
	if c.opts.ProvisionErr {
		return fmt.Errorf("counting: dial %s: %w", c.opts.URL, adapters.ErrUnavailable)
	}
	return nil
}

func (c *counting) Close() error {
	countMu.Lock()
	defer countMu.Unlock()
	closes[c.opts.URL]++
	live.Add(-1)
	return nil
}

func (c *counting) Status() adapters.Status {
	return adapters.Status{Healthy: true, Fetches: 3, LastSuccess: time.Unix(1e9, 0)}
}

func (c *counting) Collections(context.Context) ([]adapters.Collection, error) { return nil, nil }
func (c *counting) Objects(context.Context, string, adapters.Query) ([]adapters.Object, error) {
	return nil, nil
}
func (c *counting) Object(context.Context, string, string) (adapters.Object, error) {
	return adapters.Object{}, adapters.ErrNotFound
}

func resetCounts() {
	countMu.Lock()
	defer countMu.Unlock()
	provisions = map[string]int{}
	closes = map[string]int{}
}

func parse(t *testing.T, y string) *Config {
	t.Helper()
	cfg, err := Parse("test.yaml", []byte(y))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}

func TestDefaults(t *testing.T) {
	cfg := parse(t, "users: [{name: u, password_hash: '"+demoHash+"'}]")
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != DefaultListen || cfg.MaxBodyBytes != DefaultMaxBodyBytes ||
		cfg.Cache.MaxBytes != DefaultCacheBytes || cfg.Cache.TTL != DefaultCacheTTL ||
		cfg.Log.Level != "info" || cfg.Log.Format != "text" {
		t.Errorf("defaults not applied: %+v", cfg)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown top key", "lisen: x\n", []string{"test.yaml", "line 1", "field lisen not found"}},
		{"unknown nested key", "log:\n  levle: debug\n", []string{"line 2", "field levle not found"}},
		{"unknown user key", "users:\n  - name: u\n    pasword_hash: x\n", []string{"line 3", "field pasword_hash not found"}},
		{"unknown source key", "users:\n  - name: u\n    sources:\n      - name: s\n        typ: ics\n", []string{"line 5", "field typ not found"}},
		{"bad duration", "cache:\n  ttl: 5\n", []string{"line 2", "time.Duration"}},
		{"empty", "", []string{"empty"}},
		{"two documents", "listen: a:1\n---\nlisten: b:2\n", []string{"one YAML document"}},
		{"syntax", "users: [\n", []string{"test.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("test.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestValidateErrors(t *testing.T) {
	user := func(extra string) string {
		return "users:\n  - name: u\n    password_hash: '" + demoHash + "'\n" + extra
	}
	tests := []struct {
		name, yaml string
		path       string // key path of the expected *Error
		line       int
		want       string
	}{
		{"no users", "listen: 127.0.0.1:1\n", "users", 0, "no users"},
		{"base_path", "base_path: /dav\n" + user(""), "base_path", 1, "not supported"},
		{"listen", "listen: localhost\n" + user(""), "listen", 1, "host:port"},
		{"tls half", "tls: {cert_file: a.pem}\n" + user(""), "tls", 1, "both"},
		{"log level", "log: {level: loud}\n" + user(""), "log.level", 1, "debug, info"},
		{"log format", "log: {format: xml}\n" + user(""), "log.format", 1, "text or json"},
		{"user name", "users:\n  - name: 'a b'\n    password_hash: '" + demoHash + "'\n", "users[0].name", 2, "[A-Za-z0-9._@-]+"},
		{"user dotdot", "users:\n  - name: '..'\n    password_hash: '" + demoHash + "'\n", "users[0].name", 2, "not be . or .."},
		{"dup user", user("  - name: u\n    password_hash: '" + demoHash + "'\n"), "users[1].name", 4, `user "u" is already defined at users[0]`},
		{"no password", "users:\n  - name: u\n", "users[0]", 2, "exactly one of password_hash"},
		{"two passwords", user("    password_env: X\n"), "users[0]", 2, "exactly one of"},
		{"plain in hash", "users:\n  - name: u\n    password_hash: hunter2\n", "users[0]", 2, "davgate hash-password"},
		{"source name", user("    sources:\n      - {name: 'a~b', type: memory}\n"), "users[0].sources[0].name", 5, "[A-Za-z0-9_.-]+"},
		{"dup source", user("    sources:\n      - {name: s, type: memory}\n      - {name: s, type: memory}\n"),
			"users[0].sources[1].name", 6, `already has a source "s"`},
		{"unknown type", user("    sources:\n      - name: s\n        type: icz\n"), "users[0].sources[0].type", 6, `unknown source type "icz" (registered: `},
		{"color", user("    sources:\n      - name: s\n        type: memory\n        color: red\n"), "users[0].sources[0].color", 7, "#RRGGBB"},
		{"options unknown key", user("    sources:\n      - name: s\n        type: counting\n        options:\n          url: x\n          urll: y\n"),
			"users[0].sources[0].options", 7, "line 9: field urll not found in type config.countingOptions"},
		{"options nested unknown key", user("    sources:\n      - name: s\n        type: memory\n        options:\n          collections:\n            - id: a\n              knd: calendar\n"),
			"users[0].sources[0].options", 7, "line 10: field knd not found in type memory.CollectionOptions"},
		{"options not a map", user("    sources:\n      - name: s\n        type: counting\n        options: [1]\n"),
			"users[0].sources[0].options", 7, "must be a mapping"},
		{"options type", user("    sources:\n      - name: s\n        type: counting\n        options: {invalid: maybe}\n"),
			"users[0].sources[0].options", 7, "line 7: cannot unmarshal"},
		{"adapter New error", user("    sources:\n      - name: s\n        type: memory\n        options:\n          collections: [{id: a, kind: todo}]\n"),
			"users[0].sources[0].options", 7, `kind "todo" is not calendar or addressbook`},
		{"adapter Validate error", user("    sources:\n      - name: s\n        type: counting\n        options: {invalid: true}\n"),
			"users[0].sources[0].options", 7, "invalid is set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := parse(t, tt.yaml).Validate()
			if err == nil {
				t.Fatal("Validate succeeded")
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *config.Error", err)
			}
			if ce.Path != tt.path || ce.Line != tt.line {
				t.Errorf("first error at %s line %d, want %s line %d: %v", ce.Path, ce.Line, tt.path, tt.line, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
			if tt.path != "" && !strings.Contains(err.Error(), tt.path+":") {
				t.Errorf("error %q does not name the key path %s", err, tt.path)
			}
		})
	}
	if n := live.Load(); n != 0 {
		t.Errorf("%d instances created by Validate were not closed", n)
	}
}

func TestValidateReportsAllProblems(t *testing.T) {
	err := parse(t, "listen: x\nlog: {format: xml}\nusers: [{name: 'a b'}]\n").Validate()
	var n int
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ce *Error
		if errors.As(e, &ce) {
			n++
		}
	}
	if n != 4 { // listen, log.format, user name, password
		t.Errorf("got %d problems, want 4: %v", n, err)
	}
}

func TestUnknownTypeIsTyped(t *testing.T) {
	err := parse(t, "users:\n  - name: u\n    password_hash: '"+demoHash+"'\n    sources: [{name: s, type: nope}]\n").Validate()
	if !errors.Is(err, ErrUnknownType) {
		t.Fatalf("errors.Is(%v, ErrUnknownType) = false", err)
	}
}

func TestPasswords(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plainFile := write("plain", "s3cret\n")
	hashFile := write("hash", demoHash+"\r\n")
	emptyFile := write("empty", "\n")
	t.Setenv("DAVGATE_TEST_PLAIN", "envpw")
	t.Setenv("DAVGATE_TEST_HASH", demoHash)
	t.Setenv("DAVGATE_TEST_EMPTY", "")

	tests := []struct {
		name, key, value string
		pw               string // accepted password, if valid
		wantErr          string
	}{
		{"hash", "password_hash", demoHash, "demo", ""},
		{"file plain", "password_file", plainFile, "s3cret", ""},
		{"file hash", "password_file", hashFile, "demo", ""},
		{"file empty", "password_file", emptyFile, "", "empty password"},
		{"file missing", "password_file", filepath.Join(dir, "nope"), "", "no such file"},
		{"env plain", "password_env", "DAVGATE_TEST_PLAIN", "envpw", ""},
		{"env hash", "password_env", "DAVGATE_TEST_HASH", "demo", ""},
		{"env empty", "password_env", "DAVGATE_TEST_EMPTY", "", "DAVGATE_TEST_EMPTY is unset or empty"},
		{"env unset", "password_env", "DAVGATE_TEST_UNSET", "", "DAVGATE_TEST_UNSET is unset or empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := parse(t, fmt.Sprintf("users:\n  - name: u\n    %s: %q\n", tt.key, tt.value))
			rt, err := Build(context.Background(), cfg, adapters.Env{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Build error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close()
			ctx := context.Background()
			if !rt.Options.Auth.Authenticate(ctx, "u", tt.pw) {
				t.Errorf("password %q refused", tt.pw)
			}
			if rt.Options.Auth.Authenticate(ctx, "u", tt.pw+"\n") {
				t.Errorf("password %q with newline accepted", tt.pw)
			}
		})
	}
}

const sharedYAML = `
users:
  - name: alice
    password_hash: '` + demoHash + `'
    sources:
      - name: feed
        type: counting
        options: {url: "http://a/x.ics", tags: [a, b]}
      - name: other
        type: counting
        options: {url: "http://a/y.ics"}
      - name: mem
        type: memory
  - name: bob
    password_hash: '` + demoHash + `'
    sources:
      - name: shared
        type: counting
        color: "#112233"
        options:
          tags: [a, b]      # same options, other order and style
          url: http://a/x.ics
      - name: feed          # same name as alice's, other options
        type: counting
        options: {url: "http://a/z.ics"}
      - name: mem           # identical memory options: shared too
        type: memory
`

func TestBuildSharesInstances(t *testing.T) {
	resetCounts()
	cfg := parse(t, sharedYAML)
	if u, s, i := cfg.Counts(); u != 2 || s != 6 || i != 4 {
		t.Errorf("Counts() = %d users, %d sources, %d instances; want 2, 6, 4", u, s, i)
	}
	rt, err := Build(context.Background(), cfg, adapters.Env{StateDir: "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	countMu.Lock()
	if provisions["http://a/x.ics"] != 1 || provisions["http://a/y.ics"] != 1 || provisions["http://a/z.ics"] != 1 {
		t.Errorf("provisions = %v, want one per distinct feed", provisions)
	}
	countMu.Unlock()
	if got := int(live.Load()); got != 3 {
		t.Errorf("%d counting instances live, want 3", got)
	}

	var names []string
	for _, in := range rt.Instances {
		names = append(names, fmt.Sprintf("%s=%v", in.Name, in.Sources))
	}
	want := "feed=[alice/feed bob/shared] other=[alice/other] mem=[alice/mem bob/mem] bob/feed=[bob/feed]"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("instances:\n got %s\nwant %s", got, want)
	}

	users := rt.Options.Users
	if len(users) != 2 || users[0].Name != "alice" || users[1].Name != "bob" {
		t.Fatalf("users = %+v", users)
	}
	if users[0].Sources[0].Adapter != users[1].Sources[0].Adapter {
		t.Error("alice/feed and bob/shared do not share an adapter")
	}
	if users[0].Sources[0].Adapter == users[1].Sources[1].Adapter {
		t.Error("alice/feed and bob/feed share an adapter despite different options")
	}
	if s := users[1].Sources[0]; s.Name != "shared" || s.Color != "#112233" {
		t.Errorf("bob's first source = %+v", s)
	}

	health := rt.Options.Health()
	if len(health) != 4 || health[0].Name != "feed" || health[0].Type != "counting" || health[0].Status.Fetches != 3 {
		t.Errorf("health = %+v", health)
	}
	if !health[2].Status.Healthy { // memory reports no status: healthy
		t.Errorf("memory instance unhealthy: %+v", health[2])
	}
	if _, ok := users[0].Sources[0].Adapter.(*cache.Adapter); !ok {
		t.Errorf("source adapter %T is not wrapped by the cache", users[0].Sources[0].Adapter)
	}
	rec := httptest.NewRecorder()
	rt.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, w := range []string{
		`davgate_upstream_fetches_total{source="feed",type="counting"} 3`, // the adapter's own count
		`davgate_source_healthy{source="bob/feed",type="counting"} 1`,
		`davgate_cache_hits_total{cache="mem"} 0`,
	} {
		if !strings.Contains(rec.Body.String(), w) {
			t.Errorf("metrics lack %q", w)
		}
	}
	if rt.Options.MaxBodyBytes != DefaultMaxBodyBytes || rt.Options.Logger == nil || rt.Options.Metrics == nil {
		t.Errorf("options incomplete: %+v", rt.Options)
	}

	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rt.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	countMu.Lock()
	defer countMu.Unlock()
	// Validate opened and closed one instance per source; Build one per
	// distinct options. Each of those closed exactly once.
	if closes["http://a/x.ics"] != 3 || closes["http://a/z.ics"] != 2 {
		t.Errorf("closes = %v", closes)
	}
	if n := live.Load(); n != 0 {
		t.Errorf("%d instances left open", n)
	}
}

func TestBuildEnvPerInstance(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	cfg := parse(t, sharedYAML+"state_dir: "+dir+"\n")
	rt, err := Build(context.Background(), cfg, adapters.Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("state_dir: %v, %v", fi, err)
	}
	for _, in := range rt.Instances {
		c, ok := in.Raw.(*counting)
		if !ok {
			continue
		}
		if want := filepath.Join(dir, filepath.FromSlash(in.Name)); c.env.StateDir != want {
			t.Errorf("instance %s StateDir = %q, want %q", in.Name, c.env.StateDir, want)
		}
		if c.env.HTTP == nil || c.env.Now == nil || c.env.Logger == nil {
			t.Errorf("instance %s env incomplete", in.Name)
		}
	}
}

func TestBuildProvisionFailureClosesInstances(t *testing.T) {
	resetCounts()
	cfg := parse(t, `
users:
  - name: u
    password_hash: '`+demoHash+`'
    sources:
      - {name: ok, type: counting, options: {url: "http://ok"}}
      - {name: bad, type: counting, options: {url: "http://bad", provision_err: true}}
`)
	_, err := Build(context.Background(), cfg, adapters.Env{})
	if !errors.Is(err, adapters.ErrUnavailable) {
		t.Fatalf("Build error %v, want ErrUnavailable", err)
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Path != "users[0].sources[1]" {
		t.Errorf("error %v does not name users[0].sources[1]", err)
	}
	if n := live.Load(); n != 0 {
		t.Errorf("%d instances left open after failed Build", n)
	}
}

func TestCanonicalKey(t *testing.T) {
	key := func(y string) string {
		cfg := parse(t, "users: [{name: u, sources: [{name: s, type: t, options: "+y+"}]}]")
		k, err := canonicalKey("t", &cfg.Users[0].Sources[0].Options)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	same := [][2]string{
		{"{a: 1, b: [x, y]}", "{b: [x, y], a: 1}"},
		{"{a: {c: 1, d: 2}}", "{a: {d: 2, c: 1}}"},
		{"{a: 'x'}", "{a: \"x\"}"},
	}
	for _, p := range same {
		if key(p[0]) != key(p[1]) {
			t.Errorf("%s and %s differ", p[0], p[1])
		}
	}
	diff := [][2]string{
		{"{a: 1}", "{a: 2}"},
		{"{a: [x, y]}", "{a: [y, x]}"},
		{"{a: 1}", "{a: '1'}"},
	}
	for _, p := range diff {
		if key(p[0]) == key(p[1]) {
			t.Errorf("%s and %s are the same", p[0], p[1])
		}
	}
}
