// Package ics serves an iCalendar feed (https, webcal or a local file) as
// one read-only calendar collection. The feed is fetched lazily when a
// read finds the copy older than the refresh interval, with a conditional
// GET; concurrent reads share one fetch, and a failing feed is answered
// from the last good copy, marked stale in Status.
//
// Each UID becomes one object (master, overrides and the VTIMEZONEs they
// use), repaired by package icalfix. IDs derive from UIDs and Versions
// from the canonical encoding, so both survive refreshes unchanged while
// the event does not change.
package ics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/davgate/davgate/adapters"
)

func init() {
	adapters.Register(adapters.Info{Type: "ics", New: New})
}

// Adapter is one feed. Create it with New or NewWith.
type Adapter struct {
	opts   Options
	env    adapters.Env
	log    *slog.Logger
	client *http.Client
	src    source
	srcErr error

	sf singleflight.Group
	// parses counts full parses, for tests of the no-reparse paths.
	parses atomic.Uint64

	mu        sync.Mutex
	snap      *snapshot
	val       validators
	bodyHash  [32]byte
	nextCheck time.Time // no fetch before this
	lastErr   error     // last fetch failure, nil after a success
	failSince time.Time
	status    adapters.Status
}

// New decodes options and builds an instance (the registry's
// constructor). It does no I/O.
func New(o adapters.Options, env adapters.Env) (adapters.Adapter, error) {
	var opts Options
	if err := o.Decode(&opts); err != nil {
		return nil, fmt.Errorf("ics: options: %w", err)
	}
	return NewWith(opts, env), nil
}

// NewWith builds an instance from decoded options; problems with them are
// reported by Validate and by every read.
func NewWith(opts Options, env adapters.Env) *Adapter {
	env = env.WithDefaults()
	a := &Adapter{opts: opts.withDefaults(), env: env}
	a.src, a.srcErr = parseSource(opts.URL)
	a.log = env.Logger.With("adapter", "ics", "feed", redactURL(opts.URL))
	a.client = newClient(env.HTTP, opts.AllowPrivate)
	a.status.Healthy = true
	return a
}

// Close implements adapters.Adapter.
func (a *Adapter) Close() error {
	a.client.CloseIdleConnections()
	return nil
}

// interval is how long a copy is fresh: the configured refresh, else the
// feed's hint clamped to [MinRefresh, MaxRefresh], else one hour.
func (a *Adapter) interval(s *snapshot) time.Duration {
	if a.opts.Refresh > 0 {
		return a.opts.Refresh
	}
	d := defaultRefresh
	if s != nil && s.hint > 0 {
		d = s.hint
	}
	return min(max(d, a.opts.MinRefresh), a.opts.MaxRefresh)
}

// current returns a fresh enough snapshot, refreshing it first if due.
func (a *Adapter) current(ctx context.Context) (*snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if a.srcErr != nil {
		return nil, a.srcErr
	}
	a.mu.Lock()
	snap, due, lastErr := a.snap, !a.env.Now().Before(a.nextCheck), a.lastErr
	a.mu.Unlock()
	if !due {
		if snap != nil {
			return snap, nil
		}
		return nil, lastErr // backing off after a failure with nothing to serve
	}
	// The fetch outlives a caller that gives up: others wait for it too.
	ch := a.sf.DoChan("refresh", func() (any, error) {
		return a.refresh(context.WithoutCancel(ctx))
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*snapshot), nil
	}
}

// failureBackoff is how long a feed that failed with no copy to serve is
// left alone; reads meanwhile get the same error.
const failureBackoff = 10 * time.Second

func (a *Adapter) refresh(ctx context.Context) (snap *snapshot, err error) {
	defer func() {
		if p := recover(); p != nil {
			snap, err = nil, fmt.Errorf("ics: feed %s: refresh panic: %v: %w", a.src.redacted, p, adapters.ErrUnavailable)
		}
	}()
	a.mu.Lock()
	prev, val, prevHash := a.snap, a.val, a.bodyHash
	a.mu.Unlock()
	if prev == nil {
		val = validators{} // nothing to compare a 304 against
	}

	now := a.env.Now()
	f, err := a.fetch(ctx, val)
	if err == nil && !f.notModified && f.hash == prevHash && prev != nil {
		f.notModified = true // the host ignores conditional GETs
	}
	var next *snapshot
	if err == nil && !f.notModified {
		a.parses.Add(1)
		next, err = build(f.body, prev, buildOptions{stamp: now, stripAlarms: a.opts.StripAlarms})
		if err != nil {
			err = fmt.Errorf("ics: feed %s: %w", a.src.redacted, err)
		}
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	a.status.Fetches++
	if err != nil {
		return a.failed(now, err)
	}
	if a.lastErr != nil {
		a.log.Info("ICS feed recovered", "failing_since", a.failSince)
	}
	a.lastErr = nil
	a.status.LastSuccess, a.status.LastError, a.status.Stale, a.status.Healthy = now, "", false, true
	if f.notModified {
		a.nextCheck = now.Add(a.interval(a.snap))
		a.status.Detail = a.detail(a.snap)
		return a.snap, nil
	}
	next.coll = a.collection(next)
	a.snap, a.bodyHash = next, f.hash
	a.val = validators{etag: f.etag, lastModified: f.lastModified, modTime: f.modTime, size: f.size}
	a.nextCheck = now.Add(a.interval(next))
	a.status.Detail = a.detail(next)
	if next.skipped > 0 {
		a.log.Info("ICS feed has components that cannot be served; they are skipped",
			"skipped", next.skipped, "served", len(next.entries), "first_errors", strings.Join(next.errs, "; "))
	}
	return next, nil
}

// failed records a failed refresh; a.mu is held. The last good copy, if
// any, keeps being served.
func (a *Adapter) failed(now time.Time, err error) (*snapshot, error) {
	a.status.Failures++
	a.status.LastError = err.Error()
	a.status.Healthy = false
	if a.lastErr == nil {
		a.failSince = now
	}
	a.lastErr = err
	if a.snap == nil {
		a.nextCheck = now.Add(failureBackoff)
		a.status.Detail = "feed never fetched successfully: " + err.Error()
		a.log.Warn("ICS feed cannot be fetched and there is no earlier copy to serve; check the URL, credentials and allow_private",
			"error", err)
		return nil, err
	}
	retry := min(a.interval(a.snap), a.opts.MinRefresh)
	var ra *adapters.RetryAfterError
	if errors.As(err, &ra) && ra.After > retry {
		retry = min(ra.After, a.opts.MaxRefresh)
	}
	a.nextCheck = now.Add(retry)
	a.status.Stale = true
	a.status.Detail = fmt.Sprintf("serving the copy fetched at %s because the feed fails; next try in %s", a.snap.fetched.Format(time.RFC3339), retry)
	a.log.Warn("ICS feed fetch failed; serving the last good copy", "error", err,
		"copy_from", a.snap.fetched, "retry_in", retry)
	return a.snap, nil
}

func (a *Adapter) detail(s *snapshot) string {
	if s == nil {
		return ""
	}
	d := fmt.Sprintf("%d objects, refresh every %s", len(s.entries), a.interval(s))
	if s.skipped > 0 {
		d += fmt.Sprintf("; %d malformed components skipped (%s)", s.skipped, strings.Join(s.errs, "; "))
	}
	return d
}

// collection merges configured overrides into the feed's metadata.
func (a *Adapter) collection(s *snapshot) adapters.Collection {
	c := s.coll
	c.ID, c.Kind, c.ReadOnly = "", adapters.KindCalendar, true
	if a.opts.Name != "" {
		c.Name = a.opts.Name
	}
	if a.opts.Description != "" {
		c.Description = a.opts.Description
	}
	if a.opts.Color != "" {
		c.Color = a.opts.Color
	}
	if len(c.Components) == 0 {
		c.Components = []string{"VEVENT"}
	}
	return c
}

// Status implements adapters.StatusReporter.
func (a *Adapter) Status() adapters.Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status
}

// Collections implements adapters.Reader. The feed's one collection has
// the empty ID. When the feed has never been fetched successfully, the
// collection is still listed, from the configuration, so that one dead
// feed does not break discovery; its reads fail.
func (a *Adapter) Collections(ctx context.Context) ([]adapters.Collection, error) {
	s, err := a.current(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s = &snapshot{}
	}
	return []adapters.Collection{a.collection(s)}, nil
}

func (a *Adapter) checkColl(coll string) error {
	if coll != "" {
		return fmt.Errorf("ics: collection %q: the feed has only the collection \"\": %w", coll, adapters.ErrNotFound)
	}
	return nil
}

// Objects implements adapters.Reader. With a time range it skips objects
// whose precomputed bounds cannot overlap it; it may over-return. It
// returns an error matching ErrUnauthorized, ErrNotFound, ErrInvalid or
// ErrUnavailable when the feed fails and no earlier copy exists.
func (a *Adapter) Objects(ctx context.Context, coll string, q adapters.Query) ([]adapters.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := a.checkColl(coll); err != nil {
		return nil, err
	}
	s, err := a.current(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]adapters.Object, 0, len(s.entries))
	for i := range s.entries {
		if q.IsZero() || s.entries[i].overlaps(q) {
			out = append(out, s.entries[i].obj)
		}
	}
	return out, nil
}

// Object implements adapters.Reader; it returns an error matching
// ErrNotFound if the feed has no object with that ID.
func (a *Adapter) Object(ctx context.Context, coll, id string) (adapters.Object, error) {
	if err := ctx.Err(); err != nil {
		return adapters.Object{}, err
	}
	if err := a.checkColl(coll); err != nil {
		return adapters.Object{}, err
	}
	s, err := a.current(ctx)
	if err != nil {
		return adapters.Object{}, err
	}
	i, ok := s.byID[id]
	if !ok {
		return adapters.Object{}, fmt.Errorf("ics: object %q: %w", id, adapters.ErrNotFound)
	}
	return s.entries[i].obj, nil
}

var (
	_ adapters.Reader         = (*Adapter)(nil)
	_ adapters.Validator      = (*Adapter)(nil)
	_ adapters.StatusReporter = (*Adapter)(nil)
)

// RefreshInterval implements adapters.Refresher.
func (a *Adapter) RefreshInterval() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.interval(a.snap)
}

var _ adapters.Refresher = (*Adapter)(nil)
