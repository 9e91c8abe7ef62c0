package e2e

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	calendar "google.golang.org/api/calendar/v3"
	"google.golang.org/api/option"
	people "google.golang.org/api/people/v1"

	"github.com/davgate/davgate/adapters/google"
	"github.com/davgate/davgate/adapters/google/googletest"
)

// The Google tests run davgate against googletest, the stateful fake of
// Calendar v3, People v1 and Google's OAuth endpoints, served from the test
// process. davgate reaches it only through the endpoint options of a
// "google" source and a token file the test writes into the source's
// state directory, as `davgate auth google` would.

const googleConfig = `# written by cmd/davgate/e2e (google)
listen: "127.0.0.1:%d"
log: {level: debug, format: text}
state_dir: %q
%s
users:
  - name: %s
    password_env: DAVGATE_E2E_PASSWORD
    sources:
      - name: gmail
        type: google
        options:
          client_id: %q
          client_secret: %q
          calendar_endpoint: %q
          people_endpoint: %q
          auth_url: %q
          token_url: %q
          device_auth_url: %q
          retry_base_delay: 10ms
          max_retries: 3
          max_retry_wait: 2s
          rate: 1000
`

const (
	googleClientID     = "davgate-e2e.apps.googleusercontent.com"
	googleClientSecret = "GOCSPX-e2e"
)

// googleTarget is davgate serving one Google account from googletest.
type googleTarget struct {
	*target
	srv     *googletest.Server
	cfgPath string
	logs    *syncBuffer
	calID   string // the seeded "Work" calendar
	CalURL  string // its collection URL, trailing slash
	BookURL string // the address book's
}

// startGoogle starts googletest and davgate in front of it. cache is the
// config's cache line; seed runs before davgate starts.
func startGoogle(t *testing.T, cache string, seed func(srv *googletest.Server, calID string), opts ...googletest.Option) *googleTarget {
	t.Helper()
	if targetName() != "davgate" {
		t.Skip("davgate-specific: the google adapter against googletest")
	}
	bin := buildDavgate(t)
	srv := googletest.New(append([]googletest.Option{googletest.WithClient(googleClientID, googleClientSecret)}, opts...)...)
	t.Cleanup(srv.Close)
	calID := srv.AddCalendar(&calendar.CalendarListEntry{Summary: "Work", TimeZone: "UTC"})
	if seed != nil {
		seed(srv, calID)
	}

	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	// What `davgate auth google` leaves behind: <state_dir>/<instance>/token.json, 0600.
	tok, err := json.Marshal(srv.Token())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(state, "gmail"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "gmail", "token.json"), tok, 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	cfg := filepath.Join(dir, "davgate.yaml")
	writeFile(t, cfg, fmt.Sprintf(googleConfig, port, state, cache, testUser, googleClientID, googleClientSecret,
		srv.CalendarBase(), srv.PeopleBase(), srv.AuthURL(), srv.TokenURL(), srv.DeviceAuthURL()))
	cmd := exec.Command(bin, "serve", "-config", cfg)
	cmd.Env = append(os.Environ(), "DAVGATE_E2E_PASSWORD="+testPassword)
	logs := startDaemon(t, "davgate", cmd)
	root := fmt.Sprintf("http://127.0.0.1:%d/", port)
	waitHTTP(t, root+"healthz", http.StatusOK, logs)
	return &googleTarget{
		target:  &target{Name: "davgate", Root: root, User: testUser, Password: testPassword},
		srv:     srv,
		cfgPath: cfg,
		logs:    logs,
		calID:   calID,
		CalURL:  root + "dav/calendars/" + testUser + "/" + url.PathEscape("gmail~"+calID) + "/",
		BookURL: root + "dav/addressbooks/" + testUser + "/" + url.PathEscape("gmail~"+google.ContactsCollection) + "/",
	}
}

// googleEvent is a one-hour timed event made on the Google side.
func googleEvent(id, summary string, start time.Time) *calendar.Event {
	return &calendar.Event{
		Id: id, Summary: summary,
		Start: &calendar.EventDateTime{DateTime: start.UTC().Format(time.RFC3339), TimeZone: "UTC"},
		End:   &calendar.EventDateTime{DateTime: start.UTC().Add(time.Hour).Format(time.RFC3339), TimeZone: "UTC"},
	}
}

// seedWork puts three events (one weekly) and two contacts on the Google side.
func seedWork(srv *googletest.Server, calID string) {
	srv.PutEvent(calID, googleEvent("kickoff0001", "Kickoff", windowStart.Add(33*time.Hour)))
	srv.PutEvent(calID, googleEvent("review00001", "Design review", windowStart.Add(80*time.Hour)))
	weekly := googleEvent("standup0001", "Standup", windowStart.Add(-20*24*time.Hour+9*time.Hour))
	weekly.Recurrence = []string{"RRULE:FREQ=WEEKLY;COUNT=10"}
	srv.PutEvent(calID, weekly)
	srv.AddContact(&people.Person{
		Names:          []*people.Name{{GivenName: "Ada", FamilyName: "Lovelace"}},
		EmailAddresses: []*people.EmailAddress{{Value: "ada@example.com", Type: "work"}},
	})
	srv.AddContact(&people.Person{
		Names:        []*people.Name{{GivenName: "Charles", FamilyName: "Babbage"}},
		PhoneNumbers: []*people.PhoneNumber{{Value: "+44 20 7946 0000", Type: "mobile"}},
	})
}

// members lists coll's member ETags by href (the collection left out).
func (g *googleTarget) members(t *testing.T, coll string) map[string]string {
	t.Helper()
	u, err := url.Parse(coll)
	if err != nil {
		t.Fatal(err)
	}
	out := g.etags(t, coll)
	for h := range out {
		if p, err := url.PathUnescape(h); h == u.EscapedPath() || h == u.Path || (err == nil && p == u.Path) {
			delete(out, h)
		}
	}
	return out
}

// waitETags polls coll until its member ETags differ from before.
func (g *googleTarget) waitETags(t *testing.T, coll string, before map[string]string) map[string]string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if now := g.members(t, coll); !equalMaps(before, now) {
			return now
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no change visible at %s within 20s", coll)
	return nil
}

// liveEvents returns the fake's non-cancelled events of calID by id.
func (g *googleTarget) liveEvents() map[string]*calendar.Event {
	out := map[string]*calendar.Event{}
	for _, e := range g.srv.Events(g.calID) {
		if e.Status != "cancelled" {
			out[e.Id] = e
		}
	}
	return out
}

// --- sync-collection over raw HTTP ------------------------------------------

type syncResponse struct {
	Token     string `xml:"DAV: sync-token"`
	Responses []struct {
		Href     string `xml:"DAV: href"`
		Status   string `xml:"DAV: status"`
		Propstat []struct {
			Status string `xml:"DAV: status"`
			ETag   string `xml:"DAV: prop>getetag"`
		} `xml:"DAV: propstat"`
	} `xml:"DAV: response"`
}

// syncCollection runs one sync-collection REPORT and returns the new token
// and the member hrefs reported changed and deleted.
func (g *googleTarget) syncCollection(t *testing.T, coll, token string) (next string, changed, deleted []string) {
	t.Helper()
	body := `<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>` + token +
		`</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`
	resp, data := g.do(t, "REPORT", coll, []byte(body), map[string]string{"Content-Type": "application/xml; charset=utf-8"})
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("sync-collection %s (token %q): %s\n%s", coll, token, resp.Status, data)
	}
	var ms syncResponse
	if err := xml.Unmarshal(data, &ms); err != nil {
		t.Fatalf("sync-collection %s: %v\n%s", coll, err, data)
	}
	for _, r := range ms.Responses {
		switch {
		case strings.Contains(r.Status, " 404 "):
			deleted = append(deleted, r.Href)
		case len(r.Propstat) > 0:
			changed = append(changed, r.Href)
		}
	}
	if ms.Token == "" {
		t.Fatalf("sync-collection %s: no sync-token\n%s", coll, data)
	}
	return ms.Token, sorted(changed...), sorted(deleted...)
}

// health returns /healthz's entry for the gmail instance.
func (g *googleTarget) health(t *testing.T) (overall string, detail string, healthy, stale bool) {
	t.Helper()
	resp, err := http.Get(g.Root + "healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h struct {
		Status  string `json:"status"`
		Sources []struct {
			Name   string `json:"name"`
			Status struct {
				Healthy bool   `json:"healthy"`
				Detail  string `json:"detail"`
				Stale   bool   `json:"stale"`
			} `json:"status"`
		} `json:"sources"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("/healthz: %v", err)
	}
	for _, s := range h.Sources {
		if s.Name == "gmail" {
			return h.Status, s.Status.Detail, s.Status.Healthy, s.Status.Stale
		}
	}
	t.Fatalf("/healthz has no gmail source: %+v", h)
	return
}

// TestGoogleStaleETag: a PUT whose If-Match names an ETag from before a
// Google-side edit gets 412, and the fake keeps the Google-side version.
func TestGoogleStaleETag(t *testing.T) {
	t.Parallel()
	g := startGoogle(t, clientTestCache, seedWork)
	before := g.members(t, g.CalURL)
	href := ""
	for h := range before {
		if strings.Contains(h, "kickoff0001") {
			href = h
		}
	}
	if len(before) != 3 || href == "" {
		t.Fatalf("calendar members %v: want 3 with kickoff0001", before)
	}
	obj := g.Root + strings.TrimPrefix(href, "/")
	resp, body := g.do(t, http.MethodGet, obj, nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", obj, resp.Status)
	}
	stale := resp.Header.Get("ETag")

	g.srv.UpdateEvent(g.calID, "kickoff0001", func(e *calendar.Event) { e.Summary = "Kickoff (edited on Google)" })
	g.waitETags(t, g.CalURL, before)

	edited := strings.Replace(string(body), "SUMMARY:Kickoff", "SUMMARY:Kickoff (edited by the client)", 1)
	resp, data := g.do(t, http.MethodPut, obj, []byte(edited), map[string]string{"Content-Type": "text/calendar; charset=utf-8", "If-Match": stale})
	if resp.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("PUT with stale If-Match %s: %s, want 412\n%s", stale, resp.Status, data)
	}
	resp, data = g.do(t, http.MethodPut, obj, []byte(edited), map[string]string{"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"})
	if resp.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("PUT If-None-Match: * over an existing event: %s, want 412\n%s", resp.Status, data)
	}
	if e, _ := g.srv.Event(g.calID, "kickoff0001"); e == nil || e.Summary != "Kickoff (edited on Google)" {
		t.Errorf("fake's event after refused PUTs = %+v, want the Google-side summary", e)
	}
	if n := g.srv.Calls(); n["calendar.events.update"]+n["calendar.events.patch"]+n["calendar.events.import"]+n["calendar.events.insert"] != 0 {
		t.Errorf("refused PUTs reached Google: %v", n)
	}
	// The current ETag still works.
	resp, _ = g.do(t, http.MethodGet, obj, nil, nil)
	cur := resp.Header.Get("ETag")
	resp, data = g.do(t, http.MethodPut, obj, []byte(edited), map[string]string{"Content-Type": "text/calendar; charset=utf-8", "If-Match": cur})
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT with current If-Match: %s\n%s", resp.Status, data)
	}
	if e, _ := g.srv.Event(g.calID, "kickoff0001"); e == nil || e.Summary != "Kickoff (edited by the client)" {
		t.Errorf("fake's event after the PUT = %+v", e)
	}
}

const googleVdirsyncerConfig = `[general]
status_path = "%[1]s/status/"

[pair cal]
a = "cal_remote"
b = "cal_local"
collections = null

[storage cal_remote]
type = "caldav"
url = "%[2]s"
username = "%[4]s"
password = "%[5]s"

[storage cal_local]
type = "filesystem"
path = "%[1]s/cal/"
fileext = ".ics"

[pair book]
a = "book_remote"
b = "book_local"
collections = null

[storage book_remote]
type = "carddav"
url = "%[3]s"
username = "%[4]s"
password = "%[5]s"

[storage book_local]
type = "filesystem"
path = "%[1]s/book/"
fileext = ".vcf"
`

// TestGoogleVdirsyncer syncs a Google calendar and the Google address book
// both ways with vdirsyncer: the initial copy, a Google-side edit of an
// event and of a contact arriving in the vdir, a local edit of each arriving
// at the fake, and a final no-op sync.
func TestGoogleVdirsyncer(t *testing.T) {
	t.Parallel()
	requireTool(t, "/usr/bin/vdirsyncer", "apt-get install vdirsyncer")
	g := startGoogle(t, clientTestCache, seedWork)
	dir := t.TempDir()
	calDir, bookDir := filepath.Join(dir, "cal"), filepath.Join(dir, "book")
	for _, d := range []string{calDir, bookDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "vdirsyncer.conf")
	writeFile(t, cfg, fmt.Sprintf(googleVdirsyncerConfig, dir, g.CalURL, g.BookURL, g.User, g.Password))
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "XDG_DATA_HOME=" + dir, "TZ=UTC", "LC_ALL=C.UTF-8"}
	v := &vdir{t: t, cfg: cfg, env: env}
	out := runTool(t, strings.Repeat("y\n", 10), env, "/usr/bin/vdirsyncer", "-c", cfg, "discover")
	t.Logf("vdirsyncer discover:\n%s", out)

	acts := v.sync("initial")
	if n := countMatching(acts, "Copying (uploading)"); n != 5 || len(acts) != 5 {
		t.Errorf("initial sync: actions %q, want 5 downloads (3 events, 2 contacts)", acts)
	}
	if got := localFiles(t, calDir, ".ics"); len(got) != 3 {
		t.Fatalf("local calendar has %d files, want 3", len(got))
	}
	if got := localFiles(t, bookDir, ".vcf"); len(got) != 2 {
		t.Fatalf("local address book has %d files, want 2", len(got))
	}
	if acts := v.sync("no-op"); len(acts) != 0 {
		t.Errorf("second sync transferred items: %q", acts)
	}

	// Google-side edits arrive in the vdir.
	ada := g.contactByEmail(t, "ada@example.com")
	calBefore, bookBefore := g.members(t, g.CalURL), g.members(t, g.BookURL)
	g.srv.UpdateEvent(g.calID, "review00001", func(e *calendar.Event) { e.Summary = "Design review (edited on Google)" })
	g.srv.UpdateContact(ada, func(p *people.Person) {
		p.Names = []*people.Name{{GivenName: "Augusta Ada", FamilyName: "King"}}
	})
	g.waitETags(t, g.CalURL, calBefore)
	g.waitETags(t, g.BookURL, bookBefore)
	acts = v.sync("after Google-side edits")
	if len(acts) != 2 || countMatching(acts, "Copying (updating)") != 2 {
		t.Errorf("sync after Google-side edits: actions %q, want exactly two updates", acts)
	}
	if f := fileContaining(t, calDir, ".ics", "review00001"); !strings.Contains(unfold(f), "SUMMARY:Design review (edited on Google)") {
		t.Errorf("local copy of review00001 lacks the Google-side edit:\n%s", f)
	}
	if f := fileContaining(t, bookDir, ".vcf", "ada@example.com"); !strings.Contains(unfold(f), "Augusta Ada") {
		t.Errorf("local copy of the contact lacks the Google-side edit:\n%s", f)
	}

	// Local edits arrive at the fake.
	kick := fileContaining(t, calDir, ".ics", "kickoff0001")
	rewrite(t, calDir, ".ics", "kickoff0001", strings.Replace(kick, "SUMMARY:Kickoff", "SUMMARY:Kickoff (edited in the vdir)", 1))
	charles := fileContaining(t, bookDir, ".vcf", "Babbage")
	if !strings.Contains(charles, "+44 20 7946 0000") {
		t.Fatalf("local contact lacks its phone number:\n%s", charles)
	}
	rewrite(t, bookDir, ".vcf", "Babbage", strings.Replace(charles, "+44 20 7946 0000", "+44 20 7946 0999", 1))
	acts = v.sync("after local edits")
	if len(acts) != 2 || countMatching(acts, "Copying (updating)") != 2 {
		t.Errorf("sync after local edits: actions %q, want exactly two updates", acts)
	}
	if e, _ := g.srv.Event(g.calID, "kickoff0001"); e == nil || e.Summary != "Kickoff (edited in the vdir)" {
		t.Errorf("fake's kickoff0001 after sync = %+v, want the vdir's summary", e)
	}
	rn := g.contactByPhone(t, "+44 20 7946 0999")
	if p, _ := g.srv.Contact(rn); p == nil || len(p.Names) == 0 || p.Names[0].FamilyName != "Babbage" {
		t.Errorf("fake's contact after sync = %+v", p)
	}
	// Google stamps a written event with a new "updated" time, which is
	// its DTSTAMP: the stored event differs from the bytes sent, so the PUT
	// answers without an ETag (RFC 4791 §5.3.4) and vdirsyncer fetches the
	// event once more. Contacts come back as sent.
	acts = v.sync("after the upload")
	for _, a := range acts {
		if !strings.Contains(a, "Copying (updating) item kickoff0001@google.com to cal_local") {
			t.Errorf("sync after the upload: action %q, want at most the re-download of kickoff0001", a)
		}
	}
	if f := fileContaining(t, calDir, ".ics", "kickoff0001"); !strings.Contains(unfold(f), "SUMMARY:Kickoff (edited in the vdir)") {
		t.Errorf("local kickoff0001 lost the local edit:\n%s", f)
	}
	if acts := v.sync("final no-op"); len(acts) != 0 {
		t.Errorf("final sync transferred items: %q", acts)
	}
	if got := len(g.liveEvents()); got != 3 {
		t.Errorf("fake holds %d events, want 3", got)
	}
}

// contactByEmail returns the resourceName of the fake's contact with email.
func (g *googleTarget) contactByEmail(t *testing.T, email string) string {
	t.Helper()
	return g.findContact(t, func(p *people.Person) bool {
		for _, e := range p.EmailAddresses {
			if e.Value == email {
				return true
			}
		}
		return false
	}, email)
}

func (g *googleTarget) contactByPhone(t *testing.T, phone string) string {
	t.Helper()
	return g.findContact(t, func(p *people.Person) bool {
		for _, n := range p.PhoneNumbers {
			if n.Value == phone {
				return true
			}
		}
		return false
	}, phone)
}

// findContact scans the fake's contacts through the People API, as a
// Google client would.
func (g *googleTarget) findContact(t *testing.T, match func(*people.Person) bool, what string) string {
	t.Helper()
	svc, err := people.NewService(t.Context(), option.WithHTTPClient(g.srv.HTTPClient(t.Context())), option.WithEndpoint(g.srv.PeopleBase()))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := svc.People.Connections.List("people/me").PersonFields("names,emailAddresses,phoneNumbers").PageSize(1000).Do()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range resp.Connections {
		if match(p) {
			return p.ResourceName
		}
	}
	t.Fatalf("the fake has no contact with %s", what)
	return ""
}

func localFiles(t *testing.T, dir, ext string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// fileContaining returns the content of the one file in dir holding sub.
func fileContaining(t *testing.T, dir, ext, sub string) string {
	t.Helper()
	for _, f := range localFiles(t, dir, ext) {
		data, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(data), sub) {
			return string(data)
		}
	}
	t.Fatalf("no %s file in %s holds %q", ext, dir, sub)
	return ""
}

// rewrite replaces the content of the file in dir holding sub.
func rewrite(t *testing.T, dir, ext, sub, content string) {
	t.Helper()
	for _, f := range localFiles(t, dir, ext) {
		data, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(data), sub) {
			writeFile(t, f, content)
			return
		}
	}
	t.Fatalf("no %s file in %s holds %q", ext, dir, sub)
}

// unfold undoes iCalendar/vCard line folding.
func unfold(s string) string {
	return strings.NewReplacer("\r\n ", "", "\r\n\t", "", "\n ", "", "\n\t", "").Replace(s)
}

// TestGooglePythonCaldav runs testdata/e2e/google/recurring.py: python3-caldav
// creates and edits a weekly series with a moved instance on a Google
// calendar; the fake must then hold the master with its recurrence and the
// exception linked by recurringEventId and originalStartTime.
func TestGooglePythonCaldav(t *testing.T) {
	t.Parallel()
	requireTool(t, "/usr/bin/python3", "apt-get install python3")
	if _, err := runToolErr(t, "", nil, "/usr/bin/python3", "-c", "import caldav, requests"); err != nil {
		missing(t, "python3-caldav missing; install it with: apt-get install python3-caldav")
	}
	g := startGoogle(t, clientTestCache, seedWork)
	uid := fmt.Sprintf("e2e-google-series-%d@example.com", time.Now().UnixNano())
	env := append(g.env(), "E2E_CAL_URL="+g.CalURL, "E2E_UID="+uid, "PYTHONDONTWRITEBYTECODE=1")
	out := runTool(t, "", env, "/usr/bin/python3", filepath.Join(repoRoot, "testdata", "e2e", "google", "recurring.py"))
	t.Logf("recurring.py:\n%s", out)

	var master *calendar.Event
	var exceptions []*calendar.Event
	for _, e := range g.liveEvents() {
		switch {
		case e.ICalUID != uid:
		case e.RecurringEventId == "":
			master = e
		default:
			exceptions = append(exceptions, e)
		}
	}
	if master == nil {
		t.Fatalf("the fake holds no master event with iCalUID %s", uid)
	}
	if !contains(master.Recurrence, "RRULE:FREQ=WEEKLY;COUNT=6") || master.Summary != "Team sync (edited)" {
		t.Errorf("master: recurrence %q, summary %q; want RRULE:FREQ=WEEKLY;COUNT=6 and the edited summary", master.Recurrence, master.Summary)
	}
	if len(exceptions) != 1 {
		t.Fatalf("the fake holds %d exceptions of %s, want 1", len(exceptions), uid)
	}
	ex := exceptions[0]
	if ex.RecurringEventId != master.Id {
		t.Errorf("exception recurringEventId %q, want the master's id %q", ex.RecurringEventId, master.Id)
	}
	if ex.OriginalStartTime == nil || !sameInstant(ex.OriginalStartTime.DateTime, "2026-03-09T10:00:00Z") {
		t.Errorf("exception originalStartTime %+v, want 2026-03-09T10:00:00Z", ex.OriginalStartTime)
	}
	if ex.Start == nil || !sameInstant(ex.Start.DateTime, "2026-03-09T15:00:00Z") || ex.Summary != "Team sync moved (edited)" {
		t.Errorf("exception start %+v summary %q, want 15:00Z and the edited summary", ex.Start, ex.Summary)
	}
}

// sameInstant compares two RFC 3339 times.
func sameInstant(a, b string) bool {
	ta, err1 := time.Parse(time.RFC3339, a)
	tb, err2 := time.Parse(time.RFC3339, b)
	return err1 == nil && err2 == nil && ta.Equal(tb)
}

// TestGoogleTsdav runs testdata/e2e/google/sync.mjs (tsdav) in two phases
// around an event change made on the Google side: the incremental
// syncCollection must report exactly that event's href.
func TestGoogleTsdav(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node not found; install Node.js 20 and run: npm ci --prefix testdata/e2e/tsdav")
	}
	tsdavDir := filepath.Join(repoRoot, "testdata", "e2e", "tsdav")
	if _, err := os.Stat(filepath.Join(tsdavDir, "node_modules", "tsdav", "package.json")); err != nil {
		missing(t, "tsdav not installed; run: npm ci --prefix testdata/e2e/tsdav")
	}
	g := startGoogle(t, clientTestCache, seedWork)
	const summary = "Design review (moved on Google)"
	env := append(g.env(), "E2E_CAL_URL="+g.CalURL, "E2E_TSDAV_DIR="+tsdavDir, "E2E_COUNT=3",
		"E2E_CHANGED_HREF="+g.CalURL+"review00001.ics", "E2E_CHANGED_SUMMARY="+summary)
	script := filepath.Join(repoRoot, "testdata", "e2e", "google", "sync.mjs")
	state := filepath.Join(t.TempDir(), "state.json")
	out := runTool(t, "", env, node, script, "phase1", state)
	t.Logf("sync.mjs phase1:\n%s", out)

	before := g.members(t, g.CalURL)
	g.srv.UpdateEvent(g.calID, "review00001", func(e *calendar.Event) { e.Summary = summary })
	g.waitETags(t, g.CalURL, before)

	out = runTool(t, "", env, node, script, "phase2", state)
	t.Logf("sync.mjs phase2:\n%s", out)
}

// TestGoogleFaults drives Google failures through davgate serve, in order:
// rate limiting (retried, then persistent: reads served from cache, then
// recovery), a 5xx during a write, an expired sync token and finally a
// revoked refresh token (invalid_grant).
func TestGoogleFaults(t *testing.T) {
	t.Parallel()
	g := startGoogle(t, clientTestCache, seedWork)
	ttl := func() { time.Sleep(1200 * time.Millisecond) } // past cache.ttl: the next read asks Google
	warm := g.members(t, g.CalURL)
	if len(warm) != 3 {
		t.Fatalf("calendar members %v, want 3", warm)
	}

	t.Run("rate limit then recovery", func(t *testing.T) {
		ttl()
		g.srv.ResetCalls()
		g.srv.Fail("calendar.events.list", 2, 403, "rateLimitExceeded", 0)
		if got := g.members(t, g.CalURL); !equalMaps(got, warm) {
			t.Errorf("PROPFIND after two throttled calls: %v, want %v", got, warm)
		}
		if n := g.srv.Calls()["calendar.events.list"]; n < 3 {
			t.Errorf("events.list calls = %d, want the 2 throttled + 1 retried", n)
		}
		// Throttled beyond max_retries: reads are served from cache.
		g.srv.Inject(googletest.Fault{Op: "calendar.*", Status: 429, RetryAfter: time.Second})
		ttl()
		if got := g.members(t, g.CalURL); !equalMaps(got, warm) {
			t.Errorf("PROPFIND while Google throttles everything: %v, want the cached %v", got, warm)
		}
		resp, _ := g.do(t, http.MethodGet, g.CalURL+"kickoff0001.ics", nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET while throttled: %s, want 200 from cache", resp.Status)
		}
		if overall, _, healthy, _ := g.health(t); healthy || overall != "degraded" {
			t.Errorf("/healthz while throttled: %s, gmail healthy=%v; want degraded", overall, healthy)
		}
		// Recovery: a change made meanwhile shows up.
		g.srv.ClearFaults()
		g.srv.UpdateEvent(g.calID, "kickoff0001", func(e *calendar.Event) { e.Summary = "Kickoff (after the throttling)" })
		warm = g.waitETags(t, g.CalURL, warm)
		if _, _, healthy, _ := g.health(t); !healthy {
			t.Errorf("/healthz after recovery: gmail unhealthy")
		}
	})

	t.Run("5xx during write", func(t *testing.T) {
		before := len(g.srv.Events(g.calID))
		g.srv.ResetCalls()
		for _, op := range []string{"calendar.events.import", "calendar.events.insert", "calendar.events.update", "calendar.events.patch"} {
			g.srv.Fail(op, 1, 500, "backendError", 0)
		}
		uid := "e2e-google-5xx@example.com"
		resp, body := g.do(t, http.MethodPut, g.CalURL+uid+".ics", []byte(eventICS(uid, "Written during an outage", windowStart.Add(90*time.Hour))),
			map[string]string{"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"})
		g.srv.ClearFaults()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("PUT during a Google 500: %s, want 503\n%s", resp.Status, body)
		}
		if after := len(g.srv.Events(g.calID)); after != before {
			t.Errorf("the fake holds %d events after the failed PUT, had %d", after, before)
		}
		if _, ok := g.srv.Event(g.calID, google.EventID(uid)); ok {
			t.Errorf("the fake holds the event of the failed PUT")
		}
		if resp, _ := g.do(t, http.MethodGet, g.CalURL+uid+".ics", nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET after the failed PUT: %s, want 404", resp.Status)
		}
		calls := g.srv.Calls()
		if n := calls["calendar.events.import"] + calls["calendar.events.insert"]; n != 1 {
			t.Errorf("write calls = %v, want exactly one (a 5xx write is not retried)", calls)
		}
	})

	t.Run("expired sync token", func(t *testing.T) {
		token, changed, _ := g.syncCollection(t, g.CalURL, "")
		if len(changed) != 3 {
			t.Fatalf("initial sync-collection: %v, want 3 members", changed)
		}
		g.srv.PutEvent(g.calID, googleEvent("latecomer01", "Added on Google", windowStart.Add(100*time.Hour)))
		g.srv.InvalidateSyncTokens()
		ttl()
		g.srv.ResetCalls()
		_, changed, deleted := g.syncCollection(t, g.CalURL, token)
		if len(changed) != 1 || !strings.HasSuffix(changed[0], "/latecomer01.ics") || len(deleted) != 0 {
			t.Errorf("sync-collection after Google refused the sync token: changed %v deleted %v, want only latecomer01", changed, deleted)
		}
		if n := g.srv.Calls()["calendar.events.list"]; n != 2 {
			t.Errorf("events.list calls = %d, want 2 (refused delta, full relist)", n)
		}
	})

	t.Run("invalid_grant", func(t *testing.T) {
		warm := g.members(t, g.CalURL)
		g.srv.RevokeRefreshTokens()
		g.srv.ExpireAccessTokens()
		ttl()
		if got := g.members(t, g.CalURL); !equalMaps(got, warm) {
			t.Errorf("PROPFIND after invalid_grant: %v, want the cached %v", got, warm)
		}
		if resp, body := g.do(t, http.MethodGet, g.CalURL+"kickoff0001.ics", nil, nil); resp.StatusCode != http.StatusOK ||
			!strings.Contains(string(body), "Kickoff (after the throttling)") {
			t.Errorf("GET after invalid_grant: %s\n%s", resp.Status, body)
		}
		overall, detail, healthy, _ := g.health(t)
		hint := "davgate auth google -config " + g.cfgPath + " -user " + testUser + " -source gmail"
		if overall != "degraded" || healthy || !strings.Contains(detail, hint) {
			t.Errorf("/healthz after invalid_grant: %s, gmail healthy=%v detail %q; want degraded with %q", overall, healthy, detail, hint)
		}
		// Reads keep coming from cache, without hammering Google.
		g.srv.ResetCalls()
		ttl()
		for range 3 {
			if got := g.members(t, g.CalURL); !equalMaps(got, warm) {
				t.Errorf("PROPFIND while unauthorised: %v", got)
			}
		}
		if calls := g.srv.Calls(); len(calls) != 0 {
			t.Errorf("upstream calls while the source needs re-authorisation: %v", calls)
		}
		// A write cannot succeed: 502 (davgate's upstream credentials, not the client's).
		uid := "e2e-google-unauth@example.com"
		resp, body := g.do(t, http.MethodPut, g.CalURL+uid+".ics", []byte(eventICS(uid, "x", windowStart)),
			map[string]string{"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"})
		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("PUT while unauthorised: %s, want 502\n%s", resp.Status, body)
		}
	})
}

// TestGoogleUpstreamCalls counts the Google API calls behind DAV requests
// to davgate serve (cache.ttl 5s) over a calendar of N events: the initial
// sync-collection lists events in pages of 2,500, a no-change
// sync-collection or PROPFIND after the TTL costs one incremental
// events.list, a warm PROPFIND within the TTL no events call, and nothing
// ever GETs single events. The calendar list (calendarList.list) is read
// once: the cache keeps it for max(TTL, 5 min), so a poll is one call.
// Figures go to docs/benchmarks.md ("Google").
func TestGoogleUpstreamCalls(t *testing.T) {
	for _, n := range []int{2000, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			const ttl = 5 * time.Second
			g := startGoogle(t, fmt.Sprintf("cache: {ttl: %s}", ttl), func(srv *googletest.Server, calID string) {
				for i := range n {
					srv.PutEvent(calID, googleEvent(fmt.Sprintf("bulk%07d", i), fmt.Sprintf("Event %d", i), windowStart.Add(time.Duration(i)*time.Hour)))
				}
			})
			pages := (n + 2499) / 2500
			// step runs f and checks its upstream calls: at most maxEvents
			// events calls and maxList calendarList.list, nothing else.
			step := func(what string, maxEvents, maxList int, f func()) map[string]int {
				t.Helper()
				g.srv.ResetCalls()
				start := time.Now()
				f()
				took := time.Since(start)
				calls := g.srv.Calls()
				total, events := 0, 0
				for op, c := range calls {
					total += c
					if strings.HasPrefix(op, "calendar.events.") {
						events += c
					}
				}
				t.Logf("N=%d %-42s %d upstream calls %v in %s", n, what, total, calls, took.Round(time.Millisecond))
				if events > maxEvents || calls["calendar.calendarList.list"] > maxList || total-events-calls["calendar.calendarList.list"] != 0 {
					t.Errorf("%s: upstream calls %v, want at most %d events calls and %d calendarList.list", what, calls, maxEvents, maxList)
				}
				if calls["calendar.events.get"] != 0 || calls["calendar.events.instances"] != 0 {
					t.Errorf("%s: per-event calls %v", what, calls)
				}
				return calls
			}

			var token string
			calls := step("initial sync-collection", pages, 1, func() {
				var changed []string
				token, changed, _ = g.syncCollection(t, g.CalURL, "")
				if len(changed) != n {
					t.Fatalf("initial sync-collection: %d members, want %d", len(changed), n)
				}
			})
			if calls["calendar.events.list"] != pages {
				t.Errorf("initial sync-collection: %d events.list calls, want ⌈%d/2500⌉ = %d", calls["calendar.events.list"], n, pages)
			}
			filled := time.Now()
			var members map[string]string
			step("warm PROPFIND Depth:1 within the TTL", 0, 0, func() {
				members = g.members(t, g.CalURL)
				for _, h := range sortedKeys(members)[:10] {
					if resp, _ := g.do(t, http.MethodGet, g.Root+strings.TrimPrefix(h, "/"), nil, nil); resp.StatusCode != http.StatusOK {
						t.Errorf("GET %s: %s", h, resp.Status)
					}
				}
			})
			if time.Since(filled) > ttl {
				t.Errorf("the warm PROPFIND ended %s after the fill, beyond the TTL: its 0 calls prove nothing", time.Since(filled))
			}
			if len(members) != n {
				t.Errorf("PROPFIND Depth:1: %d members, want %d", len(members), n)
			}
			time.Sleep(ttl + 200*time.Millisecond)
			step("no-change sync-collection after the TTL", 1, 0, func() {
				next, changed, deleted := g.syncCollection(t, g.CalURL, token)
				if len(changed)+len(deleted) != 0 || next != token {
					t.Errorf("no-change sync-collection: %d changed, %d deleted, token %q (was %q)", len(changed), len(deleted), next, token)
				}
			})
			time.Sleep(ttl + 200*time.Millisecond)
			step("PROPFIND Depth:1 poll after the TTL", 1, 0, func() {
				if got := g.members(t, g.CalURL); !equalMaps(got, members) {
					t.Errorf("PROPFIND after the TTL changed without a change upstream")
				}
			})
			g.srv.UpdateEvent(g.calID, "bulk0000007", func(e *calendar.Event) { e.Summary = "changed" })
			time.Sleep(ttl + 200*time.Millisecond)
			step("sync-collection after one change", 1, 0, func() {
				_, changed, _ := g.syncCollection(t, g.CalURL, token)
				if len(changed) != 1 || !strings.HasSuffix(changed[0], "/bulk0000007.ics") {
					t.Errorf("sync-collection after one change: %v", changed)
				}
			})
		})
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return sorted(out...)
}
