package google

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/oauth2"

	"github.com/davgate/davgate/adapters"
)

func oauthConfig(o Options) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     o.ClientID,
		ClientSecret: o.ClientSecret,
		Scopes:       o.Scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL: o.AuthURL, TokenURL: o.TokenURL, DeviceAuthURL: o.DeviceAuthURL,
			// Google accepts credentials in the body; saying so avoids
			// x/oauth2's probing of both styles.
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

func readToken(path string) (*oauth2.Token, error) {
	if path == "" {
		return nil, errors.New("no token_file")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var tok oauth2.Token
	if err := json.Unmarshal(b, &tok); err != nil {
		return nil, fmt.Errorf("token file %s: %w", path, err)
	}
	if tok.RefreshToken == "" && tok.AccessToken == "" {
		return nil, fmt.Errorf("token file %s holds no token", path)
	}
	return &tok, nil
}

// writeToken stores tok atomically (temp file + rename) with mode 0600,
// so a crash never leaves a truncated token and other users cannot read
// it.
func writeToken(path string, tok *oauth2.Token) error {
	b, err := json.MarshalIndent(tok, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".token-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // no-op after a successful rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// persistingSource refreshes the token through x/oauth2 and writes every
// new token to the token file (Google may rotate refresh tokens). A
// refusal (invalid_grant) marks the instance as needing authorisation.
type persistingSource struct {
	conf      *oauth2.Config
	path      string
	client    *http.Client
	onInvalid func(error)

	mu  sync.Mutex
	tok *oauth2.Token
}

func newPersistingSource(conf *oauth2.Config, tok *oauth2.Token, path string, client *http.Client, onInvalid func(error)) *persistingSource {
	return &persistingSource{conf: conf, tok: tok, path: path, client: client, onInvalid: onInvalid}
}

// Token implements oauth2.TokenSource.
func (s *persistingSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == nil {
		return nil, fmt.Errorf("google: no OAuth token: %w", adapters.ErrUnauthorized)
	}
	if s.tok.Valid() {
		return s.tok, nil
	}
	// The refresh uses our HTTP client (timeouts, test transports).
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, s.client)
	nt, err := s.conf.TokenSource(ctx, s.tok).Token()
	if err != nil {
		var rerr *oauth2.RetrieveError
		if errors.As(err, &rerr) && (rerr.ErrorCode == "invalid_grant" || rerr.ErrorCode == "invalid_client") {
			s.onInvalid(err)
		}
		return nil, err
	}
	if nt.AccessToken != s.tok.AccessToken || nt.RefreshToken != s.tok.RefreshToken || !nt.Expiry.Equal(s.tok.Expiry) {
		if err := writeToken(s.path, nt); err != nil {
			// Serving with the new token still works; the next start
			// would refresh again from the old refresh token.
			return nt, nil //nolint:nilerr // persisting is best effort, see above
		}
	}
	s.tok = nt
	return nt, nil
}

// AuthorizeLoopback runs the installed-app flow with PKCE: it listens on
// 127.0.0.1 at a free port, prints the consent URL to out, waits for
// Google's redirect, exchanges the code and stores the token in
// opts.TokenFile. env.HTTP is used for the exchange. It returns when the
// token is stored, the flow fails, or ctx ends.
func AuthorizeLoopback(ctx context.Context, opts Options, env adapters.Env, out io.Writer) error {
	env = env.WithDefaults()
	opts.defaults(env)
	if opts.TokenFile == "" {
		return errors.New("google: no token_file")
	}
	if err := loadClientSecret(&opts); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("google: listen: %w", err)
	}
	defer ln.Close()
	conf := oauthConfig(opts)
	conf.RedirectURL = "http://" + ln.Addr().String() + "/"
	verifier := oauth2.GenerateVerifier()
	state := oauth2.GenerateVerifier()[:16]
	url := conf.AuthCodeURL(state, oauth2.AccessTypeOffline, oauth2.ApprovalForce, oauth2.S256ChallengeOption(verifier))
	fmt.Fprintf(out, "Open this URL in a browser on this machine and allow access:\n\n  %s\n\n", url)

	type result struct {
		code string
		err  error
	}
	done := make(chan result, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var res result
		switch {
		case q.Get("error") != "":
			res.err = fmt.Errorf("google: authorisation refused: %s: %w", q.Get("error"), adapters.ErrUnauthorized)
		case q.Get("state") != state:
			http.Error(w, "state mismatch", http.StatusBadRequest)
			return
		default:
			res.code = q.Get("code")
		}
		if res.err != nil {
			fmt.Fprintf(w, "Authorisation failed: %s. You can close this window.", html.EscapeString(q.Get("error")))
		} else {
			fmt.Fprint(w, "davgate is authorised. You can close this window.")
		}
		select {
		case done <- res:
		default:
		}
	})}
	go func() {
		defer func() { _ = recover() }()
		_ = srv.Serve(ln)
	}()
	defer srv.Close()
	var res result
	select {
	case <-ctx.Done():
		return ctx.Err()
	case res = <-done:
	}
	if res.err != nil {
		return res.err
	}
	xctx := context.WithValue(ctx, oauth2.HTTPClient, env.HTTP)
	tok, err := conf.Exchange(xctx, res.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return fmt.Errorf("google: code exchange: %w", err)
	}
	if err := writeToken(opts.TokenFile, tok); err != nil {
		return fmt.Errorf("google: store token: %w", err)
	}
	fmt.Fprintf(out, "Token stored in %s\n", opts.TokenFile)
	return nil
}

// AuthorizeDevice runs the device flow: it prints the verification URL
// and user code to out, polls until the user approves, and stores the
// token in opts.TokenFile. Google allows it only for some scopes and
// client types ("TVs and Limited Input devices"); Contacts scopes may be
// refused, in which case use AuthorizeLoopback.
func AuthorizeDevice(ctx context.Context, opts Options, env adapters.Env, out io.Writer) error {
	env = env.WithDefaults()
	opts.defaults(env)
	if opts.TokenFile == "" {
		return errors.New("google: no token_file")
	}
	if err := loadClientSecret(&opts); err != nil {
		return err
	}
	conf := oauthConfig(opts)
	xctx := context.WithValue(ctx, oauth2.HTTPClient, env.HTTP)
	da, err := conf.DeviceAuth(xctx)
	if err != nil {
		return fmt.Errorf("google: device authorisation: %w", err)
	}
	fmt.Fprintf(out, "On any device, open %s and enter the code %s\n", da.VerificationURI, da.UserCode)
	tok, err := conf.DeviceAccessToken(xctx, da)
	if err != nil {
		return fmt.Errorf("google: device token: %w", err)
	}
	if err := writeToken(opts.TokenFile, tok); err != nil {
		return fmt.Errorf("google: store token: %w", err)
	}
	fmt.Fprintf(out, "Token stored in %s\n", opts.TokenFile)
	return nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// loadClientSecret reads client_secret_file into ClientSecret when the
// secret is not given inline, for both authorisation flows.
func loadClientSecret(opts *Options) error {
	if opts.ClientSecretFile == "" || opts.ClientSecret != "" {
		return nil
	}
	b, err := os.ReadFile(opts.ClientSecretFile)
	if err != nil {
		return fmt.Errorf("google: client_secret_file: %w", err)
	}
	opts.ClientSecret = string(trimSpace(b))
	return nil
}
