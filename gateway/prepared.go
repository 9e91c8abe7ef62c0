package gateway

import (
	"bytes"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/filter"
)

// preparedEntries bounds the matcher cache; each entry holds the parsed
// object, its dates and first recurrence instances (a few KiB), so the
// bound keeps a 10,000-event feed's memory near its text size while the
// objects one time-range query touches stay cached.
const preparedEntries = 4096

// preparedCache keeps filter.Prepared per object version, so repeated
// calendar-queries over unchanged objects skip re-parsing (7× faster on
// 10,000 objects). Keys are ETags, which change with the object.
type preparedCache struct {
	lru *lru.Cache[string, *filter.Prepared]
	// spans keeps each object's time envelope (a few words), so a
	// time-range query prepares only the objects that can overlap it.
	spans *lru.Cache[string, span]
}

// spanEntries bounds the envelope cache: 48 bytes an object.
const spanEntries = 200000

type span struct {
	start, end time.Time
	unbounded  bool
}

// mayOverlap applies filter.Bounds' contract: a time-range [a, b) can only
// match if (start is zero or start < b) and (unbounded or a <= end).
func (sp span) mayOverlap(a, b time.Time) bool {
	return (sp.start.IsZero() || b.IsZero() || sp.start.Before(b)) &&
		(sp.unbounded || a.IsZero() || !a.After(sp.end))
}

func newPreparedCache() *preparedCache {
	c, _ := lru.New[string, *filter.Prepared](preparedEntries)
	sp, _ := lru.New[string, span](spanEntries)
	return &preparedCache{lru: c, spans: sp}
}

// mayMatch reports whether o can match a comp-filter time-range [a, b),
// from its cached envelope (computed once per object version without
// keeping the parsed object).
func (s *Server) mayMatch(coll string, o adapters.Object, loc *time.Location, a, b time.Time) bool {
	key := etagOf(coll, o) + "\x00" + loc.String()
	sp, ok := s.prep.spans.Get(key)
	if !ok {
		cal, err := calendarOf(o)
		if err != nil {
			return true // let the matcher report it
		}
		opts := append(s.filterOptions(cal), filter.WithFloating(loc))
		sp.start, sp.end, sp.unbounded = filter.Bounds(cal, opts...)
		s.prep.spans.Add(key, sp)
	}
	return sp.mayOverlap(a, b)
}

// get returns the prepared form of o, evaluated with floating times in loc.
func (s *Server) prepared(coll string, o adapters.Object, loc *time.Location) (*filter.Prepared, error) {
	key := etagOf(coll, o) + "\x00" + loc.String()
	if p, ok := s.prep.lru.Get(key); ok {
		return p, nil
	}
	cal, err := calendarOf(o)
	if err != nil {
		return nil, err
	}
	opts := append(s.filterOptions(cal), filter.WithFloating(loc))
	p, err := filter.Prepare(cal, opts...)
	if err != nil {
		return nil, err
	}
	s.prep.lru.Add(key, p)
	return p, nil
}

// namesOnly reports whether f tests nothing but the presence of top-level
// components (what clients send to list "all events"), which the object's
// text answers without parsing.
func namesOnly(f filter.CompFilter) bool {
	if f.TimeRange != nil || len(f.Props) > 0 || f.IsNotDefined {
		return false
	}
	for _, c := range f.Comps {
		if c.TimeRange != nil || len(c.Props) > 0 || len(c.Comps) > 0 || c.IsNotDefined {
			return false
		}
	}
	return true
}

// hasComponents answers a namesOnly filter from the encoded object.
func hasComponents(raw []byte, f filter.CompFilter) bool {
	for _, c := range f.Comps {
		if !bytes.Contains(raw, []byte("BEGIN:"+c.Name+"\r\n")) && !bytes.Contains(raw, []byte("BEGIN:"+c.Name+"\n")) {
			return false
		}
	}
	return true
}
