// Package google is the adapter for Google Calendar (API v3) and Google
// Contacts (People API v1). One instance serves one Google account: its
// calendars (collection ID = Google calendar ID) and, optionally, one
// address book (collection ID "contacts").
//
// The instance keeps an in-memory mirror of each collection fed by
// Google's sync tokens, because Google's incremental sync returns single
// changed events while a CalDAV object is a whole series: the mirror lets
// a delta be answered with complete objects and no per-event GETs.
package google

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/time/rate"
	calendar "google.golang.org/api/calendar/v3"
	"google.golang.org/api/option"
	people "google.golang.org/api/people/v1"

	"github.com/davgate/davgate/adapters"
)

func init() {
	adapters.Register(adapters.Info{Type: "google", New: New})
}

// Default endpoints and scopes.
const (
	DefaultCalendarEndpoint = "https://www.googleapis.com/calendar/v3/"
	DefaultPeopleEndpoint   = "https://people.googleapis.com/"
	DefaultAuthURL          = "https://accounts.google.com/o/oauth2/auth"
	DefaultTokenURL         = "https://oauth2.googleapis.com/token"
	DefaultDeviceAuthURL    = "https://oauth2.googleapis.com/device/code"
	ScopeCalendar           = "https://www.googleapis.com/auth/calendar"
	ScopeContacts           = "https://www.googleapis.com/auth/contacts"
	// ContactsCollection is the ID of the address book collection.
	ContactsCollection = "contacts"
)

// Options configure a google instance (one Google account).
type Options struct {
	ClientID         string   `yaml:"client_id"`
	ClientSecret     string   `yaml:"client_secret"`
	ClientSecretFile string   `yaml:"client_secret_file"`
	Scopes           []string `yaml:"scopes"`
	CalendarEndpoint string   `yaml:"calendar_endpoint"`
	PeopleEndpoint   string   `yaml:"people_endpoint"`
	AuthURL          string   `yaml:"auth_url"`
	TokenURL         string   `yaml:"token_url"`
	DeviceAuthURL    string   `yaml:"device_auth_url"`
	// Calendars is an allow-list of calendar IDs; empty means all of
	// calendarList.
	Calendars []string `yaml:"calendars"`
	// Contacts enables the address book (default true).
	Contacts *bool `yaml:"contacts"`
	// VCardVersion is the version served for contacts created on the
	// Google side: "3.0" (default) or "4.0".
	VCardVersion string `yaml:"vcard_version"`
	// MaxRetries bounds retries of throttled or failed calls (default 5).
	MaxRetries int `yaml:"max_retries"`
	// MaxRetryWait bounds the total time spent retrying one call
	// (default 60s).
	MaxRetryWait time.Duration `yaml:"max_retry_wait"`
	// RetryBaseDelay is the first backoff step (default 1s).
	RetryBaseDelay time.Duration `yaml:"retry_base_delay"`
	// Rate is requests per second per API for this account (default 8,
	// below Google's 600/min/user quota).
	Rate float64 `yaml:"rate"`
	// TokenFile holds the OAuth token (default <state_dir>/token.json).
	TokenFile string `yaml:"token_file"`
	// ReauthHint is shown in Status when the token is rejected, e.g.
	// "davgate auth google -config F -user U -source S". The gateway
	// fills it; it is not meant for configuration files.
	ReauthHint string `yaml:"-"`
}

// LogValue keeps the client secret out of logs.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", o.ClientID), slog.Bool("client_secret", o.ClientSecret != ""),
		slog.String("token_file", o.TokenFile), slog.Any("calendars", o.Calendars))
}

func (o *Options) defaults(env adapters.Env) {
	if len(o.Scopes) == 0 {
		o.Scopes = []string{ScopeCalendar, ScopeContacts}
	}
	o.CalendarEndpoint = withSlash(cmpOr(o.CalendarEndpoint, DefaultCalendarEndpoint))
	o.PeopleEndpoint = withSlash(cmpOr(o.PeopleEndpoint, DefaultPeopleEndpoint))
	o.AuthURL = cmpOr(o.AuthURL, DefaultAuthURL)
	o.TokenURL = cmpOr(o.TokenURL, DefaultTokenURL)
	o.DeviceAuthURL = cmpOr(o.DeviceAuthURL, DefaultDeviceAuthURL)
	if o.Contacts == nil {
		t := true
		o.Contacts = &t
	}
	o.VCardVersion = cmpOr(o.VCardVersion, "3.0")
	if o.MaxRetries == 0 {
		o.MaxRetries = 5
	}
	if o.MaxRetryWait == 0 {
		o.MaxRetryWait = 60 * time.Second
	}
	if o.RetryBaseDelay == 0 {
		o.RetryBaseDelay = time.Second
	}
	if o.Rate == 0 {
		o.Rate = 8
	}
	if o.ReauthHint == "" {
		o.ReauthHint = env.Reauth
	}
	if o.TokenFile == "" && env.StateDir != "" {
		o.TokenFile = filepath.Join(env.StateDir, "token.json")
	}
}

// withSlash: option.WithEndpoint needs the service path with a trailing
// slash, or the version segment is dropped from request paths.
func withSlash(s string) string {
	if !strings.HasSuffix(s, "/") {
		return s + "/"
	}
	return s
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Adapter is one Google account.
type Adapter struct {
	opts  Options
	env   adapters.Env
	log   *slog.Logger
	epoch string // tells this process's sync tokens from earlier ones

	oauth *oauth2.Config
	ts    *persistingSource
	cal   *calendar.Service
	ppl   *people.Service

	calLimit, pplLimit *rate.Limiter
	// writeMu serialises People mutations: Google asks for one at a
	// time per user.
	writeMu sync.Mutex

	mu        sync.Mutex
	cals      map[string]*calState
	listed    bool // cals holds a calendarList answer
	contacts  *bookState
	status    adapters.Status
	needsAuth bool
}

// New decodes options and sets defaults. It does no I/O.
func New(o adapters.Options, env adapters.Env) (adapters.Adapter, error) {
	var opts Options
	if err := o.Decode(&opts); err != nil {
		return nil, err
	}
	return NewWith(opts, env)
}

// NewWith builds an instance from decoded options, without I/O.
func NewWith(opts Options, env adapters.Env) (*Adapter, error) {
	env = env.WithDefaults()
	opts.defaults(env)
	var b [6]byte
	_, _ = rand.Read(b[:])
	a := &Adapter{
		opts:     opts,
		env:      env,
		log:      env.Logger.With("adapter", "google"),
		epoch:    hex.EncodeToString(b[:]),
		oauth:    oauthConfig(opts),
		calLimit: rate.NewLimiter(rate.Limit(opts.Rate), max(1, int(opts.Rate))),
		pplLimit: rate.NewLimiter(rate.Limit(opts.Rate), max(1, int(opts.Rate))),
		cals:     map[string]*calState{},
		status:   adapters.Status{Healthy: true},
	}
	return a, nil
}

// Validate checks the options without I/O.
func (a *Adapter) Validate() error {
	o := a.opts
	if o.ClientID == "" {
		return errors.New("google: client_id is required")
	}
	if o.ClientSecret != "" && o.ClientSecretFile != "" {
		return errors.New("google: set client_secret or client_secret_file, not both")
	}
	if o.TokenFile == "" {
		return errors.New("google: token_file is required when the instance has no state directory")
	}
	if o.VCardVersion != "3.0" && o.VCardVersion != "4.0" {
		return fmt.Errorf("google: vcard_version %q is not 3.0 or 4.0", o.VCardVersion)
	}
	if o.Rate < 0 || o.MaxRetries < 0 {
		return errors.New("google: rate and max_retries must not be negative")
	}
	return nil
}

// Provision reads the client secret file and the stored token and builds
// the API clients. A missing or unusable token does not fail Provision:
// the instance starts unhealthy, asking for re-authorisation, so the
// other instances of the gateway keep serving.
func (a *Adapter) Provision(ctx context.Context) error {
	if a.opts.ClientSecretFile != "" {
		b, err := os.ReadFile(a.opts.ClientSecretFile)
		if err != nil {
			return fmt.Errorf("google: client_secret_file: %w", err)
		}
		a.opts.ClientSecret = strings.TrimSpace(string(b))
		a.oauth = oauthConfig(a.opts)
	}
	tok, err := readToken(a.opts.TokenFile)
	if err != nil {
		a.log.Warn("no usable OAuth token; the instance needs authorisation", "token_file", a.opts.TokenFile, "err", err)
		a.markNeedsAuth(err)
	}
	a.ts = newPersistingSource(a.oauth, tok, a.opts.TokenFile, a.env.HTTP, a.markNeedsAuth)
	base := a.env.HTTP.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	client := &http.Client{Timeout: a.env.HTTP.Timeout, Transport: &oauth2.Transport{Source: a.ts, Base: base}}
	if a.cal, err = calendar.NewService(ctx, option.WithHTTPClient(client), option.WithEndpoint(a.opts.CalendarEndpoint)); err != nil {
		return fmt.Errorf("google: calendar client: %w", err)
	}
	if a.ppl, err = people.NewService(ctx, option.WithHTTPClient(client), option.WithEndpoint(a.opts.PeopleEndpoint)); err != nil {
		return fmt.Errorf("google: people client: %w", err)
	}
	return nil
}

// Close implements adapters.Adapter.
func (a *Adapter) Close() error { return nil }

func (a *Adapter) markNeedsAuth(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.needsAuth = true
	a.status.Healthy = false
	a.status.LastError = err.Error()
}

func (a *Adapter) reauthDetail() string {
	hint := a.opts.ReauthHint
	if hint == "" {
		hint = "davgate auth google -config F -user U -source S"
	}
	return "Google rejected the stored token (invalid_grant) or there is none; run: " + hint
}

// Status implements adapters.StatusReporter.
func (a *Adapter) Status() adapters.Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.status
	if a.needsAuth {
		st.Healthy = false
		st.Detail = a.reauthDetail()
	}
	return st
}

// record updates Status after one upstream call.
func (a *Adapter) record(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status.Fetches++
	switch {
	case err == nil:
		a.status.LastSuccess = a.env.Now()
		a.status.Healthy = true
		a.status.Detail = ""
	case errors.Is(err, context.Canceled), isRequestError(err):
	default:
		a.status.Failures++
		a.status.Healthy = false
		a.status.LastError = err.Error()
		a.status.Detail = "upstream failing: " + err.Error()
	}
}

func isRequestError(err error) bool {
	for _, e := range []error{adapters.ErrNotFound, adapters.ErrPrecondition, adapters.ErrReadOnly,
		adapters.ErrUnsupported, adapters.ErrInvalid, adapters.ErrInvalidToken} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// authorised returns ErrUnauthorized while the instance needs
// re-authorisation, without calling Google (which would only say
// invalid_grant again).
func (a *Adapter) authorised() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.needsAuth {
		return fmt.Errorf("google: %s: %w", a.reauthDetail(), adapters.ErrUnauthorized)
	}
	return nil
}

// calendarAllowed applies the allow-list.
func (a *Adapter) calendarAllowed(id string) bool {
	return len(a.opts.Calendars) == 0 || slices.Contains(a.opts.Calendars, id)
}

var (
	_ adapters.Reader           = (*Adapter)(nil)
	_ adapters.Writer           = (*Adapter)(nil)
	_ adapters.CollectionWriter = (*Adapter)(nil)
	_ adapters.ChangeLister     = (*Adapter)(nil)
	_ adapters.StatusReporter   = (*Adapter)(nil)
	_ adapters.Validator        = (*Adapter)(nil)
	_ adapters.Provisioner      = (*Adapter)(nil)
)
