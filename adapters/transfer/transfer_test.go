package transfer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/memory"
)

func event(t testing.TB, id, uid, summary string) adapters.Object {
	t.Helper()
	text := strings.ReplaceAll(fmt.Sprintf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:%s
DTSTAMP:20240101T000000Z
DTSTART:20240601T100000Z
DTEND:20240601T110000Z
SUMMARY:%s
END:VEVENT
END:VCALENDAR
`, uid, summary), "\n", "\r\n")
	cal, err := ical.NewDecoder(strings.NewReader(text)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	return adapters.Object{ID: id, Data: cal}
}

func newMem(t testing.TB, colls ...memory.CollectionOptions) *memory.Adapter {
	t.Helper()
	a, err := memory.NewWith(memory.Options{Collections: colls})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func put(t testing.TB, a adapters.Writer, coll string, objs ...adapters.Object) {
	t.Helper()
	for _, o := range objs {
		if _, err := a.Put(context.Background(), coll, o, adapters.Cond{}); err != nil {
			t.Fatal(err)
		}
	}
}

func jobsFor(t testing.TB, src adapters.Reader) []Job {
	t.Helper()
	colls, err := src.Collections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var jobs []Job
	for _, c := range colls {
		jobs = append(jobs, Job{Source: src, Collection: c, Target: c.ID, Label: c.ID})
	}
	return jobs
}

// source builds a memory source with a calendar of n events and an
// address book of one card.
func source(t testing.TB, n int) *memory.Adapter {
	t.Helper()
	src := newMem(t,
		memory.CollectionOptions{ID: "work", Name: "Work", Color: "#112233"},
		memory.CollectionOptions{ID: "contacts", Kind: "addressbook", Name: "Contacts"})
	for i := range n {
		put(t, src, "work", event(t, fmt.Sprintf("ev%03d", i), fmt.Sprintf("uid-%03d@test", i), fmt.Sprintf("Event %d", i)))
	}
	card := vcard.Card{}
	card.SetValue(vcard.FieldVersion, "3.0")
	card.SetValue(vcard.FieldUID, "card-1")
	card.SetValue(vcard.FieldFormattedName, "Ada Lovelace")
	card.SetName(&vcard.Name{FamilyName: "Lovelace", GivenName: "Ada"})
	put(t, src, "contacts", adapters.Object{ID: "card-1", Card: card})
	return src
}

func mustOK(t *testing.T, rep *Report) {
	t.Helper()
	if !rep.OK() {
		for _, c := range rep.Collections {
			for _, it := range c.Items {
				if it.Action == ActFail {
					t.Logf("%s/%s: %s", c.Label, it.ID, it.Reason)
				}
			}
			if c.Err != nil {
				t.Logf("%s: %v", c.Label, c.Err)
			}
		}
		t.Fatalf("copy not OK (aborted: %v): %+v", rep.Aborted, rep.Totals())
	}
}

func mustVerify(t *testing.T, src, dst adapters.Reader) {
	t.Helper()
	vr := Verify(context.Background(), jobsFor(t, src), dst, VerifyOptions{})
	if !vr.OK() {
		for _, c := range vr.Collections {
			t.Logf("%s: missing %v extra %v changed %v err %v", c.Label, c.Missing, c.Extra, c.Changed, c.Err)
		}
		t.Fatal("verify found differences")
	}
}

func TestCopyIdempotentAndIncremental(t *testing.T) {
	ctx := context.Background()
	src := source(t, 20)
	dst := newMem(t)
	st := NewState()
	opts := Options{State: st, Concurrency: 3}

	rep := Copy(ctx, jobsFor(t, src), dst, opts)
	mustOK(t, rep)
	if got := rep.Totals(); got.Created != 21 || got.Copied != 21 {
		t.Fatalf("first run: %+v", got)
	}
	colls, _ := dst.Collections(ctx)
	if len(colls) != 2 || colls[1].Name != "Work" || colls[1].Color != "#112233" || colls[0].Kind != adapters.KindAddressBook {
		t.Fatalf("target collections: %+v", colls)
	}
	mustVerify(t, src, dst)

	rep = Copy(ctx, jobsFor(t, src), dst, opts)
	mustOK(t, rep)
	if got := rep.Totals(); got.Copied != 0 || got.Unchanged != 21 {
		t.Fatalf("second run copied: %+v", got)
	}

	put(t, src, "work", event(t, "ev005", "uid-005@test", "Moved"))
	rep = Copy(ctx, jobsFor(t, src), dst, opts)
	mustOK(t, rep)
	if got := rep.Totals(); got.Copied != 1 || got.Updated != 1 || got.Unchanged != 20 {
		t.Fatalf("after a source change: %+v", got)
	}
	mustVerify(t, src, dst)

	// Without state, the same content is still recognised as unchanged:
	// correctness does not depend on the state.
	rep = Copy(ctx, jobsFor(t, src), dst, Options{})
	mustOK(t, rep)
	if got := rep.Totals(); got.Copied != 0 || got.Unchanged != 21 {
		t.Fatalf("stateless rerun: %+v", got)
	}
}

func TestConflictPolicies(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		policy  Policy
		summary string // of ev001 on the target afterwards
		copied  int
		extra   int // objects besides the 3 originals
	}{
		{Skip, "Edited on target", 0, 0},
		{Overwrite, "Event 1", 1, 0},
		{KeepBoth, "Edited on target", 1, 1},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			src := source(t, 3)
			dst := newMem(t)
			st := NewState()
			mustOK(t, Copy(ctx, jobsFor(t, src), dst, Options{State: st}))
			put(t, dst, "work", event(t, "ev001", "uid-001@test", "Edited on target"))

			rep := Copy(ctx, jobsFor(t, src), dst, Options{State: st, Policy: tc.policy})
			mustOK(t, rep)
			tot := rep.Totals()
			if tot.Copied != tc.copied {
				t.Fatalf("copied %d, want %d: %+v", tot.Copied, tc.copied, rep.Collections[1].Items)
			}
			if tc.policy == Skip && (tot.Skipped != 1 || !strings.Contains(rep.Collections[1].Items[0].Reason, "changed on the target")) {
				t.Fatalf("skip not reported: %+v", rep.Collections[1].Items)
			}
			o, err := dst.Object(ctx, "work", "ev001")
			if err != nil {
				t.Fatal(err)
			}
			if got := o.Data.Children[0].Props.Get(ical.PropSummary).Value; got != tc.summary {
				t.Fatalf("target summary %q, want %q", got, tc.summary)
			}
			objs, _ := dst.Objects(ctx, "work", adapters.Query{})
			if len(objs) != 3+tc.extra {
				t.Fatalf("%d target objects, want %d", len(objs), 3+tc.extra)
			}
			// Rerunning resolves nothing new: nothing is copied again.
			rep = Copy(ctx, jobsFor(t, src), dst, Options{State: st, Policy: tc.policy})
			mustOK(t, rep)
			if got := rep.Totals().Copied; got != 0 {
				t.Fatalf("rerun copied %d: %+v", got, rep.Collections[1].Items)
			}
		})
	}
}

func TestSourceChangeWithoutStateIsConflict(t *testing.T) {
	ctx := context.Background()
	src := source(t, 2)
	dst := newMem(t)
	mustOK(t, Copy(ctx, jobsFor(t, src), dst, Options{}))
	put(t, src, "work", event(t, "ev000", "uid-000@test", "Changed"))
	rep := Copy(ctx, jobsFor(t, src), dst, Options{})
	if got := rep.Totals(); got.Skipped != 1 || got.Copied != 0 {
		t.Fatalf("want a skipped conflict without state, got %+v", got)
	}
	rep = Copy(ctx, jobsFor(t, src), dst, Options{Policy: Overwrite})
	if got := rep.Totals(); got.Overwritten != 1 {
		t.Fatalf("want overwrite, got %+v", got)
	}
	mustVerify(t, src, dst)
}

func TestDryRunWritesNothing(t *testing.T) {
	ctx := context.Background()
	src := source(t, 5)
	dst := newMem(t)
	st := NewState()
	rep := Copy(ctx, jobsFor(t, src), dst, Options{DryRun: true, State: st})
	if got := rep.Totals(); got.Created != 6 || !rep.Collections[0].CreatedCollection {
		t.Fatalf("plan: %+v", got)
	}
	if colls, _ := dst.Collections(ctx); len(colls) != 0 {
		t.Fatalf("dry run created %d collections", len(colls))
	}
	if len(st.entries("work")) != 0 {
		t.Fatal("dry run recorded state")
	}
}

func TestDeleteModes(t *testing.T) {
	ctx := context.Background()
	src := source(t, 3)
	dst := newMem(t)
	st := NewState()
	mustOK(t, Copy(ctx, jobsFor(t, src), dst, Options{State: st}))
	put(t, dst, "work", event(t, "native", "native@target", "Target's own"))
	if err := src.Delete(ctx, "work", "ev000", adapters.Cond{}); err != nil {
		t.Fatal(err)
	}

	rep := Copy(ctx, jobsFor(t, src), dst, Options{State: st, Delete: DeleteNone})
	mustOK(t, rep)
	if rep.Totals().Deleted != 0 {
		t.Fatal("DeleteNone deleted")
	}
	// DeleteNone forgot the vanished object, so re-seed the state.
	st = NewState()
	put(t, src, "work", event(t, "ev000", "uid-000@test", "Event 0"))
	mustOK(t, Copy(ctx, jobsFor(t, src), dst, Options{State: st}))
	_ = src.Delete(ctx, "work", "ev000", adapters.Cond{})

	rep = Copy(ctx, jobsFor(t, src), dst, Options{State: st, Delete: DeleteTracked})
	mustOK(t, rep)
	if got := rep.Totals(); got.Deleted != 1 {
		t.Fatalf("DeleteTracked: %+v", got)
	}
	if _, err := dst.Object(ctx, "work", "native"); err != nil {
		t.Fatalf("DeleteTracked removed a target-native object: %v", err)
	}
	rep = Copy(ctx, jobsFor(t, src), dst, Options{State: st, Delete: DeleteAll})
	mustOK(t, rep)
	if got := rep.Totals(); got.Deleted != 1 {
		t.Fatalf("DeleteAll: %+v", got)
	}
	mustVerify(t, src, dst)
}

func TestDuplicateUIDAndRejectedObjects(t *testing.T) {
	ctx := context.Background()
	src := newMem(t, memory.CollectionOptions{ID: "c"})
	put(t, src, "c", event(t, "a", "same", "A"), event(t, "b", "same", "B"), event(t, "big", "big", "too large"))
	dst := &flaky{Adapter: newMem(t), reject: "big"}
	rep := Copy(ctx, jobsFor(t, src), dst, Options{})
	cr := rep.Collections[0]
	if cr.Failed != 2 || cr.Created != 1 || rep.OK() {
		t.Fatalf("report: %+v", cr)
	}
	reasons := fmt.Sprint(cr.Items)
	if !strings.Contains(reasons, "UID also used") || !strings.Contains(reasons, "cannot hold") {
		t.Fatalf("reasons: %s", reasons)
	}
	for _, it := range cr.Items {
		if it.ID == "big" && !errors.Is(it.Err, adapters.ErrUnsupported) {
			t.Fatalf("rejection not classified: %v", it.Err)
		}
	}
}

// flaky wraps a memory adapter: it rejects one ID with ErrUnsupported,
// fails the first failN puts with ErrUnavailable, and fails every put with
// ErrUnavailable while down is set.
type flaky struct {
	*memory.Adapter
	reject string
	failN  atomic.Int32
	down   atomic.Bool
	puts   atomic.Int32
}

func (f *flaky) Put(ctx context.Context, coll string, o adapters.Object, c adapters.Cond) (adapters.Object, error) {
	f.puts.Add(1)
	if o.ID == f.reject {
		return adapters.Object{}, fmt.Errorf("flaky: 413: %w", adapters.ErrUnsupported)
	}
	if f.down.Load() || f.failN.Add(-1) >= 0 {
		return adapters.Object{}, fmt.Errorf("flaky: 503: %w", adapters.ErrUnavailable)
	}
	return f.Adapter.Put(ctx, coll, o, c)
}

func TestRetryAndResumeAfterOutage(t *testing.T) {
	ctx := context.Background()
	src := source(t, 30)
	dst := &flaky{Adapter: newMem(t)}
	dst.failN.Store(3)
	opts := Options{Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Concurrency: 2}
	mustOK(t, Copy(ctx, jobsFor(t, src)[1:], dst, opts)) // retries absorb the three 503s

	// The target goes down for good: the run stops early with a report
	// instead of retrying every object.
	src2 := source(t, 30)
	dst2 := &flaky{Adapter: newMem(t)}
	dst2.down.Store(true)
	_ = dst2.Adapter.Put // collections can still be created while down
	rep := Copy(ctx, jobsFor(t, src2), dst2, opts)
	if rep.Aborted == nil || !errors.Is(rep.Aborted, adapters.ErrUnavailable) {
		t.Fatalf("want abort on a down target, got %v", rep.Aborted)
	}
	tot := rep.Totals()
	if tot.Pending == 0 || tot.Failed == 0 {
		t.Fatalf("report after outage: %+v", tot)
	}
	if n := dst2.puts.Load(); n > 60 {
		t.Fatalf("%d puts against a down target", n)
	}
	dst2.down.Store(false)
	rep = Copy(ctx, jobsFor(t, src2), dst2, opts)
	mustOK(t, rep)
	mustVerify(t, src2, dst2)
}

func TestVerifyDetectsDifferences(t *testing.T) {
	ctx := context.Background()
	src := source(t, 5)
	dst := newMem(t)
	mustOK(t, Copy(ctx, jobsFor(t, src), dst, Options{}))
	_ = dst.Delete(ctx, "work", "ev001", adapters.Cond{})
	put(t, dst, "work", event(t, "ev002", "uid-002@test", "Changed"), event(t, "x", "extra@test", "Extra"))
	// Noise that must not count: another DTSTAMP and PRODID.
	noisy := event(t, "ev003", "uid-003@test", "Event 3")
	noisy.Data.Props.SetText(ical.PropProductID, "-//other//EN")
	noisy.Data.Children[0].Props.SetDateTime(ical.PropDateTimeStamp, time.Now())
	put(t, dst, "work", noisy)

	vr := Verify(ctx, jobsFor(t, src), dst, VerifyOptions{})
	if vr.OK() {
		t.Fatal("verify passed")
	}
	var work *VerifyCollection
	for _, c := range vr.Collections {
		if c.Label == "work" {
			work = c
		} else if !c.OK() {
			t.Fatalf("%s: %+v", c.Label, c)
		}
	}
	if len(work.Missing) != 1 || work.Missing[0].UID != "uid-001@test" ||
		len(work.Extra) != 1 || work.Extra[0].UID != "extra@test" ||
		len(work.Changed) != 1 || work.Changed[0].UID != "uid-002@test" || !strings.Contains(work.Changed[0].Diff, "SUMMARY:Changed") ||
		work.Equal != 3 {
		t.Fatalf("verify: %+v", work)
	}
}

func TestTargetCannotCreateCollections(t *testing.T) {
	ctx := context.Background()
	src := source(t, 1)
	dst := readOnlyColls{newMem(t)}
	rep := Copy(ctx, jobsFor(t, src), dst, Options{})
	if rep.OK() || !errors.Is(rep.Collections[0].Err, adapters.ErrUnsupported) {
		t.Fatalf("want ErrUnsupported, got %+v", rep.Collections[0])
	}
}

type readOnlyColls struct{ m *memory.Adapter }

func (r readOnlyColls) Close() error { return nil }
func (r readOnlyColls) Collections(ctx context.Context) ([]adapters.Collection, error) {
	return r.m.Collections(ctx)
}
func (r readOnlyColls) Objects(ctx context.Context, c string, q adapters.Query) ([]adapters.Object, error) {
	return r.m.Objects(ctx, c, q)
}
func (r readOnlyColls) Object(ctx context.Context, c, id string) (adapters.Object, error) {
	return r.m.Object(ctx, c, id)
}
func (r readOnlyColls) Put(ctx context.Context, c string, o adapters.Object, cd adapters.Cond) (adapters.Object, error) {
	return r.m.Put(ctx, c, o, cd)
}
func (r readOnlyColls) Delete(ctx context.Context, c, id string, cd adapters.Cond) error {
	return r.m.Delete(ctx, c, id, cd)
}

func TestStateFileRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "state.json")
	st, err := OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	src := source(t, 4)
	dst := newMem(t)
	mustOK(t, Copy(ctx, jobsFor(t, src), dst, Options{State: st}))
	st2, err := OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(st2.entries("work")) != 4 {
		t.Fatalf("state has %d entries", len(st2.entries("work")))
	}
	if err := os.WriteFile(path, []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st3, err := OpenState(path); err == nil || st3 == nil {
		t.Fatal("a corrupt state must be reported and replaced by an empty one")
	}
}

func TestWriteCollectionFile(t *testing.T) {
	ctx := context.Background()
	src := source(t, 3)
	dir := t.TempDir()
	jobs := jobsFor(t, src)
	for _, j := range jobs {
		ext := ".ics"
		if j.Collection.Kind == adapters.KindAddressBook {
			ext = ".vcf"
		}
		p := filepath.Join(dir, j.Target+ext)
		res, err := WriteCollectionFile(ctx, j, p, false)
		if err != nil || !res.Written {
			t.Fatalf("%s: %+v %v", p, res, err)
		}
		res, err = WriteCollectionFile(ctx, j, p, false)
		if err != nil || res.Written {
			t.Fatalf("rerun rewrote %s: %+v %v", p, res, err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "work.ics"))
	cal, err := ical.NewDecoder(strings.NewReader(string(b))).Decode()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cal.Events()); n != 3 {
		t.Fatalf("%d events in the file", n)
	}
}

func TestDiffNormalisesDurations(t *testing.T) {
	for in, want := range map[string]string{
		"PT60M": "PT1H", "PT1H": "PT1H", "-PT15M": "-PT15M", "P1W": "P7D", "P1DT0H": "P1D",
		"PT0S": "PT0S", "+PT90M": "PT1H30M", "P2DT3H4M5S": "P2DT3H4M5S",
	} {
		if got, ok := canonDuration(in); !ok || got != want {
			t.Errorf("canonDuration(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := canonDuration("19970317T133000Z"); ok {
		t.Error("a DATE-TIME trigger parsed as a duration")
	}
	a := event(t, "a", "u", "S")
	b := event(t, "a", "u", "S")
	alarm := func(trig string) *ical.Component {
		c := ical.NewComponent(ical.CompAlarm)
		c.Props.SetText(ical.PropAction, "DISPLAY")
		c.Props.SetText(ical.PropTrigger, trig)
		return c
	}
	a.Data.Children[0].Children = append(a.Data.Children[0].Children, alarm("-PT60M"))
	b.Data.Children[0].Children = append(b.Data.Children[0].Children, alarm("-PT1H"))
	if d := Diff(adapters.KindCalendar, a, b); d != "" {
		t.Fatalf("durations compared as text:\n%s", d)
	}
	if got := a.Data.Children[0].Children[0].Props.Get(ical.PropTrigger).Value; got != "-PT60M" {
		t.Fatalf("Diff modified its input: %s", got)
	}
	b.Data.Children[0].Children[0].Props.SetText(ical.PropTrigger, "-PT2H")
	if Diff(adapters.KindCalendar, a, b) == "" {
		t.Fatal("different durations compared equal")
	}
}
