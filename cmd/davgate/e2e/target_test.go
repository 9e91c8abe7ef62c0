package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

const (
	testUser     = "alice"
	testPassword = "e2e-secret-Pa55"
)

// target is a running DAV server with a read-only feed calendar and a
// writable calendar, as the clients see it.
type target struct {
	Name     string
	Root     string // http://127.0.0.1:PORT/
	User     string
	Password string
	FeedURL  string // read-only calendar backed by the feed, trailing slash
	WorkURL  string // writable calendar, trailing slash
	// publish replaces the feed's upstream content.
	publish func(t *testing.T, cal *ical.Calendar)
}

// startTarget starts the server selected by DAVGATE_E2E_TARGET, serving
// feed as its read-only calendar.
func startTarget(t *testing.T, feed *ical.Calendar) *target {
	t.Helper()
	switch name := targetName(); name {
	case "davgate":
		return startDavgate(t, feed, clientTestCache)
	case "radicale":
		return startRadicale(t, feed)
	default:
		t.Fatalf("DAVGATE_E2E_TARGET=%q: want davgate or radicale", name)
		return nil
	}
}

// SetFeed publishes cal upstream and waits until the feed calendar's ETags
// change, so the server has picked it up.
func (tg *target) SetFeed(t *testing.T, cal *ical.Calendar) {
	t.Helper()
	before := tg.etags(t, tg.FeedURL)
	tg.publish(t, cal)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if now := tg.etags(t, tg.FeedURL); !equalMaps(before, now) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("feed change not visible at %s within 20s", tg.FeedURL)
}

// waitFeedChange publishes cal and returns how long the server took to
// show it, or false after limit.
func (tg *target) waitFeedChange(t *testing.T, cal *ical.Calendar, limit time.Duration) (time.Duration, bool) {
	t.Helper()
	before := tg.etags(t, tg.FeedURL)
	start := time.Now()
	tg.publish(t, cal)
	for time.Since(start) < limit {
		if now := tg.etags(t, tg.FeedURL); !equalMaps(before, now) {
			return time.Since(start), true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return limit, false
}

// env is the environment handed to client scripts.
func (tg *target) env() []string {
	return []string{
		"E2E_ROOT=" + tg.Root,
		"E2E_USER=" + tg.User,
		"E2E_PASSWORD=" + tg.Password,
		"E2E_FEED_URL=" + tg.FeedURL,
		"E2E_WORK_URL=" + tg.WorkURL,
	}
}

// --- davgate ---------------------------------------------------------------

// feedServer serves an ICS feed whose content tests can replace.
type feedServer struct {
	mu   sync.Mutex
	data []byte
	etag string
	hits int
}

func (f *feedServer) set(data []byte) {
	sum := sha256.Sum256(data)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data = data
	f.etag = `"` + hex.EncodeToString(sum[:8]) + `"`
}

func (f *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	data, etag := f.data, f.etag
	f.hits++
	f.mu.Unlock()
	if r.URL.Path != "/feed.ics" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	if r.Method == http.MethodGet {
		_, _ = w.Write(data)
	}
}

const davgateConfig = `# written by cmd/davgate/e2e
listen: "127.0.0.1:%d"
log: {level: debug, format: text}
%s
users:
  - name: %s
    password_env: DAVGATE_E2E_PASSWORD
    sources:
      - name: feed
        type: ics
        options: {url: "%s/feed.ics", refresh: 1s, min_refresh: 1s, allow_private: true}
      - name: mem
        type: memory
        options:
          collections:
            - {id: work, kind: calendar, name: Work, components: [VEVENT, VTODO]}
            - {id: contacts, kind: addressbook, name: Contacts}
`

// clientTestCache shortens the gateway's object cache (default TTL 30s,
// which masks the feed's refresh: 1s) so that the client tests see a feed
// change quickly. TestFeedRefreshDefaultCache covers the default.
const clientTestCache = "cache: {ttl: 1s}"

// startDavgate starts davgate with extra top-level config lines.
func startDavgate(t *testing.T, feed *ical.Calendar, extra string) *target {
	t.Helper()
	bin := buildDavgate(t)
	fs := &feedServer{}
	fs.set(encodeCal(t, feed))
	upstream := httptest.NewServer(fs)
	t.Cleanup(upstream.Close)

	port := freePort(t)
	cfg := filepath.Join(t.TempDir(), "davgate.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(davgateConfig, port, extra, testUser, upstream.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "-config", cfg)
	cmd.Env = append(os.Environ(), "DAVGATE_E2E_PASSWORD="+testPassword)
	logs := startDaemon(t, "davgate", cmd)
	root := fmt.Sprintf("http://127.0.0.1:%d/", port)
	waitHTTP(t, root+"healthz", http.StatusOK, logs)
	return &target{
		Name:     "davgate",
		Root:     root,
		User:     testUser,
		Password: testPassword,
		FeedURL:  root + "dav/calendars/" + testUser + "/feed/",
		WorkURL:  root + "dav/calendars/" + testUser + "/mem~work/",
		publish: func(t *testing.T, cal *ical.Calendar) {
			fs.set(encodeCal(t, cal))
		},
	}
}

// --- radicale --------------------------------------------------------------

const radicaleConfig = `[server]
hosts = 127.0.0.1:%d
[auth]
type = htpasswd
htpasswd_filename = %s
htpasswd_encryption = plain
[rights]
type = from_file
file = %s
[storage]
filesystem_folder = %s
[logging]
level = info
mask_passwords = True
`

// radicaleRights makes "feed" read-only, like davgate's ICS sources.
const radicaleRights = `[root]
user: .+
collection:
permissions: R

[principal]
user: .+
collection: {user}
permissions: RW

[feed]
user: .+
collection: {user}/feed(/.*)?
permissions: r

[calendars]
user: .+
collection: {user}/[^/]+(/.*)?
permissions: rw
`

func startRadicale(t *testing.T, feed *ical.Calendar) *target {
	t.Helper()
	requireTool(t, "/usr/bin/radicale", "apt-get install radicale")
	dir := t.TempDir()
	store := filepath.Join(dir, "collections")
	coll := filepath.Join(store, "collection-root", testUser)
	props := map[string]string{
		"feed":     `{"tag": "VCALENDAR", "D:displayname": "Feed", "C:supported-calendar-component-set": "VEVENT"}`,
		"work":     `{"tag": "VCALENDAR", "D:displayname": "Work", "C:supported-calendar-component-set": "VEVENT,VTODO"}`,
		"contacts": `{"tag": "VADDRESSBOOK", "D:displayname": "Contacts"}`,
	}
	for name, p := range props {
		if err := os.MkdirAll(filepath.Join(coll, name), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(coll, name, ".Radicale.props"), p)
	}
	feedDir := filepath.Join(coll, "feed")
	publish := func(t *testing.T, cal *ical.Calendar) {
		old, _ := filepath.Glob(filepath.Join(feedDir, "*.ics"))
		for _, f := range old {
			_ = os.Remove(f)
		}
		for _, ev := range cal.Events() {
			one := ical.NewCalendar()
			one.Props = cal.Props
			one.Children = []*ical.Component{ev.Component}
			uid, _ := ev.Props.Text(ical.PropUID)
			writeFile(t, filepath.Join(feedDir, uid+".ics"), string(encodeCal(t, one)))
		}
	}
	publish(t, feed)
	htpasswd := filepath.Join(dir, "users")
	writeFile(t, htpasswd, testUser+":"+testPassword+"\n")
	rights := filepath.Join(dir, "rights")
	writeFile(t, rights, radicaleRights)
	port := freePort(t)
	cfg := filepath.Join(dir, "radicale.conf")
	writeFile(t, cfg, fmt.Sprintf(radicaleConfig, port, htpasswd, rights, store))
	logs := startDaemon(t, "radicale", exec.Command("/usr/bin/radicale", "-C", cfg))
	root := fmt.Sprintf("http://127.0.0.1:%d/", port)
	waitHTTP(t, root+".web/", http.StatusOK, logs)
	return &target{
		Name:     "radicale",
		Root:     root,
		User:     testUser,
		Password: testPassword,
		FeedURL:  root + testUser + "/feed/",
		WorkURL:  root + testUser + "/work/",
		publish:  publish,
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// --- raw DAV helpers -------------------------------------------------------

func (tg *target) do(t *testing.T, method, url string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(tg.User, tg.Password)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp, data
}

type multistatus struct {
	Responses []struct {
		Href     string `xml:"DAV: href"`
		Propstat []struct {
			Status string `xml:"DAV: status"`
			ETag   string `xml:"DAV: prop>getetag"`
		} `xml:"DAV: propstat"`
	} `xml:"DAV: response"`
}

// etags lists the member ETags of a collection (PROPFIND Depth 1).
func (tg *target) etags(t *testing.T, coll string) map[string]string {
	t.Helper()
	body := []byte(`<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>`)
	resp, data := tg.do(t, "PROPFIND", coll, body, map[string]string{"Depth": "1", "Content-Type": "application/xml; charset=utf-8"})
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("PROPFIND %s: %s\n%s", coll, resp.Status, data)
	}
	var ms multistatus
	if err := xml.Unmarshal(data, &ms); err != nil {
		t.Fatalf("PROPFIND %s: %v\n%s", coll, err, data)
	}
	out := map[string]string{}
	for _, r := range ms.Responses {
		for _, ps := range r.Propstat {
			if strings.Contains(ps.Status, " 200 ") && ps.ETag != "" {
				out[r.Href] = ps.ETag
			}
		}
	}
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
