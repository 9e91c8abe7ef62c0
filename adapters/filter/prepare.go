package filter

import (
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters"
)

// Prepared is a calendar object with its dates, durations and recurrence
// rules parsed once. Caches keep it alongside the object so that repeated
// queries skip parsing. It is immutable and safe for concurrent use; it
// must be rebuilt if the calendar changes.
type Prepared struct {
	cal   *ical.Calendar
	cfg   config
	comps []*pcomp
}

// pcomp is a parsed component.
type pcomp struct {
	c    *ical.Component
	name string
	// err is the first malformed time-related property. It is reported
	// only when a query needs this component's times.
	err error
	times
	// rid is the RECURRENCE-ID of an override (hasRID).
	rid    time.Time
	hasRID bool
	// rec is set on recurring masters.
	rec *recurrence
	// overrides maps an instance key (unix seconds of the RECURRENCE-ID)
	// to the component replacing that instance (masters only).
	overrides map[int64]*pcomp
	children  []*pcomp
	// parent is the VEVENT or VTODO of a VALARM.
	parent *pcomp
	// VALARM
	trigger     span
	triggerAbs  time.Time
	hasTrigger  bool
	absolute    bool
	relatedEnd  bool
	repeat      int
	repeatEvery span
	// VFREEBUSY
	busy []fbPeriod
}

// times are the dates of one component or instance.
type times struct {
	start     time.Time
	hasStart  bool
	startDate bool
	end       time.Time // DTEND
	hasEnd    bool
	endSpan   span // DTEND-DTSTART, to shift DTEND with an instance
	dur       span
	hasDur    bool
	due       time.Time
	hasDue    bool
	dueSpan   span
	completed time.Time
	hasCompl  bool
	created   time.Time
	hasCreat  bool
}

// at returns the times of the instance starting at s.
func (t times) at(s time.Time) times {
	t.start = s
	if t.hasEnd {
		t.end = t.endSpan.add(s)
	}
	if t.hasDue && t.hasStart {
		t.due = t.dueSpan.add(s)
	}
	return t
}

type fbPeriod struct {
	start, end time.Time
	typ        string
}

// Prepare parses cal for repeated matching. It fails, with an error
// matching adapters.ErrInvalid, only if cal is not a VCALENDAR; malformed
// properties are reported by the queries that need them.
func Prepare(cal *ical.Calendar, opts ...Option) (*Prepared, error) {
	return prepare(cal, newConfig(opts), occCacheSize)
}

func prepare(cal *ical.Calendar, cfg config, cache int) (*Prepared, error) {
	if cal == nil || cal.Component == nil {
		return nil, fmt.Errorf("filter: nil calendar: %w", adapters.ErrInvalid)
	}
	p := &Prepared{cal: cal, cfg: cfg}
	ps := &parser{cfg: &p.cfg}
	masters := map[string]*pcomp{}
	var overrides []*pcomp
	for _, c := range cal.Children {
		if c == nil {
			continue
		}
		pc := ps.comp(c, nil, cache)
		p.comps = append(p.comps, pc)
		if !recurrable(pc.name) {
			continue
		}
		uid := c.Props.Get(ical.PropUID)
		key := pc.name + "\x00"
		if uid != nil {
			key += uid.Value
		}
		if pc.hasRID {
			overrides = append(overrides, pc)
		} else if _, dup := masters[key]; !dup {
			masters[key] = pc
		}
	}
	// Link overrides to their master so that the master's instance in
	// that slot is replaced. RANGE=THISANDFUTURE is treated as a single
	// override: later instances keep the master's times (over-returning
	// rather than guessing a shifted series).
	for _, o := range overrides {
		key := o.name + "\x00"
		if uid := o.c.Props.Get(ical.PropUID); uid != nil {
			key += uid.Value
		}
		m := masters[key]
		if m == nil || m.rec == nil {
			continue
		}
		if m.overrides == nil {
			m.overrides = map[int64]*pcomp{}
		}
		m.overrides[o.rid.Unix()] = o
	}
	return p, nil
}

func recurrable(name string) bool {
	return name == ical.CompEvent || name == ical.CompToDo || name == ical.CompJournal
}

// comp parses one component and its children.
func (ps *parser) comp(c *ical.Component, parent *pcomp, cache int) *pcomp {
	pc := &pcomp{c: c, name: strings.ToUpper(c.Name), parent: parent}
	note := func(err error) {
		if err != nil && pc.err == nil {
			pc.err = fmt.Errorf("filter: %s: %w", pc.name, err)
		}
	}
	one := func(name string) (time.Time, bool, bool) {
		p := c.Props.Get(name)
		if p == nil {
			return time.Time{}, false, false
		}
		t, date, err := ps.prop(p)
		note(err)
		return t, date, err == nil
	}
	switch pc.name {
	case ical.CompEvent, ical.CompToDo, ical.CompJournal, ical.CompFreeBusy:
		pc.start, pc.startDate, pc.hasStart = one(ical.PropDateTimeStart)
		if pc.name != ical.CompToDo {
			var endDate bool
			pc.end, endDate, pc.hasEnd = one(ical.PropDateTimeEnd)
			if pc.hasEnd && pc.hasStart {
				pc.endSpan = between(pc.start, pc.end, pc.startDate && endDate)
			}
		}
		if pc.name == ical.CompToDo {
			var dueDate bool
			pc.due, dueDate, pc.hasDue = one(ical.PropDue)
			if pc.hasDue && pc.hasStart {
				pc.dueSpan = between(pc.start, pc.due, pc.startDate && dueDate)
			}
			pc.completed, _, pc.hasCompl = one(ical.PropCompleted)
			pc.created, _, pc.hasCreat = one(ical.PropCreated)
		}
		if p := c.Props.Get(ical.PropDuration); p != nil && pc.name != ical.CompFreeBusy {
			d, err := parseSpan(p.Value)
			note(err)
			pc.dur, pc.hasDur = d, err == nil
		}
		if p := c.Props.Get(ical.PropRecurrenceID); p != nil {
			t, _, err := ps.prop(p)
			note(err)
			pc.rid, pc.hasRID = t, err == nil
		}
		if pc.name == ical.CompFreeBusy {
			ps.freeBusy(pc)
		}
		if recurrable(pc.name) && !pc.hasRID && pc.hasStart {
			pc.rec = ps.recurrence(pc, cache)
		}
	case ical.CompAlarm:
		ps.alarm(pc)
	}
	for _, child := range c.Children {
		if child != nil {
			pc.children = append(pc.children, ps.comp(child, pc, cache))
		}
	}
	return pc
}

// between is the span from a to b: calendar days for two DATE values
// (so that DST days keep their nominal length), exact seconds otherwise.
// A negative span (DTEND before DTSTART) becomes zero.
func between(a, b time.Time, dates bool) span {
	if !b.After(a) {
		return span{}
	}
	if dates {
		ay, am, ad := a.Date()
		by, bm, bd := b.Date()
		days := time.Date(by, bm, bd, 0, 0, 0, 0, time.UTC).Sub(time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC)) / (24 * time.Hour)
		return span{days: int(days)}
	}
	return span{secs: int64(b.Sub(a) / time.Second)}
}

// maxRepeat bounds VALARM REPEAT.
const maxRepeat = 1000

func (ps *parser) alarm(pc *pcomp) {
	p := pc.c.Props.Get(ical.PropTrigger)
	if p == nil {
		return
	}
	if strings.EqualFold(p.Params.Get(ical.ParamValue), "DATE-TIME") {
		t, _, err := ps.prop(p)
		if err != nil {
			pc.err = fmt.Errorf("filter: VALARM: %w", err)
			return
		}
		pc.triggerAbs, pc.absolute, pc.hasTrigger = t.UTC(), true, true
	} else {
		d, err := parseSpan(p.Value)
		if err != nil {
			pc.err = fmt.Errorf("filter: VALARM TRIGGER: %w", err)
			return
		}
		pc.trigger, pc.hasTrigger = d, true
		pc.relatedEnd = strings.EqualFold(p.Params.Get(ical.ParamRelated), "END")
	}
	if r := pc.c.Props.Get(ical.PropRepeat); r != nil {
		var n int
		if _, err := fmt.Sscanf(strings.TrimSpace(r.Value), "%d", &n); err == nil && n > 0 {
			if d := pc.c.Props.Get(ical.PropDuration); d != nil {
				if every, err := parseSpan(d.Value); err == nil {
					pc.repeat, pc.repeatEvery = min(n, maxRepeat), every
				}
			}
		}
	}
}

func (ps *parser) freeBusy(pc *pcomp) {
	for i := range pc.c.Props[ical.PropFreeBusy] {
		p := &pc.c.Props[ical.PropFreeBusy][i]
		typ := strings.ToUpper(p.Params.Get(ical.ParamFreeBusyType))
		if typ == "" {
			typ = "BUSY"
		}
		list, err := ps.list(p)
		if err != nil && pc.err == nil {
			pc.err = fmt.Errorf("filter: VFREEBUSY: %w", err)
		}
		for _, pe := range list {
			if pe.hasEnd && pe.end.After(pe.start) {
				pc.busy = append(pc.busy, fbPeriod{pe.start, pe.end, typ})
			}
		}
	}
}

// length is the instance duration used for recurrence look-back: the
// longest of DTEND, DURATION and DUE offsets, or one day for a DATE.
func (pc *pcomp) length() span {
	l := span{}
	if pc.startDate {
		l = span{days: 1}
	}
	for _, s := range []span{pc.endSpan, pc.dur, pc.dueSpan} {
		if s.max() > l.max() {
			l = s
		}
	}
	if pc.rec != nil && pc.rec.longest.max() > l.max() {
		l = pc.rec.longest
	}
	return l
}
