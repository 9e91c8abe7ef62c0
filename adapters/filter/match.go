package filter

import (
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// Match reports whether cal matches the calendar-query filter f, whose
// Name is "VCALENDAR" (RFC 4791 §9.7, time ranges per §9.9, recurring
// components matching if any instance does).
//
// It returns an error matching adapters.ErrInvalid if a malformed
// property was needed to decide (the result is then false; callers
// skip and log that object, or include it to over-return), and one
// matching adapters.ErrUnsupported for an unknown collation or
// match-type. Malformed parts the filter does not need are ignored.
func Match(cal *ical.Calendar, f CompFilter, opts ...Option) (bool, error) {
	// One-off matches skip the instance cache that Prepare fills.
	p, err := prepare(cal, newConfig(opts), 0)
	if err != nil {
		return false, err
	}
	return p.Match(f)
}

// Match is Match on a prepared calendar.
func (p *Prepared) Match(f CompFilter) (bool, error) {
	if !strings.EqualFold(f.Name, p.cal.Name) {
		return false, nil
	}
	if f.IsNotDefined {
		return false, nil // the VCALENDAR exists
	}
	if f.TimeRange != nil {
		ok, err := p.anyOverlaps(p.comps, rangeOf(*f.TimeRange))
		if !ok {
			return false, err
		}
	}
	for _, pf := range f.Props {
		ok, err := p.matchProp(p.cal.Component, nil, pf)
		if !ok {
			return false, err
		}
	}
	for _, cf := range f.Comps {
		ok, err := p.matchComps(p.comps, cf)
		if !ok {
			return false, err
		}
	}
	return true, nil
}

// anyOverlaps is a time-range on the VCALENDAR itself, which RFC 4791
// does not define: it matches if any component overlaps.
func (p *Prepared) anyOverlaps(list []*pcomp, r rng) (bool, error) {
	var firstErr error
	for _, pc := range list {
		ok, err := p.overlaps(pc, r)
		if ok {
			return true, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return false, firstErr
}

// matchComps applies comp-filter f to the components list (the children
// of one parent): it matches if any component of that name does.
func (p *Prepared) matchComps(list []*pcomp, f CompFilter) (bool, error) {
	name := strings.ToUpper(f.Name)
	found := false
	var firstErr error
	for _, pc := range list {
		if pc.name != name {
			continue
		}
		found = true
		if f.IsNotDefined {
			return false, nil
		}
		ok, err := p.matchComp(pc, f)
		if ok {
			return true, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if !found {
		return f.IsNotDefined, nil
	}
	return false, firstErr
}

func (p *Prepared) matchComp(pc *pcomp, f CompFilter) (bool, error) {
	for _, pf := range f.Props {
		ok, err := p.matchProp(pc.c, pc, pf)
		if !ok {
			return false, err
		}
	}
	if f.TimeRange != nil {
		ok, err := p.overlaps(pc, rangeOf(*f.TimeRange))
		if !ok {
			return false, err
		}
	}
	for _, cf := range f.Comps {
		ok, err := p.matchComps(pc.children, cf)
		if !ok {
			return false, err
		}
	}
	return true, nil
}

// matchProp applies prop-filter f to c: it matches if any property of
// that name satisfies all of f's tests.
func (p *Prepared) matchProp(c *ical.Component, pc *pcomp, f PropFilter) (bool, error) {
	props := c.Props.Values(f.Name)
	if f.IsNotDefined {
		return len(props) == 0, nil
	}
	var firstErr error
	for i := range props {
		ok, err := p.matchPropValue(&props[i], pc, f)
		if ok {
			return true, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return false, firstErr
}

func (p *Prepared) matchPropValue(prop *ical.Prop, pc *pcomp, f PropFilter) (bool, error) {
	if f.TextMatch != nil {
		ok, err := matchText(*f.TextMatch, propText(prop), collationASCII)
		if !ok {
			return false, err
		}
	}
	for _, pf := range f.Params {
		ok, err := matchParam(prop.Params, pf, collationASCII)
		if !ok {
			return false, err
		}
	}
	if f.TimeRange != nil {
		return p.propInRange(prop, pc, rangeOf(*f.TimeRange))
	}
	return true, nil
}

// propInRange is a time-range on a DATE or DATE-TIME property: some value
// v has start <= v < end. DTSTART, DTEND and DUE of a recurring master
// are tested on every instance.
func (p *Prepared) propInRange(prop *ical.Prop, pc *pcomp, r rng) (bool, error) {
	ps := parser{cfg: &p.cfg}
	list, err := ps.list(prop)
	for _, v := range list {
		if r.instant(v.start) {
			return true, nil
		}
	}
	if pc == nil || pc.rec == nil || pc.err != nil {
		return false, err
	}
	var shift span
	switch prop.Name {
	case ical.PropDateTimeStart:
	case ical.PropDateTimeEnd:
		shift = pc.endSpan
	case ical.PropDue:
		shift = pc.dueSpan
	default:
		return false, err
	}
	var w window
	if r.hasStart {
		w.from, w.hasFrom = r.start.Add(-shift.max()-time.Second), true
	}
	if r.hasEnd {
		w.to, w.hasTo = r.end, true
	}
	stopped, capped := p.each(pc, w, func(s time.Time, _ *span) bool {
		return r.instant(shift.add(s))
	})
	return stopped || capped, err
}

// matchParam applies param-filter f to one property's parameters.
func matchParam(params map[string][]string, f ParamFilter, defColl string) (bool, error) {
	var values []string
	for k, v := range params {
		if strings.EqualFold(k, f.Name) {
			values = append(values, v...)
		}
	}
	if f.IsNotDefined {
		return len(values) == 0, nil
	}
	if len(values) == 0 {
		return false, nil
	}
	if f.TextMatch == nil {
		return true, nil
	}
	for _, v := range values {
		ok, err := matchText(*f.TextMatch, v, defColl)
		if ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// Validate checks the collations and match-types of f, so that a gateway
// can answer CALDAV:supported-collation before evaluating anything. The
// error matches adapters.ErrUnsupported.
func (f CompFilter) Validate() error {
	for _, pf := range f.Props {
		if err := validateProp(pf.TextMatch, pf.Params); err != nil {
			return err
		}
	}
	for _, cf := range f.Comps {
		if err := cf.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks the collations and match-types of f.
func (f CardFilter) Validate() error {
	for _, pf := range f.Props {
		for i := range pf.TextMatches {
			if err := validateProp(&pf.TextMatches[i], nil); err != nil {
				return err
			}
		}
		if err := validateProp(nil, pf.Params); err != nil {
			return err
		}
	}
	return nil
}

func validateProp(tm *TextMatch, params []ParamFilter) error {
	check := func(tm *TextMatch) error {
		if tm == nil {
			return nil
		}
		_, err := matchText(*tm, "", collationASCII)
		return err
	}
	if err := check(tm); err != nil {
		return err
	}
	for _, pf := range params {
		if err := check(pf.TextMatch); err != nil {
			return fmt.Errorf("param %s: %w", pf.Name, err)
		}
	}
	return nil
}
