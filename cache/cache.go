// Package cache wraps an adapter with a size-bounded cache of translated
// objects, collapses concurrent identical upstream calls, and synthesises
// CTags and sync tokens for adapters that have none.
//
// Per collection the cache keeps a snapshot index (ID → Version), a sync
// token derived from it, and a bounded log of the changes between
// successive snapshots; the objects themselves live in a Store shared
// under one byte bound. A snapshot younger than Options.TTL is served
// without asking the inner adapter; an older one is refreshed with one
// inner.Changes call (ChangeListers) or one full listing (others).
package cache

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/davgate/davgate/adapters"
)

// DefaultListTTL is how long a collection list is kept by default.
const DefaultListTTL = 5 * time.Minute

// Options configure a cache.
type Options struct {
	// MaxBytes bounds the encoded bytes of cached objects (Wrap only;
	// Store.Wrap uses the store's bound). Default DefaultMaxBytes.
	MaxBytes int64
	// TTL is how long a collection snapshot is served without asking the
	// inner adapter again; 0 revalidates on every read.
	TTL time.Duration
	// ListTTL is how long the collection list is served without asking
	// again. Collections come and go far less often than objects change,
	// so a poll should cost one upstream call, not two. Default: the
	// larger of TTL and DefaultListTTL. Collection writes through the
	// cache refresh it at once.
	ListTTL time.Duration
	// Name identifies the instance in logs.
	Name string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// MaxLog bounds the snapshot transitions remembered per collection;
	// older sync tokens get ErrInvalidToken. Default 1000.
	MaxLog int
}

// Stats are counters for metrics.
type Stats struct {
	// Hits and Misses count reads answered without, and with, an upstream
	// call.
	Hits, Misses uint64
	// Bytes and Entries are the usage of the (possibly shared) Store.
	Bytes   int64
	Entries int
	// UpstreamCalls counts calls made to the inner adapter.
	UpstreamCalls uint64
}

// Adapter is a caching wrapper. It implements every optional interface;
// Capabilities says which ones the inner adapter really supports.
//
// Returned objects are shared with the cache: callers must not modify them.
type Adapter struct {
	inner adapters.Reader
	caps  adapters.Capabilities // of inner
	store *Store
	inst  uint64
	ttl   time.Duration
	max   int
	log   *slog.Logger
	now   func() time.Time
	sf    singleflight.Group

	hits, misses, calls atomic.Uint64

	mu        sync.Mutex
	colls     map[string]*coll
	list      []adapters.Collection // last good Collections result
	listAt    time.Time
	listTTL   time.Duration
	listOK    bool
	listStale bool
	status    adapters.Status
}

// coll is one collection's snapshot. Fields are guarded by Adapter.mu.
type coll struct {
	loaded   bool
	versions map[string]string // ID → Version
	sorted   []string          // sorted IDs; nil when versions changed
	// listing is the assembled Objects answer, valid while versions
	// and the store's removals count (listed) are unchanged.
	listing    []adapters.Object
	listed     uint64
	token      string
	innerToken string    // inner ChangeLister's token for the snapshot
	fetched    time.Time // last refresh that fully applied
	gen        uint64    // bumped by local writes, to detect racing listings
	log        []transition
	stale      bool
}

// transition records what changed between two successive snapshots.
type transition struct {
	from, to string
	changed  []string // IDs created, updated or deleted
}

// Wrap returns a cache over inner with its own Store of opts.MaxBytes.
func Wrap(inner adapters.Reader, opts Options) *Adapter {
	return NewStore(opts.MaxBytes).Wrap(inner, opts)
}

// Wrap returns a cache over inner whose objects count against s's bound.
func (s *Store) Wrap(inner adapters.Reader, opts Options) *Adapter {
	a := &Adapter{
		inner: inner,
		caps:  adapters.CapabilitiesOf(inner),
		store: s,
		inst:  s.nextID.Add(1),
		ttl:   opts.TTL,
		listTTL: func() time.Duration {
			if opts.ListTTL > 0 {
				return opts.ListTTL
			}
			return max(opts.TTL, DefaultListTTL)
		}(),
		max:    opts.MaxLog,
		log:    opts.Logger,
		now:    opts.Now,
		colls:  map[string]*coll{},
		status: adapters.Status{Healthy: true},
	}
	if a.max <= 0 {
		a.max = 1000
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.log = a.log.With("cache", opts.Name)
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// Capabilities implements adapters.Capabler: writes as the inner adapter
// has them, and change listing always, because tokens are synthesised.
func (a *Adapter) Capabilities() adapters.Capabilities {
	return adapters.Capabilities{Write: a.caps.Write, CollectionWrite: a.caps.CollectionWrite, Changes: true, FreeBusy: a.caps.FreeBusy}
}

// FreeBusy passes the query to the inner adapter uncached (availability
// is asked for a window once, and changes with every event); it returns
// ErrUnsupported when the inner adapter has no FreeBusyer.
func (a *Adapter) FreeBusy(ctx context.Context, coll string, start, end time.Time) ([]adapters.BusyPeriod, error) {
	fb, ok := a.inner.(adapters.FreeBusyer)
	if !ok || !a.caps.FreeBusy {
		return nil, fmt.Errorf("cache: free-busy of %q: %w", coll, adapters.ErrUnsupported)
	}
	a.calls.Add(1)
	return fb.FreeBusy(ctx, coll, start, end)
}

// Close drops the cached objects and closes the inner adapter.
func (a *Adapter) Close() error {
	a.store.removeWhere(func(k objKey) bool { return k.inst == a.inst })
	return a.inner.Close()
}

// Stats returns the adapter's counters and its store's usage.
func (a *Adapter) Stats() Stats {
	b, n := a.store.Usage()
	return Stats{Hits: a.hits.Load(), Misses: a.misses.Load(), Bytes: b, Entries: n, UpstreamCalls: a.calls.Load()}
}

// Status implements adapters.StatusReporter, merged with the inner
// adapter's own report if it has one.
func (a *Adapter) Status() adapters.Status {
	a.mu.Lock()
	st := a.status
	st.Stale = a.listStale
	for _, c := range a.colls {
		st.Stale = st.Stale || c.stale
	}
	a.mu.Unlock()
	if st.Stale && st.Detail == "" {
		st.Detail = "serving cached data: upstream unavailable"
	}
	if sr, ok := a.inner.(adapters.StatusReporter); ok {
		in := sr.Status()
		st.Healthy = st.Healthy && in.Healthy
		st.Stale = st.Stale || in.Stale
		if in.Detail != "" {
			st.Detail = in.Detail
		}
		if in.LastSuccess.After(st.LastSuccess) {
			st.LastSuccess = in.LastSuccess
		}
		if st.LastError == "" {
			st.LastError = in.LastError
		}
	}
	return st
}

func (a *Adapter) count(upstream bool) {
	if upstream {
		a.misses.Add(1)
	} else {
		a.hits.Add(1)
	}
}

// upstream records the outcome of one inner call for Stats and Status.
// Errors that describe the request (not found, precondition, ...) are
// not upstream failures.
func (a *Adapter) upstream(err error) {
	a.calls.Add(1)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status.Fetches++
	switch {
	case err == nil:
		a.status.LastSuccess = a.now()
		a.status.Healthy = true
		a.status.Detail = ""
	case errors.Is(err, adapters.ErrUnavailable), errors.Is(err, adapters.ErrUnauthorized),
		!isRequestError(err):
		a.status.Failures++
		a.status.Healthy = false
		a.status.LastError = err.Error()
		a.status.Detail = "upstream failing: " + err.Error()
	}
}

func isRequestError(err error) bool {
	for _, e := range []error{adapters.ErrNotFound, adapters.ErrPrecondition, adapters.ErrReadOnly,
		adapters.ErrUnsupported, adapters.ErrInvalid, adapters.ErrInvalidToken, context.Canceled} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// do runs fn once for all concurrent callers with the same key. fn runs
// detached from the caller's cancellation, because other callers may be
// waiting on it; each caller still returns as soon as its own ctx ends.
func (a *Adapter) do(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	detached := context.WithoutCancel(ctx)
	ch := a.sf.DoChan(key, func() (v any, err error) {
		// DoChan runs fn in its own goroutine, where a panic would
		// kill the process.
		defer func() {
			if r := recover(); r != nil {
				a.log.Error("panic in upstream call", "key", key, "panic", r)
				err = fmt.Errorf("cache: panic in upstream call: %v", r)
			}
		}()
		return fn(detached)
	})
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// prepare fills Raw and, when the inner adapter has none, a content-hash
// Version, so that ETags and tokens are stable across restarts.
func prepare(o adapters.Object) adapters.Object {
	if len(o.Raw) == 0 {
		if raw, err := o.Encode(); err == nil {
			o.Raw = raw
		}
	}
	if o.Version == "" && len(o.Raw) > 0 {
		sum := sha256.Sum256(o.Raw)
		o.Version = hex.EncodeToString(sum[:10])
	}
	return o
}

// token derives a collection's sync token from its sorted (ID, Version)
// set, so equal content gives equal tokens, even after a restart.
func token(ids []string, versions map[string]string) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, id := range ids {
		v := versions[id]
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(id)))])
		h.Write([]byte(id))
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(v)))])
		h.Write([]byte(v))
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// dirty drops what is derived from versions.
func (c *coll) dirty() {
	c.sorted, c.listing = nil, nil
}

func (c *coll) sortedIDs() []string {
	if c.sorted == nil {
		c.sorted = make([]string, 0, len(c.versions))
		for id := range c.versions {
			c.sorted = append(c.sorted, id)
		}
		sort.Strings(c.sorted)
	}
	return c.sorted
}

// ensure refreshes coll's snapshot unless it is younger than the TTL and
// reports whether it called upstream.
func (a *Adapter) ensure(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	a.mu.Lock()
	c := a.colls[id]
	fresh := c != nil && c.loaded && a.ttl > 0 && a.now().Sub(c.fetched) < a.ttl
	a.mu.Unlock()
	if fresh {
		return false, nil
	}
	_, err := a.fetch(ctx, id, false)
	return true, err
}

// fetch refreshes coll from upstream with one inner call: a delta from
// the inner token for ChangeListers, else a full listing. With full set,
// or when the delta is refused, it lists everything and returns the list.
// On ErrUnavailable it keeps a loaded snapshot (stale) and returns no
// error unless full was requested.
func (a *Adapter) fetch(ctx context.Context, id string, full bool) ([]adapters.Object, error) {
	key := "delta\x00" + id
	if full {
		key = "full\x00" + id
	}
	v, err := a.do(ctx, key, func(ctx context.Context) (any, error) {
		return a.refresh(ctx, id, full)
	})
	objs, _ := v.([]adapters.Object)
	return objs, err
}

func (a *Adapter) refresh(ctx context.Context, id string, full bool) ([]adapters.Object, error) {
	a.mu.Lock()
	var innerTok string
	var gen uint64
	loaded := false
	if c := a.colls[id]; c != nil {
		innerTok, gen, loaded = c.innerToken, c.gen, c.loaded
	}
	a.mu.Unlock()
	if full || !loaded {
		innerTok = ""
	}

	var (
		updated []adapters.Object
		deleted []string
		newTok  string
		err     error
	)
	if cl, ok := a.inner.(adapters.ChangeLister); ok && a.caps.Changes {
		var ch adapters.Changes
		ch, err = cl.Changes(ctx, id, innerTok)
		a.upstream(err)
		if errors.Is(err, adapters.ErrInvalidToken) && innerTok != "" {
			// Changes("") is the full listing together with a token
			// that matches it, which Objects plus Token could not give.
			a.log.Debug("inner sync token refused, listing collection", "collection", id)
			innerTok = ""
			ch, err = cl.Changes(ctx, id, "")
			a.upstream(err)
		}
		updated, deleted, newTok = ch.Updated, ch.Deleted, ch.Token
	} else {
		innerTok = ""
		updated, err = a.inner.Objects(ctx, id, adapters.Query{})
		a.upstream(err)
	}
	if err != nil {
		return nil, a.failed(id, full, err)
	}
	for i := range updated {
		updated[i] = prepare(updated[i])
	}
	a.apply(id, gen, updated, deleted, innerTok == "", newTok)
	if innerTok != "" {
		return nil, nil
	}
	sort.Slice(updated, func(i, j int) bool { return updated[i].ID < updated[j].ID })
	return updated, nil
}

// failed decides what a failed refresh means for readers.
func (a *Adapter) failed(id string, full bool, err error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.colls[id]
	switch {
	case serveStale(err) && !full && c != nil && c.loaded:
		if !c.stale {
			a.log.Warn("upstream unavailable, serving cached collection", "collection", id, "err", err)
		}
		c.stale = true
		return nil
	case errors.Is(err, adapters.ErrNotFound):
		// The collection is gone upstream. Lock order is a.mu, then the
		// store's lock, everywhere.
		delete(a.colls, id)
		a.store.removeWhere(func(k objKey) bool { return k.inst == a.inst && k.coll == id })
	}
	return fmt.Errorf("cache: refresh %q: %w", id, err)
}

// apply merges a listing (full) or a delta into coll's snapshot and logs
// the transition between the old and the new token.
func (a *Adapter) apply(id string, gen uint64, updated []adapters.Object, deleted []string, full bool, innerTok string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.colls[id]
	if c == nil {
		c = &coll{versions: map[string]string{}}
		a.colls[id] = c
	}
	raced := c.gen != gen
	if raced && full && c.loaded {
		// A local write landed while we listed, and the listing may
		// predate it; keep the write and refresh again next time.
		return
	}
	var changed []string
	seen := make(map[string]bool, len(updated))
	for _, o := range updated {
		seen[o.ID] = true
		if v, ok := c.versions[o.ID]; !ok || v != o.Version {
			changed = append(changed, o.ID)
			c.versions[o.ID] = o.Version
		}
		a.store.add(objKey{a.inst, id, o.ID}, o)
	}
	drop := func(oid string) {
		if _, ok := c.versions[oid]; ok {
			changed = append(changed, oid)
			delete(c.versions, oid)
			a.store.remove(objKey{a.inst, id, oid})
		}
	}
	for _, oid := range deleted {
		if !seen[oid] {
			drop(oid)
		}
	}
	if full {
		for oid := range c.versions {
			if !seen[oid] {
				drop(oid)
			}
		}
	}
	if len(changed) > 0 || !c.loaded {
		c.dirty()
		a.advance(c, changed)
	}
	c.loaded = true
	c.innerToken = innerTok
	if c.stale {
		a.log.Info("upstream reachable again", "collection", id)
	}
	c.stale = false
	if !raced {
		c.fetched = a.now()
	}
}

// advance recomputes c's token after changed IDs and logs the step.
// Callers hold a.mu.
func (a *Adapter) advance(c *coll, changed []string) {
	old := c.token
	c.token = token(c.sortedIDs(), c.versions)
	if !c.loaded || old == c.token {
		return
	}
	c.log = append(c.log, transition{from: old, to: c.token, changed: changed})
	if over := len(c.log) - a.max; over > 0 {
		c.log = slices.Delete(c.log, 0, over)
	}
}

// Collections implements adapters.Reader.
func (a *Adapter) Collections(ctx context.Context) ([]adapters.Collection, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a.mu.Lock()
	if a.listOK && a.listTTL > 0 && a.now().Sub(a.listAt) < a.listTTL {
		out := slices.Clone(a.list)
		a.mu.Unlock()
		a.count(false)
		return out, nil
	}
	a.mu.Unlock()
	a.count(true)
	v, err := a.do(ctx, "collections", func(ctx context.Context) (any, error) {
		cs, err := a.inner.Collections(ctx)
		a.upstream(err)
		a.mu.Lock()
		defer a.mu.Unlock()
		if err != nil {
			if serveStale(err) && a.listOK {
				a.listStale = true
				return slices.Clone(a.list), nil
			}
			return nil, err
		}
		a.list, a.listAt, a.listOK, a.listStale = slices.Clone(cs), a.now(), true, false
		return cs, nil
	})
	if err != nil {
		return nil, fmt.Errorf("cache: collections: %w", err)
	}
	return slices.Clone(v.([]adapters.Collection)), nil
}

// Objects implements adapters.Reader. It returns the whole collection
// whatever q says: over-returning is allowed, and the gateway filters.
func (a *Adapter) Objects(ctx context.Context, id string, _ adapters.Query) ([]adapters.Object, error) {
	called, err := a.ensure(ctx, id)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	c := a.colls[id]
	if c == nil {
		a.mu.Unlock()
		return nil, fmt.Errorf("cache: collection %q: %w", id, adapters.ErrNotFound)
	}
	removals := a.store.removals.Load()
	if c.listing != nil && c.listed == removals {
		out := slices.Clone(c.listing)
		a.mu.Unlock()
		a.count(called)
		return out, nil
	}
	ids := c.sortedIDs()
	out := make([]adapters.Object, 0, len(ids))
	missing := false
	for _, oid := range ids {
		o, ok := a.store.get(objKey{a.inst, id, oid})
		if !ok || o.Version != c.versions[oid] {
			missing = true
			break
		}
		out = append(out, o)
	}
	if !missing {
		// Loading removals before the walk means an eviction during it
		// makes the next call walk again.
		c.listing, c.listed = out, removals
		out = slices.Clone(out)
	}
	a.mu.Unlock()
	if missing {
		// Evicted objects: one full listing beats one call per object.
		called = true
		if out, err = a.fetch(ctx, id, true); err != nil {
			return nil, err
		}
	}
	a.count(called)
	return out, nil
}

// Object implements adapters.Reader.
func (a *Adapter) Object(ctx context.Context, collID, id string) (adapters.Object, error) {
	called, err := a.ensure(ctx, collID)
	if err != nil {
		return adapters.Object{}, err
	}
	a.mu.Lock()
	var (
		version string
		ok      bool
	)
	if c := a.colls[collID]; c != nil {
		version, ok = c.versions[id]
	}
	a.mu.Unlock()
	if !ok {
		a.count(called)
		return adapters.Object{}, fmt.Errorf("cache: object %q in %q: %w", id, collID, adapters.ErrNotFound)
	}
	if o, ok := a.store.get(objKey{a.inst, collID, id}); ok && o.Version == version {
		a.count(called)
		return o, nil
	}
	a.count(true)
	v, err := a.do(ctx, "object\x00"+collID+"\x00"+id, func(ctx context.Context) (any, error) {
		o, err := a.inner.Object(ctx, collID, id)
		a.upstream(err)
		if err != nil {
			return nil, err
		}
		o = prepare(o)
		a.store.add(objKey{a.inst, collID, id}, o)
		return o, nil
	})
	if err != nil {
		return adapters.Object{}, fmt.Errorf("cache: object %q in %q: %w", id, collID, err)
	}
	return v.(adapters.Object), nil
}

// Token implements adapters.ChangeLister.
func (a *Adapter) Token(ctx context.Context, id string) (string, error) {
	called, err := a.ensure(ctx, id)
	if err != nil {
		return "", err
	}
	a.count(called)
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.colls[id]
	if c == nil {
		return "", fmt.Errorf("cache: collection %q: %w", id, adapters.ErrNotFound)
	}
	return c.token, nil
}

// Changes implements adapters.ChangeLister from the snapshot log. It
// returns an error matching ErrInvalidToken for a token older than the
// log or from another content history, never a guessed delta.
func (a *Adapter) Changes(ctx context.Context, id, tok string) (adapters.Changes, error) {
	called, err := a.ensure(ctx, id)
	if err != nil {
		return adapters.Changes{}, err
	}
	a.mu.Lock()
	c := a.colls[id]
	if c == nil {
		a.mu.Unlock()
		return adapters.Changes{}, fmt.Errorf("cache: collection %q: %w", id, adapters.ErrNotFound)
	}
	out := adapters.Changes{Token: c.token}
	var ids []string
	switch {
	case tok == c.token:
	case tok == "":
		ids = c.sortedIDs()
	default:
		// Equal tokens mean equal content, so the last time the
		// collection was in state tok is as good as any.
		i := len(c.log) - 1
		for ; i >= 0 && c.log[i].from != tok; i-- {
		}
		if i < 0 {
			a.mu.Unlock()
			return adapters.Changes{}, fmt.Errorf("cache: collection %q token %q: %w", id, tok, adapters.ErrInvalidToken)
		}
		set := map[string]bool{}
		for _, t := range c.log[i:] {
			for _, oid := range t.changed {
				set[oid] = true
			}
		}
		ids = make([]string, 0, len(set))
		for oid := range set {
			ids = append(ids, oid)
		}
		sort.Strings(ids)
	}
	var missing []string
	for _, oid := range ids {
		v, present := c.versions[oid]
		if !present {
			out.Deleted = append(out.Deleted, oid)
			continue
		}
		if o, ok := a.store.get(objKey{a.inst, id, oid}); ok && o.Version == v {
			out.Updated = append(out.Updated, o)
		} else {
			missing = append(missing, oid)
		}
	}
	a.mu.Unlock()
	if len(missing) > 0 {
		called = true
		list, err := a.fetch(ctx, id, true)
		if err != nil {
			return adapters.Changes{}, err
		}
		// The listing may be newer than out.Token; reporting newer data
		// under an older token only makes the next sync repeat it.
		for _, oid := range missing {
			i, ok := slices.BinarySearchFunc(list, oid, func(o adapters.Object, id string) int {
				switch {
				case o.ID < id:
					return -1
				case o.ID > id:
					return 1
				}
				return 0
			})
			if ok {
				out.Updated = append(out.Updated, list[i])
			} else {
				out.Deleted = append(out.Deleted, oid)
			}
		}
	}
	a.count(called)
	return out, nil
}

// Put implements adapters.Writer: the inner adapter first, the cache only
// after it stored the object.
func (a *Adapter) Put(ctx context.Context, collID string, obj adapters.Object, cond adapters.Cond) (adapters.Object, error) {
	if err := ctx.Err(); err != nil {
		return adapters.Object{}, err
	}
	w, ok := a.inner.(adapters.Writer)
	if !ok || !a.caps.Write {
		return adapters.Object{}, fmt.Errorf("cache: put %q in %q: %w", obj.ID, collID, adapters.ErrReadOnly)
	}
	stored, err := w.Put(ctx, collID, obj, cond)
	a.upstream(err)
	if err != nil {
		a.invalidate(collID)
		return adapters.Object{}, err
	}
	if stored.Data == nil && stored.Card == nil && len(stored.Raw) == 0 {
		// Nothing to cache; the next read lists it.
		a.invalidate(collID)
		return stored, nil
	}
	stored = prepare(stored)
	a.local(collID, stored.ID, &stored)
	return stored, nil
}

// Delete implements adapters.Writer.
func (a *Adapter) Delete(ctx context.Context, collID, id string, cond adapters.Cond) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w, ok := a.inner.(adapters.Writer)
	if !ok || !a.caps.Write {
		return fmt.Errorf("cache: delete %q in %q: %w", id, collID, adapters.ErrReadOnly)
	}
	err := w.Delete(ctx, collID, id, cond)
	a.upstream(err)
	if err != nil {
		a.invalidate(collID)
		return err
	}
	a.local(collID, id, nil)
	return nil
}

// local applies a successful write (obj nil: a delete) to a loaded
// snapshot, advancing its token.
func (a *Adapter) local(collID, id string, obj *adapters.Object) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.colls[collID]
	if c == nil || !c.loaded {
		return
	}
	c.gen++
	k := objKey{a.inst, collID, id}
	c.dirty()
	if obj == nil {
		if _, ok := c.versions[id]; !ok {
			return
		}
		delete(c.versions, id)
		a.store.remove(k)
	} else {
		a.store.add(k, *obj)
		if v, ok := c.versions[id]; ok && v == obj.Version {
			return
		}
		c.versions[id] = obj.Version
	}
	a.advance(c, []string{id})
}

// invalidate makes the next read of coll ask upstream; used when a write
// failed in a way that says the snapshot may be wrong.
func (a *Adapter) invalidate(collID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.colls[collID]; c != nil {
		c.fetched = time.Time{}
	}
}

func (a *Adapter) collectionWriter(op string) (adapters.CollectionWriter, error) {
	cw, ok := a.inner.(adapters.CollectionWriter)
	if !ok || !a.caps.CollectionWrite {
		return nil, fmt.Errorf("cache: %s: %w", op, adapters.ErrUnsupported)
	}
	return cw, nil
}

// forget drops coll's snapshot and the collection list after a
// collection write.
func (a *Adapter) forget(collID string, objects bool) {
	a.mu.Lock()
	a.listOK = false
	if objects {
		delete(a.colls, collID)
	}
	a.mu.Unlock()
	if objects {
		a.store.removeWhere(func(k objKey) bool { return k.inst == a.inst && k.coll == collID })
	}
}

// CreateCollection implements adapters.CollectionWriter.
func (a *Adapter) CreateCollection(ctx context.Context, c adapters.Collection) (adapters.Collection, error) {
	cw, err := a.collectionWriter("create collection")
	if err != nil {
		return adapters.Collection{}, err
	}
	out, err := cw.CreateCollection(ctx, c)
	a.upstream(err)
	if err == nil {
		a.forget(c.ID, true)
	}
	return out, err
}

// UpdateCollection implements adapters.CollectionWriter.
func (a *Adapter) UpdateCollection(ctx context.Context, collID string, p adapters.CollectionPatch) (adapters.Collection, error) {
	cw, err := a.collectionWriter("update collection")
	if err != nil {
		return adapters.Collection{}, err
	}
	out, err := cw.UpdateCollection(ctx, collID, p)
	a.upstream(err)
	if err == nil {
		a.forget(collID, false)
	}
	return out, err
}

// DeleteCollection implements adapters.CollectionWriter.
func (a *Adapter) DeleteCollection(ctx context.Context, collID string) error {
	cw, err := a.collectionWriter("delete collection")
	if err != nil {
		return err
	}
	err = cw.DeleteCollection(ctx, collID)
	a.upstream(err)
	if err == nil {
		a.forget(collID, true)
	}
	return err
}

var (
	_ adapters.Reader           = (*Adapter)(nil)
	_ adapters.Writer           = (*Adapter)(nil)
	_ adapters.CollectionWriter = (*Adapter)(nil)
	_ adapters.ChangeLister     = (*Adapter)(nil)
	_ adapters.StatusReporter   = (*Adapter)(nil)
	_ adapters.Capabler         = (*Adapter)(nil)
	_ adapters.FreeBusyer       = (*Adapter)(nil)
)

// serveStale reports whether reads may fall back to the last good copy:
// the upstream is down, or rejects the credentials davgate holds (an
// operator problem, reported in Status; clients keep their data meanwhile).
func serveStale(err error) bool {
	return errors.Is(err, adapters.ErrUnavailable) || errors.Is(err, adapters.ErrUnauthorized)
}
