package caldav

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/adaptertest"
)

func newAdapter(t *testing.T, s *server, mutate func(*Options)) *Adapter {
	t.Helper()
	opts := Options{URL: s.url, Username: s.user}
	if mutate != nil {
		mutate(&opts)
	}
	a, err := NewWith(opts, adapters.Env{})
	if err != nil {
		t.Fatal(err)
	}
	a.backoff = 10 * time.Millisecond
	if err := a.Provision(t.Context()); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// harness seeds through the adapter's own writes (MKCALENDAR/MKCOL and
// PUT), each harness in fresh collections of one shared server.
type harness struct {
	a      *Adapter
	prefix string
	made   map[adapters.Kind]bool
}

var seq atomic.Int64

func (h *harness) Adapter(context.Context) (adapters.Reader, error) { return h.a, nil }

func (h *harness) Seed(ctx context.Context, kind adapters.Kind, objs ...adapters.Object) (string, error) {
	coll := h.prefix + "-cal"
	if kind == adapters.KindAddressBook {
		coll = h.prefix + "-book"
	}
	if !h.made[kind] {
		c := adapters.Collection{ID: coll, Kind: kind, Name: coll}
		if kind == adapters.KindCalendar {
			c.Components = []string{"VEVENT", "VTODO"}
		}
		if _, err := h.a.CreateCollection(ctx, c); err != nil {
			return "", err
		}
		h.made[kind] = true
	}
	for _, o := range objs {
		if _, err := h.a.Put(ctx, coll, o, adapters.Cond{}); err != nil {
			return "", err
		}
	}
	return coll, nil
}

func (h *harness) Close() {}

// conformance runs the suite on one server per test function.
// calendarSkip, if set, is why the calendar suite cannot pass there.
func conformance(t *testing.T, startServer func(t *testing.T) *server, noSync bool, calendarSkip string) {
	srv := startServer(t)
	mk := func(t *testing.T) adaptertest.Harness {
		a := newAdapter(t, srv, nil)
		a.noSync = noSync
		return &harness{a: a, prefix: fmt.Sprintf("t%d", seq.Add(1)), made: map[adapters.Kind]bool{}}
	}
	t.Run("Calendar", func(t *testing.T) {
		if calendarSkip != "" && os.Getenv("DAVGATE_STRICT_CONFORMANCE") == "" {
			t.Skip(calendarSkip)
		}
		adaptertest.RunCalendar(t, mk)
	})
	t.Run("Contacts", func(t *testing.T) { adaptertest.RunContacts(t, mk) })
}

func TestRadicaleConformance(t *testing.T) { conformance(t, startRadicale, false, "") }

// TestXandikosConformance runs the suite on Xandikos, which reorders RRULE
// parts (the comparator treats them as unordered).
func TestXandikosConformance(t *testing.T) {
	conformance(t, startXandikos, false, "")
}

// TestETagListingChanges runs the suite with sync-collection turned off,
// so Changes falls back to comparing ETag listings.
func TestETagListingChanges(t *testing.T) { conformance(t, startRadicale, true, "") }

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

// rawPropfind asks the server directly, bypassing the adapter's parsing.
func rawPropfind(t *testing.T, s *server, u, props string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "PROPFIND", u, strings.NewReader(
		`<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:a="`+nsApple+`" xmlns:c="`+nsCalDAV+`"><d:prop>`+props+`</d:prop></d:propfind>`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Depth", "0")
	req.Header.Set("Content-Type", "application/xml")
	if s.user != "" {
		req.SetBasicAuth(s.user, "")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// testMkcalendar creates collections; colors says whether the server
// stores calendar-color (Xandikos ignores it in MKCALENDAR, so this also
// covers the PROPPATCH fallback, and refuses calendar-description).
func testMkcalendar(t *testing.T, s *server, colors bool) {
	ctx := t.Context()
	a := newAdapter(t, s, nil)
	got, err := a.CreateCollection(ctx, adapters.Collection{ID: "team", Kind: adapters.KindCalendar,
		Name: "Team Ünïcode", Color: "#336699", Description: "shared", Components: []string{"VEVENT"}})
	if err != nil {
		t.Fatalf("CreateCollection: %v", err)
	}
	if got.ID != "team" || got.Name != "Team Ünïcode" || colors && !sameColor(got.Color, "#336699") {
		t.Errorf("CreateCollection returned %+v", got)
	}
	c, err := a.lookup(ctx, "team")
	if err != nil {
		t.Fatal(err)
	}
	raw := rawPropfind(t, s, c.url, "<d:displayname/><a:calendar-color/><d:resourcetype/>")
	wants := []string{"Team Ünïcode", "calendar"}
	if colors {
		wants = append(wants, "#336699")
	}
	for _, want := range wants {
		if !strings.Contains(raw, want) {
			t.Errorf("PROPFIND of the new calendar lacks %q:\n%s", want, raw)
		}
	}
	_, err = a.CreateCollection(ctx, adapters.Collection{ID: "team", Kind: adapters.KindCalendar})
	if !errors.Is(err, adapters.ErrPrecondition) {
		t.Errorf("CreateCollection of an existing ID: %v, want ErrPrecondition", err)
	}

	name, color := "Renamed", "#00FF00"
	up, err := a.UpdateCollection(ctx, "team", adapters.CollectionPatch{Name: &name})
	if err != nil {
		t.Fatalf("UpdateCollection: %v", err)
	}
	if up.Name != name {
		t.Errorf("UpdateCollection returned %+v", up)
	}
	up, err = a.UpdateCollection(ctx, "team", adapters.CollectionPatch{Color: &color})
	switch {
	case !colors && !errors.Is(err, adapters.ErrUnsupported):
		t.Errorf("UpdateCollection(color) on a server without colours: %v, want ErrUnsupported", err)
	case colors && err != nil:
		t.Errorf("UpdateCollection(color): %v", err)
	case colors && !sameColor(up.Color, color):
		t.Errorf("UpdateCollection(color) returned %+v", up)
	}

	book, err := a.CreateCollection(ctx, adapters.Collection{ID: "people", Kind: adapters.KindAddressBook, Name: "People"})
	if err != nil {
		t.Fatalf("CreateCollection(address book): %v", err)
	}
	if book.Kind != adapters.KindAddressBook || book.Name != "People" {
		t.Errorf("address book = %+v", book)
	}
	if err := a.DeleteCollection(ctx, "people"); err != nil {
		t.Fatalf("DeleteCollection: %v", err)
	}
	if _, err := a.Objects(ctx, "people", adapters.Query{}); !errors.Is(err, adapters.ErrNotFound) {
		t.Errorf("Objects of a deleted collection: %v, want ErrNotFound", err)
	}
}

func testStaleIfMatch(t *testing.T, s *server) {
	ctx := t.Context()
	a := newAdapter(t, s, nil)
	if _, err := a.CreateCollection(ctx, adapters.Collection{ID: "etags", Kind: adapters.KindCalendar}); err != nil {
		t.Fatal(err)
	}
	v1, err := a.Put(ctx, "etags", eventObj(t, "ev", "one"), adapters.Cond{IfAbsent: true})
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version == "" || strings.Contains(v1.Version, `"`) {
		t.Errorf("Version %q: want the unquoted server ETag", v1.Version)
	}
	v2, err := a.Put(ctx, "etags", eventObj(t, "ev", "two"), adapters.Cond{IfVersion: v1.Version})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Put(ctx, "etags", eventObj(t, "ev", "three"), adapters.Cond{IfVersion: v1.Version})
	if !errors.Is(err, adapters.ErrPrecondition) {
		t.Errorf("Put with a stale If-Match: %v, want ErrPrecondition", err)
	}
	if err := a.Delete(ctx, "etags", "ev", adapters.Cond{IfVersion: v1.Version}); !errors.Is(err, adapters.ErrPrecondition) {
		t.Errorf("Delete with a stale If-Match: %v, want ErrPrecondition", err)
	}
	got, err := a.Object(ctx, "etags", "ev")
	if err != nil || got.Version != v2.Version {
		t.Errorf("Object = version %q, %v; want %q", got.Version, err, v2.Version)
	}
}

func testKilled(t *testing.T, start func(t *testing.T) *server) {
	ctx := t.Context()
	s := start(t)
	a := newAdapter(t, s, nil)
	colls, err := a.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	if _, err := a.Collections(ctx); !errors.Is(err, adapters.ErrUnavailable) {
		t.Errorf("Collections on a killed server: %v, want ErrUnavailable", err)
	}
	for _, c := range colls {
		if c.Kind != adapters.KindCalendar {
			continue
		}
		if _, err := a.Objects(ctx, c.ID, adapters.Query{}); !errors.Is(err, adapters.ErrUnavailable) {
			t.Errorf("Objects on a killed server: %v, want ErrUnavailable", err)
		}
		_, err := a.Put(ctx, c.ID, eventObj(t, "x", "x"), adapters.Cond{})
		if !errors.Is(err, adapters.ErrUnavailable) {
			t.Errorf("Put on a killed server: %v, want ErrUnavailable", err)
		}
		break
	}
}

func TestRadicale(t *testing.T) {
	s := startRadicale(t)
	t.Run("Mkcalendar", func(t *testing.T) { testMkcalendar(t, s, true) })
	t.Run("StaleIfMatch", func(t *testing.T) { testStaleIfMatch(t, s) })
	t.Run("Killed", func(t *testing.T) { testKilled(t, startRadicale) })
}

func TestXandikos(t *testing.T) {
	s := startXandikos(t)
	t.Run("Mkcalendar", func(t *testing.T) { testMkcalendar(t, s, true) })
	t.Run("StaleIfMatch", func(t *testing.T) { testStaleIfMatch(t, s) })
	t.Run("Killed", func(t *testing.T) { testKilled(t, startXandikos) })
}
