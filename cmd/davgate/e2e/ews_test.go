package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/davgate/davgate/adapters/ews"
	"github.com/davgate/davgate/adapters/ews/ewstest"
)

// The EWS tests run two independent EWS clients (exchangelib, DavMail)
// against ewstest, the stateful fake Exchange, to check the fake itself,
// and then real CalDAV clients against davgate serve with an "ews" source
// pointing at ewstest in the test process.

const ewsConfig = `# written by cmd/davgate/e2e (ews)
listen: "127.0.0.1:%d"
log: {level: debug, format: text}
%s
users:
  - name: %s
    password_env: DAVGATE_E2E_PASSWORD
    sources:
      - name: ex
        type: ews
        options:
          url: %q
          username: %q
          password_env: DAVGATE_E2E_EWS_PASSWORD
          retry_base_delay: 10ms
          max_retries: 3
          max_retry_wait: 2s
`

const (
	ewsUser     = "user@example.test"
	ewsPassword = "secret"
)

// ewsTarget is davgate serving one Exchange mailbox from ewstest.
type ewsTarget struct {
	*target
	srv    *ewstest.Server
	logs   *syncBuffer
	CalURL string // the primary calendar's collection URL, trailing slash
}

// startEWS starts ewstest, seeds it and starts davgate in front of it.
func startEWS(t *testing.T, cache string, seed func(srv *ewstest.Server)) *ewsTarget {
	t.Helper()
	if targetName() != "davgate" {
		t.Skip("davgate-specific: the ews adapter against ewstest")
	}
	bin := buildDavgate(t)
	srv := ewstest.New(ewstest.WithBasicAuth(ewsUser, ewsPassword))
	t.Cleanup(srv.Close)
	if seed != nil {
		seed(srv)
	}
	port := freePort(t)
	cfg := filepath.Join(t.TempDir(), "davgate.yaml")
	writeFile(t, cfg, fmt.Sprintf(ewsConfig, port, cache, testUser, srv.URL(), ewsUser))
	cmd := exec.Command(bin, "serve", "-config", cfg)
	cmd.Env = append(os.Environ(), "DAVGATE_E2E_PASSWORD="+testPassword, "DAVGATE_E2E_EWS_PASSWORD="+ewsPassword)
	logs := startDaemon(t, "davgate", cmd)
	root := fmt.Sprintf("http://127.0.0.1:%d/", port)
	waitHTTP(t, root+"healthz", http.StatusOK, logs)
	return &ewsTarget{
		target: &target{Name: "davgate", Root: root, User: testUser, Password: testPassword},
		srv:    srv,
		logs:   logs,
		CalURL: root + "dav/calendars/" + testUser + "/" + url.PathEscape("ex~"+ews.PrimaryCalendar) + "/",
	}
}

// ewsEvents are the seeded Exchange-side events: UID → iCalendar.
var ewsEvents = map[string]string{
	"kickoff-0001@example.test": eventICS("kickoff-0001@example.test", "Kickoff", windowStart.Add(33*time.Hour)),
	"review-0001@example.test":  eventICS("review-0001@example.test", "Design review", windowStart.Add(80*time.Hour)),
	"standup-0001@example.test": strings.Replace(eventICS("standup-0001@example.test", "Standup", windowStart.Add(-20*24*time.Hour+9*time.Hour)),
		"SUMMARY:", "RRULE:FREQ=WEEKLY;COUNT=10\r\nSUMMARY:", 1),
}

// seedEWS stores ewsEvents in the fake's calendar, as Outlook would.
func seedEWS(t *testing.T) func(*ewstest.Server) {
	return func(srv *ewstest.Server) {
		for _, uid := range sortedKeys(ewsEvents) {
			if _, err := srv.AddCalendarItem("calendar", ewsEvents[uid]); err != nil {
				t.Fatalf("seed %s: %v", uid, err)
			}
		}
	}
}

// itemByUID finds the fake's calendar item holding uid: its ItemId and
// stored iCalendar.
func itemByUID(t *testing.T, srv *ewstest.Server, uid string) (string, string, bool) {
	t.Helper()
	refs, err := srv.Primary().Items("calendar")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		if ics, ok := srv.Primary().ItemICS(r.ID); ok && strings.Contains(unfold(ics), "UID:"+uid) {
			return r.ID, ics, true
		}
	}
	return "", "", false
}

// editEWS makes an Exchange-side change to the event uid: its iCalendar
// passes through edit.
func editEWS(t *testing.T, srv *ewstest.Server, uid string, edit func(string) string) {
	t.Helper()
	id, ics, ok := itemByUID(t, srv, uid)
	if !ok {
		t.Fatalf("the fake has no item with UID %s", uid)
	}
	if _, err := srv.UpdateItem(id, edit(ics)); err != nil {
		t.Fatalf("UpdateItem %s: %v", uid, err)
	}
}

func countItems(t *testing.T, srv *ewstest.Server) int {
	t.Helper()
	refs, err := srv.Primary().Items("calendar")
	if err != nil {
		t.Fatal(err)
	}
	return len(refs)
}

// TestEWSExchangelib checks the fake with an independent EWS client:
// exchangelib lists the seeded calendar items and creates one, which the
// fake then holds.
func TestEWSExchangelib(t *testing.T) {
	t.Parallel()
	requireTool(t, "/usr/bin/python3", "apt-get install python3")
	if _, err := runToolErr(t, "", nil, "/usr/bin/python3", "-c", "import exchangelib"); err != nil {
		missing(t, "python3-exchangelib missing; install it with: apt-get install python3-exchangelib")
	}
	srv := ewstest.New(ewstest.WithBasicAuth(ewsUser, ewsPassword))
	t.Cleanup(srv.Close)
	seedEWS(t)(srv)
	const subject = "Made by exchangelib"
	env := []string{"E2E_EWS_URL=" + srv.URL(), "E2E_EWS_USER=" + ewsUser, "E2E_EWS_PASSWORD=" + ewsPassword,
		"E2E_COUNT=3", "E2E_SUBJECT=" + subject, "PYTHONDONTWRITEBYTECODE=1", "HOME=" + t.TempDir()}
	out := runTool(t, "", env, "/usr/bin/python3", filepath.Join(repoRoot, "testdata", "e2e", "ews", "exchangelib_check.py"))
	t.Logf("exchangelib_check.py:\n%s", out)
	m := regexp.MustCompile(`(?m)^created (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatal("exchangelib printed no created ItemId")
	}
	ics, ok := srv.Primary().ItemICS(m[1])
	if !ok {
		t.Fatalf("the fake has no item %s", m[1])
	}
	if !strings.Contains(unfold(ics), "SUMMARY:"+subject) {
		t.Errorf("the fake's new item lacks the subject:\n%s", ics)
	}
	if n := countItems(t, srv); n != 4 {
		t.Errorf("the fake holds %d items, want 4", n)
	}
	if c := srv.Calls(); c["CreateItem"] != 1 || c["FindItem"] < 2 {
		t.Errorf("SOAP calls %v: want 1 CreateItem and the 2 listings", c)
	}
}

// davmailProperties is the run recipe of docs/exchange.md (headless DavMail
// in EWS mode, CalDAV on one loopback port, everything else off).
const davmailProperties = `davmail.server=true
davmail.mode=EWS
davmail.url=%s
davmail.caldavPort=%d
davmail.imapPort=
davmail.smtpPort=
davmail.popPort=
davmail.ldapPort=
davmail.bindAddress=127.0.0.1
davmail.allowRemote=false
davmail.ssl.nosecurecaldav=true
davmail.ssl.keystoreFile=
davmail.disableUpdateCheck=true
davmail.enableProxy=false
davmail.useSystemProxies=false
davmail.enableKerberos=false
davmail.showStartupBanner=false
davmail.disableGuiNotifications=true
davmail.disableTrayActivitySwitch=true
davmail.caldavPastDelay=0
davmail.timezoneId=W. Europe Standard Time
davmail.logFilePath=%s/davmail.log
davmail.logFileSize=0
log4j.rootLogger=WARN
log4j.logger.davmail=INFO
log4j.logger.httpclient.wire=WARN
log4j.logger.httpclient=WARN
`

// TestEWSDavMail checks the fake with DavMail 6 (Debian davmail-server),
// headless in EWS mode: a CalDAV PROPFIND Depth:1 lists the seeded events
// and a calendar-query with a time range returns their iCalendar.
func TestEWSDavMail(t *testing.T) {
	t.Parallel()
	requireTool(t, "/usr/bin/davmail-server", "apt-get install davmail-server")
	srv := ewstest.New(ewstest.WithBasicAuth(ewsUser, ewsPassword))
	t.Cleanup(srv.Close)
	seedEWS(t)(srv)
	dir := t.TempDir()
	port := freePort(t)
	props := filepath.Join(dir, "davmail.properties")
	writeFile(t, props, fmt.Sprintf(davmailProperties, srv.URL(), port, dir))
	logs := startDaemon(t, "davmail", exec.Command("/usr/bin/davmail-server", props))
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "davmail.log"))
			t.Fatalf("DavMail did not listen on %d within 60s:\n%s\n%s", port, logs.String(), log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "davmail.log"))
			t.Logf("davmail.log:\n%s", log)
		}
	})
	dm := &target{Name: "davmail", Root: fmt.Sprintf("http://127.0.0.1:%d/", port), User: ewsUser, Password: ewsPassword}
	cal := dm.Root + "users/" + ewsUser + "/calendar/"

	members := dm.etags(t, cal)
	delete(members, "/users/"+ewsUser+"/calendar/")
	if len(members) != len(ewsEvents) {
		t.Fatalf("DavMail PROPFIND Depth:1: %d members %v, want %d", len(members), members, len(ewsEvents))
	}
	for h := range members {
		if !strings.HasSuffix(h, ".EML") {
			t.Errorf("DavMail href %s: want <ItemId>.EML", h)
		}
	}

	query := `<?xml version="1.0" encoding="utf-8"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">` +
		`<d:prop><d:getetag/><c:calendar-data/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">` +
		`<c:time-range start="20260301T000000Z" end="20260401T000000Z"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>`
	resp, body := dm.do(t, "REPORT", cal, []byte(query), map[string]string{"Depth": "1", "Content-Type": "application/xml; charset=utf-8"})
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("DavMail calendar-query: %s\n%s", resp.Status, body)
	}
	text := unfold(strings.ReplaceAll(string(body), "\r", ""))
	for _, s := range []string{"SUMMARY:Kickoff", "SUMMARY:Design review", "SUMMARY:Standup", "RRULE:FREQ=WEEKLY;COUNT=10"} {
		if !strings.Contains(text, s) {
			t.Errorf("DavMail calendar-query lacks %q:\n%s", s, body)
		}
	}
	calls := srv.Calls()
	t.Logf("SOAP calls behind DavMail's login, PROPFIND and calendar-query: %v", calls)
	if calls["FindItem"] < 2 || calls["GetItem"] < len(ewsEvents) {
		t.Errorf("SOAP calls %v: want DavMail's FindItem per listing and GetItem per event", calls)
	}
}

// members lists coll's member ETags by href (see googleTarget.members).
func (g *ewsTarget) members(t *testing.T, coll string) map[string]string {
	t.Helper()
	return (&googleTarget{target: g.target}).members(t, coll)
}

// waitETags polls coll until its member ETags differ from before.
func (g *ewsTarget) waitETags(t *testing.T, coll string, before map[string]string) map[string]string {
	t.Helper()
	return (&googleTarget{target: g.target}).waitETags(t, coll, before)
}
