package googletest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/option"
)

// loopback drives the consent redirect and returns the code the loopback
// listener would receive.
func loopback(t *testing.T, authURL string) url.Values {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("auth endpoint: %s", res.Status)
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || loc.Host != "127.0.0.1:8085" {
		t.Fatalf("redirect to %v", res.Header.Get("Location"))
	}
	return loc.Query()
}

func TestLoopbackPKCEAndRefresh(t *testing.T) {
	s := newServer(t, WithClient("cid", "csecret"))
	ctx := context.Background()
	conf := s.OAuthConfig("http://127.0.0.1:8085/")
	verifier := oauth2.GenerateVerifier()
	q := loopback(t, conf.AuthCodeURL("st", oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(verifier)))
	if q.Get("state") != "st" || q.Get("code") == "" {
		t.Fatalf("redirect query = %v", q)
	}
	_, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption("wrong"))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("wrong verifier: %v", err)
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil || tok.RefreshToken == "" || tok.AccessToken == "" {
		t.Fatalf("exchange: %v %+v", err, tok)
	}
	if _, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Error("code reused")
	}

	// x/oauth2 refreshes on its own clock, not on a 401: hand it an
	// expired token and count the refresh.
	tok.Expiry = time.Now().Add(-time.Minute)
	svc, err := calendar.NewService(ctx, option.WithEndpoint(s.CalendarBase()), option.WithHTTPClient(conf.Client(ctx, tok)))
	if err != nil {
		t.Fatal(err)
	}
	s.ResetCalls()
	if _, err := svc.CalendarList.List().Do(); err != nil {
		t.Fatal(err)
	}
	if n := s.Calls()["oauth.token"]; n != 1 {
		t.Errorf("token calls = %d, want 1 refresh", n)
	}

	// Revoked: the refresh fails with invalid_grant.
	s.RevokeRefreshTokens()
	_, err = conf.TokenSource(ctx, tok).Token()
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("revoked refresh: %v", err)
	}

	// Wrong client secret.
	bad := *conf
	bad.ClientSecret = "nope"
	_, err = bad.TokenSource(ctx, tok).Token()
	if !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
		t.Fatalf("bad client: %v", err)
	}

	// Non-loopback redirect URIs are refused; denial redirects with error.
	res, err := http.Get(s.OAuthConfig("https://evil.example/cb").AuthCodeURL("x"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("non-loopback redirect: %s", res.Status)
	}
	s.DenyConsent(true)
	if q := loopback(t, conf.AuthCodeURL("st")); q.Get("error") != "access_denied" {
		t.Errorf("denied: %v", q)
	}
}

func TestDeviceFlow(t *testing.T) {
	s := newServer(t, WithDeviceInterval(1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conf := s.OAuthConfig("")
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if da.UserCode == "" || !strings.HasPrefix(da.VerificationURI, s.URL()) || da.Interval != 1 {
		t.Fatalf("device auth = %+v", da)
	}
	go func() {
		// Approve once the client has seen authorization_pending.
		for ctx.Err() == nil && s.Calls()["oauth.token"] == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		s.ApproveDevice()
	}()
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatal(err)
	}
	// x/oauth2 auto-detects the client auth style by retrying a failed
	// request, so a pending poll can cost two calls.
	if tok.RefreshToken == "" || s.Calls()["oauth.token"] < 2 {
		t.Errorf("token %+v after %d polls", tok, s.Calls()["oauth.token"])
	}
}

func TestBearerChecked(t *testing.T) {
	s := newServer(t)
	tok := s.Token()
	tests := []struct {
		name, auth, wantAuth, reason string
	}{
		{"missing", "", `Bearer realm="https://accounts.google.com/"`, "required"},
		{"unknown", "Bearer nope", `Bearer realm="https://accounts.google.com/", error="invalid_token"`, "authError"},
		{"valid", "Bearer " + tok.AccessToken, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, s.CalendarBase()+"users/me/calendarList", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if tt.wantAuth == "" {
				if res.StatusCode != 200 {
					t.Errorf("status %s", res.Status)
				}
				return
			}
			if res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") != tt.wantAuth {
				t.Errorf("status %s, WWW-Authenticate %q", res.Status, res.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// Expired access tokens answer 401 until refreshed.
	s.ExpireAccessTokens()
	svc, _ := calendar.NewService(context.Background(), option.WithEndpoint(s.CalendarBase()),
		option.WithHTTPClient(oauth2.NewClient(context.Background(), oauth2.StaticTokenSource(tok))))
	_, err := svc.CalendarList.List().Do()
	gerr(t, err, 401, "authError")

	// A read-only scope cannot write.
	ro := s.OAuthConfig("http://127.0.0.1:8085/", "https://www.googleapis.com/auth/calendar.readonly")
	q := loopback(t, ro.AuthCodeURL("s"))
	rtok, err := ro.Exchange(context.Background(), q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if rtok.RefreshToken != "" {
		t.Error("refresh token without access_type=offline")
	}
	rsvc, _ := calendar.NewService(context.Background(), option.WithEndpoint(s.CalendarBase()), option.WithHTTPClient(ro.Client(context.Background(), rtok)))
	must[*calendar.CalendarList](t)(rsvc.CalendarList.List().Do())
	_, err = rsvc.Calendars.Insert(&calendar.Calendar{Summary: "x"}).Do()
	gerr(t, err, 403, "insufficientPermissions")
}
