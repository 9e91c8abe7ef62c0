package filter

import (
	"time"

	"github.com/emersion/go-ical"
)

// rng is a time-range with the RFC 4791 §9.9 comparisons; an open start
// is minus infinity and an open end plus infinity.
type rng struct {
	start, end       time.Time
	hasStart, hasEnd bool
}

func rangeOf(tr TimeRange) rng {
	return rng{start: tr.Start, end: tr.End, hasStart: !tr.Start.IsZero(), hasEnd: !tr.End.IsZero()}
}

func (r rng) startLT(t time.Time) bool { return !r.hasStart || r.start.Before(t) }
func (r rng) startLE(t time.Time) bool { return !r.hasStart || !r.start.After(t) }
func (r rng) endGT(t time.Time) bool   { return !r.hasEnd || r.end.After(t) }
func (r rng) endGE(t time.Time) bool   { return !r.hasEnd || !r.end.Before(t) }

// instant is the rule for zero-length components: start <= t < end.
func (r rng) instant(t time.Time) bool { return r.startLE(t) && r.endGT(t) }

// overlap is the rule for components with a length: start < e and end > s.
func (r rng) overlap(s, e time.Time) bool { return r.startLT(e) && r.endGT(s) }

// event is the VEVENT table of RFC 4791 §9.9.
func (r rng) event(t times) bool {
	if !t.hasStart {
		return true // no DTSTART (only valid with METHOD): cannot exclude it
	}
	switch {
	case t.hasEnd:
		// The table says start < DTEND; DTEND == DTSTART is invalid in
		// RFC 5545 and evaluated like a zero DURATION, as an instant.
		if t.end.After(t.start) {
			return r.overlap(t.start, t.end)
		}
		return r.instant(t.start)
	case t.hasDur:
		if e := t.dur.add(t.start); e.After(t.start) {
			return r.overlap(t.start, e)
		}
		return r.instant(t.start)
	case t.startDate:
		return r.overlap(t.start, t.start.AddDate(0, 0, 1))
	default:
		return r.instant(t.start)
	}
}

// todo is the VTODO table of RFC 4791 §9.9.
func (r rng) todo(t times) bool {
	switch {
	case t.hasStart && t.hasDur:
		e := t.dur.add(t.start)
		return r.startLE(e) && (r.endGT(t.start) || r.endGE(e))
	case t.hasStart && t.hasDue:
		return (r.startLT(t.due) || r.startLE(t.start)) && (r.endGT(t.start) || r.endGE(t.due))
	case t.hasStart:
		return r.startLE(t.start) && r.endGT(t.start)
	case t.hasDue:
		return r.startLT(t.due) && r.endGE(t.due)
	case t.hasCompl && t.hasCreat:
		return (r.startLE(t.created) || r.startLE(t.completed)) && (r.endGE(t.created) || r.endGE(t.completed))
	case t.hasCompl:
		return r.startLE(t.completed) && r.endGE(t.completed)
	case t.hasCreat:
		return r.endGT(t.created)
	default:
		return true
	}
}

// journal is the VJOURNAL table of RFC 4791 §9.9.
func (r rng) journal(t times) bool {
	switch {
	case !t.hasStart:
		return false
	case t.startDate:
		return r.overlap(t.start, t.start.AddDate(0, 0, 1))
	default:
		return r.instant(t.start)
	}
}

// one evaluates the table of the component's type on times t.
func (r rng) one(name string, t times) bool {
	switch name {
	case ical.CompEvent:
		return r.event(t)
	case ical.CompToDo:
		return r.todo(t)
	case ical.CompJournal:
		return r.journal(t)
	}
	return false
}

// instanceTimes are the times of master pc's instance at s.
func (pc *pcomp) instanceTimes(s time.Time, own *span) times {
	t := pc.times.at(s)
	if own != nil {
		t.hasEnd, t.end, t.hasDur = true, own.add(s), false
	}
	return t
}

// overlaps reports whether component pc overlaps r (RFC 4791 §9.9),
// considering every instance of a recurring component.
func (p *Prepared) overlaps(pc *pcomp, r rng) (bool, error) {
	if pc.err != nil {
		return false, pc.err
	}
	switch pc.name {
	case ical.CompEvent, ical.CompToDo, ical.CompJournal:
		if pc.rec == nil {
			return r.one(pc.name, pc.times), nil
		}
		// An instance may start up to its length before the range.
		w := window{to: r.end, hasTo: r.hasEnd}
		if r.hasStart {
			w.from, w.hasFrom = r.start.Add(-pc.length().max()-time.Second), true
		}
		stopped, capped := p.each(pc, w, func(s time.Time, own *span) bool {
			return r.one(pc.name, pc.instanceTimes(s, own))
		})
		return stopped || capped, nil
	case ical.CompFreeBusy:
		if pc.hasStart && pc.hasEnd {
			return r.startLE(pc.end) && r.endGT(pc.start), nil
		}
		for _, b := range pc.busy {
			if r.overlap(b.start, b.end) {
				return true, nil
			}
		}
		return false, nil
	case ical.CompAlarm:
		return p.alarmOverlaps(pc, r)
	}
	return false, nil
}

// alarmOverlaps applies the VALARM rule of RFC 4791 §9.9: some trigger
// time T (or repetition) of some instance of the parent has start <= T < end.
func (p *Prepared) alarmOverlaps(a *pcomp, r rng) (bool, error) {
	if a.err != nil {
		return false, a.err
	}
	if !a.hasTrigger {
		return false, nil
	}
	hit := func(t time.Time) bool {
		for i := 0; i <= a.repeat; i++ {
			if r.instant(t) {
				return true
			}
			t = a.repeatEvery.add(t)
		}
		return false
	}
	if a.absolute {
		return hit(a.triggerAbs), nil
	}
	parent := a.parent
	if parent == nil || !(parent.hasStart || a.relatedEnd && parent.hasDue) {
		return false, nil
	}
	if parent.err != nil {
		return false, parent.err
	}
	fire := func(t times) bool {
		base := t.start
		if a.relatedEnd {
			base = effectiveEnd(parent.name, t)
		}
		return hit(a.trigger.add(base))
	}
	if parent.rec == nil {
		return fire(parent.times), nil
	}
	// Instances whose alarms can reach the range start within this reach.
	reach := a.trigger.max() + parent.length().max() + time.Duration(a.repeat)*a.repeatEvery.max() + time.Second
	var w window
	if r.hasStart {
		w.from, w.hasFrom = r.start.Add(-reach), true
	}
	if r.hasEnd {
		w.to, w.hasTo = r.end.Add(reach), true
	}
	stopped, capped := p.each(parent, w, func(s time.Time, own *span) bool {
		return fire(parent.instanceTimes(s, own))
	})
	return stopped || capped, nil
}

// effectiveEnd is the end of an instance: DTEND, DUE, DTSTART+DURATION,
// the day after a DATE, or DTSTART.
func effectiveEnd(name string, t times) time.Time {
	switch {
	case t.hasEnd:
		return t.end
	case t.hasDue && name == ical.CompToDo:
		return t.due
	case t.hasDur:
		return t.dur.add(t.start)
	case t.startDate:
		return t.start.AddDate(0, 0, 1)
	}
	return t.start
}
