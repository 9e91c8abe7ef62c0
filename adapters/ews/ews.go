// Package ews is the adapter for Microsoft Exchange through Exchange Web
// Services (on-premises Exchange 2013+, and Exchange Online with OAuth2
// until Microsoft turns EWS off there).
//
// One instance serves one mailbox: its calendar folder and the calendars
// below it, plus configured shared calendars of other mailboxes. Objects
// are read with FindItem (ids and ChangeKeys) and batched GetItem
// (typed properties, then MimeContent where needed), and kept in a
// per-collection mirror keyed by ChangeKey; sync tokens stand for
// SyncFolderItems states kept in memory.
//
// Writes keep what the client sent: the object ID (the client's href) and
// the client's iCalendar are stored in extended properties of the item
// (PublicStrings "davgate-id" and "davgate-ical"), with a fingerprint of
// Exchange's typed properties taken after the write ("davgate-fp"). A read
// serves the stored iCalendar as long as the fingerprint still matches, and
// Exchange's own export (MimeContent) once the item changed elsewhere.
package ews

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/davgate/davgate/adapters"
)

func init() {
	adapters.Register(adapters.Info{Type: "ews", New: New})
}

// Auth methods.
const (
	AuthBasic  = "basic"
	AuthNTLM   = "ntlm"
	AuthOAuth2 = "oauth2"
)

// DefaultServerVersion is the RequestServerVersion sent by default.
const DefaultServerVersion = "Exchange2013_SP1"

// DefaultOAuth2Scope is the app-only scope of Exchange Online EWS.
const DefaultOAuth2Scope = "https://outlook.office365.com/.default"

// Options configure an ews instance.
type Options struct {
	// URL is the EWS endpoint, e.g. https://mail.example.com/EWS/Exchange.asmx.
	URL string `yaml:"url"`
	// Auth is basic (default), ntlm or oauth2.
	Auth     string `yaml:"auth"`
	Username string `yaml:"username"`
	// Password, PasswordEnv (an environment variable) or PasswordFile.
	Password     string `yaml:"password"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	// OAuth2 configures auth: oauth2.
	OAuth2 OAuth2Options `yaml:"oauth2"`
	// Mailbox, when set, is the SMTP address every call impersonates
	// (ExchangeImpersonation + X-AnchorMailbox); required with app-only
	// OAuth2.
	Mailbox string `yaml:"mailbox"`
	// SharedCalendars are other mailboxes whose calendar folder is
	// served too (delegate access), as SMTP addresses.
	SharedCalendars []string `yaml:"shared_calendars"`
	// SendInvitations sends meeting invitations and cancellations to
	// attendees on writes (default false: SendToNone).
	SendInvitations bool `yaml:"send_invitations"`
	// ServerVersion is the RequestServerVersion (default Exchange2013_SP1).
	ServerVersion string `yaml:"server_version"`
	// DeleteType is MoveToDeletedItems (default), SoftDelete or HardDelete.
	DeleteType string `yaml:"delete_type"`
	// PageSize is FindItem's page size (default 500, at most 1000).
	PageSize int `yaml:"page_size"`
	// BatchSize is the number of items per GetItem (default 50).
	BatchSize int `yaml:"batch_size"`
	// MaxRetries bounds retries of throttled or failed calls (default 3).
	MaxRetries int `yaml:"max_retries"`
	// MaxRetryWait bounds the time spent retrying one call (default 30s);
	// a longer server back-off is reported as 503 with Retry-After.
	MaxRetryWait time.Duration `yaml:"max_retry_wait"`
	// RetryBaseDelay is the first backoff step (default 1s).
	RetryBaseDelay time.Duration `yaml:"retry_base_delay"`
}

// OAuth2Options configure OAuth2 for Exchange Online: app-only (client
// credentials; set mailbox to impersonate) or delegated with a refresh
// token.
type OAuth2Options struct {
	// TenantID builds the token URL when TokenURL is empty.
	TenantID         string `yaml:"tenant_id"`
	TokenURL         string `yaml:"token_url"`
	ClientID         string `yaml:"client_id"`
	ClientSecret     string `yaml:"client_secret"`
	ClientSecretEnv  string `yaml:"client_secret_env"`
	ClientSecretFile string `yaml:"client_secret_file"`
	// Scopes default to https://outlook.office365.com/.default.
	Scopes []string `yaml:"scopes"`
	// RefreshToken, when set, selects the delegated flow (scope
	// EWS.AccessAsUser.All offline_access).
	RefreshToken string `yaml:"refresh_token"`
}

// LogValue keeps secrets out of logs.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", o.URL), slog.String("auth", o.Auth), slog.String("username", o.Username),
		slog.Bool("password", o.Password != "" || o.PasswordEnv != "" || o.PasswordFile != ""),
		slog.String("mailbox", o.Mailbox), slog.Any("shared_calendars", o.SharedCalendars))
}

func (o *Options) defaults() {
	if o.Auth == "" {
		o.Auth = AuthBasic
	}
	o.Auth = strings.ToLower(o.Auth)
	if o.ServerVersion == "" {
		o.ServerVersion = DefaultServerVersion
	}
	if o.DeleteType == "" {
		o.DeleteType = "MoveToDeletedItems"
	}
	if o.PageSize <= 0 {
		o.PageSize = 500
	}
	o.PageSize = min(o.PageSize, 1000)
	if o.BatchSize <= 0 {
		o.BatchSize = 50
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 3
	}
	if o.MaxRetryWait == 0 {
		o.MaxRetryWait = 30 * time.Second
	}
	if o.RetryBaseDelay == 0 {
		o.RetryBaseDelay = time.Second
	}
	if len(o.OAuth2.Scopes) == 0 {
		o.OAuth2.Scopes = []string{DefaultOAuth2Scope}
	}
	if o.OAuth2.TokenURL == "" && o.OAuth2.TenantID != "" {
		o.OAuth2.TokenURL = "https://login.microsoftonline.com/" + url.PathEscape(o.OAuth2.TenantID) + "/oauth2/v2.0/token"
	}
}

// Adapter is one EWS mailbox.
type Adapter struct {
	opts  Options
	env   adapters.Env
	log   *slog.Logger
	epoch string // tells this process's sync tokens from earlier ones
	c     *Client

	mu     sync.Mutex
	colls  map[string]*collState
	status adapters.Status
}

// New decodes options and sets defaults. It does no I/O.
func New(o adapters.Options, env adapters.Env) (adapters.Adapter, error) {
	var opts Options
	if err := o.Decode(&opts); err != nil {
		return nil, err
	}
	return NewWith(opts, env)
}

// NewWith builds an instance from decoded options, without I/O. The
// client is usable at once when the password is given inline (tests);
// Provision resolves password_env, password_file and OAuth2 secrets.
func NewWith(opts Options, env adapters.Env) (*Adapter, error) {
	env = env.WithDefaults()
	opts.defaults()
	var b [6]byte
	_, _ = rand.Read(b[:])
	a := &Adapter{
		opts:   opts,
		env:    env,
		log:    env.Logger.With("adapter", "ews"),
		epoch:  hex.EncodeToString(b[:]),
		colls:  map[string]*collState{},
		status: adapters.Status{Healthy: true},
	}
	a.c = a.newClient(opts.Password, nil)
	return a, nil
}

func (a *Adapter) newClient(password string, ts oauth2.TokenSource) *Client {
	c := NewClient(ClientConfig{
		URL: a.opts.URL, HTTP: a.env.HTTP, Auth: a.opts.Auth, Username: a.opts.Username, Password: password,
		TokenSource: ts, ServerVersion: a.opts.ServerVersion, Impersonate: a.opts.Mailbox,
		MaxRetries: a.opts.MaxRetries, MaxRetryWait: a.opts.MaxRetryWait, RetryBaseDelay: a.opts.RetryBaseDelay, Now: a.env.Now,
	})
	c.record = a.record
	return c
}

// Validate checks the options without I/O.
func (a *Adapter) Validate() error {
	o := a.opts
	u, err := url.Parse(o.URL)
	if o.URL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("ews: url %q must be an http(s) URL of the EWS endpoint", o.URL)
	}
	nSecrets := 0
	for _, s := range []string{o.Password, o.PasswordEnv, o.PasswordFile} {
		if s != "" {
			nSecrets++
		}
	}
	switch o.Auth {
	case AuthBasic, AuthNTLM:
		if o.Username == "" {
			return fmt.Errorf("ews: auth %s needs username", o.Auth)
		}
		if nSecrets != 1 {
			return errors.New("ews: set exactly one of password, password_env and password_file")
		}
	case AuthOAuth2:
		oa := o.OAuth2
		if oa.ClientID == "" || oa.TokenURL == "" {
			return errors.New("ews: auth oauth2 needs oauth2.client_id and oauth2.tenant_id or oauth2.token_url")
		}
		if oa.RefreshToken == "" && o.Mailbox == "" {
			return errors.New("ews: app-only oauth2 (client credentials) needs mailbox, the address to impersonate")
		}
		n := 0
		for _, s := range []string{oa.ClientSecret, oa.ClientSecretEnv, oa.ClientSecretFile} {
			if s != "" {
				n++
			}
		}
		if n > 1 || (n == 0 && oa.RefreshToken == "") {
			return errors.New("ews: set exactly one of oauth2.client_secret, client_secret_env and client_secret_file")
		}
	default:
		return fmt.Errorf("ews: auth %q is not basic, ntlm or oauth2", o.Auth)
	}
	switch o.DeleteType {
	case "MoveToDeletedItems", "SoftDelete", "HardDelete":
	default:
		return fmt.Errorf("ews: delete_type %q is not MoveToDeletedItems, SoftDelete or HardDelete", o.DeleteType)
	}
	return nil
}

func secret(inline, env, file string) (string, error) {
	switch {
	case inline != "":
		return inline, nil
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", env)
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", nil
}

// Provision resolves secrets and builds the client. It does not dial:
// the first request reports an unreachable server, so other instances
// keep serving.
func (a *Adapter) Provision(ctx context.Context) error {
	o := a.opts
	switch o.Auth {
	case AuthOAuth2:
		cs, err := secret(o.OAuth2.ClientSecret, o.OAuth2.ClientSecretEnv, o.OAuth2.ClientSecretFile)
		if err != nil {
			return fmt.Errorf("ews: oauth2 client secret: %w", err)
		}
		tctx := context.WithValue(context.Background(), oauth2.HTTPClient, a.env.HTTP)
		var ts oauth2.TokenSource
		if o.OAuth2.RefreshToken != "" {
			cfg := &oauth2.Config{ClientID: o.OAuth2.ClientID, ClientSecret: cs, Scopes: o.OAuth2.Scopes,
				Endpoint: oauth2.Endpoint{TokenURL: o.OAuth2.TokenURL}}
			ts = cfg.TokenSource(tctx, &oauth2.Token{RefreshToken: o.OAuth2.RefreshToken})
		} else {
			cfg := &clientcredentials.Config{ClientID: o.OAuth2.ClientID, ClientSecret: cs, TokenURL: o.OAuth2.TokenURL, Scopes: o.OAuth2.Scopes}
			ts = cfg.TokenSource(tctx)
		}
		a.c = a.newClient("", oauth2.ReuseTokenSource(nil, ts))
	default:
		pw, err := secret(o.Password, o.PasswordEnv, o.PasswordFile)
		if err != nil {
			return fmt.Errorf("ews: password: %w", err)
		}
		a.c = a.newClient(pw, nil)
	}
	return nil
}

// Close implements adapters.Adapter.
func (a *Adapter) Close() error { return nil }

// Status implements adapters.StatusReporter.
func (a *Adapter) Status() adapters.Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status
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
		a.status.Detail = "Exchange failing: " + err.Error()
		if errors.Is(err, adapters.ErrUnauthorized) {
			a.status.Detail = "Exchange rejected the configured credentials (or EWS is disabled for this account/app): " + err.Error()
		}
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
