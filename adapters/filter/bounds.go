package filter

import (
	"time"

	"github.com/emersion/go-ical"
)

// Bounds returns a cheap, conservative envelope of cal for pre-filtering:
// a comp-filter time-range [A, B) (on any component, VALARM included) can
// only match if (start is zero or start < B) and (unbounded or A <= end).
// A zero start means no lower bound; unbounded means no upper bound (an
// RRULE without COUNT or UNTIL, a VTODO without dates, malformed dates).
// A calendar with nothing that can match a time-range returns zero times
// and false. Prop-filter time-ranges (DTSTAMP, LAST-MODIFIED) are not
// covered.
func Bounds(cal *ical.Calendar, opts ...Option) (start, end time.Time, unbounded bool) {
	p, err := prepare(cal, newConfig(opts), 0)
	if err != nil {
		return time.Time{}, time.Time{}, true
	}
	return p.Bounds()
}

// bounds accumulates an envelope.
type bounds struct {
	lo, hi         time.Time
	any            bool
	noLo, noHi     bool
	loSet, hiSet   bool
	reachBefore    time.Duration // alarms firing before their component
	reachAfter     time.Duration
	absoluteAlarms []time.Time
}

func (b *bounds) add(t time.Time) {
	b.any = true
	if !b.loSet || t.Before(b.lo) {
		b.lo, b.loSet = t, true
	}
	if !b.hiSet || t.After(b.hi) {
		b.hi, b.hiSet = t, true
	}
}

// Bounds is Bounds on a prepared calendar.
func (p *Prepared) Bounds() (start, end time.Time, unbounded bool) {
	var b bounds
	for _, pc := range p.comps {
		p.compBounds(&b, pc)
	}
	for _, t := range b.absoluteAlarms {
		b.add(t)
	}
	if !b.any {
		return time.Time{}, time.Time{}, false
	}
	if !b.noLo && b.loSet {
		// One nanosecond earlier: RFC 4791 §9.9 lets a VTODO match a range
		// that ends exactly at its DUE, COMPLETED or CREATED (end >= DUE),
		// so the envelope's start must be strictly before such an end.
		start = b.lo.Add(-b.reachBefore - time.Nanosecond)
	}
	if !b.noHi && b.hiSet {
		end = b.hi.Add(b.reachAfter)
	}
	return start, end, b.noHi
}

func (p *Prepared) compBounds(b *bounds, pc *pcomp) {
	if !recurrable(pc.name) && pc.name != ical.CompFreeBusy {
		return
	}
	if pc.err != nil {
		b.any, b.noLo, b.noHi = true, true, true
		return
	}
	for _, a := range pc.children {
		if a.name != ical.CompAlarm || !a.hasTrigger {
			continue
		}
		if a.err != nil {
			b.any, b.noLo, b.noHi = true, true, true
			continue
		}
		if a.absolute {
			b.absoluteAlarms = append(b.absoluteAlarms, a.triggerAbs)
			continue
		}
		reach := a.trigger.max() + time.Duration(a.repeat)*a.repeatEvery.max()
		b.reachBefore = max(b.reachBefore, reach)
		b.reachAfter = max(b.reachAfter, reach+pc.length().max())
	}
	switch pc.name {
	case ical.CompFreeBusy:
		if pc.hasStart && pc.hasEnd {
			b.add(pc.start)
			b.add(pc.end)
		}
		for _, f := range pc.busy {
			b.add(f.start)
			b.add(f.end)
		}
		return
	case ical.CompJournal:
		if !pc.hasStart {
			return // never matches a time-range
		}
	case ical.CompEvent:
		if !pc.hasStart {
			b.any, b.noLo, b.noHi = true, true, true
			return
		}
	case ical.CompToDo:
		switch {
		case !pc.hasStart && !pc.hasDue && !pc.hasCompl && !pc.hasCreat:
			b.any, b.noLo, b.noHi = true, true, true
			return
		case !pc.hasStart && !pc.hasDue && !pc.hasCompl:
			b.any, b.noLo = true, true // (end > CREATED)
			b.add(pc.created)
			return
		}
		for _, t := range []struct {
			t  time.Time
			ok bool
		}{{pc.due, pc.hasDue}, {pc.completed, pc.hasCompl}, {pc.created, pc.hasCreat}} {
			if t.ok {
				b.add(t.t)
			}
		}
	}
	if pc.hasStart {
		b.add(pc.start)
		b.add(effectiveEnd(pc.name, pc.times))
		if pc.hasDur {
			b.add(pc.dur.add(pc.start))
		}
	}
	if pc.rec != nil {
		p.recBounds(b, pc)
	}
}

func (p *Prepared) recBounds(b *bounds, pc *pcomp) {
	rec := pc.rec
	length := pc.length().max()
	for _, r := range rec.rdates {
		b.add(r.start)
		b.add(r.start.Add(max(length, r.span.max())))
	}
	switch {
	case rec.occComplete:
		b.add(time.Unix(rec.occ[len(rec.occ)-1], 0).Add(length))
	case rec.hasUntil:
		b.add(rec.until.Add(length))
	case !rec.bounded || rec.hostile || rec.rule == nil:
		b.noHi = true
	default: // COUNT: find the last instance, within the iteration cap
		last, ok := p.lastInstance(rec)
		if !ok {
			b.noHi = true
			return
		}
		b.add(last.Add(length))
	}
}

func (p *Prepared) lastInstance(rec *recurrence) (last time.Time, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	next := rec.rule.Iterator()
	for n := 0; n < p.cfg.maxIter; n++ {
		t, more := next()
		if !more {
			return last, true
		}
		last = t
	}
	return last, false
}
