package ics

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/icalfix"
)

// entry is one served object with what reads need precomputed.
type entry struct {
	obj adapters.Object
	src [32]byte // hash of the source text, to reuse unchanged objects
	// lo and hi bound every instance of the object; zero means unbounded.
	lo, hi time.Time
}

// snapshot is one parsed version of the feed; it is never modified once
// published, so reads need no lock.
type snapshot struct {
	coll    adapters.Collection
	entries []entry // sorted by ID
	byID    map[string]int
	hint    time.Duration // REFRESH-INTERVAL or X-PUBLISHED-TTL, or 0
	skipped int           // components that could not be served
	errs    []string      // the first few reasons for skipped
	fetched time.Time
}

// buildOptions are the adapter settings that shape objects.
type buildOptions struct {
	stamp       time.Time // DTSTAMP fallback: this version's fetch time
	stripAlarms bool
	workers     int
}

const prodID = "-//davgate//ics feed//EN"

var errNoCalendar = errors.New("no VEVENT, VTODO or VJOURNAL found")

// build turns a fetched body into a snapshot, reusing prev's objects whose
// source text did not change (so their Version and DTSTAMP stay). It
// fails only if the body holds nothing servable.
func build(body []byte, prev *snapshot, o buildOptions) (*snapshot, error) {
	clean, _ := icalfix.Clean(body)
	fp := split(clean)
	s := &snapshot{fetched: o.stamp, byID: map[string]int{}}
	s.readProps(fp.props)

	// Zones are decoded once and cloned into each object that uses them.
	zoneText := map[string][]byte{}
	zh := sha256.New()
	var zoneComps []*ical.Component
	for _, p := range fp.parts {
		if p.name != ical.CompTimezone || p.tzid == "" {
			continue
		}
		if _, dup := zoneText[p.tzid]; dup {
			continue
		}
		zoneText[p.tzid] = p.text
		zh.Write(p.text)
		cal, err := icalfix.DecodeOne(wrap(p.text))
		if err != nil || len(cal.Children) != 1 {
			continue // events using it fall back to the zone name
		}
		zoneComps = append(zoneComps, cal.Children[0])
	}
	resolve := icalfix.NewResolverFromZones(zoneComps)
	zones := icalfix.NormalizeZones(zoneComps, resolve)
	var salt [32]byte
	zh.Write([]byte{boolByte(o.stripAlarms)})
	copy(salt[:], zh.Sum(nil))

	groups, order, skipped := groupParts(fp.parts)
	s.skipped += skipped
	if len(order) == 0 {
		return nil, fmt.Errorf("ics: %w: %w", adapters.ErrInvalid, errNoCalendar)
	}
	kinds := map[string]bool{}
	for _, uid := range order {
		g := groups[uid]
		for _, p := range g.parts() {
			kinds[p.name] = true
		}
	}
	for _, k := range []string{ical.CompEvent, ical.CompToDo, ical.CompJournal} {
		if kinds[k] {
			s.coll.Components = append(s.coll.Components, k)
		}
	}

	type result struct {
		e   entry
		err error
	}
	results := make([]result, len(order))
	var prevByID map[string]int
	if prev != nil {
		prevByID = prev.byID
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	workers := o.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				results[i].e, results[i].err = buildOne(groups[order[i]], salt, prev, prevByID, zones, resolve, o)
			}
		})
	}
	for i := range order {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	s.entries = make([]entry, 0, len(results))
	for _, r := range results {
		if r.err != nil {
			s.skip(r.err)
			continue
		}
		if _, dup := s.byID[r.e.obj.ID]; dup {
			s.skip(fmt.Errorf("object ID %q derived twice", r.e.obj.ID))
			continue
		}
		s.byID[r.e.obj.ID] = -1
		s.entries = append(s.entries, r.e)
	}
	if len(s.entries) == 0 {
		return nil, fmt.Errorf("ics: %w: none of %d components could be read (first: %s)", adapters.ErrInvalid, s.skipped, strings.Join(s.errs, "; "))
	}
	sort.Slice(s.entries, func(i, j int) bool { return s.entries[i].obj.ID < s.entries[j].obj.ID })
	for i, e := range s.entries {
		s.byID[e.obj.ID] = i
	}
	return s, nil
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func (s *snapshot) skip(err error) {
	s.skipped++
	if len(s.errs) < 3 {
		s.errs = append(s.errs, err.Error())
	}
}

// readProps fills collection metadata and the refresh hint from
// VCALENDAR properties; the first of each wins.
func (s *snapshot) readProps(props []prop) {
	seen := map[string]bool{}
	for _, p := range props {
		if seen[p.name] {
			continue
		}
		seen[p.name] = true
		v := strings.TrimSpace(p.value)
		switch p.name {
		case "X-WR-CALNAME", "NAME":
			if s.coll.Name == "" {
				s.coll.Name = unescapeText(v)
			}
		case "X-WR-CALDESC", "DESCRIPTION":
			if s.coll.Description == "" {
				s.coll.Description = unescapeText(v)
			}
		case "X-APPLE-CALENDAR-COLOR", "COLOR":
			if s.coll.Color == "" && colorRE.MatchString(v) {
				s.coll.Color = strings.ToUpper(v)
			}
		case "X-WR-TIMEZONE":
			if loc, err := icalfix.LoadLocation(v); err == nil && icalfix.IsIANA(loc) {
				s.coll.TimeZone = loc.String()
			}
		case "REFRESH-INTERVAL", "X-PUBLISHED-TTL":
			if s.hint == 0 {
				pr := ical.Prop{Name: p.name, Params: ical.Params{}, Value: v}
				if d, err := pr.Duration(); err == nil && d > 0 {
					s.hint = d
				}
			}
		}
	}
}

// group is one UID's master and overrides.
type group struct {
	uid       string
	master    *part
	overrides map[string]*part // by RECURRENCE-ID value
}

func (g *group) parts() []*part {
	out := make([]*part, 0, 1+len(g.overrides))
	if g.master != nil {
		out = append(out, g.master)
	}
	keys := make([]string, 0, len(g.overrides))
	for k := range g.overrides {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, g.overrides[k])
	}
	return out
}

// groupParts groups calendar components by UID, deriving UIDs where
// missing and resolving duplicates. order lists UIDs by first appearance.
func groupParts(parts []part) (map[string]*group, []string, int) {
	groups := map[string]*group{}
	var order []string
	ordinals := map[string]int{}
	skipped := 0
	for i := range parts {
		p := &parts[i]
		switch p.name {
		case ical.CompEvent, ical.CompToDo, ical.CompJournal:
		default:
			continue
		}
		uid := unescapeText(strings.TrimSpace(p.uid))
		if uid == "" {
			key := p.dtstart + "\x00" + p.summary
			uid = icalfix.DerivedUID(p.dtstart, p.summary, ordinals[key])
			ordinals[key]++
			p.text = withUID(p.text, uid)
			p.uid = uid
		}
		g := groups[uid]
		if g == nil {
			g = &group{uid: uid, overrides: map[string]*part{}}
			groups[uid] = g
			order = append(order, uid)
		}
		if rid := strings.TrimSpace(p.recurID); rid != "" {
			if cur := g.overrides[rid]; cur == nil || better(p, cur) {
				g.overrides[rid] = p
			}
			continue
		}
		if g.master == nil || better(p, g.master) {
			g.master = p
		}
	}
	return groups, order, skipped
}

// better decides between two components with the same UID (and
// RECURRENCE-ID): highest SEQUENCE, then latest DTSTAMP/LAST-MODIFIED,
// then the larger text, so the choice does not depend on feed order.
func better(a, b *part) bool {
	if sa, sb := atoi(a.seq), atoi(b.seq); sa != sb {
		return sa > sb
	}
	if ta, tb := max(a.stamp, a.modified), max(b.stamp, b.modified); ta != tb {
		return ta > tb
	}
	return bytes.Compare(a.text, b.text) > 0
}

// withUID inserts a UID line after the BEGIN line.
func withUID(text []byte, uid string) []byte {
	i := bytes.IndexByte(text, '\n') + 1
	esc := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`).Replace(uid)
	out := make([]byte, 0, len(text)+len(esc)+8)
	out = append(out, text[:i]...)
	out = append(out, "UID:"+esc+"\r\n"...)
	return append(out, text[i:]...)
}

func wrap(texts ...[]byte) []byte {
	n := 64
	for _, t := range texts {
		n += len(t)
	}
	b := make([]byte, 0, n)
	b = append(b, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:"+prodID+"\r\n"...)
	for _, t := range texts {
		b = append(b, t...)
	}
	return append(b, "END:VCALENDAR\r\n"...)
}

func buildOne(g *group, salt [32]byte, prev *snapshot, prevByID map[string]int, zones map[string]*ical.Component,
	resolve icalfix.Resolver, o buildOptions) (e entry, err error) {
	defer func() {
		if p := recover(); p != nil { // a library bug must cost one object, not the feed
			err = fmt.Errorf("UID %q: panic: %v", g.uid, p)
		}
	}()
	id := objectID(g.uid)
	parts := g.parts()
	h := sha256.New()
	h.Write(salt[:])
	texts := make([][]byte, len(parts))
	for i, p := range parts {
		texts[i] = p.text
		h.Write(p.text)
	}
	copy(e.src[:], h.Sum(nil))
	if i, ok := prevByID[id]; ok && prev.entries[i].src == e.src {
		return prev.entries[i], nil
	}

	cal, err := icalfix.DecodeOne(wrap(texts...))
	if err != nil {
		return e, fmt.Errorf("UID %q: %w", g.uid, err)
	}
	// Zones come shared from the feed: one copy for all objects.
	nopts := icalfix.Options{Stamp: o.stamp, StripAlarms: o.stripAlarms, Resolve: resolve, ProdID: prodID, Zones: zones}
	if _, err := icalfix.Normalize(cal, nopts); err != nil {
		return e, fmt.Errorf("UID %q: %w", g.uid, err)
	}
	var buf bytes.Buffer
	buf.Grow(len(texts[0]) * (len(texts) + 1))
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return e, fmt.Errorf("UID %q: encode: %w: %v", g.uid, adapters.ErrInvalid, err)
	}
	raw := bytes.Clone(buf.Bytes()) // exact size: the buffer may be twice as large
	sum := sha256.Sum256(raw)
	// Only the bytes are kept: a parsed go-ical tree costs about six times
	// the text, and readers parse on demand (adapters.Object.Calendar).
	e.obj = adapters.Object{ID: id, Raw: raw, Version: hex.EncodeToString(sum[:16]), Updated: updated(cal)}
	e.lo, e.hi = bounds(cal)
	return e, nil
}

var safeID = regexp.MustCompile(`^[A-Za-z0-9@._~+-]{1,200}$`)

// objectID derives a stable, URL-safe ID from a UID: the UID itself when
// harmless, else a hash.
func objectID(uid string) string {
	if safeID.MatchString(uid) && !strings.HasPrefix(uid, ".") && !strings.HasPrefix(uid, "u-") {
		return uid
	}
	h := sha256.Sum256([]byte(uid))
	return "u-" + hex.EncodeToString(h[:16])
}

func updated(cal *ical.Calendar) time.Time {
	var t time.Time
	for _, c := range cal.Children {
		if p := c.Props.Get(ical.PropLastModified); p != nil {
			if v, err := icalfix.ParseDateTime(p.Value, "", time.UTC); err == nil && v.After(t) {
				t = v
			}
		}
	}
	return t
}

// slack widens bounds for floating times (any zone on earth) and
// rounding; over-returning is harmless, omitting is not.
const slack = 36 * time.Hour

// bounds returns the earliest start and latest end of any instance of
// cal's components; a zero time means unbounded on that side.
func bounds(cal *ical.Calendar) (lo, hi time.Time) {
	openLo, openHi := false, false
	for _, c := range cal.Children {
		switch c.Name {
		case ical.CompEvent, ical.CompToDo, ical.CompJournal:
		default:
			continue
		}
		start, okStart := propTime(c, ical.PropDateTimeStart)
		end, okEnd := propTime(c, ical.PropDateTimeEnd)
		if !okEnd {
			end, okEnd = propTime(c, ical.PropDue)
		}
		if !okStart && okEnd {
			start, okStart = end, true
		}
		if !okStart {
			openLo, openHi = true, true
			continue
		}
		if !okEnd {
			end = start
			if p := c.Props.Get(ical.PropDuration); p != nil {
				if d, err := p.Duration(); err == nil && d > 0 {
					end = start.Add(d)
				}
			}
			if p := c.Props.Get(ical.PropDateTimeStart); p != nil && len(p.Value) == 8 {
				end = end.Add(24 * time.Hour)
			}
		}
		if end.Before(start) {
			end = start
		}
		length := end.Sub(start)
		if c.Props.Get(ical.PropRecurrenceRule) != nil {
			ro, err := c.Props.RecurrenceRule()
			if err != nil || ro == nil || ro.Until.IsZero() {
				openHi = true // COUNT-limited rules too: expanding costs more than over-returning
			} else if u := ro.Until.Add(length); u.After(end) {
				end = u
			}
		}
		for _, p := range c.Props[ical.PropRecurrenceDates] {
			a, b, _ := strings.Cut(p.Value, "/")
			for _, v := range []string{a, b} {
				t, err := icalfix.ParseDateTime(v, p.Params.Get(ical.ParamTimezoneID), time.UTC)
				if err != nil {
					continue
				}
				if t.Add(length).After(end) {
					end = t.Add(length)
				}
				if t.Before(start) {
					start = t
				}
			}
		}
		if lo.IsZero() || start.Before(lo) {
			lo = start
		}
		if hi.IsZero() || end.After(hi) {
			hi = end
		}
	}
	if openLo || lo.IsZero() {
		lo = time.Time{}
	} else {
		lo = lo.Add(-slack)
	}
	if openHi || hi.IsZero() {
		hi = time.Time{}
	} else {
		hi = hi.Add(slack)
	}
	return lo, hi
}

func propTime(c *ical.Component, name string) (time.Time, bool) {
	p := c.Props.Get(name)
	if p == nil {
		return time.Time{}, false
	}
	t, err := icalfix.ParseDateTime(p.Value, p.Params.Get(ical.ParamTimezoneID), time.UTC)
	return t, err == nil
}

// overlaps reports whether an object bounded by [lo, hi] may overlap
// the query range.
func (e *entry) overlaps(q adapters.Query) bool {
	if !q.End.IsZero() && !e.lo.IsZero() && !e.lo.Before(q.End) {
		return false
	}
	if !q.Start.IsZero() && !e.hi.IsZero() && !e.hi.After(q.Start) {
		return false
	}
	return true
}
