package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/davgate/davgate/adapters/ews/ewstest"
)

const ewsVdirsyncerConfig = `[general]
status_path = "%[1]s/status/"

[pair cal]
a = "cal_remote"
b = "cal_local"
collections = null

[storage cal_remote]
type = "caldav"
url = "%[2]s"
username = "%[3]s"
password = "%[4]s"

[storage cal_local]
type = "filesystem"
path = "%[1]s/cal/"
fileext = ".ics"
`

// TestEWSVdirsyncer syncs an Exchange calendar both ways with vdirsyncer:
// the initial copy (no duplicates, no "item twice"), an Exchange-side edit
// arriving in the vdir, a local edit and a local new event arriving at the
// fake, and a final no-op sync.
func TestEWSVdirsyncer(t *testing.T) {
	t.Parallel()
	requireTool(t, "/usr/bin/vdirsyncer", "apt-get install vdirsyncer")
	g := startEWS(t, clientTestCache, seedEWS(t))
	dir := t.TempDir()
	calDir := filepath.Join(dir, "cal")
	if err := os.MkdirAll(calDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "vdirsyncer.conf")
	writeFile(t, cfg, fmt.Sprintf(ewsVdirsyncerConfig, dir, g.CalURL, g.User, g.Password))
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "XDG_DATA_HOME=" + dir, "TZ=UTC", "LC_ALL=C.UTF-8"}
	v := &vdir{t: t, cfg: cfg, env: env}
	runTool(t, strings.Repeat("y\n", 10), env, "/usr/bin/vdirsyncer", "-c", cfg, "discover")

	noDup := func(what string) {
		t.Helper()
		if got := localUIDs(t, calDir); !equalStrings(got, sortedKeys(ewsEvents)) && len(got) != len(ewsEvents)+1 {
			t.Errorf("%s: local UIDs %v", what, got)
		}
	}
	acts := v.sync("initial")
	if n := countMatching(acts, "Copying (uploading)"); n != 3 || len(acts) != 3 {
		t.Errorf("initial sync: actions %q, want 3 downloads", acts)
	}
	noDup("initial sync")
	if acts := v.sync("no-op"); len(acts) != 0 {
		t.Errorf("second sync transferred items: %q", acts)
	}

	// Exchange-side edit arrives in the vdir.
	before := g.members(t, g.CalURL)
	editEWS(t, g.srv, "review-0001@example.test", func(ics string) string {
		return strings.Replace(ics, "SUMMARY:Design review", "SUMMARY:Design review (edited in Outlook)", 1)
	})
	g.waitETags(t, g.CalURL, before)
	acts = v.sync("after the Exchange-side edit")
	if len(acts) != 1 || countMatching(acts, "Copying (updating)") != 1 {
		t.Errorf("sync after the Exchange-side edit: actions %q, want exactly one update", acts)
	}
	if f := fileContaining(t, calDir, ".ics", "review-0001"); !strings.Contains(unfold(f), "SUMMARY:Design review (edited in Outlook)") {
		t.Errorf("local copy lacks the Exchange-side edit:\n%s", f)
	}

	// Local edit and local new event arrive at the fake.
	kick := fileContaining(t, calDir, ".ics", "kickoff-0001")
	rewrite(t, calDir, ".ics", "kickoff-0001", strings.Replace(kick, "SUMMARY:Kickoff", "SUMMARY:Kickoff (edited in the vdir)", 1))
	const newUID = "vdir-new-0001@example.test"
	writeFile(t, filepath.Join(calDir, "vdir-new-0001.ics"), eventICS(newUID, "Made in the vdir", windowStart.Add(50*time.Hour)))
	acts = v.sync("after local edits")
	if len(acts) != 2 || countMatching(acts, "Copying (updating)") != 1 || countMatching(acts, "Copying (uploading)") != 1 {
		t.Errorf("sync after local edits: actions %q, want one update and one upload", acts)
	}
	if _, ics, ok := itemByUID(t, g.srv, "kickoff-0001@example.test"); !ok || !strings.Contains(unfold(ics), "SUMMARY:Kickoff (edited in the vdir)") {
		t.Errorf("the fake's kickoff after sync:\n%s", ics)
	}
	if _, ics, ok := itemByUID(t, g.srv, newUID); !ok || !strings.Contains(unfold(ics), "SUMMARY:Made in the vdir") {
		t.Errorf("the fake's new event after sync (found %v):\n%s", ok, ics)
	}
	// Any re-download after the upload is a single item; then nothing.
	acts = v.sync("after the upload")
	if len(acts) > 2 || countMatching(acts, "to cal_local") != len(acts) {
		t.Errorf("sync after the upload: actions %q, want at most re-downloads of the written items", acts)
	}
	if acts := v.sync("final no-op"); len(acts) != 0 {
		t.Errorf("final sync transferred items: %q", acts)
	}
	if got := localUIDs(t, calDir); len(got) != 4 {
		t.Errorf("local UIDs %v, want 4 without duplicates", got)
	}
	if n := countItems(t, g.srv); n != 4 {
		t.Errorf("the fake holds %d items, want 4", n)
	}
}

// TestEWSPythonCaldav runs testdata/e2e/ews/recurring.py: python3-caldav
// creates a weekly series with a moved instance, edits both, deletes one
// occurrence with EXDATE and reads it back; the fake must hold one item
// whose stored iCalendar has the EXDATE (the deleted occurrence).
func TestEWSPythonCaldav(t *testing.T) {
	t.Parallel()
	requireTool(t, "/usr/bin/python3", "apt-get install python3")
	if _, err := runToolErr(t, "", nil, "/usr/bin/python3", "-c", "import caldav, requests"); err != nil {
		missing(t, "python3-caldav missing; install it with: apt-get install python3-caldav")
	}
	g := startEWS(t, clientTestCache, seedEWS(t))
	uid := fmt.Sprintf("e2e-ews-series-%d@example.com", time.Now().UnixNano())
	env := append(g.env(), "E2E_CAL_URL="+g.CalURL, "E2E_UID="+uid, "PYTHONDONTWRITEBYTECODE=1")
	out := runTool(t, "", env, "/usr/bin/python3", filepath.Join(repoRoot, "testdata", "e2e", "ews", "recurring.py"))
	t.Logf("recurring.py:\n%s", out)
	_, ics, ok := itemByUID(t, g.srv, uid)
	if !ok {
		t.Fatalf("the fake holds no item with UID %s", uid)
	}
	u := unfold(ics)
	var gaps []string
	if !strings.Contains(u, "EXDATE") || !strings.Contains(u, "20260323T100000Z") {
		gaps = append(gaps, "the deleted occurrence (EXDATE 20260323T100000Z) did not reach Exchange")
	}
	if !strings.Contains(u, "SUMMARY:Team sync moved (edited)") || !strings.Contains(u, "DTSTART:20260309T150000Z") {
		gaps = append(gaps, "the edited exception (15:00, new summary) did not reach Exchange")
	}
	if !strings.Contains(u, "SUMMARY:Team sync (edited)") {
		gaps = append(gaps, "the edited master summary did not reach Exchange")
	}
	// davgate serves the client's iCalendar back whatever Exchange holds, so
	// check what Outlook would see: the series' new EXDATE and edited
	// exception must have reached Exchange (DeleteItem/UpdateItem on the
	// occurrences).
	for _, g := range gaps {
		t.Errorf("%s; the fake holds:\n%s", g, ics)
	}
	if n := countItems(t, g.srv); n != len(ewsEvents)+1 {
		t.Errorf("the fake holds %d items, want %d", n, len(ewsEvents)+1)
	}
}

// TestEWSTsdav runs testdata/e2e/google/sync.mjs (tsdav) in two phases
// around an Exchange-side change (ewstest UpdateItem): the incremental
// syncCollection must report exactly that event's href.
func TestEWSTsdav(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node not found; install Node.js 20 and run: npm ci --prefix testdata/e2e/tsdav")
	}
	tsdavDir := filepath.Join(repoRoot, "testdata", "e2e", "tsdav")
	if _, err := os.Stat(filepath.Join(tsdavDir, "node_modules", "tsdav", "package.json")); err != nil {
		missing(t, "tsdav not installed; run: npm ci --prefix testdata/e2e/tsdav")
	}
	g := startEWS(t, clientTestCache, seedEWS(t))
	const summary = "Design review (moved in Outlook)"
	env := append(g.env(), "E2E_CAL_URL="+g.CalURL, "E2E_TSDAV_DIR="+tsdavDir, "E2E_COUNT=3",
		"E2E_CHANGED_HREF="+g.CalURL+"review-0001@example.test.ics", "E2E_CHANGED_SUMMARY="+summary)
	script := filepath.Join(repoRoot, "testdata", "e2e", "google", "sync.mjs")
	state := filepath.Join(t.TempDir(), "state.json")
	out := runTool(t, "", env, node, script, "phase1", state)
	t.Logf("sync.mjs phase1:\n%s", out)

	before := g.members(t, g.CalURL)
	editEWS(t, g.srv, "review-0001@example.test", func(ics string) string {
		return strings.Replace(ics, "SUMMARY:Design review", "SUMMARY:"+summary, 1)
	})
	g.waitETags(t, g.CalURL, before)
	out = runTool(t, "", env, node, script, "phase2", state)
	t.Logf("sync.mjs phase2:\n%s", out)
}

// TestEWSFaults drives Exchange failures through davgate serve: throttling
// (ErrorServerBusy) retried then persistent then recovered, a conflicting
// Exchange-side change (stale If-Match → 412), and a fault during a write
// (503, and the fake holds nothing new).
func TestEWSFaults(t *testing.T) {
	t.Parallel()
	g := startEWS(t, clientTestCache, seedEWS(t))
	ttl := func() { time.Sleep(1200 * time.Millisecond) } // past cache.ttl
	warm := g.members(t, g.CalURL)
	if len(warm) != 3 {
		t.Fatalf("calendar members %v, want 3", warm)
	}
	hdr := map[string]string{"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"}

	t.Run("throttling then recovery", func(t *testing.T) {
		ttl()
		g.srv.ResetCalls()
		g.srv.Inject("*", ewstest.Failure{Times: 2, Code: "ErrorServerBusy", BackOff: 50 * time.Millisecond})
		if got := g.members(t, g.CalURL); !equalMaps(got, warm) {
			t.Errorf("PROPFIND after two throttled calls: %v, want %v", got, warm)
		}
		t.Logf("SOAP calls of a PROPFIND behind two throttled calls: %v", g.srv.Calls())
		// Throttled beyond max_retry_wait (2s): a write answers 503 +
		// Retry-After, and davgate honours the back-off for every call.
		g.srv.Inject("*", ewstest.Failure{Code: "ErrorServerBusy", BackOff: 3 * time.Second})
		uid := "e2e-ews-throttled@example.test"
		resp, body := g.do(t, http.MethodPut, g.CalURL+uid+".ics", []byte(eventICS(uid, "Written while throttled", windowStart.Add(90*time.Hour))), hdr)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("PUT while Exchange throttles: %s Retry-After %q, want 503 with Retry-After\n%s", resp.Status, resp.Header.Get("Retry-After"), body)
		}
		if _, _, ok := itemByUID(t, g.srv, uid); ok {
			t.Errorf("the fake holds the throttled write")
		}
		// Recovery: once Exchange stops throttling and the back-off has
		// passed, the same write goes through.
		g.srv.ClearFailures()
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, body = g.do(t, http.MethodPut, g.CalURL+uid+".ics", []byte(eventICS(uid, "Written after the throttling", windowStart.Add(90*time.Hour))), hdr)
			if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusNoContent {
				break
			}
			if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
				t.Fatalf("PUT after recovery: %s\n%s", resp.Status, body)
			}
			time.Sleep(250 * time.Millisecond)
		}
		if _, ics, ok := itemByUID(t, g.srv, uid); !ok || !strings.Contains(unfold(ics), "Written after the throttling") {
			t.Errorf("the fake after the recovered write (found %v):\n%s", ok, ics)
		}
	})

	t.Run("conflict", func(t *testing.T) {
		obj := g.CalURL + "kickoff-0001@example.test.ics"
		resp, body := g.do(t, http.MethodGet, obj, nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", obj, resp.Status)
		}
		stale := resp.Header.Get("ETag")
		before := g.members(t, g.CalURL)
		editEWS(t, g.srv, "kickoff-0001@example.test", func(ics string) string {
			return strings.Replace(ics, "SUMMARY:Kickoff", "SUMMARY:Kickoff (edited in Outlook)", 1)
		})
		g.waitETags(t, g.CalURL, before)
		g.srv.ResetCalls()
		edited := strings.Replace(string(body), "SUMMARY:Kickoff", "SUMMARY:Kickoff (edited by the client)", 1)
		resp, data := g.do(t, http.MethodPut, obj, []byte(edited), map[string]string{"Content-Type": "text/calendar; charset=utf-8", "If-Match": stale})
		if resp.StatusCode != http.StatusPreconditionFailed {
			t.Errorf("PUT with stale If-Match %s: %s, want 412\n%s", stale, resp.Status, data)
		}
		if _, ics, _ := itemByUID(t, g.srv, "kickoff-0001@example.test"); !strings.Contains(unfold(ics), "SUMMARY:Kickoff (edited in Outlook)") {
			t.Errorf("the fake lost the Exchange-side edit:\n%s", ics)
		}
		if c := g.srv.Calls(); c["UpdateItem"]+c["CreateItem"] != 0 {
			t.Errorf("the refused PUT reached Exchange: %v", c)
		}
	})

	t.Run("fault during a write", func(t *testing.T) {
		before := countItems(t, g.srv)
		g.srv.ResetCalls()
		g.srv.Fail("CreateItem", 1, "ErrorInternalServerTransientError")
		uid := "e2e-ews-fault@example.test"
		resp, body := g.do(t, http.MethodPut, g.CalURL+uid+".ics", []byte(eventICS(uid, "Written during an outage", windowStart.Add(95*time.Hour))), hdr)
		g.srv.ClearFailures()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("PUT during an Exchange fault: %s, want 503 (no false 201)\n%s", resp.Status, body)
		}
		if after := countItems(t, g.srv); after != before {
			t.Errorf("the fake holds %d items after the failed PUT, had %d", after, before)
		}
		if c := g.srv.Calls(); c["CreateItem"] != 1 {
			t.Errorf("CreateItem calls = %d, want exactly 1 (a failed write is not retried)", c["CreateItem"])
		}
		if resp, _ := g.do(t, http.MethodGet, g.CalURL+uid+".ics", nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET after the failed PUT: %s, want 404", resp.Status)
		}
	})
}
