package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/memory"
	"github.com/davgate/davgate/adapters/transfer"
)

// feedText is an ICS feed of n events on consecutive days from 2030-01-01,
// the summary of event i being summaries[i] if set.
func feedText(n int, summaries map[int]string, skip map[int]bool) string {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//feed//EN\r\n")
	start := time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)
	for i := range n {
		if skip[i] {
			continue
		}
		s := summaries[i]
		if s == "" {
			s = fmt.Sprintf("Feed event %d", i)
		}
		d := start.AddDate(0, 0, i)
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:feed-%d@test\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:%s\r\nDTEND:%s\r\nSUMMARY:%s\r\nEND:VEVENT\r\n",
			i, d.Format("20060102T150405Z"), d.Add(time.Hour).Format("20060102T150405Z"), s)
	}
	b.WriteString("END:VCALENDAR\r\n")
	return b.String()
}

// feedConfig writes a config whose user "u" has one ICS source "feed"
// reading the file feed.
func feedConfig(t *testing.T, feed string) string {
	t.Helper()
	return writeConfig(t, `users:
  - name: u
    password_hash: "`+demoHash+`"
    sources:
      - name: feed
        type: ics
        color: "#336699"
        options:
          url: `+feed+`
          name: Feed calendar
`)
}

type result struct {
	code           int
	stdout, stderr string
}

func call(t *testing.T, f func(context.Context, []string, *os.File, *bytes.Buffer, *bytes.Buffer) int, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := f(context.Background(), args, nil, &out, &errb)
	return result{code, out.String(), errb.String()}
}

func export(ctx context.Context, args []string, _ *os.File, out, errb *bytes.Buffer) int {
	return runExport(ctx, args, strings.NewReader(""), out, errb)
}

func verify(ctx context.Context, args []string, _ *os.File, out, errb *bytes.Buffer) int {
	return runVerify(ctx, args, strings.NewReader(""), out, errb)
}

func migrate(ctx context.Context, args []string, _ *os.File, out, errb *bytes.Buffer) int {
	return runMigrate(ctx, args, strings.NewReader(""), out, errb)
}

func wantCode(t *testing.T, r result, code int, subs ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range subs {
		if !strings.Contains(r.stdout+r.stderr, s) {
			t.Fatalf("output lacks %q\nstdout:\n%s\nstderr:\n%s", s, r.stdout, r.stderr)
		}
	}
}

func TestExportVdirIncremental(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "feed.ics")
	writeFile(t, feed, feedText(5, nil, nil))
	cfg := feedConfig(t, feed)
	out := filepath.Join(dir, "out")
	state := filepath.Join(dir, "state.json")
	args := []string{"--config", cfg, "--user", "u", "--to-dir", out, "--state", state}

	wantCode(t, call(t, export, args...), 0, "5 copied (5 created", "collection feed -> feed: created")
	files, _ := filepath.Glob(filepath.Join(out, "feed", "*.ics"))
	if len(files) != 5 {
		t.Fatalf("%d files in the vdir: %v", len(files), files)
	}
	for name, want := range map[string]string{"displayname": "Feed calendar", "color": "#336699"} {
		b, err := os.ReadFile(filepath.Join(out, "feed", name))
		if err != nil || strings.TrimSpace(string(b)) != want {
			t.Fatalf("%s file: %q %v", name, b, err)
		}
	}
	mtimes := map[string]time.Time{}
	for _, f := range files {
		fi, _ := os.Stat(f)
		mtimes[f] = fi.ModTime()
	}
	time.Sleep(20 * time.Millisecond)
	wantCode(t, call(t, export, args...), 0, "0 copied", "5 unchanged")
	for _, f := range files {
		if fi, _ := os.Stat(f); !fi.ModTime().Equal(mtimes[f]) {
			t.Fatalf("%s rewritten by a rerun without changes", f)
		}
	}
	wantCode(t, call(t, verify, "--config", cfg, "--user", "u", "--to-dir", out), 0, "5 objects equal")

	// One event changes, one is deleted upstream: only those are touched.
	writeFile(t, feed, feedText(5, map[int]string{1: "Moved"}, map[int]bool{3: true}))
	wantCode(t, call(t, export, args...), 0, "1 copied (0 created, 1 updated", "3 unchanged", "1 deleted")
	files, _ = filepath.Glob(filepath.Join(out, "feed", "*.ics"))
	if len(files) != 4 {
		t.Fatalf("%d files after a deletion", len(files))
	}
	wantCode(t, call(t, verify, "--config", cfg, "--user", "u", "--to-dir", out), 0)

	// An edit in the folder is a difference for verify, and export
	// restores the source's version (the folder mirrors the source).
	b, _ := os.ReadFile(files[0])
	writeFile(t, files[0], strings.Replace(string(b), "SUMMARY:", "SUMMARY:Edited ", 1))
	wantCode(t, call(t, verify, "--config", cfg, "--user", "u", "--to-dir", out), 1, "DIFFERENT", "changed", "+ SUMMARY:Edited")
	wantCode(t, call(t, export, args...), 0, "1 overwritten")
	wantCode(t, call(t, verify, "--config", cfg, "--user", "u", "--to-dir", out), 0)

	if _, err := os.Stat("/usr/bin/khal"); err == nil {
		khalLists(t, out, []string{"Feed event 0", "Moved", "Feed event 2", "Feed event 4"}, []string{"Feed event 3"})
	}
}

// khalLists runs khal over the exported vdir and checks what it lists.
func khalLists(t *testing.T, vdir string, want, notWant []string) {
	t.Helper()
	home := t.TempDir()
	conf := filepath.Join(home, "khal.conf")
	writeFile(t, conf, fmt.Sprintf(`[calendars]
[[feed]]
path = %s
type = calendar
[locale]
timeformat = %%H:%%M
dateformat = %%Y-%%m-%%d
longdateformat = %%Y-%%m-%%d
datetimeformat = %%Y-%%m-%%d %%H:%%M
longdatetimeformat = %%Y-%%m-%%d %%H:%%M
default_timezone = UTC
local_timezone = UTC
[default]
default_calendar = feed
`, filepath.Join(vdir, "feed")))
	cmd := exec.Command("/usr/bin/khal", "-c", conf, "list", "--format", "{title}", "2030-01-01", "10d")
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_DATA_HOME="+filepath.Join(home, "data"), "XDG_CONFIG_HOME="+home, "TZ=UTC")
	outb, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("khal: %v\n%s", err, outb)
	}
	got := string(outb)
	t.Logf("khal lists:\n%s", got)
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Fatalf("khal does not list %q:\n%s", w, got)
		}
	}
	for _, w := range notWant {
		if strings.Contains(got, w) {
			t.Fatalf("khal lists deleted %q:\n%s", w, got)
		}
	}
}

func TestExportSingleFile(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "feed.ics")
	writeFile(t, feed, feedText(3, nil, nil))
	cfg := feedConfig(t, feed)
	out := filepath.Join(dir, "out")
	args := []string{"--config", cfg, "--user", "u", "--to-dir", out, "--format", "file"}
	wantCode(t, call(t, export, args...), 0, "3 objects written to")
	wantCode(t, call(t, export, args...), 0, "unchanged")
	b, err := os.ReadFile(filepath.Join(out, "feed.ics"))
	if err != nil || strings.Count(string(b), "BEGIN:VEVENT") != 3 {
		t.Fatalf("single file: %v\n%s", err, b)
	}
}

func TestTransferUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(context.Context, []string, *os.File, *bytes.Buffer, *bytes.Buffer) int
		args []string
		sub  string
	}{
		{"migrate without target", migrate, []string{"--from", "http://127.0.0.1:1/"}, "--to URL is required"},
		{"migrate without source", migrate, []string{"--to", "http://127.0.0.1:1/"}, "exactly one source"},
		{"migrate bad policy", migrate, []string{"--from", "http://x/", "--to", "http://y/", "--conflict", "merge"}, "conflict policy"},
		{"no password flag", migrate, []string{"--from", "http://x/", "--to", "http://y/", "--to-password", "s"}, "not defined"},
		{"export without dir", export, []string{"--from-dir", "/tmp"}, "--to-dir DIR is required"},
		{"verify two targets", verify, []string{"--from-dir", "/tmp", "--to", "http://x/", "--to-dir", "/tmp"}, "exactly one target"},
		{"config without user", export, []string{"--config", "x.yaml", "--to-dir", "/tmp"}, "--config and --user go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, call(t, tc.f, tc.args...), 2, tc.sub)
		})
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// --- DAV servers on loopback ------------------------------------------------

const (
	davUser     = "alice"
	davPassword = "migrate-Pa55"
)

// davServer is a CalDAV/CardDAV server started by a test.
type davServer struct {
	name       string
	url        string // what --to points at
	user, pass string
	stop       func()       // kills the server (SIGKILL), as a crash would
	start      func() error // starts it again on the same port and storage
}

func needTool(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is missing; .ci/run installs it", path)
		}
		t.Skipf("%s not installed", path)
	}
	if _, ok := adapters.Lookup("caldav"); !ok {
		t.Skip("the caldav adapter is not built in")
	}
}

func loopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// daemon runs argv until stop; start may be called again after stop.
func daemon(t *testing.T, name, probe string, argv ...string) (start func() error, stop func()) {
	t.Helper()
	logs := &lockedBuffer{}
	var (
		mu  sync.Mutex
		cmd *exec.Cmd
	)
	stop = func() {
		mu.Lock()
		defer mu.Unlock()
		if cmd != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
			cmd = nil
		}
	}
	start = func() error {
		mu.Lock()
		c := exec.Command(argv[0], argv[1:]...)
		c.Stdout, c.Stderr = logs, logs
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := c.Start(); err != nil {
			mu.Unlock()
			return err
		}
		cmd = c
		mu.Unlock()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if resp, err := http.Get(probe); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return nil
			}
			time.Sleep(50 * time.Millisecond)
		}
		return fmt.Errorf("%s did not answer within 20s:\n%s", name, logs.String())
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, logs.String())
		}
	})
	if err := start(); err != nil {
		t.Fatal(err)
	}
	return start, stop
}

func startRadicale(t *testing.T) *davServer {
	t.Helper()
	needTool(t, "/usr/bin/radicale")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "users"), davUser+":"+davPassword+"\n")
	port := loopbackPort(t)
	cfg := filepath.Join(dir, "radicale.conf")
	writeFile(t, cfg, fmt.Sprintf(`[server]
hosts = 127.0.0.1:%d
[auth]
type = htpasswd
htpasswd_filename = %s
htpasswd_encryption = plain
[rights]
type = owner_only
[storage]
filesystem_folder = %s
[logging]
level = warning
mask_passwords = True
`, port, filepath.Join(dir, "users"), filepath.Join(dir, "collections")))
	root := fmt.Sprintf("http://127.0.0.1:%d/", port)
	start, stop := daemon(t, "radicale", root+".web/", "/usr/bin/radicale", "-C", cfg)
	return &davServer{name: "radicale", url: root, user: davUser, pass: davPassword, start: start, stop: stop}
}

func startXandikos(t *testing.T) *davServer {
	t.Helper()
	needTool(t, "/usr/bin/xandikos")
	dir := t.TempDir()
	port := loopbackPort(t)
	root := fmt.Sprintf("http://127.0.0.1:%d/", port)
	// Xandikos has no authentication of its own; it serves one principal.
	start, stop := daemon(t, "xandikos", root, "/usr/bin/xandikos", "-d", dir, "-l", "127.0.0.1",
		"-p", fmt.Sprint(port), "--autocreate", "--current-user-principal", "/"+davUser+"/")
	return &davServer{name: "xandikos", url: root, start: start, stop: stop}
}

// target opens the server through the caldav adapter, for checks and
// for edits "by another client".
func (s *davServer) target(t *testing.T) transfer.Target {
	t.Helper()
	opts := mapOptions{"url": s.url}
	if s.user != "" {
		opts["username"], opts["password"] = s.user, s.pass
	}
	r, err := newAdapter(context.Background(), "caldav", opts, adapters.Env{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r.(transfer.Target)
}

func (s *davServer) args() []string {
	a := []string{"--to", s.url}
	if s.user != "" {
		a = append(a, "--to-user", s.user)
	}
	return a
}

func servers(t *testing.T) map[string]func(*testing.T) *davServer {
	return map[string]func(*testing.T) *davServer{"radicale": startRadicale, "xandikos": startXandikos}
}

// TestMigrateFeedToServers migrates an ICS feed source with the CLI and
// walks through reruns, a source change, a target edit and verify.
func TestMigrateFeedToServers(t *testing.T) {
	for name, startServer := range servers(t) {
		t.Run(name, func(t *testing.T) {
			srv := startServer(t)
			t.Setenv("DAVGATE_TO_PASSWORD", srv.pass)
			dir := t.TempDir()
			feed := filepath.Join(dir, "feed.ics")
			writeFile(t, feed, feedText(40, nil, nil))
			cfg := feedConfig(t, feed)
			state := filepath.Join(dir, "state.json")
			src := []string{"--config", cfg, "--user", "u"}
			mig := append(append(append([]string{}, src...), srv.args()...), "--state", state)
			ver := append(append([]string{}, src...), srv.args()...)

			wantCode(t, call(t, migrate, append(mig, "--dry-run")...), 0, "dry run", "40 created", "create    feed/")
			wantCode(t, call(t, migrate, mig...), 0, "40 copied (40 created", "0 failed")
			wantCode(t, call(t, verify, ver...), 0, "40 objects equal")
			wantCode(t, call(t, migrate, mig...), 0, "0 copied", "40 unchanged")

			tgt := srv.target(t)
			colls, err := tgt.Collections(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var feedColl *adapters.Collection
			for i := range colls {
				if colls[i].ID == "feed" {
					feedColl = &colls[i]
				}
			}
			if feedColl == nil || feedColl.Name != "Feed calendar" || !strings.HasPrefix(strings.ToLower(feedColl.Color), "#336699") {
				t.Fatalf("target collection not created with name and color: %+v", colls)
			}

			// A change in the source is the only thing copied next time.
			writeFile(t, feed, feedText(40, map[int]string{7: "Rescheduled"}, nil))
			wantCode(t, call(t, migrate, mig...), 0, "1 copied (0 created, 1 updated", "39 unchanged")

			// An edit on the target is a conflict: skipped by default,
			// overwritten on request.
			objs, err := tgt.Objects(context.Background(), "feed", adapters.Query{})
			if err != nil {
				t.Fatal(err)
			}
			var victim adapters.Object
			for _, o := range objs {
				if transfer.UID(o) == "feed-9@test" {
					victim = o
				}
			}
			if victim.ID == "" {
				t.Fatal("feed-9@test not on the target")
			}
			victim.Data.Children[0].Props.SetText(ical.PropSummary, "Edited on the server")
			victim.Raw = nil
			if _, err := tgt.Put(context.Background(), "feed", victim, adapters.Cond{IfVersion: victim.Version}); err != nil {
				t.Fatal(err)
			}
			wantCode(t, call(t, migrate, mig...), 0, "1 skipped", "conflict: target copy was changed on the target")
			wantCode(t, call(t, verify, ver...), 1, "1 changed", "+ SUMMARY:Edited on the server")
			wantCode(t, call(t, migrate, append(mig, "--conflict", "overwrite")...), 0, "1 overwritten")
			wantCode(t, call(t, verify, ver...), 0)

			// Verify sees a missing, an extra and a changed object.
			objs, _ = tgt.Objects(context.Background(), "feed", adapters.Query{})
			byUID := map[string]adapters.Object{}
			for _, o := range objs {
				byUID[transfer.UID(o)] = o
			}
			if err := tgt.Delete(context.Background(), "feed", byUID["feed-1@test"].ID, adapters.Cond{}); err != nil {
				t.Fatal(err)
			}
			changed := byUID["feed-2@test"]
			changed.Data.Children[0].Props.SetText(ical.PropLocation, "Room 5")
			changed.Raw = nil
			extra := byUID["feed-3@test"]
			extra.ID = "extra-object"
			extra.Data.Children[0].Props.SetText(ical.PropUID, "extra@test")
			extra.Raw = nil
			for _, o := range []adapters.Object{changed, extra} {
				if _, err := tgt.Put(context.Background(), "feed", o, adapters.Cond{}); err != nil {
					t.Fatal(err)
				}
			}
			wantCode(t, call(t, verify, ver...), 1, "1 missing, 1 extra, 1 changed", "missing", "feed-1@test", "extra@test", "+ LOCATION:Room 5")
		})
	}
}

// TestMigrateMemoryToServers copies calendars and an address book from
// the memory adapter with the engine and checks idempotence.
func TestMigrateMemoryToServers(t *testing.T) {
	for name, startServer := range servers(t) {
		t.Run(name, func(t *testing.T) {
			srv := startServer(t)
			ctx := context.Background()
			src, err := memory.NewWith(memory.Options{Collections: []memory.CollectionOptions{
				{ID: "work", Name: "Work", Color: "#AA3300"},
				{ID: "people", Kind: "addressbook", Name: "People"},
			}})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 25 {
				o := feedObject(t, i)
				if _, err := src.Put(ctx, "work", o, adapters.Cond{}); err != nil {
					t.Fatal(err)
				}
			}
			card := vcard.Card{}
			card.SetValue(vcard.FieldVersion, "3.0")
			card.SetValue(vcard.FieldUID, "ada@test")
			card.SetValue(vcard.FieldFormattedName, "Ada Lovelace")
			card.SetName(&vcard.Name{FamilyName: "Lovelace", GivenName: "Ada"})
			if _, err := src.Put(ctx, "people", adapters.Object{ID: "ada", Card: card}, adapters.Cond{}); err != nil {
				t.Fatal(err)
			}
			colls, _ := src.Collections(ctx)
			var jobs []transfer.Job
			for _, c := range colls {
				jobs = append(jobs, transfer.Job{Source: src, Collection: c, Target: c.ID, Label: c.ID})
			}
			dst := srv.target(t)
			st := transfer.NewState()
			rep := transfer.Copy(ctx, jobs, dst, transfer.Options{State: st})
			if tot := rep.Totals(); !rep.OK() || tot.Created != 26 {
				t.Fatalf("first copy: %+v %v %+v", tot, rep.Aborted, rep.Collections)
			}
			if vr := transfer.Verify(ctx, jobs, dst, transfer.VerifyOptions{}); !vr.OK() {
				t.Fatalf("verify: %+v %+v", vr.Collections[0], vr.Collections[1])
			}
			rep = transfer.Copy(ctx, jobs, dst, transfer.Options{State: st})
			if tot := rep.Totals(); !rep.OK() || tot.Copied != 0 || tot.Unchanged != 26 {
				t.Fatalf("second copy: %+v", tot)
			}
			// Stateless: content comparison alone finds nothing to do.
			rep = transfer.Copy(ctx, jobs, dst, transfer.Options{})
			if tot := rep.Totals(); !rep.OK() || tot.Copied != 0 {
				t.Fatalf("stateless copy: %+v", tot)
			}
		})
	}
}

func feedObject(t *testing.T, i int) adapters.Object {
	t.Helper()
	text := feedText(i+1, nil, nil)
	cal, err := ical.NewDecoder(strings.NewReader(text)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	ev := cal.Children[len(cal.Children)-1]
	cal.Children = []*ical.Component{ev}
	return adapters.Object{ID: fmt.Sprintf("ev-%d", i), Data: cal}
}

// TestMigrateResumesAfterServerCrash kills Radicale in the middle of a
// migration: the run reports and stops, and a rerun completes the job.
func TestMigrateResumesAfterServerCrash(t *testing.T) {
	srv := startRadicale(t)
	ctx := context.Background()
	src, err := memory.NewWith(memory.Options{Collections: []memory.CollectionOptions{{ID: "big", Name: "Big"}}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := range n {
		if _, err := src.Put(ctx, "big", feedObject(t, i), adapters.Cond{}); err != nil {
			t.Fatal(err)
		}
	}
	colls, _ := src.Collections(ctx)
	jobs := []transfer.Job{{Source: src, Collection: colls[0], Target: "big", Label: "big"}}
	dst := srv.target(t)
	var once sync.Once
	opts := transfer.Options{
		Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Retries: 2,
		Progress: func(p transfer.Progress) {
			if p.Done >= n/3 {
				once.Do(srv.stop)
			}
		},
	}
	rep := transfer.Copy(ctx, jobs, dst, opts)
	tot := rep.Totals()
	if rep.OK() || rep.Aborted == nil || tot.Created == 0 || tot.Created >= n {
		t.Fatalf("crash not reported: aborted=%v %+v", rep.Aborted, tot)
	}
	var out bytes.Buffer
	printReport(&out, "migrate", rep)
	if !strings.Contains(out.String(), "stopped early") || !strings.Contains(out.String(), "rerun the same command") {
		t.Fatalf("report:\n%s", out.String())
	}
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	opts.Progress = nil
	rep = transfer.Copy(ctx, jobs, dst, opts)
	if !rep.OK() || rep.Totals().Created+tot.Created < n {
		t.Fatalf("rerun: %+v aborted=%v", rep.Totals(), rep.Aborted)
	}
	if vr := transfer.Verify(ctx, jobs, dst, transfer.VerifyOptions{}); !vr.OK() {
		t.Fatalf("verify after resume: %+v", vr.Collections[0])
	}
}

// TestVdirsyncerSyncsExport checks that an export folder is a vdir that
// vdirsyncer syncs to a DAV server: a filesystem storage on the folder
// written by `davgate export`, a caldav storage on an empty Radicale
// calendar, discover answered from stdin, sync; then the calendar holds
// every exported event, as the listing and `davgate verify` show.
func TestVdirsyncerSyncsExport(t *testing.T) {
	needTool(t, "/usr/bin/vdirsyncer")
	srv := startRadicale(t)
	dir := t.TempDir()
	feed := filepath.Join(dir, "feed.ics")
	writeFile(t, feed, feedText(12, nil, nil))
	cfg := feedConfig(t, feed)
	out := filepath.Join(dir, "out")
	wantCode(t, call(t, export, "--config", cfg, "--user", "u", "--to-dir", out), 0, "12 copied")

	// vdirsyncer's caldav storage syncs into an existing calendar.
	calURL := srv.url + davUser + "/feed/"
	req, _ := http.NewRequest("MKCALENDAR", calURL, nil)
	req.SetBasicAuth(srv.user, srv.pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("MKCALENDAR: %s", resp.Status)
	}

	vcfg := filepath.Join(dir, "vdirsyncer.conf")
	writeFile(t, vcfg, fmt.Sprintf(`[general]
status_path = %q

[pair export]
a = "export_dir"
b = "radicale"
collections = null

[storage export_dir]
type = "filesystem"
path = %q
fileext = ".ics"

[storage radicale]
type = "caldav"
url = %q
username = %q
password = %q
`, filepath.Join(dir, "vdirsyncer-status"), filepath.Join(out, "feed"), calURL, srv.user, srv.pass))
	run := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "/usr/bin/vdirsyncer", args...)
		cmd.Env = append(os.Environ(), "VDIRSYNCER_CONFIG="+vcfg, "HOME="+dir)
		cmd.Stdin = strings.NewReader(strings.Repeat("y\n", 8))
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("vdirsyncer %s: %v\n%s", strings.Join(args, " "), err, b)
		}
	}
	run("discover")
	run("sync")

	objs, err := srv.target(t).Objects(context.Background(), "feed", adapters.Query{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, o := range objs {
		got[transfer.UID(o)] = true
	}
	for i := range 12 {
		if uid := fmt.Sprintf("feed-%d@test", i); !got[uid] {
			t.Errorf("%s not on Radicale after vdirsyncer sync (%d objects there)", uid, len(objs))
		}
	}
	if len(objs) != 12 {
		t.Errorf("%d objects on Radicale, want 12", len(objs))
	}
	t.Setenv("DAVGATE_TO_PASSWORD", srv.pass)
	wantCode(t, call(t, verify, append([]string{"--config", cfg, "--user", "u"}, srv.args()...)...), 0, "12 objects equal")
}
