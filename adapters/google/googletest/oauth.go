package googletest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Scopes are the scopes Token grants: full Calendar and Contacts access.
var Scopes = []string{"https://www.googleapis.com/auth/calendar", "https://www.googleapis.com/auth/contacts"}

type accessTok struct {
	user   string
	expiry time.Time
	scope  string
}

type refreshTok struct {
	user, client, scope string
	revoked             bool
}

type authCode struct {
	user, client, redirect, challenge, method, scope string
	offline                                          bool
}

type deviceReq struct {
	userCode, client, scope string
	approved, denied        bool
	user                    string
	expires                 time.Time
}

type oauthState struct {
	access  map[string]*accessTok
	refresh map[string]*refreshTok
	codes   map[string]*authCode
	devices map[string]*deviceReq
	deny    bool
}

func (o *oauthState) init() {
	o.access = map[string]*accessTok{}
	o.refresh = map[string]*refreshTok{}
	o.codes = map[string]*authCode{}
	o.devices = map[string]*deviceReq{}
}

// TokenURL is the token endpoint (Endpoint.TokenURL).
func (s *Server) TokenURL() string { return s.ts.URL + "/token" }

// AuthURL is the consent endpoint (Endpoint.AuthURL). It consents at once
// and redirects to the loopback redirect_uri with a code, so a test drives
// the installed-app flow with a plain http.Client. login_hint picks the
// account (default: the default user).
func (s *Server) AuthURL() string { return s.ts.URL + "/o/oauth2/auth" }

// DeviceAuthURL is the device authorization endpoint (Endpoint.DeviceAuthURL).
func (s *Server) DeviceAuthURL() string { return s.ts.URL + "/device/code" }

// RevokeURL is the token revocation endpoint (POST token=...).
func (s *Server) RevokeURL() string { return s.ts.URL + "/revoke" }

// Endpoint is the oauth2.Endpoint of the fake.
func (s *Server) Endpoint() oauth2.Endpoint {
	return oauth2.Endpoint{AuthURL: s.AuthURL(), TokenURL: s.TokenURL(), DeviceAuthURL: s.DeviceAuthURL()}
}

// OAuthConfig returns a config for the fake's endpoints, with the client
// set by WithClient (or "test-client") and Scopes unless scopes are given.
func (s *Server) OAuthConfig(redirectURL string, scopes ...string) *oauth2.Config {
	if len(scopes) == 0 {
		scopes = Scopes
	}
	id, secret := s.cfg.clientID, s.cfg.clientSecret
	if id == "" {
		id, secret = "test-client.apps.googleusercontent.com", "test-secret"
	}
	return &oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: s.Endpoint(), RedirectURL: redirectURL, Scopes: scopes}
}

// Token issues an access and refresh token for the default user, as if it
// had consented to Scopes.
func (s *Server) Token() *oauth2.Token { return s.User(s.cfg.user).Token() }

// Token issues an access and refresh token for the user.
func (u *User) Token() *oauth2.Token {
	s := u.s
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueLocked(u.email, s.OAuthConfig("").ClientID, strings.Join(Scopes, " "), true).token()
}

// HTTPClient returns a client that authenticates as the default user and
// refreshes through the token endpoint, like the adapter's.
func (s *Server) HTTPClient(ctx context.Context) *http.Client {
	return s.OAuthConfig("").Client(ctx, s.Token())
}

// ExpireAccessTokens makes every access token issued so far answer 401;
// refresh tokens keep working.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.oauth.access)
}

// RevokeRefreshTokens revokes every refresh token (and the access tokens):
// the next refresh answers invalid_grant, as after a password change or a
// 7-day "Testing" consent screen expiry.
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.oauth.refresh {
		r.revoked = true
	}
	clear(s.oauth.access)
}

// DenyConsent makes the auth endpoint redirect with error=access_denied.
func (s *Server) DenyConsent(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.deny = deny
}

// ApproveDevice approves all pending device authorizations for the default
// user (the user typing the code at verification_url).
func (s *Server) ApproveDevice() int { return s.decideDevices(true) }

// DenyDevice denies all pending device authorizations.
func (s *Server) DenyDevice() int { return s.decideDevices(false) }

func (s *Server) decideDevices(ok bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, d := range s.oauth.devices {
		if !d.approved && !d.denied {
			d.approved, d.denied, d.user = ok, !ok, s.cfg.user
			n++
		}
	}
	return n
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
	TokenType    string `json:"token_type"`
}

func (t *tokenResponse) token() *oauth2.Token {
	// Expiry is on the client's clock, as x/oauth2 computes it from
	// expires_in; the server's may be a test clock.
	return &oauth2.Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType,
		Expiry: time.Now().Add(time.Duration(t.ExpiresIn) * time.Second)}
}

func (s *Server) secret(prefix string) string {
	s.ids++
	return prefix + s.newID() + fmt.Sprintf("%x", s.ids)
}

// issueLocked mints an access token, and a refresh token if offline.
func (s *Server) issueLocked(user, client, scope string, offline bool) *tokenResponse {
	at := s.secret("ya29.")
	exp := s.now().Add(s.cfg.tokenTTL)
	s.oauth.access[at] = &accessTok{user: user, expiry: exp, scope: scope}
	t := &tokenResponse{AccessToken: at, ExpiresIn: int(s.cfg.tokenTTL/time.Second) - 1, Scope: scope, TokenType: "Bearer"}
	if offline {
		t.RefreshToken = s.secret("1//")
		s.oauth.refresh[t.RefreshToken] = &refreshTok{user: user, client: client, scope: scope}
	}
	return t
}

func (s *Server) routeOAuth(mux *http.ServeMux) {
	mux.HandleFunc("GET /o/oauth2/auth", s.count("oauth.auth", s.authEndpoint))
	mux.HandleFunc("POST /token", s.count("oauth.token", s.tokenEndpoint))
	mux.HandleFunc("POST /device/code", s.count("oauth.device", s.deviceEndpoint))
	mux.HandleFunc("GET /device", s.count("oauth.device.verify", s.deviceVerify))
	mux.HandleFunc("POST /revoke", s.count("oauth.revoke", s.revokeEndpoint))
}

// count wraps OAuth endpoints with call counting and faults (status only;
// OAuth errors have their own shape).
func (s *Server) count(op string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[op]++
		f := s.takeFault(op)
		s.mu.Unlock()
		if f != nil && f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if f != nil && f.Status != 0 {
			reason := f.Reason
			if reason == "" {
				reason = "server_error"
			}
			writeJSON(w, f.Status, map[string]string{"error": reason, "error_description": http.StatusText(f.Status)})
			return
		}
		h(w, r)
	}
}

func oauthError(w http.ResponseWriter, code int, e, desc string) {
	writeJSON(w, code, map[string]string{"error": e, "error_description": desc})
}

func isLoopback(u *url.URL) bool {
	if u.Scheme != "http" {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) authEndpoint(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ru, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || !isLoopback(ru) {
		// Google shows an error page rather than redirecting.
		http.Error(w, "Error 400: redirect_uri_mismatch", http.StatusBadRequest)
		return
	}
	if q.Get("response_type") != "code" || q.Get("client_id") == "" ||
		(s.cfg.clientID != "" && q.Get("client_id") != s.cfg.clientID) {
		http.Error(w, "Error 400: invalid_request", http.StatusBadRequest)
		return
	}
	m := q.Get("code_challenge_method")
	if q.Get("code_challenge") != "" && m != "S256" && m != "plain" && m != "" {
		http.Error(w, "Error 400: invalid_request", http.StatusBadRequest)
		return
	}
	back := ru.Query()
	if st := q.Get("state"); st != "" {
		back.Set("state", st)
	}
	s.mu.Lock()
	if s.oauth.deny {
		s.mu.Unlock()
		back.Set("error", "access_denied")
		ru.RawQuery = back.Encode()
		http.Redirect(w, r, ru.String(), http.StatusFound)
		return
	}
	user := q.Get("login_hint")
	if user == "" {
		user = s.cfg.user
	}
	s.userLocked(user)
	code := s.secret("4/0A")
	s.oauth.codes[code] = &authCode{user: user, client: q.Get("client_id"), redirect: q.Get("redirect_uri"),
		challenge: q.Get("code_challenge"), method: m, scope: q.Get("scope"), offline: q.Get("access_type") == "offline"}
	s.mu.Unlock()
	back.Set("code", code)
	back.Set("scope", q.Get("scope"))
	ru.RawQuery = back.Encode()
	http.Redirect(w, r, ru.String(), http.StatusFound)
}

// client authenticates the OAuth client from Basic auth or the form.
func (s *Server) client(r *http.Request) (string, bool) {
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if s.cfg.clientID == "" {
		return id, id != ""
	}
	return id, id == s.cfg.clientID && subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.clientSecret)) == 1
}

func pkceOK(challenge, method, verifier string) bool {
	if challenge == "" {
		return true
	}
	if verifier == "" {
		return false
	}
	if method == "plain" {
		return verifier == challenge
	}
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:]) == challenge
}

func (s *Server) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, 400, "invalid_request", "Bad Request")
		return
	}
	client, ok := s.client(r)
	if !ok {
		oauthError(w, 401, "invalid_client", "The OAuth client was not found.")
		return
	}
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	var t *tokenResponse
	switch f.Get("grant_type") {
	case "authorization_code":
		c := s.oauth.codes[f.Get("code")]
		switch {
		case c == nil || c.client != client:
			oauthError(w, 400, "invalid_grant", "Malformed auth code.")
			return
		case c.redirect != f.Get("redirect_uri"):
			oauthError(w, 400, "redirect_uri_mismatch", "Bad Request")
			return
		case !pkceOK(c.challenge, c.method, f.Get("code_verifier")):
			// The code stays unused: Google checks the verifier first.
			oauthError(w, 400, "invalid_grant", "Invalid code verifier.")
			return
		}
		delete(s.oauth.codes, f.Get("code"))
		t = s.issueLocked(c.user, client, c.scope, c.offline)
	case "refresh_token":
		rt := s.oauth.refresh[f.Get("refresh_token")]
		if rt == nil || rt.revoked || rt.client != client {
			oauthError(w, 400, "invalid_grant", "Token has been expired or revoked.")
			return
		}
		// Google does not rotate refresh tokens.
		t = s.issueLocked(rt.user, client, rt.scope, false)
	case "urn:ietf:params:oauth:grant-type:device_code":
		d := s.oauth.devices[f.Get("device_code")]
		switch {
		case d == nil || d.client != client:
			oauthError(w, 400, "invalid_grant", "Malformed device code.")
			return
		case s.now().After(d.expires):
			oauthError(w, 400, "expired_token", "Bad Request")
			return
		case d.denied:
			oauthError(w, 403, "access_denied", "Forbidden")
			return
		case !d.approved:
			oauthError(w, 428, "authorization_pending", "Precondition Required.")
			return
		}
		delete(s.oauth.devices, f.Get("device_code"))
		t = s.issueLocked(d.user, client, d.scope, true)
	default:
		oauthError(w, 400, "unsupported_grant_type", "Invalid grant_type: "+f.Get("grant_type"))
		return
	}
	w.Header().Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
	writeJSON(w, 200, t)
}

func (s *Server) deviceEndpoint(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, 400, "invalid_request", "Bad Request")
		return
	}
	// Google's device-code request carries client_id and scope only; the
	// secret is checked when the token is polled.
	client := r.PostForm.Get("client_id")
	if id, _, ok := r.BasicAuth(); ok {
		client, _ = url.QueryUnescape(id)
	}
	if client == "" || (s.cfg.clientID != "" && client != s.cfg.clientID) {
		oauthError(w, 401, "invalid_client", "The OAuth client was not found.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dc := s.secret("AH-1Ng")
	uc := strings.ToUpper(s.newID())
	uc = uc[len(uc)-8:len(uc)-4] + "-" + uc[len(uc)-4:]
	s.oauth.devices[dc] = &deviceReq{userCode: uc, client: client, scope: r.PostForm.Get("scope"), expires: s.now().Add(30 * time.Minute)}
	writeJSON(w, 200, map[string]any{
		"device_code": dc, "user_code": uc, "expires_in": 1800, "interval": s.cfg.devInterval,
		"verification_url": s.ts.URL + "/device",
	})
}

// deviceVerify stands in for google.com/device: visiting it with
// user_code approves that request for the default user (or login_hint).
func (s *Server) deviceVerify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	user := q.Get("login_hint")
	if user == "" {
		user = s.cfg.user
	}
	for _, d := range s.oauth.devices {
		if d.userCode == q.Get("user_code") {
			s.userLocked(user)
			d.approved, d.user = true, user
			_, _ = fmt.Fprintln(w, "Device approved.")
			return
		}
	}
	http.Error(w, "unknown code", http.StatusNotFound)
}

func (s *Server) revokeEndpoint(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	tok := r.Form.Get("token")
	s.mu.Lock()
	defer s.mu.Unlock()
	if rt := s.oauth.refresh[tok]; rt != nil {
		rt.revoked = true
		for k, a := range s.oauth.access {
			if a.user == rt.user {
				delete(s.oauth.access, k)
			}
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	if _, ok := s.oauth.access[tok]; ok {
		delete(s.oauth.access, tok)
		w.WriteHeader(http.StatusOK)
		return
	}
	oauthError(w, 400, "invalid_token", "Bad Request")
}

const authHelp = "Expected OAuth 2 access token, login cookie or other valid authentication credential. " +
	"See https://developers.google.com/identity/sign-in/web/devconsole-project."

// authenticate checks the bearer token and its scope for the request. Locked.
func (s *Server) authenticate(r *http.Request) (*user, *apiError) {
	h := r.Header.Get("Authorization")
	if h == "" {
		if s.cfg.noAuth {
			return s.userLocked(s.cfg.user), nil
		}
		return nil, &apiError{Code: 401, Reason: "required", ItemMessage: "Login Required.", Location: "Authorization", LocationType: "header",
			Message: "Request is missing required authentication credential. " + authHelp,
			header:  http.Header{"Www-Authenticate": {`Bearer realm="https://accounts.google.com/"`}}}
	}
	tok, ok := strings.CutPrefix(h, "Bearer ")
	a := s.oauth.access[tok]
	if !ok || a == nil || !s.now().Before(a.expiry) {
		return nil, &apiError{Code: 401, Reason: "authError", ItemMessage: "Invalid Credentials", Location: "Authorization", LocationType: "header",
			Message: "Request had invalid authentication credentials. " + authHelp,
			header:  http.Header{"Www-Authenticate": {`Bearer realm="https://accounts.google.com/", error="invalid_token"`}}}
	}
	if !scopeAllows(a.scope, r) {
		return nil, &apiError{Code: 403, Reason: "insufficientPermissions", Status: "PERMISSION_DENIED",
			Message: "Request had insufficient authentication scopes.",
			header:  http.Header{"Www-Authenticate": {`Bearer realm="https://accounts.google.com/", error="insufficient_scope"`}}}
	}
	return s.userLocked(a.user), nil
}

// scopeAllows checks Calendar/Contacts scopes; an empty scope allows all.
func scopeAllows(scope string, r *http.Request) bool {
	if scope == "" {
		return true
	}
	api := "contacts"
	if strings.HasPrefix(r.URL.Path, "/calendar/") {
		api = "calendar"
	}
	read := r.Method == http.MethodGet
	for _, sc := range strings.Fields(scope) {
		name := strings.TrimPrefix(sc, "https://www.googleapis.com/auth/")
		switch {
		case name == api, api == "calendar" && name == "calendar.events" && strings.Contains(r.URL.Path, "/events"):
			return true
		case read && (name == api+".readonly" || (api == "calendar" && name == "calendar.events.readonly" && strings.Contains(r.URL.Path, "/events"))):
			return true
		}
	}
	return false
}
