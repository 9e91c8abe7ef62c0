package filter

import (
	"errors"
	"strings"
	"sync"
	"time"
)

// DefaultMaxIterations caps the recurrence instances generated for one
// component and one query. Past it the component is assumed to match
// (over-returning is safe, under-returning makes clients delete data).
const DefaultMaxIterations = 100_000

// Option configures Prepare, Match, Expand, FreeBusy and Bounds.
type Option func(*config)

type config struct {
	resolve  func(tzid string) (*time.Location, error)
	floating *time.Location
	maxIter  int
}

// WithResolver sets how TZID parameters become locations (for example
// icalfix.LoadLocation, which knows Windows zone names). The default is
// time.LoadLocation. A TZID the resolver rejects is evaluated as UTC.
func WithResolver(fn func(tzid string) (*time.Location, error)) Option {
	return func(c *config) {
		if fn != nil {
			c.resolve = fn
		}
	}
}

// WithFloating sets the location of floating times and DATE values: the
// collection's CALDAV:calendar-timezone, or the query's CALDAV:timezone.
// The default is UTC.
func WithFloating(loc *time.Location) Option {
	return func(c *config) {
		if loc != nil {
			c.floating = loc
		}
	}
}

// WithMaxIterations overrides DefaultMaxIterations.
func WithMaxIterations(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxIter = n
		}
	}
}

func newConfig(opts []Option) config {
	c := config{resolve: loadLocation, floating: time.UTC, maxIter: DefaultMaxIterations}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// zoneCache memoises time.LoadLocation, which reads the zoneinfo database
// on every call. It is bounded because TZIDs come from untrusted data.
var zoneCache = struct {
	sync.RWMutex
	m map[string]*time.Location // nil value: unknown zone
}{m: map[string]*time.Location{}}

const zoneCacheMax = 1024

func loadLocation(tzid string) (*time.Location, error) {
	zoneCache.RLock()
	loc, ok := zoneCache.m[tzid]
	zoneCache.RUnlock()
	if ok {
		if loc == nil {
			return nil, errUnknownZone
		}
		return loc, nil
	}
	// Globally unique TZIDs start with "/" (RFC 5545 §3.2.19).
	loc, err := time.LoadLocation(strings.TrimPrefix(tzid, "/"))
	if err != nil {
		loc = nil
	}
	zoneCache.Lock()
	if len(zoneCache.m) < zoneCacheMax {
		zoneCache.m[tzid] = loc
	}
	zoneCache.Unlock()
	if loc == nil {
		return nil, errUnknownZone
	}
	return loc, nil
}

var errUnknownZone = errors.New("unknown time zone")
