package filter

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"

	"github.com/davgate/davgate/adapters"
)

// occCacheSize is how many RRULE instances Prepare expands ahead of time.
// Queries past them iterate again; 256 covers five years of a weekly rule.
const occCacheSize = 256

// maxInterval bounds INTERVAL: larger values overflow rrule-go's day
// arithmetic.
const maxInterval = 1_000_000

// recurrence is a parsed RRULE/RDATE/EXDATE set. go-ical's RecurrenceSet
// is not used: it ignores RDATE, multi-value EXDATE and PERIOD values.
type recurrence struct {
	loc   *time.Location // DTSTART's, in which instances are computed
	first time.Time      // DTSTART, always the first instance
	rule  *rrule.RRule   // nil: no RRULE, or one that yields nothing
	// hostile rules are not iterated (see rule): every window from
	// DTSTART to until is assumed to hold an instance.
	hostile  bool
	until    time.Time
	hasUntil bool
	// bounded is false for an RRULE without COUNT or UNTIL.
	bounded bool
	rdates  []rdate
	longest span // of the RDATE periods
	exInst  map[int64]struct{}
	exDay   map[int]struct{} // DATE EXDATEs of a DATE-TIME series
	// occ caches the first instance starts (unix seconds) of DTSTART and
	// the RRULE, unfiltered; occComplete says it holds all of them.
	occ         []int64
	occComplete bool
}

type rdate struct {
	start time.Time
	span  span // PERIOD length, if hasSpan
	has   bool
}

func dayKey(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

func (ps *parser) recurrence(pc *pcomp, cache int) *recurrence {
	rr := pc.c.Props.Get(ical.PropRecurrenceRule)
	if rr == nil && len(pc.c.Props[ical.PropRecurrenceDates]) == 0 {
		return nil
	}
	note := func(err error) {
		if err != nil && pc.err == nil {
			pc.err = fmt.Errorf("filter: %s: %w", pc.name, err)
		}
	}
	rec := &recurrence{loc: pc.start.Location(), first: pc.start, bounded: true}
	for i := range pc.c.Props[ical.PropRecurrenceDates] {
		list, err := ps.list(&pc.c.Props[ical.PropRecurrenceDates][i])
		note(err)
		for _, pe := range list {
			r := rdate{start: pe.start}
			if pe.hasEnd {
				r.span, r.has = between(pe.start, pe.end, false), true
				if r.span.max() > rec.longest.max() {
					rec.longest = r.span
				}
			}
			rec.rdates = append(rec.rdates, r)
		}
	}
	for i := range pc.c.Props[ical.PropExceptionDates] {
		list, err := ps.list(&pc.c.Props[ical.PropExceptionDates][i])
		note(err)
		for _, pe := range list {
			if pe.date && !pc.startDate {
				if rec.exDay == nil {
					rec.exDay = map[int]struct{}{}
				}
				rec.exDay[dayKey(pe.start)] = struct{}{}
				continue
			}
			if rec.exInst == nil {
				rec.exInst = map[int64]struct{}{}
			}
			rec.exInst[pe.start.Unix()] = struct{}{}
		}
	}
	if rr != nil {
		note(rec.parseRule(rr.Value, pc.startDate))
	}
	rec.fill(cache)
	return rec
}

// parseRule builds the RRULE. rrule-go iterates without yielding until
// year 9999 when a rule has no instances, and loops forever on some
// sub-daily rules (FREQ=HOURLY;INTERVAL=24;BYHOUR=5 never reaches hour 5),
// so rules it cannot run safely are marked hostile instead.
func (rec *recurrence) parseRule(value string, date bool) error {
	var parts []string
	untilDate := false
	for _, part := range strings.Split(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(value)), "RRULE:"), ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		switch {
		case k == "BYEASTER" || strings.HasPrefix(k, "X-"):
			continue // not RFC 5545; rrule-go's BYEASTER has no 400-year cycle
		case k == "UNTIL" && len(v) == 8:
			untilDate = true
		}
		parts = append(parts, part)
	}
	bad := func(err error) error {
		rec.hostile = true // over-return if a caller ignores the error
		rec.bounded = false
		return fmt.Errorf("RRULE %q: %w: %v", value, adapters.ErrInvalid, err)
	}
	opt, err := rrule.StrToROptionInLocation(strings.Join(parts, ";"), rec.loc)
	if err != nil {
		return bad(err)
	}
	if opt.Interval > maxInterval || opt.Interval < 0 || opt.Count < 0 {
		return bad(fmt.Errorf("INTERVAL or COUNT out of range"))
	}
	opt.Dtstart = rec.first
	if !opt.Until.IsZero() {
		if untilDate && !date {
			// A DATE UNTIL on a DATE-TIME series is invalid but common;
			// include that whole day.
			opt.Until = opt.Until.AddDate(0, 0, 1).Add(-time.Second)
		}
		rec.until, rec.hasUntil = opt.Until, true
	}
	rec.bounded = opt.Count > 0 || rec.hasUntil
	rule, err := rrule.NewRRule(*opt)
	if err != nil {
		return bad(err)
	}
	filtered := len(opt.Bymonth)+len(opt.Bymonthday)+len(opt.Byyearday)+len(opt.Byweekno)+
		len(opt.Byweekday)+len(opt.Byhour)+len(opt.Byminute)+len(opt.Bysecond)+len(opt.Bysetpos) > 0
	if opt.Freq > rrule.DAILY && filtered {
		rec.hostile = true
		return nil
	}
	if filtered && !rec.probe(rule) {
		return nil // no instance ever: only DTSTART and RDATEs remain
	}
	rec.rule = rule
	return nil
}

// probe reports whether the rule has any instance at all, by running it
// with INTERVAL=1 over one 400-year Gregorian cycle (9596-9999), which
// bounds rrule-go's search for a first instance.
func (rec *recurrence) probe(rule *rrule.RRule) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = true
		}
	}()
	o := rule.Options // defaults from DTSTART already filled in
	f := rec.first
	o.Dtstart = time.Date(9596, f.Month(), f.Day(), f.Hour(), f.Minute(), f.Second(), 0, time.UTC)
	o.Interval, o.Count, o.Until = 1, 1, time.Time{}
	o.Byhour = []int{f.Hour()}
	o.Byminute = []int{f.Minute()}
	o.Bysecond = []int{f.Second()}
	if len(rule.OrigOptions.Byhour) > 0 {
		o.Byhour = rule.OrigOptions.Byhour
	}
	if len(rule.OrigOptions.Byminute) > 0 {
		o.Byminute = rule.OrigOptions.Byminute
	}
	if len(rule.OrigOptions.Bysecond) > 0 {
		o.Bysecond = rule.OrigOptions.Bysecond
	}
	r, err := rrule.NewRRule(o)
	if err != nil {
		return true
	}
	_, ok = r.Iterator()()
	return ok
}

// fill caches up to n instance starts.
func (rec *recurrence) fill(n int) {
	rec.occ = append(rec.occ, rec.first.Unix())
	if rec.rule == nil {
		rec.occComplete = !rec.hostile
		return
	}
	if n <= 0 {
		return
	}
	defer func() {
		if recover() != nil {
			rec.occComplete = false
			rec.hostile = true
		}
	}()
	next := rec.rule.Iterator()
	for len(rec.occ) < n+1 {
		t, ok := next()
		if !ok {
			rec.occComplete = true
			return
		}
		if u := t.Unix(); u > rec.occ[len(rec.occ)-1] {
			rec.occ = append(rec.occ, u)
		}
	}
}

// window is a candidate range of instance starts; open ends are unset.
type window struct {
	from, to       time.Time
	hasFrom, hasTo bool
}

func (w window) contains(t time.Time) bool {
	return (!w.hasFrom || !t.Before(w.from)) && (!w.hasTo || !t.After(w.to))
}

// instanceFunc receives an instance start and, for RDATE periods, its own
// length; it returns true to stop.
type instanceFunc func(start time.Time, own *span) bool

// each calls fn for the instances of master pc starting within w, minus
// EXDATEs and overridden instances (overrides are components of their
// own). It reports whether fn stopped it, and whether it gave up (rule
// too long or hostile), in which case the caller must assume a match.
func (p *Prepared) each(pc *pcomp, w window, fn instanceFunc) (stopped, capped bool) {
	rec := pc.rec
	skip := func(t time.Time) bool {
		u := t.Unix()
		if _, ok := rec.exInst[u]; ok {
			return true
		}
		if rec.exDay != nil {
			if _, ok := rec.exDay[dayKey(t)]; ok {
				return true
			}
		}
		_, ok := pc.overrides[u]
		return ok
	}
	visit := func(t time.Time, own *span) bool {
		return w.contains(t) && !skip(t) && fn(t, own)
	}
	for i := range rec.rdates {
		r := &rec.rdates[i]
		var own *span
		if r.has {
			own = &r.span
		}
		if visit(r.start, own) {
			return true, false
		}
	}
	// Cached instances, from the first that may be in w.
	i := 0
	if w.hasFrom {
		from := w.from.Unix()
		i = sort.Search(len(rec.occ), func(i int) bool { return rec.occ[i] >= from })
	}
	for ; i < len(rec.occ); i++ {
		t := time.Unix(rec.occ[i], 0).In(rec.loc)
		if w.hasTo && t.After(w.to) {
			return false, false
		}
		if visit(t, nil) {
			return true, false
		}
	}
	if rec.occComplete {
		return false, false
	}
	last := time.Unix(rec.occ[len(rec.occ)-1], 0)
	if rec.hostile || rec.rule == nil {
		// Any window reaching past DTSTART and before UNTIL may match.
		reach := !w.hasFrom || !rec.hasUntil || !w.from.After(rec.until)
		return false, reach && (!w.hasTo || w.to.After(rec.first))
	}
	return p.live(rec, last, w, visit)
}

// live iterates the RRULE past the cache, up to the iteration cap.
func (p *Prepared) live(rec *recurrence, last time.Time, w window, visit func(time.Time, *span) bool) (stopped, capped bool) {
	defer func() {
		if recover() != nil {
			stopped, capped = false, true
		}
	}()
	next := rec.rule.Iterator()
	for n := 0; ; n++ {
		if n >= p.cfg.maxIter {
			return false, true
		}
		t, ok := next()
		if !ok {
			return false, false
		}
		if !t.After(last) {
			continue
		}
		if w.hasTo && t.After(w.to) {
			return false, false
		}
		if visit(t, nil) {
			return true, false
		}
	}
}
