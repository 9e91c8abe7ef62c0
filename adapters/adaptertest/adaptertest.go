// Package adaptertest is the conformance suite every adapter, and every
// wrapper of an adapter (the cache), must pass. An adapter's test file is
// a Harness plus one call:
//
//	func TestConformance(t *testing.T) {
//		adaptertest.RunCalendar(t, newHarness)
//	}
//
// The suite asserts the error contracts documented in package adapters,
// round-trips of tricky calendar and contact data, version and sync-token
// behaviour, cancellation and concurrent reads. It skips tests only for
// capabilities the adapter does not declare (adapters.CapabilitiesOf) or
// collection properties it does not declare, never by adapter name.
package adaptertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/davgate/davgate/adapters"
)

// Harness gives the suite an adapter instance and a way to put data into
// its upstream. Each subtest gets a fresh Harness.
type Harness interface {
	// Adapter returns the instance under test; state persists across
	// calls within one test.
	Adapter(ctx context.Context) (adapters.Reader, error)
	// Seed stores objs through the upstream (a fake server for read-only
	// adapters such as ICS), not through the adapter, into the harness's
	// collection of the given kind, creating it if needed, and returns
	// the collection ID. All seeds of one kind go to the same collection,
	// and seeding an ID that exists replaces that object. Seeded objects
	// carry their UID (calendars) or UID field (vCards) equal to their ID,
	// so adapters that derive IDs from UIDs can be tested too.
	Seed(ctx context.Context, kind adapters.Kind, objs ...adapters.Object) (coll string, err error)
	// Close releases the harness; it is registered with t.Cleanup.
	Close()
}

// RunCalendar runs the suite for calendar collections.
func RunCalendar(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	s := &suite{newHarness: newHarness, kind: adapters.KindCalendar, simple: simpleEvent, hostile: hostileEvent,
		cases: []roundTrip{
			{name: "AllDay", make: allDayEvent},
			{name: "TZID", make: berlinEvent},
			{name: "RecurrenceOverride", make: recurringEvent},
			{name: "VTODO", make: todo, component: "VTODO"},
		}}
	s.run(t)
	t.Run("TimeRange", s.testTimeRange)
}

// RunContacts runs the suite for address book collections.
func RunContacts(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	s := &suite{newHarness: newHarness, kind: adapters.KindAddressBook, simple: simpleCard, hostile: hostileCard,
		cases: []roundTrip{
			{name: "VCard3", make: vcard3},
			{name: "VCard4", make: vcard4},
		}}
	s.run(t)
}

type roundTrip struct {
	name string
	make func(id string) adapters.Object
	// component, if set, must be in the collection's Components.
	component string
}

type suite struct {
	newHarness func(t *testing.T) Harness
	kind       adapters.Kind
	simple     func(id string, rev int) adapters.Object
	hostile    func(id string) adapters.Object
	cases      []roundTrip
}

func (s *suite) run(t *testing.T) {
	t.Run("Collections", s.testCollections)
	t.Run("NotFound", s.testNotFound)
	t.Run("RoundTrip", s.testRoundTrip)
	t.Run("Version", s.testVersion)
	t.Run("Write", s.testWrite)
	t.Run("ReadOnly", s.testReadOnly)
	t.Run("Hostile", s.testHostile)
	t.Run("Canceled", s.testCanceled)
	t.Run("ParallelReads", s.testParallelReads)
	t.Run("Changes", s.testChanges)
}

// env is one subtest's harness and adapter.
type env struct {
	ctx  context.Context
	h    Harness
	a    adapters.Reader
	caps adapters.Capabilities
}

func (s *suite) setup(t *testing.T) env {
	t.Helper()
	h := s.newHarness(t)
	t.Cleanup(h.Close)
	ctx := t.Context()
	a, err := h.Adapter(ctx)
	if err != nil {
		t.Fatalf("Adapter: %v", err)
	}
	return env{ctx: ctx, h: h, a: a, caps: adapters.CapabilitiesOf(a)}
}

func (s *suite) seed(t *testing.T, e env, objs ...adapters.Object) string {
	t.Helper()
	coll, err := e.h.Seed(e.ctx, s.kind, objs...)
	if err != nil {
		t.Fatalf("Seed: %v", err)
	}
	return coll
}

// uidOf returns the UID that identifies a seeded object whatever ID the
// adapter gave it.
func uidOf(o adapters.Object) string {
	isCard := o.Card != nil || (o.Data == nil && bytes.HasPrefix(bytes.TrimSpace(o.Raw), []byte("BEGIN:VCARD")))
	if isCard {
		if card, err := o.VCard(); err == nil {
			return card.Value(vcard.FieldUID)
		}
		return ""
	}
	if cal, err := o.Calendar(); err == nil {
		for _, c := range cal.Children {
			if c.Name == ical.CompEvent || c.Name == ical.CompToDo || c.Name == ical.CompJournal {
				if p := c.Props.Get(ical.PropUID); p != nil {
					uid, err := p.Text()
					if err != nil {
						return p.Value
					}
					return uid
				}
			}
		}
	}
	return ""
}

func byUID(objs []adapters.Object) map[string]adapters.Object {
	m := make(map[string]adapters.Object, len(objs))
	for _, o := range objs {
		m[uidOf(o)] = o
	}
	return m
}

// diff compares the data of two objects of the suite's kind.
func (s *suite) diff(want, got adapters.Object) string {
	if s.kind == adapters.KindAddressBook {
		card, err := got.VCard()
		if err != nil {
			return "object has no vCard: " + err.Error()
		}
		return DiffCard(want.Card, card)
	}
	cal, err := got.Calendar()
	if err != nil {
		return "object has no calendar data: " + err.Error()
	}
	return DiffCalendar(want.Data, cal)
}

// read finds the object with want's UID by listing coll, then fetches it
// by the ID the listing gave, and checks both against want.
func (s *suite) read(t *testing.T, e env, coll string, want adapters.Object) adapters.Object {
	t.Helper()
	objs, err := e.a.Objects(e.ctx, coll, adapters.Query{})
	if err != nil {
		t.Fatalf("Objects(%q): %v", coll, err)
	}
	listed, ok := byUID(objs)[uidOf(want)]
	if !ok {
		t.Fatalf("Objects(%q) lacks UID %q (%d objects)", coll, uidOf(want), len(objs))
	}
	if d := s.diff(want, listed); d != "" {
		t.Errorf("Objects(%q) UID %q differs (-seeded +listed):\n%s", coll, uidOf(want), d)
	}
	got, err := e.a.Object(e.ctx, coll, listed.ID)
	if err != nil {
		t.Fatalf("Object(%q, %q): %v", coll, listed.ID, err)
	}
	if got.ID != listed.ID {
		t.Errorf("Object(%q, %q).ID = %q", coll, listed.ID, got.ID)
	}
	if d := s.diff(want, got); d != "" {
		t.Errorf("Object(%q, %q) differs (-seeded +got):\n%s", coll, listed.ID, d)
	}
	if got.Version != listed.Version {
		t.Errorf("Object(%q, %q).Version = %q, listing says %q", coll, listed.ID, got.Version, listed.Version)
	}
	return got
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want one matching %q", what, err, target)
	}
}

func (s *suite) collection(t *testing.T, e env, id string) adapters.Collection {
	t.Helper()
	colls, err := e.a.Collections(e.ctx)
	if err != nil {
		t.Fatalf("Collections: %v", err)
	}
	for _, c := range colls {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("Collections lacks %q", id)
	return adapters.Collection{}
}

func (s *suite) testCollections(t *testing.T) {
	e := s.setup(t)
	coll := s.seed(t, e, s.simple("collections-1", 0))
	c := s.collection(t, e, coll)
	if c.Kind != s.kind {
		t.Errorf("collection %q has kind %v, want %v", coll, c.Kind, s.kind)
	}
}

const missingColl = "adaptertest-no-such-collection"

func (s *suite) testNotFound(t *testing.T) {
	e := s.setup(t)
	coll := s.seed(t, e, s.simple("present", 0))
	_, err := e.a.Object(e.ctx, coll, "adaptertest-no-such-object")
	wantErr(t, "Object(missing object)", err, adapters.ErrNotFound)
	_, err = e.a.Object(e.ctx, missingColl, "present")
	wantErr(t, "Object(missing collection)", err, adapters.ErrNotFound)
	_, err = e.a.Objects(e.ctx, missingColl, adapters.Query{})
	wantErr(t, "Objects(missing collection)", err, adapters.ErrNotFound)
}

func (s *suite) testRoundTrip(t *testing.T) {
	for _, c := range s.cases {
		t.Run(c.name, func(t *testing.T) {
			e := s.setup(t)
			want := c.make("roundtrip-" + strings.ToLower(c.name) + "@example.com")
			coll := s.seed(t, e, want)
			if c.component != "" {
				if meta := s.collection(t, e, coll); !slices.Contains(meta.Components, c.component) {
					t.Skipf("collection %q does not declare component %s", coll, c.component)
				}
			}
			s.read(t, e, coll, want)
		})
	}
}

func (s *suite) testVersion(t *testing.T) {
	e := s.setup(t)
	const id = "version@example.com"
	coll := s.seed(t, e, s.simple(id, 0))
	first := s.read(t, e, coll, s.simple(id, 0))
	again := s.read(t, e, coll, s.simple(id, 0))
	if first.Version != again.Version {
		t.Errorf("Version changed between reads: %q then %q", first.Version, again.Version)
	}

	// An upstream change must show.
	s.seed(t, e, s.simple(id, 1))
	updated := s.read(t, e, coll, s.simple(id, 1))
	if first.Version != "" && updated.Version == first.Version {
		t.Errorf("Version %q unchanged after the upstream object changed", first.Version)
	}

	if !e.caps.Write {
		return
	}
	w := e.a.(adapters.Writer)
	next := s.simple(id, 2)
	next.ID = updated.ID
	put, err := w.Put(e.ctx, coll, next, adapters.Cond{IfVersion: updated.Version})
	if err != nil {
		t.Fatalf("Put(IfVersion current): %v", err)
	}
	if updated.Version != "" && put.Version == updated.Version {
		t.Errorf("Put returned the old Version %q", put.Version)
	}
	got := s.read(t, e, coll, s.simple(id, 2))
	if put.Version != "" && got.Version != put.Version {
		t.Errorf("read Version %q, Put returned %q", got.Version, put.Version)
	}
}

func (s *suite) testWrite(t *testing.T) {
	e := s.setup(t)
	if !e.caps.Write {
		t.Skip("adapter does not declare Write")
	}
	w := e.a.(adapters.Writer)
	coll := s.seed(t, e, s.simple("existing@example.com", 0))
	existing := s.read(t, e, coll, s.simple("existing@example.com", 0))

	const id = "written@example.com"
	put, err := w.Put(e.ctx, coll, s.simple(id, 0), adapters.Cond{IfAbsent: true})
	if err != nil {
		t.Fatalf("Put(IfAbsent) new: %v", err)
	}
	if put.ID != id {
		t.Errorf("Put kept ID %q as %q", id, put.ID)
	}
	if d := s.diff(s.simple(id, 0), put); d != "" {
		t.Errorf("Put returned different data:\n%s", d)
	}
	s.read(t, e, coll, s.simple(id, 0))

	_, err = w.Put(e.ctx, coll, s.simple(id, 1), adapters.Cond{IfAbsent: true})
	wantErr(t, "Put(IfAbsent) on an existing object", err, adapters.ErrPrecondition)
	_, err = w.Put(e.ctx, coll, s.simple(id, 1), adapters.Cond{IfVersion: "adaptertest-stale-version"})
	wantErr(t, "Put(stale IfVersion)", err, adapters.ErrPrecondition)
	_, err = w.Put(e.ctx, coll, s.simple("absent@example.com", 1), adapters.Cond{IfVersion: "adaptertest-stale-version"})
	wantErr(t, "Put(IfVersion) on a missing object", err, adapters.ErrPrecondition)
	s.read(t, e, coll, s.simple(id, 0)) // refused writes changed nothing

	_, err = w.Put(e.ctx, missingColl, s.simple(id, 0), adapters.Cond{})
	wantErr(t, "Put into a missing collection", err, adapters.ErrNotFound)

	err = w.Delete(e.ctx, coll, existing.ID, adapters.Cond{IfVersion: "adaptertest-stale-version"})
	wantErr(t, "Delete(stale IfVersion)", err, adapters.ErrPrecondition)
	if err := w.Delete(e.ctx, coll, existing.ID, adapters.Cond{IfVersion: existing.Version}); err != nil {
		t.Fatalf("Delete(IfVersion current): %v", err)
	}
	_, err = e.a.Object(e.ctx, coll, existing.ID)
	wantErr(t, "Object after Delete", err, adapters.ErrNotFound)
	err = w.Delete(e.ctx, coll, existing.ID, adapters.Cond{})
	wantErr(t, "Delete of a deleted object", err, adapters.ErrNotFound)

	objs, err := e.a.Objects(e.ctx, coll, adapters.Query{})
	if err != nil {
		t.Fatalf("Objects: %v", err)
	}
	m := byUID(objs)
	if _, ok := m["existing@example.com"]; ok {
		t.Errorf("Objects still lists the deleted object")
	}
	if _, ok := m[id]; !ok {
		t.Errorf("Objects lacks the written object")
	}
}

func (s *suite) testReadOnly(t *testing.T) {
	e := s.setup(t)
	if !e.caps.Write {
		w, ok := e.a.(adapters.Writer)
		if !ok {
			t.Skip("adapter has no Writer: read-only by type")
		}
		// A wrapper that offers Writer over a read-only adapter.
		coll := s.seed(t, e, s.simple("ro@example.com", 0))
		_, err := w.Put(e.ctx, coll, s.simple("ro-new@example.com", 0), adapters.Cond{})
		wantErr(t, "Put on an adapter without Write", err, adapters.ErrReadOnly)
		err = w.Delete(e.ctx, coll, "ro@example.com", adapters.Cond{})
		wantErr(t, "Delete on an adapter without Write", err, adapters.ErrReadOnly)
		return
	}
	colls, err := e.a.Collections(e.ctx)
	if err != nil {
		t.Fatalf("Collections: %v", err)
	}
	var ro *adapters.Collection
	for i := range colls {
		if colls[i].ReadOnly && colls[i].Kind == s.kind {
			ro = &colls[i]
			break
		}
	}
	if ro == nil {
		t.Skipf("no %s collection declared ReadOnly", s.kind)
	}
	w := e.a.(adapters.Writer)
	_, err = w.Put(e.ctx, ro.ID, s.simple("ro-new@example.com", 0), adapters.Cond{})
	wantErr(t, fmt.Sprintf("Put into read-only collection %q", ro.ID), err, adapters.ErrReadOnly)
}

func (s *suite) testHostile(t *testing.T) {
	e := s.setup(t)
	objs := make([]adapters.Object, len(hostileIDs))
	for i, id := range hostileIDs {
		objs[i] = s.hostile(id)
	}
	coll := s.seed(t, e, objs...)
	for _, want := range objs {
		got := s.read(t, e, coll, want)
		if e.caps.Write && got.ID != want.ID {
			t.Errorf("writable adapter changed ID %q to %q", want.ID, got.ID)
		}
	}
	if !e.caps.Write {
		return
	}
	w := e.a.(adapters.Writer)
	for _, id := range hostileIDs {
		id := "put-" + id
		put, err := w.Put(e.ctx, coll, s.hostile(id), adapters.Cond{IfAbsent: true})
		if err != nil {
			t.Errorf("Put(%q): %v", id, err)
			continue
		}
		got, err := e.a.Object(e.ctx, coll, put.ID)
		if err != nil {
			t.Errorf("Object(%q): %v", put.ID, err)
			continue
		}
		if got.ID != id {
			t.Errorf("Object(%q).ID = %q", id, got.ID)
		}
		if d := s.diff(s.hostile(id), got); d != "" {
			t.Errorf("Object(%q) differs:\n%s", id, d)
		}
	}
}

func (s *suite) testCanceled(t *testing.T) {
	e := s.setup(t)
	coll := s.seed(t, e, s.simple("canceled@example.com", 0))
	obj := s.read(t, e, coll, s.simple("canceled@example.com", 0))
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	_, err := e.a.Collections(ctx)
	wantErr(t, "Collections(canceled)", err, context.Canceled)
	_, err = e.a.Objects(ctx, coll, adapters.Query{})
	wantErr(t, "Objects(canceled)", err, context.Canceled)
	_, err = e.a.Object(ctx, coll, obj.ID)
	wantErr(t, "Object(canceled)", err, context.Canceled)
	if e.caps.Write {
		_, err = e.a.(adapters.Writer).Put(ctx, coll, s.simple("canceled-put@example.com", 0), adapters.Cond{})
		wantErr(t, "Put(canceled)", err, context.Canceled)
	}
	if e.caps.Changes {
		_, err = e.a.(adapters.ChangeLister).Changes(ctx, coll, "")
		wantErr(t, "Changes(canceled)", err, context.Canceled)
	}
}

func (s *suite) testParallelReads(t *testing.T) {
	e := s.setup(t)
	const n = 20
	objs := make([]adapters.Object, n)
	for i := range objs {
		objs[i] = s.simple(fmt.Sprintf("parallel-%02d@example.com", i), 0)
	}
	coll := s.seed(t, e, objs...)
	listed, err := e.a.Objects(e.ctx, coll, adapters.Query{})
	if err != nil {
		t.Fatalf("Objects: %v", err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				got, err := e.a.Objects(e.ctx, coll, adapters.Query{})
				if err != nil || len(got) != len(listed) {
					t.Errorf("parallel Objects: %d objects, %v; want %d", len(got), err, len(listed))
					return
				}
				o := listed[(g*10+i)%len(listed)]
				one, err := e.a.Object(e.ctx, coll, o.ID)
				if err != nil || one.Version != o.Version {
					t.Errorf("parallel Object(%q): version %q, %v; want %q", o.ID, one.Version, err, o.Version)
					return
				}
				if _, err := e.a.Collections(e.ctx); err != nil {
					t.Errorf("parallel Collections: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func (s *suite) testChanges(t *testing.T) {
	e := s.setup(t)
	if !e.caps.Changes {
		t.Skip("adapter does not declare Changes")
	}
	cl := e.a.(adapters.ChangeLister)
	const keep, gone, added = "keep@example.com", "gone@example.com", "added@example.com"
	coll := s.seed(t, e, s.simple(keep, 0), s.simple(gone, 0))

	all, err := cl.Changes(e.ctx, coll, "")
	if err != nil {
		t.Fatalf("Changes(\"\"): %v", err)
	}
	if got := sortedUIDs(all.Updated); !slices.Equal(got, []string{gone, keep}) {
		t.Errorf("Changes(\"\").Updated = %q, want all objects", got)
	}
	if len(all.Deleted) != 0 || all.Token == "" {
		t.Errorf("Changes(\"\") = Deleted %q, Token %q", all.Deleted, all.Token)
	}
	tok, err := cl.Token(e.ctx, coll)
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if tok != all.Token {
		t.Errorf("Token() = %q, Changes(\"\") said %q", tok, all.Token)
	}
	goneID := byUID(all.Updated)[gone].ID

	// A put and, where the adapter writes, a delete.
	var wantDeleted []string
	if e.caps.Write {
		w := e.a.(adapters.Writer)
		if _, err := w.Put(e.ctx, coll, s.simple(added, 0), adapters.Cond{IfAbsent: true}); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if err := w.Delete(e.ctx, coll, goneID, adapters.Cond{}); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		wantDeleted = []string{goneID}
	} else {
		s.seed(t, e, s.simple(added, 0))
	}
	d, err := cl.Changes(e.ctx, coll, tok)
	if err != nil {
		t.Fatalf("Changes(token): %v", err)
	}
	if got := sortedUIDs(d.Updated); !slices.Equal(got, []string{added}) {
		t.Errorf("Changes(token).Updated = %q, want [%q]", got, added)
	}
	if d2 := s.diff(s.simple(added, 0), byUID(d.Updated)[added]); len(d.Updated) == 1 && d2 != "" {
		t.Errorf("Changes(token).Updated data differs:\n%s", d2)
	}
	if got := slices.Sorted(slices.Values(d.Deleted)); !slices.Equal(got, wantDeleted) {
		t.Errorf("Changes(token).Deleted = %q, want %q", got, wantDeleted)
	}
	if d.Token == tok || d.Token == "" {
		t.Errorf("Changes(token).Token = %q after changes (old %q)", d.Token, tok)
	}
	now, err := cl.Token(e.ctx, coll)
	if err != nil || now != d.Token {
		t.Errorf("Token() = %q, %v; Changes said %q", now, err, d.Token)
	}

	same, err := cl.Changes(e.ctx, coll, d.Token)
	if err != nil {
		t.Fatalf("Changes(current token): %v", err)
	}
	if len(same.Updated)+len(same.Deleted) != 0 || same.Token != d.Token {
		t.Errorf("Changes(current token) = %d updated, %q deleted, token %q; want none and %q",
			len(same.Updated), same.Deleted, same.Token, d.Token)
	}

	_, err = cl.Changes(e.ctx, coll, "adaptertest-unknown-token")
	wantErr(t, "Changes(unknown token)", err, adapters.ErrInvalidToken)
	_, err = cl.Changes(e.ctx, missingColl, "")
	wantErr(t, "Changes(missing collection)", err, adapters.ErrNotFound)
	_, err = cl.Token(e.ctx, missingColl)
	wantErr(t, "Token(missing collection)", err, adapters.ErrNotFound)
}

func sortedUIDs(objs []adapters.Object) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, uidOf(o))
	}
	sort.Strings(out)
	return out
}

// The window is in the future of every fixture's DTSTART, so the weekly
// series only overlaps it through its recurrence rule.
var (
	windowStart = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	windowEnd   = time.Date(2025, 6, 8, 0, 0, 0, 0, time.UTC)
)

func (s *suite) testTimeRange(t *testing.T) {
	e := s.setup(t)
	inside := []adapters.Object{
		timedEvent("inside@example.com", "20250603T100000Z", "20250603T110000Z"),
		timedEvent("spans-start@example.com", "20250530T100000Z", "20250602T100000Z"),
		timedEvent("spans-window@example.com", "20250501T000000Z", "20250701T000000Z"),
		weeklySince2024("weekly-since-2024@example.com"),
		allDayOn("all-day-inside@example.com", "20250605"),
		berlinLateEvent("berlin-late@example.com"),
	}
	outside := timedEvent("outside@example.com", "20250901T100000Z", "20250901T110000Z")
	coll := s.seed(t, e, append(slices.Clone(inside), outside)...)
	got, err := e.a.Objects(e.ctx, coll, adapters.Query{Start: windowStart, End: windowEnd})
	if err != nil {
		t.Fatalf("Objects(time range): %v", err)
	}
	m := byUID(got)
	for _, want := range inside {
		if _, ok := m[uidOf(want)]; !ok {
			t.Errorf("Objects(%s..%s) omits overlapping %q", windowStart.Format(time.DateOnly), windowEnd.Format(time.DateOnly), uidOf(want))
		}
	}
	// Open-ended ranges must not omit anything either.
	got, err = e.a.Objects(e.ctx, coll, adapters.Query{Start: windowStart})
	if err != nil {
		t.Fatalf("Objects(open end): %v", err)
	}
	m = byUID(got)
	for _, want := range append(slices.Clone(inside), outside) {
		if _, ok := m[uidOf(want)]; !ok {
			t.Errorf("Objects(from %s) omits %q", windowStart.Format(time.DateOnly), uidOf(want))
		}
	}
}
