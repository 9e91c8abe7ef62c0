package filter

import (
	"fmt"
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters"
)

// Expand implements CALDAV:expand (RFC 4791 §9.6.5): a new VCALENDAR with
// one component per instance overlapping [start, end) (either may be zero
// for an open end), without RRULE, RDATE or EXDATE, each instance of a
// recurring component carrying a RECURRENCE-ID. DATE-TIME values of
// DTSTART, DTEND, DUE and RECURRENCE-ID are converted to UTC, DATE values
// stay DATE, and VTIMEZONE components are dropped. Overrides replace the
// instance they override; non-recurring components are copied if they
// overlap, other components (X-, unknown) as they are.
//
// It returns an error matching adapters.ErrInvalid for a component whose
// dates are malformed, and adapters.ErrUnsupported if a recurrence has
// too many instances in the range to list (see WithMaxIterations). The
// result may have no components, which go-ical refuses to encode.
func Expand(cal *ical.Calendar, start, end time.Time, opts ...Option) (*ical.Calendar, error) {
	p, err := prepare(cal, newConfig(opts), 0)
	if err != nil {
		return nil, err
	}
	return p.Expand(start, end)
}

// Expand is Expand on a prepared calendar.
func (p *Prepared) Expand(start, end time.Time) (*ical.Calendar, error) {
	r := rangeOf(TimeRange{Start: start, End: end})
	out := ical.NewCalendar()
	for name, props := range p.cal.Props {
		out.Props[name] = cloneProps(props)
	}
	for _, pc := range p.comps {
		switch {
		case pc.name == ical.CompTimezone:
		case recurrable(pc.name) && pc.rec != nil:
			if pc.err != nil {
				return nil, pc.err
			}
			if err := p.expandMaster(out, pc, r); err != nil {
				return nil, err
			}
		case recurrable(pc.name) || pc.name == ical.CompFreeBusy:
			ok, err := p.overlaps(pc, r)
			if err != nil {
				return nil, err
			}
			if ok {
				c := clone(pc.c)
				p.toUTC(c)
				out.Children = append(out.Children, c)
			}
		default:
			out.Children = append(out.Children, clone(pc.c))
		}
	}
	return out, nil
}

func (p *Prepared) expandMaster(out *ical.Calendar, pc *pcomp, r rng) error {
	w := window{to: r.end, hasTo: r.hasEnd}
	if r.hasStart {
		w.from, w.hasFrom = r.start.Add(-pc.length().max()-time.Second), true
	}
	n := 0
	_, capped := p.each(pc, w, func(s time.Time, own *span) bool {
		t := pc.instanceTimes(s, own)
		if !r.one(pc.name, t) {
			return false
		}
		if n++; n > p.cfg.maxIter {
			return true
		}
		c := clone(pc.c)
		for _, name := range []string{ical.PropRecurrenceRule, ical.PropRecurrenceDates, ical.PropExceptionDates, "EXRULE"} {
			delete(c.Props, name)
		}
		setTime(c, ical.PropDateTimeStart, s, pc.startDate)
		setTime(c, ical.PropRecurrenceID, s, pc.startDate)
		if t.hasEnd {
			setTime(c, ical.PropDateTimeEnd, t.end, pc.startDate && own == nil)
			delete(c.Props, ical.PropDuration)
		}
		if t.hasDue && pc.name == ical.CompToDo {
			setTime(c, ical.PropDue, t.due, pc.startDate)
		}
		p.toUTC(c)
		out.Children = append(out.Children, c)
		return false
	})
	if capped || n > p.cfg.maxIter {
		return fmt.Errorf("filter: expand %s: more than %d instances: %w", pc.name, p.cfg.maxIter, adapters.ErrUnsupported)
	}
	return nil
}

func setTime(c *ical.Component, name string, t time.Time, date bool) {
	prop := ical.NewProp(name)
	if date {
		prop.SetDate(t)
	} else {
		prop.SetDateTime(t.UTC())
	}
	c.Props.Set(prop)
}

// toUTC rewrites the DATE-TIME values of c that have a TZID or float.
func (p *Prepared) toUTC(c *ical.Component) {
	ps := parser{cfg: &p.cfg}
	for _, name := range []string{ical.PropDateTimeStart, ical.PropDateTimeEnd, ical.PropDue, ical.PropRecurrenceID} {
		prop := c.Props.Get(name)
		if prop == nil {
			continue
		}
		t, date, err := ps.prop(prop)
		if err != nil || date {
			continue
		}
		setTime(c, name, t, false)
	}
}

func cloneProps(props []ical.Prop) []ical.Prop {
	out := make([]ical.Prop, len(props))
	for i, p := range props {
		out[i] = ical.Prop{Name: p.Name, Value: p.Value, Params: make(ical.Params, len(p.Params))}
		for k, v := range p.Params {
			out[i].Params[k] = append([]string(nil), v...)
		}
	}
	return out
}

func clone(c *ical.Component) *ical.Component {
	out := &ical.Component{Name: c.Name, Props: make(ical.Props, len(c.Props))}
	for name, props := range c.Props {
		out.Props[name] = cloneProps(props)
	}
	for _, child := range c.Children {
		if child != nil {
			out.Children = append(out.Children, clone(child))
		}
	}
	return out
}
