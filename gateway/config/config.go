// Package config loads davgate's YAML configuration, validates it offline
// and builds the gateway's runtime (adapter instances, authenticator,
// metrics) from it.
//
// Unknown keys are rejected everywhere, with the line they are on. The
// schema, with defaults:
//
//	# Address to listen on (host:port). Default "127.0.0.1:5232".
//	listen: "127.0.0.1:5232"
//	# Reserved for serving under a URL prefix; must be empty (or omitted).
//	base_path: ""
//	# Serve HTTPS with these PEM files. Set both or neither.
//	tls:
//	  cert_file: ""
//	  key_file: ""
//	log:
//	  level: info          # debug | info | warn | error
//	  format: text         # text | json
//	# Largest accepted request body in bytes (413 beyond). Default 10 MiB.
//	max_body_bytes: 10485760
//	# Directory where adapters keep durable state (OAuth tokens). Created
//	# with mode 0700 at start if set; each adapter instance gets the
//	# subdirectory named after it. Empty means no durable state.
//	state_dir: ""
//	cache:
//	  max_bytes: 268435456 # memory bound of the object cache (256 MiB)
//	  ttl: 30s             # how long listings are served without asking the adapter
//	users:
//	  - name: demo         # [A-Za-z0-9._@-]+, unique; the Basic auth user name
//	    # Exactly one of password_hash, password_file, password_env:
//	    password_hash: "$2a$10$..."  # bcrypt, or argon2id PHC ($argon2id$v=19$m=..,t=..,p=..$salt$hash);
//	                                 # make one with `davgate hash-password`
//	    # password_file: /run/secrets/demo   # file holding a hash as above or a plain
//	    #                                    # password; one trailing newline is trimmed
//	    # password_env: DAVGATE_DEMO_PASSWORD # environment variable, same contents
//	    sources:
//	      - name: holidays   # [A-Za-z0-9_.-]+, unique per user; first URL segment of its collections
//	        type: ics        # a registered adapter type: ics, memory, google, ews
//	        display_name: "" # optional: overrides the collections' display name
//	        color: ""        # optional: overrides their color, #RRGGBB or #RRGGBBAA
//	        options: {}      # adapter-specific; decoded and checked by the adapter only
//
// Sources of any users with the same type and identical options share one
// adapter instance (a feed shared by several users is fetched once).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// Defaults applied by Parse to keys left out.
const (
	DefaultListen       = "127.0.0.1:5232"
	DefaultMaxBodyBytes = 10 << 20
	DefaultCacheBytes   = 256 << 20
	DefaultCacheTTL     = 30 * time.Second
)

// Config is a parsed configuration file. See the package documentation for
// the meaning of each key.
type Config struct {
	Listen       string `yaml:"listen"`
	BasePath     string `yaml:"base_path"`
	TLS          TLS    `yaml:"tls"`
	Log          Log    `yaml:"log"`
	MaxBodyBytes int64  `yaml:"max_body_bytes"`
	StateDir     string `yaml:"state_dir"`
	Cache        Cache  `yaml:"cache"`
	Users        []User `yaml:"users"`

	// File is the path the configuration was read from, for messages.
	File string `yaml:"-"`
	// line numbers of keys, for messages.
	lines map[string]int
}

// TLS enables HTTPS.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether TLS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// Log configures the process logger.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Cache bounds the object cache in front of every adapter instance.
type Cache struct {
	MaxBytes int64         `yaml:"max_bytes"`
	TTL      time.Duration `yaml:"ttl"`
}

// User is one principal and its sources.
type User struct {
	Name         string   `yaml:"name"`
	PasswordHash string   `yaml:"password_hash"`
	PasswordFile string   `yaml:"password_file"`
	PasswordEnv  string   `yaml:"password_env"`
	Sources      []Source `yaml:"sources"`
}

// Source is one adapter instance as a user sees it.
type Source struct {
	Name        string `yaml:"name"`
	Type        string `yaml:"type"`
	DisplayName string `yaml:"display_name"`
	Color       string `yaml:"color"`
	// Options is the raw node, decoded only by the adapter.
	Options yaml.Node `yaml:"options"`
}

// Load reads and parses the file at path. It checks syntax and unknown
// keys; call Validate for everything else.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse parses a configuration; name is used in messages. Keys left out
// get their defaults.
func Parse(name string, data []byte) (*Config, error) {
	cfg := &Config{File: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: the file is empty; start from configs/example.yaml", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// A second document would be silently ignored otherwise.
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: only one YAML document is allowed (found another after \"---\")", name)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil {
		cfg.lines = map[string]int{}
		recordLines(&root, "", cfg.lines)
	}
	cfg.setDefaults()
	return cfg, nil
}

func (c *Config) setDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Cache.MaxBytes == 0 {
		c.Cache.MaxBytes = DefaultCacheBytes
	}
	if c.Cache.TTL == 0 {
		c.Cache.TTL = DefaultCacheTTL
	}
}

// recordLines maps key paths ("users[0].sources[1].options") to lines.
func recordLines(n *yaml.Node, path string, m map[string]int) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			recordLines(c, path, m)
		}
	case yaml.MappingNode:
		if _, ok := m[path]; !ok { // keep the key's line over its value's
			m[path] = n.Line
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			m[p] = n.Content[i].Line
			recordLines(n.Content[i+1], p, m)
		}
	case yaml.SequenceNode:
		if _, ok := m[path]; !ok {
			m[path] = n.Line
		}
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			m[p] = c.Line
			recordLines(c, p, m)
		}
	}
}

// slogLevel returns the slog level for log.level.
func (l Log) slogLevel() (slog.Level, error) {
	switch l.Level {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("%q is not one of debug, info, warn, error", l.Level)
}

// NewLogger returns a logger writing to w in the configured format and
// level. Call it after Validate; invalid values fall back to text/info.
func (l Log) NewLogger(w io.Writer) *slog.Logger {
	lv, _ := l.slogLevel()
	opts := &slog.HandlerOptions{Level: lv}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Counts returns the number of users, sources and distinct adapter
// instances (sources sharing type and options count once).
func (c *Config) Counts() (users, sources, instances int) {
	keys := map[string]bool{}
	for _, u := range c.Users {
		for _, s := range u.Sources {
			sources++
			k, err := canonicalKey(s.Type, &s.Options)
			if err != nil {
				k = fmt.Sprintf("invalid:%s/%s", u.Name, s.Name)
			}
			keys[k] = true
		}
	}
	return len(c.Users), sources, len(keys)
}
