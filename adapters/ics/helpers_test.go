package ics

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/emersion/go-ical"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/davgate/davgate/adapters"
)

// feedServer is a fake feed host: it serves body with an ETag and
// Last-Modified, answers conditional GETs with 304 and can fail or stall.
type feedServer struct {
	*httptest.Server
	mu       sync.Mutex
	body     []byte
	modified time.Time
	status   int           // non-zero: answer this instead
	header   http.Header   // extra headers on failures (Retry-After)
	delay    time.Duration // before answering
	noCond   bool          // ignore conditional headers, like many hosts

	requests    atomic.Int64
	notModified atomic.Int64
	lastReq     atomic.Pointer[http.Request]
}

func newFeedServer(t testing.TB, body string) *feedServer {
	t.Helper()
	fs := &feedServer{body: []byte(body), modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	fs.Server = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *feedServer) set(body string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.body = []byte(body)
	fs.modified = fs.modified.Add(time.Hour)
}

func (fs *feedServer) fail(status int, h http.Header) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.status, fs.header = status, h
}

func (fs *feedServer) serve(w http.ResponseWriter, r *http.Request) {
	fs.requests.Add(1)
	fs.lastReq.Store(r.Clone(r.Context()))
	fs.mu.Lock()
	body, mod, status, hdr, delay, noCond := fs.body, fs.modified, fs.status, fs.header, fs.delay, fs.noCond
	fs.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 {
		for k, v := range hdr {
			w.Header()[k] = v
		}
		http.Error(w, "feed host says no", status)
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	if !noCond {
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", mod.Format(http.TimeFormat))
		if r.Header.Get("If-None-Match") == etag {
			fs.notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	_, _ = w.Write(body)
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// logBuffer collects log output so tests can assert on it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func testEnv(c *clock, logs io.Writer) adapters.Env {
	if logs == nil {
		logs = io.Discard
	}
	return adapters.Env{
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		HTTP:   &http.Client{Timeout: 10 * time.Second},
		Now:    c.Now,
	}
}

// yamlOptions implements adapters.Options over YAML text, strictly.
type yamlOptions string

func (y yamlOptions) Decode(v any) error {
	dec := yaml.NewDecoder(strings.NewReader(string(y)))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if err == io.EOF {
		return nil
	}
	return err
}

// fixtureDir finds shared/fixtures/ics by walking up from the package
// directory; the fixtures live next to the repository, never inside it.
func fixtureDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		for _, c := range []string{filepath.Join(dir, "shared", "fixtures", "ics"), filepath.Join(dir, "..", "shared", "fixtures", "ics")} {
			if st, err := os.Stat(c); err == nil && st.IsDir() {
				return c
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("shared/fixtures/ics not found next to the repository; skipping fixture tests")
		}
		dir = parent
	}
}

// mustCal parses an object's bytes: the adapter keeps no parsed tree.
func mustCal(t testing.TB, o adapters.Object) *ical.Calendar {
	t.Helper()
	cal, err := o.Calendar()
	if err != nil {
		t.Fatalf("object %q: %v", o.ID, err)
	}
	return cal
}
