package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
