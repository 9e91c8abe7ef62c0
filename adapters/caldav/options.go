package caldav

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"
)

// Options configure one CalDAV/CardDAV account.
type Options struct {
	// URL is the server root (discovery goes through /.well-known), the
	// user's principal, a home set or one collection. A collection URL
	// limits the instance to that collection.
	URL string `yaml:"url"`
	// Username and the password are sent as HTTP Basic credentials. At
	// most one of Password, PasswordEnv (an environment variable name)
	// and PasswordFile (a file whose first line is the password) is set.
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	// Collections, if set, is an allow-list: collection IDs ("work") or
	// absolute collection paths ("/dav/calendars/alice/work/").
	Collections []string `yaml:"collections"`
	// InsecureSkipVerify accepts any TLS certificate. Off by default; for
	// self-signed test servers only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// Timeout bounds one HTTP request, default 60s.
	Timeout time.Duration `yaml:"timeout"`
}

const defaultTimeout = 60 * time.Second

// LogValue keeps credentials out of logs.
func (o Options) LogValue() slog.Value {
	pw := ""
	if o.Password != "" {
		pw = "REDACTED"
	}
	return slog.GroupValue(
		slog.String("url", o.URL),
		slog.String("username", o.Username),
		slog.String("password", pw),
		slog.String("password_env", o.PasswordEnv),
		slog.String("password_file", o.PasswordFile),
	)
}

// Validate checks the options without I/O.
func (o Options) Validate() error {
	if o.URL == "" {
		return errors.New("caldav: url is required")
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		return fmt.Errorf("caldav: url: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("caldav: url %q must be an http:// or https:// URL", o.URL)
	}
	if u.User != nil {
		return errors.New("caldav: put credentials in username/password options, not in the url")
	}
	n := 0
	for _, s := range []string{o.Password, o.PasswordEnv, o.PasswordFile} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return errors.New("caldav: set at most one of password, password_env and password_file")
	}
	if n == 1 && o.Username == "" {
		return errors.New("caldav: a password needs a username")
	}
	if o.Timeout < 0 {
		return errors.New("caldav: timeout must not be negative")
	}
	return nil
}

// password resolves the password at Provision time, so that secrets in
// files or the environment can rotate between restarts.
func (o Options) password() (string, error) {
	switch {
	case o.PasswordEnv != "":
		v, ok := os.LookupEnv(o.PasswordEnv)
		if !ok {
			return "", fmt.Errorf("caldav: password_env: variable %s is not set", o.PasswordEnv)
		}
		return v, nil
	case o.PasswordFile != "":
		b, err := os.ReadFile(o.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("caldav: password_file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		return strings.TrimRight(line, "\r"), nil
	}
	return o.Password, nil
}
