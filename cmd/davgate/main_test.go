package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/davgate/davgate/gateway/auth"
)

const demoHash = "$2a$10$xgN0t7P4kcObTHLWSH8jr.e7MGTORrflyxy5MTSAp/k4CaDA2doj6"

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "davgate.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const memoryConfig = `listen: 127.0.0.1:0
users:
  - name: u
    password_hash: "` + demoHash + `"
    sources:
      - name: mem
        type: memory
        options:
          collections: [{id: cal, kind: calendar}]
`

func TestCheckConfig(t *testing.T) {
	good := writeConfig(t, memoryConfig)
	bad := writeConfig(t, strings.Replace(memoryConfig, "kind: calendar", "kinf: calendar", 1))
	badType := writeConfig(t, strings.Replace(memoryConfig, "type: memory", "type: memroy", 1))
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string
		stderrSubs []string
	}{
		{"ok", []string{"check-config", "-config", good}, 0, "config OK: 1 users, 1 sources (1 instances)\n", nil},
		{"bad option key", []string{"check-config", "-config", bad}, 1, "",
			[]string{"is invalid", "users[0].sources[0].options", "field kinf not found"}},
		{"bad type", []string{"check-config", "-config", badType}, 1, "",
			[]string{"users[0].sources[0].type", `unknown source type "memroy"`}},
		{"missing file", []string{"check-config", "-config", filepath.Join(t.TempDir(), "nope.yaml")}, 1, "",
			[]string{"no such file"}},
		{"no -config", []string{"check-config"}, 2, "", []string{"usage: davgate check-config -config FILE"}},
		{"unknown flag", []string{"check-config", "-confg", good}, 2, "", []string{"-confg"}},
		{"unknown command", []string{"serv"}, 2, "", []string{`unknown command "serv"`}},
		{"no command", nil, 2, "", []string{"usage: davgate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			if stdout.String() != tt.stdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tt.stdout)
			}
			for _, s := range tt.stderrSubs {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
		})
	}
}

func TestVersion(t *testing.T) {
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"version"}, nil, &stdout, &stdout); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.HasPrefix(stdout.String(), "davgate ") || !strings.Contains(stdout.String(), "go1.") {
		t.Errorf("version output %q", stdout.String())
	}
}

func TestHashPassword(t *testing.T) {
	tests := []struct {
		name, stdin string
		args        []string
		code        int
		prefix      string
	}{
		{"bcrypt", "s3cret\n", nil, 0, "$2a$10$"},
		{"crlf", "s3cret\r\n", nil, 0, "$2a$10$"},
		{"no newline", "s3cret", nil, 0, "$2a$10$"},
		{"empty", "\n", nil, 1, ""},
		{"bad flag", "x\n", []string{"-md5"}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"hash-password"}, tt.args...), strings.NewReader(tt.stdin), &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, stderr.String())
			}
			if tt.code != 0 {
				return
			}
			h := strings.TrimSuffix(stdout.String(), "\n")
			if !strings.HasPrefix(h, tt.prefix) {
				t.Fatalf("hash %q, want prefix %q", h, tt.prefix)
			}
			sec, err := auth.ParseHash(h)
			if err != nil {
				t.Fatal(err)
			}
			if !sec.Verify("s3cret") {
				t.Error("printed hash does not verify the password")
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeAndShutdown(t *testing.T) {
	cfg := writeConfig(t, memoryConfig)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "-config", cfg}, nil, &stderr, &stderr) }()

	urlRE := regexp.MustCompile(`msg="davgate listening" url=(http://127\.0\.0\.1:\d+/)`)
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == ""; time.Sleep(20 * time.Millisecond) {
		if m := urlRE.FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listening line in:\n%s", stderr.String())
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited early with %d:\n%s", code, stderr.String())
		default:
		}
	}
	resp, err := http.Get(url + "healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	cancel() // as SIGINT would
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d:\n%s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not shut down")
	}
	if !strings.Contains(stderr.String(), "davgate stopped") {
		t.Errorf("no stop line in:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), "demo credentials") {
		t.Error("demo warning logged for a config without the demo login")
	}
}

func TestServeBadListen(t *testing.T) {
	cfg := writeConfig(t, strings.Replace(memoryConfig, "127.0.0.1:0", "127.0.0.1:99999", 1))
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"serve", "-config", cfg}, nil, &stderr, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "change listen:") {
		t.Errorf("stderr lacks a hint:\n%s", stderr.String())
	}
}

func TestListenURL(t *testing.T) {
	tests := []struct {
		addr string
		tls  bool
		want string
	}{
		{"127.0.0.1:5232", false, "http://127.0.0.1:5232/"},
		{"0.0.0.0:8443", true, "https://localhost:8443/"},
		{"[::]:5232", false, "http://localhost:5232/"},
		{"[::1]:5232", false, "http://[::1]:5232/"},
	}
	for _, tt := range tests {
		if got := listenURL(fakeAddr(tt.addr), tt.tls); got != tt.want {
			t.Errorf("listenURL(%s, %v) = %s, want %s", tt.addr, tt.tls, got, tt.want)
		}
	}
}

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }
