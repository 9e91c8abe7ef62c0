package ics

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/davgate/davgate/adapters"
)

// Options configure one feed. Durations are Go durations ("90m", "1h").
type Options struct {
	// URL is https://, http://, webcal:// or webcals:// (both fetched over
	// https), file:// or a plain path to a local file.
	URL string `yaml:"url"`
	// Refresh is how long a fetched copy is served before the feed is
	// asked again. When unset, the feed's REFRESH-INTERVAL or
	// X-PUBLISHED-TTL applies, clamped to [MinRefresh, MaxRefresh], and
	// else one hour.
	Refresh    time.Duration `yaml:"refresh"`
	MinRefresh time.Duration `yaml:"min_refresh"` // default 5m
	MaxRefresh time.Duration `yaml:"max_refresh"` // default 24h
	// UserAgent overrides the default "davgate/<version> (+ICS feed
	// gateway)"; Microsoft 365 answers 500 to agents it does not know.
	UserAgent string `yaml:"user_agent"`
	// Username and Password are sent as HTTP Basic credentials. A
	// user:pass@ part of URL is used the same way.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// Headers are added to every request.
	Headers map[string]string `yaml:"headers"`
	// AllowPrivate permits loopback, private, link-local and unspecified
	// addresses. It is off so that a feed URL cannot probe the network
	// davgate runs in.
	AllowPrivate bool `yaml:"allow_private"`
	// Name, Color and Description override X-WR-CALNAME,
	// X-APPLE-CALENDAR-COLOR and X-WR-CALDESC.
	Name        string `yaml:"name"`
	Color       string `yaml:"color"`
	Description string `yaml:"description"`
	// StripAlarms removes VALARMs, which feeds rarely mean for the reader.
	StripAlarms bool `yaml:"strip_alarms"`
	// Timeout bounds one fetch, default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxSize bounds the feed body in bytes, default 50 MiB.
	MaxSize int64 `yaml:"max_size"`
}

const (
	defaultRefresh    = time.Hour
	defaultMinRefresh = 5 * time.Minute
	defaultMaxRefresh = 24 * time.Hour
	defaultTimeout    = 30 * time.Second
	defaultMaxSize    = 50 << 20
)

// withDefaults fills unset fields; Refresh stays zero so that the feed's
// own hint can apply.
func (o Options) withDefaults() Options {
	if o.MinRefresh <= 0 {
		o.MinRefresh = defaultMinRefresh
	}
	if o.MaxRefresh <= 0 {
		o.MaxRefresh = defaultMaxRefresh
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.MaxSize <= 0 {
		o.MaxSize = defaultMaxSize
	}
	if o.UserAgent == "" {
		o.UserAgent = defaultUserAgent()
	}
	return o
}

func defaultUserAgent() string {
	v := "dev"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return "davgate/" + v + " (+ICS feed gateway)"
}

// LogValue redacts credentials, header values and the URL's secrets.
func (o Options) LogValue() slog.Value {
	hdr := make([]string, 0, len(o.Headers))
	for k := range o.Headers {
		hdr = append(hdr, k)
	}
	pw := ""
	if o.Password != "" {
		pw = "REDACTED"
	}
	return slog.GroupValue(
		slog.String("url", redactURL(o.URL)),
		slog.String("username", o.Username),
		slog.String("password", pw),
		slog.Any("headers", hdr),
		slog.Duration("refresh", o.Refresh),
		slog.Bool("allow_private", o.AllowPrivate),
	)
}

// source is where the feed comes from, parsed once.
type source struct {
	url      string // http(s) URL without userinfo, or ""
	path     string // local file, or ""
	user     string
	pass     string
	redacted string // for logs and errors
}

var colorRE = regexp.MustCompile(`^#[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?$`)

func parseSource(raw string) (source, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return source{}, fmt.Errorf("ics: url is required: %w", adapters.ErrInvalid)
	}
	scheme, rest, hasScheme := strings.Cut(raw, "://")
	if !hasScheme {
		return source{path: filepath.Clean(raw), redacted: filepath.Clean(raw)}, nil
	}
	switch strings.ToLower(scheme) {
	case "file":
		u, err := url.Parse(raw)
		if err != nil || (u.Host != "" && u.Host != "localhost") {
			return source{}, fmt.Errorf("ics: url %q: want file:///absolute/path: %w", redactURL(raw), adapters.ErrInvalid)
		}
		return source{path: filepath.FromSlash(u.Path), redacted: u.Path}, nil
	case "webcal", "webcals", "https":
		raw = "https://" + rest
	case "http":
	default:
		return source{}, fmt.Errorf("ics: url scheme %q is not http, https, webcal, webcals or file: %w", scheme, adapters.ErrInvalid)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return source{}, fmt.Errorf("ics: url %q is not a valid URL: %w", redactURL(raw), adapters.ErrInvalid)
	}
	s := source{}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
		u.User = nil
	}
	s.url = u.String()
	s.redacted = redactURL(s.url)
	return s, nil
}

// redactURL keeps scheme, host and a harmless file name: feeds carry
// secrets in userinfo, query and path (Google's private-<key>/basic.ics).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		if strings.Contains(raw, "://") {
			return "(unparsable URL)"
		}
		return raw // a local path
	}
	out := u.Scheme + "://" + u.Host
	segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	last := segs[len(segs)-1]
	switch {
	case last == "":
		out += "/"
	case len(segs) == 1 && !secretish(last):
		out += "/" + last
	case !secretish(last):
		out += "/…/" + last
	default:
		out += "/…"
	}
	if u.RawQuery != "" {
		out += "?…"
	}
	return out
}

// secretish guesses whether a path segment is a token: long, or mostly
// digits and letters mixed without separators.
func secretish(seg string) bool {
	if len(seg) > 40 {
		return true
	}
	digits := 0
	for _, r := range seg {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	return len(seg) >= 16 && digits >= 4
}

// Validate implements adapters.Validator. It is pure.
func (a *Adapter) Validate() error {
	o := a.opts
	if a.srcErr != nil {
		return a.srcErr
	}
	if o.Refresh != 0 && o.Refresh < time.Second {
		return fmt.Errorf("ics: refresh %s is below 1s: %w", o.Refresh, adapters.ErrInvalid)
	}
	if o.MinRefresh > o.MaxRefresh {
		return fmt.Errorf("ics: min_refresh %s exceeds max_refresh %s: %w", o.MinRefresh, o.MaxRefresh, adapters.ErrInvalid)
	}
	if o.Color != "" && !colorRE.MatchString(o.Color) {
		return fmt.Errorf("ics: color %q is not #RRGGBB or #RRGGBBAA: %w", o.Color, adapters.ErrInvalid)
	}
	for k, v := range o.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n") || strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("ics: header %q is not a valid HTTP header: %w", k, adapters.ErrInvalid)
		}
		if http.CanonicalHeaderKey(k) == "Host" {
			return fmt.Errorf("ics: header Host cannot be set: %w", adapters.ErrInvalid)
		}
	}
	if a.src.path != "" && (o.Username != "" || len(o.Headers) > 0) {
		return fmt.Errorf("ics: username and headers need an http(s) url, not the file %q: %w", a.src.path, adapters.ErrInvalid)
	}
	return nil
}
