package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/google/googletest"
	"github.com/davgate/davgate/gateway/config"
)

const (
	authClientID     = "davgate-test.apps.googleusercontent.com"
	authClientSecret = "GOCSPX-test-secret"
)

// googleAuthConfig has two users with a google source each named "gmail";
// their options differ, so bob's instance is "bob/gmail" and keeps its
// token in <state>/bob/gmail/token.json.
func googleAuthConfig(t *testing.T, srv *googletest.Server) (path, state string) {
	t.Helper()
	state = filepath.Join(t.TempDir(), "state")
	src := func(extra string) string {
		return fmt.Sprintf(`      - name: gmail
        type: google
        options:
          client_id: %q
          client_secret: %q
          calendar_endpoint: %q
          people_endpoint: %q
          auth_url: %q
          token_url: %q
          device_auth_url: %q
%s`, authClientID, authClientSecret, srv.CalendarBase(), srv.PeopleBase(), srv.AuthURL(), srv.TokenURL(), srv.DeviceAuthURL(), extra)
	}
	body := fmt.Sprintf(`listen: 127.0.0.1:0
state_dir: %q
users:
  - name: alice
    password_hash: %q
    sources:
%s      - name: mem
        type: memory
        options: {collections: [{id: cal, kind: calendar}]}
  - name: bob
    password_hash: %q
    sources:
%s`, state, demoHash, src(""), demoHash, src("          calendars: [primary]\n"))
	return writeConfig(t, body), state
}

// runAsync runs the CLI in the background; the returned function waits for
// its exit code.
func runAsync(t *testing.T, ctx context.Context, args []string, stdout, stderr io.Writer) func() int {
	t.Helper()
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, strings.NewReader(""), stdout, stderr) }()
	return func() int {
		select {
		case code := <-done:
			return code
		case <-time.After(30 * time.Second):
			t.Fatalf("davgate %s did not finish within 30s", strings.Join(args, " "))
			return -1
		}
	}
}

// waitOutput polls buf until re matches, and returns the last submatch;
// on timeout it shows buf and stderr.
func waitOutput(t *testing.T, buf *syncBuffer, re *regexp.Regexp, stderr *syncBuffer) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(buf.String()); m != nil {
			return m[len(m)-1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("output never matched %s:\n%s\nstderr:\n%s", re, buf.String(), stderr.String())
	return ""
}

// checkTokenFile asserts path holds a usable token with mode 0600.
func checkTokenFile(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("token file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode = %v, want 0600", fi.Mode().Perm())
	}
	if dir, err := os.Stat(filepath.Dir(path)); err != nil || dir.Mode().Perm()&0o077 != 0 {
		t.Errorf("token directory %s: %v, %v; want no group/other access", filepath.Dir(path), dir.Mode().Perm(), err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tok oauth2.Token
	if err := json.Unmarshal(b, &tok); err != nil || tok.RefreshToken == "" || tok.AccessToken == "" {
		t.Errorf("token file holds %q (%v), want access and refresh tokens", b, err)
	}
}

// instanceStatus builds the runtime as serve does and returns the status
// of the named instance.
func instanceStatus(t *testing.T, cfgPath, name string) adapters.Status {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := config.Build(t.Context(), cfg, adapters.Env{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	for _, in := range rt.Instances {
		if in.Name == name {
			return in.Status()
		}
	}
	t.Fatalf("no instance %q", name)
	return adapters.Status{}
}

func TestAuthGoogleLoopback(t *testing.T) {
	srv := googletest.New(googletest.WithClient(authClientID, authClientSecret))
	defer srv.Close()
	cfgPath, state := googleAuthConfig(t, srv)
	tokenFile := filepath.Join(state, "bob", "gmail", "token.json")
	abs, _ := filepath.Abs(cfgPath)
	hint := "davgate auth google -config " + abs + " -user bob -source gmail"

	// Before: serve would start bob's source unhealthy, naming the command.
	if st := instanceStatus(t, cfgPath, "bob/gmail"); st.Healthy || !strings.Contains(st.Detail, hint) {
		t.Errorf("status before auth = %+v, want unhealthy with %q", st, hint)
	}

	var stdout, stderr syncBuffer
	wait := runAsync(t, t.Context(), []string{"auth", "google", "-config", cfgPath, "-user", "bob", "-source", "gmail"}, &stdout, &stderr)
	consent := waitOutput(t, &stdout, regexp.MustCompile(`(?m)^\s+(http://\S+)$`), &stderr)
	if !strings.HasPrefix(consent, srv.AuthURL()) || !strings.Contains(consent, "code_challenge=") ||
		!strings.Contains(consent, "access_type=offline") || !strings.Contains(consent, url(googletest.Scopes[1])) {
		t.Errorf("consent URL %s: want the configured auth_url, PKCE, offline access and both scopes", consent)
	}
	// The "browser": the fake consents and redirects to the loopback
	// listener, which the client follows.
	resp, err := http.Get(consent)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "authorised") {
		t.Errorf("browser landed on %s: %s", resp.Status, body)
	}
	if code := wait(); code != 0 {
		t.Fatalf("auth exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	checkTokenFile(t, tokenFile)
	for _, want := range []string{"Token stored in " + tokenFile, "Restart davgate", hint} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	if _, err := os.Stat(filepath.Join(state, "gmail", "token.json")); !os.IsNotExist(err) {
		t.Errorf("alice's instance got a token too: %v", err)
	}
	// After: the instance serve builds reads that very file.
	if st := instanceStatus(t, cfgPath, "bob/gmail"); !st.Healthy {
		t.Errorf("status after auth = %+v, want healthy", st)
	}
	if srv.Calls()["oauth.token"] != 1 {
		t.Errorf("token endpoint calls = %v, want one code exchange", srv.Calls())
	}
}

func url(s string) string { return strings.NewReplacer(":", "%3A", "/", "%2F").Replace(s) }

func TestAuthGoogleDevice(t *testing.T) {
	// No WithClient: the fake's device endpoint wants the client secret,
	// which x/oauth2 (like Google's documented request) does not send there.
	srv := googletest.New(googletest.WithDeviceInterval(1))
	defer srv.Close()
	cfgPath, state := googleAuthConfig(t, srv)
	var stdout, stderr syncBuffer
	wait := runAsync(t, t.Context(), []string{"auth", "google", "-config", cfgPath, "-user", "alice", "-source", "gmail", "-device"}, &stdout, &stderr)
	waitOutput(t, &stdout, regexp.MustCompile(`enter the code (\S+)`), &stderr)
	deadline := time.Now().Add(10 * time.Second)
	for srv.ApproveDevice() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if code := wait(); code != 0 {
		t.Fatalf("auth -device exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	checkTokenFile(t, filepath.Join(state, "gmail", "token.json"))
	if st := instanceStatus(t, cfgPath, "gmail"); !st.Healthy {
		t.Errorf("status after device auth = %+v", st)
	}
}

func TestAuthGoogleErrors(t *testing.T) {
	srv := googletest.New(googletest.WithClient(authClientID, authClientSecret))
	defer srv.Close()
	cfgPath, state := googleAuthConfig(t, srv)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no provider", []string{"auth"}, 2, "usage: davgate auth google"},
		{"other provider", []string{"auth", "exchange", "-config", cfgPath}, 2, "usage: davgate auth google"},
		{"no source", []string{"auth", "google", "-config", cfgPath, "-user", "alice"}, 2, "usage: davgate auth google"},
		{"unknown user", []string{"auth", "google", "-config", cfgPath, "-user", "carol", "-source", "gmail"}, 1, `no user "carol"`},
		{"unknown source", []string{"auth", "google", "-config", cfgPath, "-user", "alice", "-source", "work"}, 1, `user "alice" has no source "work"`},
		{"not google", []string{"auth", "google", "-config", cfgPath, "-user", "alice", "-source", "mem"}, 1, `has type "memory", not google`},
		{"bad config", []string{"auth", "google", "-config", filepath.Join(t.TempDir(), "none.yaml"), "-user", "a", "-source", "b"}, 1, "is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			if code := run(t.Context(), tt.args, strings.NewReader(""), &stdout, &stderr); code != tt.code || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr.String(), tt.code, tt.stderr)
			}
		})
	}

	t.Run("consent denied", func(t *testing.T) {
		srv.DenyConsent(true)
		defer srv.DenyConsent(false)
		var stdout, stderr syncBuffer
		wait := runAsync(t, t.Context(), []string{"auth", "google", "-config", cfgPath, "-user", "alice", "-source", "gmail"}, &stdout, &stderr)
		consent := waitOutput(t, &stdout, regexp.MustCompile(`(?m)^\s+(http://\S+)$`), &stderr)
		if resp, err := http.Get(consent); err == nil {
			resp.Body.Close()
		}
		if code := wait(); code != 1 || !strings.Contains(stderr.String(), "access_denied") {
			t.Errorf("exit %d, stderr:\n%s\nwant 1 and access_denied", code, stderr.String())
		}
		if _, err := os.Stat(filepath.Join(state, "gmail", "token.json")); !os.IsNotExist(err) {
			t.Errorf("a token was stored after a refusal: %v", err)
		}
	})

	t.Run("interrupted", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		var stdout, stderr syncBuffer
		wait := runAsync(t, ctx, []string{"auth", "google", "-config", cfgPath, "-user", "alice", "-source", "gmail"}, &stdout, &stderr)
		waitOutput(t, &stdout, regexp.MustCompile(`(?m)^\s+(http://\S+)$`), &stderr)
		cancel()
		if code := wait(); code != 1 {
			t.Errorf("exit %d after cancel, want 1", code)
		}
	})
}
