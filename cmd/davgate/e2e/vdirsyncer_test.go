package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

const vdirsyncerConfig = `[general]
status_path = "%[1]s/status/"

[pair feed]
a = "feed_remote"
b = "feed_local"
collections = ["%[5]s"]

[storage feed_remote]
type = "caldav"
url = "%[2]s"
username = "%[3]s"
password = "%[4]s"
read_only = true

[storage feed_local]
type = "filesystem"
path = "%[1]s/cal/"
fileext = ".ics"

[pair work]
a = "work_remote"
b = "work_local"
collections = ["%[6]s"]
conflict_resolution = "a wins"

[storage work_remote]
type = "caldav"
url = "%[2]s"
username = "%[3]s"
password = "%[4]s"

[storage work_local]
type = "filesystem"
path = "%[1]s/cal/"
fileext = ".ics"
`

const khalConfig = `[calendars]
[[feed]]
path = %[1]s/cal/%[2]s
type = calendar

[locale]
timeformat = %%H:%%M
dateformat = %%Y-%%m-%%d
longdateformat = %%Y-%%m-%%d
datetimeformat = %%Y-%%m-%%d %%H:%%M
longdatetimeformat = %%Y-%%m-%%d %%H:%%M
local_timezone = UTC
default_timezone = UTC

[sqlite]
path = %[1]s/khal.db
`

// syncActions are vdirsyncer's per-item log lines.
var syncActions = regexp.MustCompile(`(?m)^.*(Copying \((uploading|updating)\) item|Deleting item) .*$`)

// vdir runs vdirsyncer with the test's config.
type vdir struct {
	t   *testing.T
	cfg string
	env []string
}

// sync runs "vdirsyncer sync" and returns its item action lines.
func (v *vdir) sync(what string) []string {
	v.t.Helper()
	out := runTool(v.t, "", v.env, "/usr/bin/vdirsyncer", "-c", v.cfg, "-v", "INFO", "sync")
	v.t.Logf("vdirsyncer sync (%s):\n%s", what, out)
	if strings.Contains(out, "error:") {
		v.t.Fatalf("vdirsyncer sync (%s) reported errors", what)
	}
	return syncActions.FindAllString(out, -1)
}

// TestVdirsyncerKhal syncs the feed and the writable calendar into a
// filesystem storage with vdirsyncer (discover, sync, no-op resync, one
// change), reads the result with khal, and checks two-way sync of the
// writable calendar.
func TestVdirsyncerKhal(t *testing.T) {
	t.Parallel()
	requireTool(t, "/usr/bin/vdirsyncer", "apt-get install vdirsyncer")
	feed := loadFeed(t)
	tg := startTarget(t, feed)
	dir := t.TempDir()
	feedColl := path.Base(strings.TrimSuffix(tg.FeedURL, "/"))
	workColl := path.Base(strings.TrimSuffix(tg.WorkURL, "/"))
	cfg := filepath.Join(dir, "vdirsyncer.conf")
	writeFile(t, cfg, fmt.Sprintf(vdirsyncerConfig, dir, tg.Root, tg.User, tg.Password, feedColl, workColl))
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "XDG_DATA_HOME=" + dir, "TZ=UTC", "LC_ALL=C.UTF-8"}
	v := &vdir{t: t, cfg: cfg, env: env}

	// discover may ask whether to create the local collections: answer yes.
	out := runTool(t, strings.Repeat("y\n", 10), env, "/usr/bin/vdirsyncer", "-c", cfg, "discover")
	t.Logf("vdirsyncer discover:\n%s", out)
	feedDir := filepath.Join(dir, "cal", feedColl)
	workDir := filepath.Join(dir, "cal", workColl)
	for _, d := range []string{feedDir, workDir} {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			t.Fatalf("discover did not create %s: %v", d, err)
		}
	}

	// First sync: every feed event is copied, the writable calendar is empty.
	acts := v.sync("initial")
	if n := countMatching(acts, "Copying (uploading)"); n != len(uids(feed)) || len(acts) != n {
		t.Errorf("initial sync: %d actions %q, want %d uploads (one per feed event)", len(acts), acts, len(uids(feed)))
	}
	if got, want := localUIDs(t, feedDir), uids(feed); !equalStrings(got, want) {
		t.Fatalf("local feed copy has UIDs %v, want %v", got, want)
	}

	// Second sync: nothing to do.
	if acts := v.sync("no-op"); len(acts) != 0 {
		t.Errorf("second sync transferred items: %q", acts)
	}

	// Change one feed event: exactly that item is updated.
	changed := withSummary(t, feed, changedUID, "Product launch (rescheduled)")
	tg.SetFeed(t, changed)
	acts = v.sync("after feed change")
	if len(acts) != 1 || !strings.Contains(acts[0], "Copying (updating) item "+changedUID) {
		t.Errorf("sync after changing %s: actions %q, want exactly one update of it", changedUID, acts)
	}
	if data := readLocal(t, feedDir, changedUID); !strings.Contains(data, "Product launch (rescheduled)") {
		t.Errorf("local copy of %s lacks the new summary:\n%s", changedUID, data)
	}

	// khal reads the synced folder.
	if _, err := os.Stat("/usr/bin/khal"); err == nil {
		checkKhal(t, dir, feedColl, env, occurrences(t, changed, windowStart, windowEnd))
	} else {
		t.Log("khal not installed (apt-get install khal): skipping the khal part")
	}

	// Two-way: a local event reaches the server ...
	localUID := fmt.Sprintf("e2e-vdir-local-%d", time.Now().UnixNano())
	writeFile(t, filepath.Join(workDir, localUID+".ics"), eventICS(localUID, "Created locally", windowStart.Add(50*time.Hour)))
	acts = v.sync("after local create")
	if len(acts) != 1 || !strings.Contains(acts[0], "Copying (uploading) item "+localUID) {
		t.Errorf("sync after a local create: actions %q, want exactly one upload of %s", acts, localUID)
	}
	resp, body := tg.do(t, http.MethodGet, tg.WorkURL+localUID+".ics", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "UID:"+localUID) {
		t.Errorf("GET %s%s.ics after sync: %s\n%s", tg.WorkURL, localUID, resp.Status, body)
	}

	// ... and a server event reaches the folder.
	remoteUID := fmt.Sprintf("e2e-vdir-remote-%d", time.Now().UnixNano())
	resp, body = tg.do(t, http.MethodPut, tg.WorkURL+remoteUID+".ics",
		[]byte(eventICS(remoteUID, "Created on the server", windowStart.Add(74*time.Hour))),
		map[string]string{"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"})
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT %s%s.ics: %s\n%s", tg.WorkURL, remoteUID, resp.Status, body)
	}
	acts = v.sync("after server create")
	if len(acts) != 1 || !strings.Contains(acts[0], "Copying (uploading) item "+remoteUID) {
		t.Errorf("sync after a server create: actions %q, want exactly one download of %s", acts, remoteUID)
	}
	if got := localUIDs(t, workDir); !equalStrings(got, sorted(localUID, remoteUID)) {
		t.Errorf("local work calendar has %v, want %v", got, sorted(localUID, remoteUID))
	}
	if acts := v.sync("final no-op"); len(acts) != 0 {
		t.Errorf("final sync transferred items: %q", acts)
	}
}

// checkKhal runs "khal list" over the window and compares the listed
// instances with the feed's.
func checkKhal(t *testing.T, dir, feedColl string, env []string, want []occurrence) {
	t.Helper()
	cfg := filepath.Join(dir, "khal.conf")
	writeFile(t, cfg, fmt.Sprintf(khalConfig, dir, feedColl))
	last := windowEnd.Add(-24 * time.Hour).Format("2006-01-02") // khal's end date is inclusive
	out := runTool(t, "", env, "/usr/bin/khal", "-c", cfg, "list", "--format", "{start-date} {title}", "--day-format", "",
		windowStart.Format("2006-01-02"), last)
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			got = append(got, l)
		}
	}
	var exp []string
	for _, o := range want {
		exp = append(exp, o.Start.Format("2006-01-02")+" "+o.Summary)
	}
	sort.Strings(got)
	sort.Strings(exp)
	if !equalStrings(got, exp) {
		t.Errorf("khal list %s %s:\n got %q\nwant %q\noutput:\n%s", windowStart.Format("2006-01-02"), last, got, exp, out)
	} else {
		t.Logf("khal list: %d instances as expected", len(got))
	}
}

var uidLine = regexp.MustCompile(`(?m)^UID:(.*?)\r?$`)

// localUIDs lists the UIDs of the .ics files in a vdir, sorted.
func localUIDs(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.ics"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range uidLine.FindAllStringSubmatch(string(data), -1) {
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out
}

// readLocal returns the vdir file holding uid.
func readLocal(t *testing.T, dir, uid string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.ics"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(data), "UID:"+uid) {
			return string(data)
		}
	}
	t.Fatalf("no file in %s holds UID %s", dir, uid)
	return ""
}

func eventICS(uid, summary string, start time.Time) string {
	const f = "20060102T150405Z"
	return strings.Join([]string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//davgate//e2e go//EN",
		"BEGIN:VEVENT", "UID:" + uid, "DTSTAMP:20260101T000000Z",
		"DTSTART:" + start.UTC().Format(f), "DTEND:" + start.UTC().Add(time.Hour).Format(f),
		"SUMMARY:" + summary, "END:VEVENT", "END:VCALENDAR", ""}, "\r\n")
}

func countMatching(lines []string, sub string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sorted(s ...string) []string {
	sort.Strings(s)
	return s
}
