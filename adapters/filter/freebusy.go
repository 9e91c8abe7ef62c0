package filter

import (
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// Free-busy types (RFC 5545 §3.2.9).
const (
	FBBusy            = "BUSY"
	FBBusyTentative   = "BUSY-TENTATIVE"
	FBBusyUnavailable = "BUSY-UNAVAILABLE"
)

// FreeBusy computes the busy time of cals within [start, end) as RFC 4791
// §7.10 defines it: VEVENT instances are BUSY, or BUSY-TENTATIVE with
// STATUS:TENTATIVE, and free with TRANSP:TRANSPARENT or STATUS:CANCELLED;
// FREEBUSY periods of VFREEBUSY components count with their FBTYPE. The
// periods are clipped to the range, merged per type and sorted by start.
// Malformed components are skipped; a recurrence too long to expand is
// busy from its first instance to the range end (over-reporting is safer).
func FreeBusy(cals []*ical.Calendar, start, end time.Time, opts ...Option) []Period {
	if !end.After(start) || start.IsZero() {
		return nil
	}
	cfg := newConfig(opts)
	var all []Period
	for _, cal := range cals {
		p, err := prepare(cal, cfg, 0)
		if err != nil {
			continue
		}
		all = p.freeBusy(all, start, end)
	}
	return mergePeriods(all)
}

// FreeBusy is FreeBusy on one prepared calendar, unmerged callers can
// concatenate: pass the result of several through MergePeriods.
func (p *Prepared) FreeBusy(start, end time.Time) []Period {
	if !end.After(start) || start.IsZero() {
		return nil
	}
	return mergePeriods(p.freeBusy(nil, start, end))
}

// MergePeriods merges overlapping or touching periods of the same type and
// sorts them by start, then type.
func MergePeriods(ps []Period) []Period {
	return mergePeriods(append([]Period(nil), ps...))
}

func (p *Prepared) freeBusy(out []Period, start, end time.Time) []Period {
	r := rng{start: start, end: end, hasStart: true, hasEnd: true}
	add := func(s, e time.Time, typ string) {
		if s.Before(start) {
			s = start
		}
		if e.After(end) {
			e = end
		}
		if e.After(s) {
			out = append(out, Period{Start: s.UTC(), End: e.UTC(), Type: typ})
		}
	}
	for _, pc := range p.comps {
		if pc.err != nil {
			continue
		}
		switch pc.name {
		case ical.CompFreeBusy:
			for _, b := range pc.busy {
				if b.typ != "FREE" {
					add(b.start, b.end, b.typ)
				}
			}
		case ical.CompEvent:
			typ := busyType(pc.c)
			if typ == "" || !pc.hasStart {
				continue
			}
			if pc.rec == nil {
				add(pc.start, effectiveEnd(pc.name, pc.times), typ)
				continue
			}
			w := window{from: start.Add(-pc.length().max() - time.Second), to: end, hasFrom: true, hasTo: true}
			_, capped := p.each(pc, w, func(s time.Time, own *span) bool {
				t := pc.instanceTimes(s, own)
				if r.event(t) {
					add(s, effectiveEnd(pc.name, t), typ)
				}
				return false
			})
			if capped {
				add(pc.start, end, typ)
			}
		}
	}
	return out
}

// busyType is the FBTYPE of an event, or "" if it takes no time.
func busyType(c *ical.Component) string {
	if p := c.Props.Get(ical.PropTransparency); p != nil && strings.EqualFold(strings.TrimSpace(p.Value), "TRANSPARENT") {
		return ""
	}
	status := ""
	if p := c.Props.Get(ical.PropStatus); p != nil {
		status = strings.ToUpper(strings.TrimSpace(p.Value))
	}
	switch status {
	case "CANCELLED":
		return ""
	case "TENTATIVE":
		return FBBusyTentative
	}
	return FBBusy
}

func mergePeriods(ps []Period) []Period {
	if len(ps) == 0 {
		return nil
	}
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Type != ps[j].Type {
			return ps[i].Type < ps[j].Type
		}
		return ps[i].Start.Before(ps[j].Start)
	})
	out := ps[:1]
	for _, p := range ps[1:] {
		last := &out[len(out)-1]
		if p.Type == last.Type && !p.Start.After(last.End) {
			if p.End.After(last.End) {
				last.End = p.End
			}
			continue
		}
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].Type < out[j].Type
	})
	return out
}

// EncodeFreeBusy builds the VCALENDAR answering a free-busy-query: one
// VFREEBUSY with DTSTAMP (now), DTSTART, DTEND and one FREEBUSY line per
// period, all in UTC, which go-ical can encode.
func EncodeFreeBusy(periods []Period, start, end, now time.Time) *ical.Calendar {
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropProductID, "-//davgate//davgate//EN")
	fb := ical.NewComponent(ical.CompFreeBusy)
	// go-ical requires a UID; a stable one keeps the answer reproducible.
	fb.Props.SetText(ical.PropUID, "freebusy-"+start.UTC().Format("20060102T150405Z")+"-"+end.UTC().Format("20060102T150405Z")+"@davgate")
	fb.Props.SetDateTime(ical.PropDateTimeStamp, now.UTC())
	fb.Props.SetDateTime(ical.PropDateTimeStart, start.UTC())
	fb.Props.SetDateTime(ical.PropDateTimeEnd, end.UTC())
	for _, p := range periods {
		prop := ical.NewProp(ical.PropFreeBusy)
		typ := p.Type
		if typ == "" {
			typ = FBBusy
		}
		prop.Params.Set(ical.ParamFreeBusyType, typ)
		prop.Value = p.Start.UTC().Format("20060102T150405Z") + "/" + p.End.UTC().Format("20060102T150405Z")
		fb.Props.Add(prop)
	}
	cal.Children = append(cal.Children, fb)
	return cal
}
