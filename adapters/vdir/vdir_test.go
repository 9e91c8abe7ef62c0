package vdir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/adaptertest"
)

// harness seeds through the adapter's own writes: the folder is its own
// upstream, and a second instance over the same folder would see the
// same files.
type harness struct {
	a *Adapter
}

func newAdapter(t *testing.T, opts Options) *Adapter {
	t.Helper()
	if opts.Path == "" {
		opts.Path = filepath.Join(t.TempDir(), "vdir")
	}
	a, err := NewWith(opts, adapters.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Provision(t.Context()); err != nil {
		t.Fatal(err)
	}
	return a
}

func harnessFor(kind string) func(t *testing.T) adaptertest.Harness {
	return func(t *testing.T) adaptertest.Harness {
		return &harness{a: newAdapter(t, Options{Kind: kind})}
	}
}

func (h *harness) Adapter(context.Context) (adapters.Reader, error) { return h.a, nil }

func (h *harness) Seed(ctx context.Context, kind adapters.Kind, objs ...adapters.Object) (string, error) {
	coll := "cal"
	if kind == adapters.KindAddressBook {
		coll = "book"
	}
	if _, err := h.a.CreateCollection(ctx, adapters.Collection{ID: coll, Kind: kind, Name: coll}); err != nil && !errors.Is(err, adapters.ErrPrecondition) {
		return "", err
	}
	for _, o := range objs {
		if _, err := h.a.Put(ctx, coll, o, adapters.Cond{}); err != nil {
			return "", err
		}
	}
	return coll, nil
}

func (h *harness) Close() { _ = h.a.Close() }

func TestCalendarConformance(t *testing.T) {
	t.Run("Typed", func(t *testing.T) { adaptertest.RunCalendar(t, harnessFor("calendar")) })
	t.Run("Autodetect", func(t *testing.T) { adaptertest.RunCalendar(t, harnessFor("")) })
}

func TestContactsConformance(t *testing.T) {
	t.Run("Typed", func(t *testing.T) { adaptertest.RunContacts(t, harnessFor("addressbook")) })
	t.Run("Autodetect", func(t *testing.T) { adaptertest.RunContacts(t, harnessFor("")) })
}

func TestEscapeRoundTrip(t *testing.T) {
	for _, id := range []string{
		"plain", "user@example.com", "a/b+c%20d", "../dot/..", ".hidden", "=eq", "with space ü 日本",
		"'quote\"&<>", "%", "%zz", strings.Repeat("x", 300),
	} {
		name, hashed := escape(id)
		if strings.ContainsAny(name, "/\x00") || name == "." || name == ".." || strings.HasPrefix(name, ".") {
			t.Errorf("escape(%q) = %q, not a safe file name", id, name)
		}
		if hashed {
			if len(id) <= maxNameBytes/3 {
				t.Errorf("escape(%q) hashed a short ID", id)
			}
			continue
		}
		if got := idFromName(name); got != id {
			t.Errorf("idFromName(escape(%q) = %q) = %q", id, name, got)
		}
	}
	// Files written by other tools keep their names as IDs.
	for _, name := range []string{"a b", "x%2fy", "%zz", "vdirsyncer-uid_123"} {
		if got := idFromName(name); got != name {
			t.Errorf("idFromName(%q) = %q, want the literal name", name, got)
		}
	}
}

const event = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:%s\r\n" +
	"DTSTAMP:20240101T000000Z\r\nDTSTART:20240601T100000Z\r\nDTEND:20240601T110000Z\r\nSUMMARY:%s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

func eventObj(t *testing.T, id, summary string) adapters.Object {
	t.Helper()
	cal, err := ical.NewDecoder(strings.NewReader(fmt.Sprintf(event, id, summary))).Decode()
	if err != nil {
		t.Fatal(err)
	}
	return adapters.Object{ID: id, Data: cal}
}

// TestAtomicWrites checks that writes leave no temporary files and that a
// write failing after its temp file was written leaves the old file whole.
func TestAtomicWrites(t *testing.T) {
	ctx := t.Context()
	a := newAdapter(t, Options{Kind: "calendar"})
	if _, err := a.CreateCollection(ctx, adapters.Collection{ID: "c", Name: "Work", Color: "#ff0000"}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(a.opts.Path, "c")
	first, err := a.Put(ctx, "c", eventObj(t, "ev1", "first"), adapters.Cond{IfAbsent: true})
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(dir, "ev1.ics"))
	if err != nil {
		t.Fatal(err)
	}

	a.failAfterTemp = func() error { return errors.New("injected crash before rename") }
	if _, err := a.Put(ctx, "c", eventObj(t, "ev1", "second"), adapters.Cond{}); err == nil {
		t.Fatal("Put with an injected failure succeeded")
	}
	a.failAfterTemp = nil
	after, err := os.ReadFile(filepath.Join(dir, "ev1.ics"))
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Errorf("failed write changed the file:\n%s", after)
	}
	got, err := a.Object(ctx, "c", "ev1")
	if err != nil || got.Version != first.Version {
		t.Errorf("Object after failed write: version %q, %v; want %q", got.Version, err, first.Version)
	}

	if _, err := a.Put(ctx, "c", eventObj(t, "ev1", "third"), adapters.Cond{IfVersion: first.Version}); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %q left behind", e.Name())
		}
	}
	want := "color displayname ev1.ics"
	if strings.Join(names, " ") != want {
		t.Errorf("folder holds %q, want %q", names, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "displayname")); string(b) != "Work" {
		t.Errorf("displayname file = %q", b)
	}
}

// TestLongIDSidecar checks that IDs too long for a file name survive a
// round trip, including through a second instance over the same folder.
func TestLongIDSidecar(t *testing.T) {
	ctx := t.Context()
	a := newAdapter(t, Options{Kind: "calendar"})
	if _, err := a.CreateCollection(ctx, adapters.Collection{ID: "c"}); err != nil {
		t.Fatal(err)
	}
	id := strings.Repeat("long/ID ", 60)
	if _, err := a.Put(ctx, "c", eventObj(t, "uid-differs", "x"), adapters.Cond{}); err != nil {
		t.Fatal(err)
	}
	o := eventObj(t, "uid-differs-2", "x")
	o.ID = id
	if _, err := a.Put(ctx, "c", o, adapters.Cond{IfAbsent: true}); err != nil {
		t.Fatal(err)
	}
	b := newAdapter(t, a.opts)
	objs, err := b.Objects(ctx, "c", adapters.Query{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range objs {
		found = found || o.ID == id
	}
	if !found {
		t.Errorf("second instance does not list the long ID")
	}
	if err := b.Delete(ctx, "c", id, adapters.Cond{}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(a.opts.Path, "c"))
	if len(ents) != 1 {
		t.Errorf("after delete the folder holds %d files, want 1 (sidecar removed)", len(ents))
	}
}

// TestForeignFiles reads a vdir written by another tool: literal names
// with characters davgate would escape, and the metadata files.
func TestForeignFiles(t *testing.T) {
	ctx := t.Context()
	root := t.TempDir()
	dir := filepath.Join(root, "personal")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	raw := fmt.Sprintf(event, "foreign", "Foreign")
	for name, data := range map[string]string{"a b.ics": raw, "color": "#00ff00\n", "displayname": "Personal"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a := newAdapter(t, Options{Path: root})
	colls, err := a.Collections(ctx)
	if err != nil || len(colls) != 1 {
		t.Fatalf("Collections = %v, %v", colls, err)
	}
	if c := colls[0]; c.ID != "personal" || c.Name != "Personal" || c.Color != "#00ff00" || c.Kind != adapters.KindCalendar {
		t.Errorf("collection = %+v", c)
	}
	o, err := a.Object(ctx, "personal", "a b")
	if err != nil {
		t.Fatal(err)
	}
	o.Data = eventObj(t, "foreign", "renamed").Data
	o.Raw = nil
	if _, err := a.Put(ctx, "personal", o, adapters.Cond{IfVersion: o.Version}); err != nil {
		t.Fatalf("Put over the literal file name: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a%20b.ics")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Put created an escaped twin of a literal file (err %v)", err)
	}
}

// TestKhalReads writes a calendar through the adapter and checks that khal
// lists its events.
func TestKhalReads(t *testing.T) {
	khal, err := exec.LookPath("khal")
	if err != nil {
		t.Skip("khal not installed (apt-get install khal); CI installs it")
	}
	ctx := t.Context()
	a := newAdapter(t, Options{Kind: "calendar"})
	if _, err := a.CreateCollection(ctx, adapters.Collection{ID: "work", Name: "Work", Color: "#3366ff"}); err != nil {
		t.Fatal(err)
	}
	for _, o := range []adapters.Object{
		eventObj(t, "standup@example.com", "Standup davgate"),
		eventObj(t, "a/b c", "Hostile ID davgate"),
	} {
		if _, err := a.Put(ctx, "work", o, adapters.Cond{IfAbsent: true}); err != nil {
			t.Fatal(err)
		}
	}
	tmp := t.TempDir()
	conf := filepath.Join(tmp, "khal.conf")
	if err := os.WriteFile(conf, []byte(`[calendars]
[[work]]
path = `+filepath.Join(a.opts.Path, "work")+`
type = calendar

[locale]
timeformat = %H:%M
dateformat = %Y-%m-%d
longdateformat = %Y-%m-%d
datetimeformat = %Y-%m-%d %H:%M
longdatetimeformat = %Y-%m-%d %H:%M
local_timezone = UTC
default_timezone = UTC

[sqlite]
path = `+filepath.Join(tmp, "khal.db")+`
`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, khal, "-c", conf, "list", "2024-06-01", "2d")
	cmd.Env = append(os.Environ(), "HOME="+tmp, "XDG_DATA_HOME="+tmp, "XDG_CONFIG_HOME="+tmp, "TZ=UTC")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("khal list: %v\n%s", err, out)
	}
	for _, want := range []string{"Standup davgate", "Hostile ID davgate"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("khal list lacks %q:\n%s", want, out)
		}
	}
}
