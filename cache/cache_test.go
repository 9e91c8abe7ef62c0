package cache_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/adaptertest"
	"github.com/davgate/davgate/adapters/memory"
	"github.com/davgate/davgate/cache"
)

// reader is a read-only upstream like ICS: the Reader methods of a memory
// instance, counted, with an injectable error and an optional gate.
type reader struct {
	mem *memory.Adapter

	mu    sync.Mutex
	calls map[string]int
	fail  error
	// gate, if set, holds every call until it is closed.
	gate chan struct{}
	// noVersion strips Versions, as upstreams without etags do.
	noVersion bool
}

func (r *reader) enter(method string) error {
	r.mu.Lock()
	r.calls[method]++
	fail, gate := r.fail, r.gate
	r.mu.Unlock()
	if gate != nil {
		<-gate
	}
	return fail
}

func (r *reader) count(method string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[method]
}

func (r *reader) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		n += c
	}
	return n
}

func (r *reader) setFail(err error) {
	r.mu.Lock()
	r.fail = err
	r.mu.Unlock()
}

func (r *reader) strip(o adapters.Object) adapters.Object {
	if r.noVersion {
		o.Version = ""
	}
	return o
}

func (r *reader) Close() error { return nil }

func (r *reader) Collections(ctx context.Context) ([]adapters.Collection, error) {
	if err := r.enter("Collections"); err != nil {
		return nil, err
	}
	return r.mem.Collections(ctx)
}

func (r *reader) Objects(ctx context.Context, coll string, q adapters.Query) ([]adapters.Object, error) {
	if err := r.enter("Objects"); err != nil {
		return nil, err
	}
	objs, err := r.mem.Objects(ctx, coll, q)
	for i := range objs {
		objs[i] = r.strip(objs[i])
	}
	return objs, err
}

func (r *reader) Object(ctx context.Context, coll, id string) (adapters.Object, error) {
	if err := r.enter("Object"); err != nil {
		return adapters.Object{}, err
	}
	o, err := r.mem.Object(ctx, coll, id)
	return r.strip(o), err
}

// full adds the memory adapter's optional interfaces, counted.
type full struct{ *reader }

func (f full) Put(ctx context.Context, coll string, obj adapters.Object, c adapters.Cond) (adapters.Object, error) {
	if err := f.enter("Put"); err != nil {
		return adapters.Object{}, err
	}
	return f.mem.Put(ctx, coll, obj, c)
}

func (f full) Delete(ctx context.Context, coll, id string, c adapters.Cond) error {
	if err := f.enter("Delete"); err != nil {
		return err
	}
	return f.mem.Delete(ctx, coll, id, c)
}

func (f full) Changes(ctx context.Context, coll, tok string) (adapters.Changes, error) {
	if err := f.enter("Changes"); err != nil {
		return adapters.Changes{}, err
	}
	return f.mem.Changes(ctx, coll, tok)
}

func (f full) Token(ctx context.Context, coll string) (string, error) {
	if err := f.enter("Token"); err != nil {
		return "", err
	}
	return f.mem.Token(ctx, coll)
}

func (f full) CreateCollection(ctx context.Context, c adapters.Collection) (adapters.Collection, error) {
	return f.mem.CreateCollection(ctx, c)
}

func (f full) UpdateCollection(ctx context.Context, coll string, p adapters.CollectionPatch) (adapters.Collection, error) {
	return f.mem.UpdateCollection(ctx, coll, p)
}

func (f full) DeleteCollection(ctx context.Context, coll string) error {
	return f.mem.DeleteCollection(ctx, coll)
}

func newMemory(t testing.TB) *memory.Adapter {
	t.Helper()
	m, err := memory.NewWith(memory.Options{Collections: []memory.CollectionOptions{
		{ID: "cal", Name: "Calendar", Components: []string{"VEVENT", "VTODO"}},
		{ID: "book", Kind: "addressbook", Name: "Contacts"},
		{ID: "cal-ro", Name: "Holidays", ReadOnly: true},
		{ID: "book-ro", Kind: "addressbook", Name: "Directory", ReadOnly: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newReader(t testing.TB) *reader {
	return &reader{mem: newMemory(t), calls: map[string]int{}}
}

// quiet keeps expected warnings (stale serving) out of test output.
var quiet = slog.New(slog.DiscardHandler)

// harness runs the conformance suite on a cache. Seeds go to the inner
// memory instance, as an upstream change would, unless viaCache is set.
type harness struct {
	mem      *memory.Adapter
	c        *cache.Adapter
	viaCache bool
}

func (h *harness) Adapter(context.Context) (adapters.Reader, error) { return h.c, nil }

func (h *harness) Seed(ctx context.Context, kind adapters.Kind, objs ...adapters.Object) (string, error) {
	coll := "cal"
	if kind == adapters.KindAddressBook {
		coll = "book"
	}
	for _, o := range objs {
		var err error
		if h.viaCache {
			_, err = h.c.Put(ctx, coll, o, adapters.Cond{})
		} else {
			_, err = h.mem.Put(ctx, coll, o, adapters.Cond{})
		}
		if err != nil {
			return "", err
		}
	}
	return coll, nil
}

func (h *harness) Close() { _ = h.c.Close() }

func TestConformance(t *testing.T) {
	setups := map[string]func(t *testing.T) adaptertest.Harness{
		// Revalidating on every read must show upstream changes at once.
		"Memory": func(t *testing.T) adaptertest.Harness {
			m := newMemory(t)
			return &harness{mem: m, c: cache.Wrap(m, cache.Options{Logger: quiet})}
		},
		// With a long TTL, writes through the cache must keep it coherent.
		"WriteThrough": func(t *testing.T) adaptertest.Harness {
			m := newMemory(t)
			return &harness{mem: m, c: cache.Wrap(m, cache.Options{TTL: time.Hour, Logger: quiet}), viaCache: true}
		},
		// A read-only upstream without tokens or versions (ICS).
		"ReadOnlyNoVersions": func(t *testing.T) adaptertest.Harness {
			r := newReader(t)
			r.noVersion = true
			return &harness{mem: r.mem, c: cache.Wrap(r, cache.Options{Logger: quiet})}
		},
		// Objects evicted on every read must be fetched again.
		"Tiny": func(t *testing.T) adaptertest.Harness {
			m := newMemory(t)
			return &harness{mem: m, c: cache.Wrap(m, cache.Options{MaxBytes: 600, Logger: quiet})}
		},
	}
	for name, newHarness := range setups {
		t.Run(name, func(t *testing.T) {
			t.Run("Calendar", func(t *testing.T) { adaptertest.RunCalendar(t, newHarness) })
			t.Run("Contacts", func(t *testing.T) { adaptertest.RunContacts(t, newHarness) })
		})
	}
}

func TestCapabilities(t *testing.T) {
	tests := []struct {
		name  string
		inner adapters.Reader
		want  adapters.Capabilities
	}{
		{"memory", newMemory(t), adapters.Capabilities{Write: true, CollectionWrite: true, Changes: true}},
		{"reader", newReader(t), adapters.Capabilities{Changes: true}},
		{"cache over reader", cache.Wrap(newReader(t), cache.Options{}), adapters.Capabilities{Changes: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cache.Wrap(tc.inner, cache.Options{})
			if got := adapters.CapabilitiesOf(c); got != tc.want {
				t.Errorf("CapabilitiesOf = %+v, want %+v", got, tc.want)
			}
		})
	}

	c := cache.Wrap(newReader(t), cache.Options{})
	ctx := t.Context()
	_, err := c.CreateCollection(ctx, adapters.Collection{ID: "new"})
	if !errors.Is(err, adapters.ErrUnsupported) {
		t.Errorf("CreateCollection on a reader: %v, want ErrUnsupported", err)
	}
	if err := c.DeleteCollection(ctx, "cal"); !errors.Is(err, adapters.ErrUnsupported) {
		t.Errorf("DeleteCollection on a reader: %v, want ErrUnsupported", err)
	}
}

func event(id string, rev int) adapters.Object {
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropProductID, "-//davgate//cache test//EN")
	ev := ical.NewEvent()
	ev.Props.SetText(ical.PropUID, id)
	ev.Props.SetDateTime(ical.PropDateTimeStamp, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	ev.Props.SetDateTime(ical.PropDateTimeStart, time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC))
	ev.Props.SetText(ical.PropSummary, fmt.Sprintf("rev %d %s", rev, strings.Repeat("x", 100)))
	cal.Children = append(cal.Children, ev.Component)
	return adapters.Object{ID: id, Data: cal}
}

func seed(t testing.TB, m *memory.Adapter, n int) {
	t.Helper()
	for i := range n {
		if _, err := m.Put(context.Background(), "cal", event(fmt.Sprintf("ev-%05d", i), 0), adapters.Cond{}); err != nil {
			t.Fatal(err)
		}
	}
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestWarmListingWithinTTL(t *testing.T) {
	r := newReader(t)
	seed(t, r.mem, 3)
	clk := &clock{t: time.Unix(1e9, 0)}
	c := cache.Wrap(full{r}, cache.Options{TTL: time.Minute, Now: clk.Now})
	ctx := t.Context()
	if _, err := c.Objects(ctx, "cal", adapters.Query{}); err != nil {
		t.Fatal(err)
	}
	if r.count("Changes") != 1 || r.total() != 1 {
		t.Fatalf("cold listing made %d calls, want one Changes", r.total())
	}

	clk.Add(30 * time.Second)
	objs, err := c.Objects(ctx, "cal", adapters.Query{Start: time.Now()})
	if err != nil || len(objs) != 3 {
		t.Fatalf("warm Objects = %d objects, %v", len(objs), err)
	}
	if _, err := c.Object(ctx, "cal", "ev-00001"); err != nil {
		t.Fatal(err)
	}
	tok, err := c.Token(ctx, "cal")
	if err != nil {
		t.Fatal(err)
	}
	if d, err := c.Changes(ctx, "cal", tok); err != nil || len(d.Updated)+len(d.Deleted) != 0 {
		t.Fatalf("Changes(current) = %+v, %v", d, err)
	}
	if n := r.total(); n != 1 {
		t.Errorf("warm reads made %d inner calls, want none", n-1)
	}
	if st := c.Stats(); st.Hits != 4 || st.Misses != 1 || st.UpstreamCalls != 1 || st.Entries != 3 || st.Bytes <= 0 {
		t.Errorf("Stats = %+v", st)
	}

	// After the TTL, one poll is one Changes call, and it sees upstream
	// changes.
	if _, err := r.mem.Put(ctx, "cal", event("ev-00001", 1), adapters.Cond{}); err != nil {
		t.Fatal(err)
	}
	clk.Add(31 * time.Second)
	d, err := c.Changes(ctx, "cal", tok)
	if err != nil {
		t.Fatal(err)
	}
	if r.count("Changes") != 2 || r.total() != 2 {
		t.Errorf("poll after TTL made %d calls, want exactly one more Changes", r.total()-1)
	}
	if len(d.Updated) != 1 || d.Updated[0].ID != "ev-00001" || len(d.Deleted) != 0 {
		t.Errorf("delta after upstream put = %+v", d)
	}
}

func TestPollWithoutChangeLister(t *testing.T) {
	r := newReader(t)
	seed(t, r.mem, 2)
	clk := &clock{t: time.Unix(1e9, 0)}
	c := cache.Wrap(r, cache.Options{TTL: time.Minute, Now: clk.Now})
	ctx := t.Context()
	for range 3 {
		if _, err := c.Objects(ctx, "cal", adapters.Query{}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(2 * time.Minute)
	if _, err := c.Token(ctx, "cal"); err != nil {
		t.Fatal(err)
	}
	if r.count("Objects") != 2 || r.total() != 2 {
		t.Errorf("%d calls, want two full listings", r.total())
	}
}

func TestTokens(t *testing.T) {
	ctx := t.Context()
	for _, noVersion := range []bool{false, true} {
		t.Run(fmt.Sprintf("noVersion=%v", noVersion), func(t *testing.T) {
			r := newReader(t)
			r.noVersion = noVersion
			seed(t, r.mem, 5)
			var inner adapters.Reader = full{r}
			if noVersion {
				inner = r
			}
			// Two fresh caches stand for a restart.
			c1 := cache.Wrap(inner, cache.Options{})
			c2 := cache.Wrap(inner, cache.Options{})
			t1, err1 := c1.Token(ctx, "cal")
			t2, err2 := c2.Token(ctx, "cal")
			if err1 != nil || err2 != nil || t1 != t2 || t1 == "" {
				t.Fatalf("tokens %q, %v and %q, %v; want equal", t1, err1, t2, err2)
			}
			o1, _ := c1.Object(ctx, "cal", "ev-00002")
			o2, _ := c2.Object(ctx, "cal", "ev-00002")
			if o1.Version == "" || o1.Version != o2.Version {
				t.Errorf("Versions %q and %q, want equal and set", o1.Version, o2.Version)
			}
			// The restarted cache answers the old token with an empty delta.
			if d, err := c2.Changes(ctx, "cal", t1); err != nil || len(d.Updated)+len(d.Deleted) != 0 || d.Token != t1 {
				t.Errorf("Changes(token before restart) = %+v, %v", d, err)
			}

			// Upstream edits: one put, one delete, one no-op rewrite.
			if _, err := r.mem.Put(ctx, "cal", event("ev-00009", 0), adapters.Cond{}); err != nil {
				t.Fatal(err)
			}
			if err := r.mem.Delete(ctx, "cal", "ev-00003", adapters.Cond{}); err != nil {
				t.Fatal(err)
			}
			d, err := c1.Changes(ctx, "cal", t1)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(d.Updated); !slices.Equal(got, []string{"ev-00009"}) || !slices.Equal(d.Deleted, []string{"ev-00003"}) {
				t.Errorf("delta = updated %q deleted %q", got, d.Deleted)
			}
			if d2, err := c2.Changes(ctx, "cal", t1); err != nil || !slices.Equal(ids(d2.Updated), []string{"ev-00009"}) || d2.Token != d.Token {
				t.Errorf("second cache delta = %+v, %v; want the same as the first", d2, err)
			}
			// A third change, then the first token still yields the union.
			if _, err := r.mem.Put(ctx, "cal", event("ev-00000", 7), adapters.Cond{}); err != nil {
				t.Fatal(err)
			}
			d3, err := c1.Changes(ctx, "cal", t1)
			if err != nil || !slices.Equal(ids(d3.Updated), []string{"ev-00000", "ev-00009"}) || !slices.Equal(d3.Deleted, []string{"ev-00003"}) {
				t.Errorf("delta over two refreshes = %+v, %v", d3, err)
			}
			if _, err := c1.Changes(ctx, "cal", "0123456789abcdef01234567"); !errors.Is(err, adapters.ErrInvalidToken) {
				t.Errorf("unknown token: %v, want ErrInvalidToken", err)
			}
		})
	}
}

func ids(objs []adapters.Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.ID
	}
	slices.Sort(out)
	return out
}

func TestTokenLogBound(t *testing.T) {
	ctx := t.Context()
	m := newMemory(t)
	c := cache.Wrap(m, cache.Options{MaxLog: 2})
	first, err := c.Token(ctx, "cal")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := c.Put(ctx, "cal", event(fmt.Sprintf("ev-%d", i), 0), adapters.Cond{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Changes(ctx, "cal", first); !errors.Is(err, adapters.ErrInvalidToken) {
		t.Errorf("token older than the log: %v, want ErrInvalidToken", err)
	}
}

func TestWriteThrough(t *testing.T) {
	ctx := t.Context()
	r := newReader(t)
	seed(t, r.mem, 2)
	c := cache.Wrap(full{r}, cache.Options{TTL: time.Hour})
	tok, err := c.Token(ctx, "cal")
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := c.Object(ctx, "cal", "ev-00000")

	// A refused write changes nothing.
	_, err = c.Put(ctx, "cal", event("ev-00000", 5), adapters.Cond{IfVersion: "stale"})
	if !errors.Is(err, adapters.ErrPrecondition) {
		t.Fatalf("stale Put: %v", err)
	}
	r.setFail(fmt.Errorf("fake: %w", adapters.ErrUnavailable))
	if _, err := c.Put(ctx, "cal", event("ev-00001", 5), adapters.Cond{}); !errors.Is(err, adapters.ErrUnavailable) {
		t.Fatalf("Put to an unavailable upstream: %v", err)
	}
	if err := c.Delete(ctx, "cal", "ev-00001", adapters.Cond{}); !errors.Is(err, adapters.ErrUnavailable) {
		t.Fatalf("Delete on an unavailable upstream: %v", err)
	}
	r.setFail(nil)
	if now, _ := c.Token(ctx, "cal"); now != tok {
		t.Errorf("token moved after refused writes")
	}
	if got, _ := c.Object(ctx, "cal", "ev-00000"); got.Version != cur.Version {
		t.Errorf("refused write changed the cached object")
	}

	put, err := c.Put(ctx, "cal", event("ev-00000", 6), adapters.Cond{IfVersion: cur.Version})
	if err != nil {
		t.Fatal(err)
	}
	calls := r.total()
	got, err := c.Object(ctx, "cal", "ev-00000")
	if err != nil || got.Version != put.Version {
		t.Errorf("Object after Put: version %q, %v; want %q", got.Version, err, put.Version)
	}
	d, err := c.Changes(ctx, "cal", tok)
	if err != nil || !slices.Equal(ids(d.Updated), []string{"ev-00000"}) {
		t.Errorf("Changes after Put = %+v, %v", d, err)
	}
	if r.total() != calls {
		t.Errorf("reads after a write-through made %d upstream calls", r.total()-calls)
	}

	// A read-only upstream refuses through the cache.
	ro := cache.Wrap(newReader(t), cache.Options{})
	if _, err := ro.Put(ctx, "cal", event("x", 0), adapters.Cond{}); !errors.Is(err, adapters.ErrReadOnly) {
		t.Errorf("Put over a reader: %v, want ErrReadOnly", err)
	}
}

func TestStaleOnUnavailable(t *testing.T) {
	ctx := t.Context()
	r := newReader(t)
	seed(t, r.mem, 3)
	c := cache.Wrap(full{r}, cache.Options{Logger: quiet}) // TTL 0: every read revalidates
	want, err := c.Objects(ctx, "cal", adapters.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Collections(ctx); err != nil {
		t.Fatal(err)
	}
	tok, _ := c.Token(ctx, "cal")

	r.setFail(&adapters.RetryAfterError{After: time.Minute, Err: errors.New("503")})
	got, err := c.Objects(ctx, "cal", adapters.Query{})
	if err != nil || len(got) != len(want) {
		t.Fatalf("Objects while unavailable = %d objects, %v; want the stale listing", len(got), err)
	}
	if now, err := c.Token(ctx, "cal"); err != nil || now != tok {
		t.Errorf("Token while unavailable = %q, %v", now, err)
	}
	if cs, err := c.Collections(ctx); err != nil || len(cs) == 0 {
		t.Errorf("Collections while unavailable = %v, %v", cs, err)
	}
	st := c.Status()
	if !st.Stale || st.Healthy || st.Failures == 0 || st.LastError == "" {
		t.Errorf("Status while unavailable = %+v", st)
	}
	// Nothing to serve stale: the error passes through.
	if _, err := c.Objects(ctx, "book", adapters.Query{}); !errors.Is(err, adapters.ErrUnavailable) {
		t.Errorf("never-loaded collection while unavailable: %v", err)
	}
	// Rejected upstream credentials (an operator problem) also serve stale.
	r.setFail(fmt.Errorf("fake: %w", adapters.ErrUnauthorized))
	if objs, err := c.Objects(ctx, "cal", adapters.Query{}); err != nil || len(objs) == 0 {
		t.Errorf("Objects with rejected credentials = %d objects, %v; want the stale copy", len(objs), err)
	}
	// Other errors are not masked, nor cached.
	r.setFail(fmt.Errorf("fake: %w", adapters.ErrInvalid))
	if _, err := c.Objects(ctx, "cal", adapters.Query{}); !errors.Is(err, adapters.ErrInvalid) {
		t.Errorf("Objects with an invalid answer: %v", err)
	}

	r.setFail(nil)
	if _, err := c.Objects(ctx, "cal", adapters.Query{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Collections(ctx); err != nil {
		t.Fatal(err)
	}
	if st := c.Status(); st.Stale || !st.Healthy {
		t.Errorf("Status after recovery = %+v", st)
	}
}

func TestSizeBound(t *testing.T) {
	ctx := t.Context()
	r := newReader(t)
	seed(t, r.mem, 20)
	one, _ := r.mem.Object(ctx, "cal", "ev-00000")
	limit := int64(5 * (len(one.Raw) + len(one.ID)))

	store := cache.NewStore(limit)
	c1 := store.Wrap(r, cache.Options{Name: "one"})
	objs, err := c1.Objects(ctx, "cal", adapters.Query{})
	if err != nil || len(objs) != 20 {
		t.Fatalf("Objects = %d, %v", len(objs), err)
	}
	st := c1.Stats()
	if st.Bytes > limit || st.Entries != 5 {
		t.Errorf("Stats = %+v, want at most %d bytes in 5 entries", st, limit)
	}
	// Evicted objects are fetched again, not lost.
	if o, err := c1.Object(ctx, "cal", "ev-00000"); err != nil || o.ID != "ev-00000" {
		t.Errorf("evicted Object = %q, %v", o.ID, err)
	}
	if objs, err := c1.Objects(ctx, "cal", adapters.Query{}); err != nil || len(objs) != 20 {
		t.Errorf("Objects after eviction = %d, %v", len(objs), err)
	}

	// A second instance shares the bound.
	r2 := newReader(t)
	seed(t, r2.mem, 3)
	c2 := store.Wrap(r2, cache.Options{Name: "two"})
	if _, err := c2.Objects(ctx, "cal", adapters.Query{}); err != nil {
		t.Fatal(err)
	}
	if b, n := store.Usage(); b > limit || n != 5 {
		t.Errorf("shared store holds %d bytes in %d entries, limit %d", b, n, limit)
	}
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	if _, n := store.Usage(); n != 2 {
		t.Errorf("after closing the second instance %d entries remain, want the first's 2", n)
	}
}

func TestConcurrentMissesCollapse(t *testing.T) {
	ctx := t.Context()
	r := newReader(t)
	seed(t, r.mem, 3)
	gate := make(chan struct{})
	r.gate = gate
	c := cache.Wrap(r, cache.Options{TTL: time.Hour})

	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			objs, err := c.Objects(ctx, "cal", adapters.Query{})
			if err == nil && len(objs) != 3 {
				err = fmt.Errorf("%d objects", len(objs))
			}
			errs <- err
		})
	}
	// Hold the first upstream call until every caller is waiting on it.
	deadline := time.Now().Add(5 * time.Second)
	for r.count("Objects") == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := r.count("Objects"); got != 1 {
		t.Errorf("%d concurrent misses made %d upstream calls, want 1", n, got)
	}
}

func TestCanceledWaiterLeavesFetch(t *testing.T) {
	r := newReader(t)
	seed(t, r.mem, 1)
	gate := make(chan struct{})
	r.gate = gate
	c := cache.Wrap(r, cache.Options{TTL: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.Objects(ctx, "cal", adapters.Query{})
		done <- err
	}()
	for r.count("Objects") == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled waiter: %v", err)
	}
	close(gate) // the detached fetch completes and fills the cache
	deadline := time.Now().Add(5 * time.Second)
	for c.Stats().Entries == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if _, err := c.Objects(t.Context(), "cal", adapters.Query{}); err != nil || r.count("Objects") != 1 {
		t.Errorf("after the detached fetch: %v, %d calls", err, r.count("Objects"))
	}
}

func TestInnerTokenExpired(t *testing.T) {
	ctx := t.Context()
	m, err := memory.NewWith(memory.Options{MaxLog: 1, Collections: []memory.CollectionOptions{{ID: "cal"}}})
	if err != nil {
		t.Fatal(err)
	}
	seed(t, m, 2)
	r := &reader{mem: m, calls: map[string]int{}}
	c := cache.Wrap(full{r}, cache.Options{})
	tok, err := c.Token(ctx, "cal")
	if err != nil {
		t.Fatal(err)
	}
	// Three upstream writes overflow memory's one-entry log, so the
	// cache's inner token is refused and it lists once.
	for i := range 3 {
		if _, err := m.Put(ctx, "cal", event(fmt.Sprintf("new-%d", i), 0), adapters.Cond{}); err != nil {
			t.Fatal(err)
		}
	}
	before := r.count("Changes")
	d, err := c.Changes(ctx, "cal", tok)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.count("Changes") - before; got != 2 || r.count("Objects") != 0 {
		t.Errorf("resync made %d Changes and %d Objects calls, want 2 (refused delta, full list) and 0", got, r.count("Objects"))
	}
	if got := ids(d.Updated); !slices.Equal(got, []string{"new-0", "new-1", "new-2"}) || len(d.Deleted) != 0 {
		t.Errorf("delta across the resync = %q, deleted %q", got, d.Deleted)
	}
}
