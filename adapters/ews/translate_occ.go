package ews

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/ews/api"
	"github.com/davgate/davgate/adapters/filter"
	"github.com/davgate/davgate/adapters/icalfix"
)

// This file is free of I/O: it works out which occurrences of a series an
// update must touch on Exchange, where UpdateItem of the master carries
// only the master's fields.

// occEdit is one override (RECURRENCE-ID component) to write onto its
// occurrence.
type occEdit struct {
	recID  time.Time // original start, UTC
	index  int       // InstanceIndex
	fields eventFields
}

// occDelete is one EXDATE to carry out as a DeleteItem of its occurrence.
type occDelete struct {
	recID time.Time
	index int
}

// occPlan lists the occurrence writes of one update.
type occPlan struct {
	deletes []occDelete
	edits   []occEdit
}

func (p occPlan) empty() bool { return len(p.deletes) == 0 && len(p.edits) == 0 }

// planOccurrences diffs the client's new calendar against what Exchange
// holds (cur: its ModifiedOccurrences and DeletedOccurrences) and the
// iCalendar davgate stored last (prev, nil when Exchange changed the item
// since or there is none):
//   - an EXDATE Exchange does not list as deleted becomes a deletion;
//   - an override becomes an edit unless prev has the same override and
//     Exchange lists that occurrence as modified with the same times;
//   - an override removed without an EXDATE is left alone: EWS cannot
//     turn an exception back into a plain occurrence short of resetting
//     the whole pattern, which would lose every other exception, so
//     Exchange keeps the exception (davgate still serves the client's
//     iCalendar until the item changes elsewhere);
//   - RANGE=THISANDFUTURE overrides are written as single instances.
//
// Nothing is planned when the master has no RRULE or one EWS cannot
// express (the series then lives in the stored iCalendar only). Instance
// indexes count the pattern from DTSTART, deleted instances included, as
// Exchange's InstanceIndex does; callers verify them against
// OriginalStart before writing. An override or EXDATE that is not an
// instance of the pattern, or past 20,000 instances, is skipped.
func planOccurrences(cal *ical.Calendar, prev *ical.Calendar, cur *api.CalendarItem) (occPlan, error) {
	var plan occPlan
	master := masterOf(cal)
	if master == nil || master.Props.Get(ical.PropRecurrenceRule) == nil || master.Props.Get(ical.PropRecurrenceID) != nil {
		return plan, nil
	}
	mf, err := fieldsOf(cal)
	if err != nil {
		return plan, err
	}
	if !mf.RecurrenceOK {
		return plan, nil
	}
	resolve := icalfix.NewResolver(cal)
	uid := propValue(master, ical.PropUID)

	exdates := map[int64]bool{}
	for _, p := range master.Props.Values(ical.PropExceptionDates) {
		for _, v := range strings.Split(p.Value, ",") {
			if t, _, err := propTime(resolve, &p, strings.TrimSpace(v)); err == nil {
				exdates[t.UTC().Unix()] = true
			}
		}
	}
	deleted := map[int64]bool{}
	modified := map[int64]api.OccurrenceInfo{}
	if cur != nil {
		for _, d := range cur.Deleted() {
			if t, err := api.ParseTime(d.Start); err == nil {
				deleted[t.UTC().Unix()] = true
			}
		}
		for _, m := range cur.Modified() {
			if t, err := api.ParseTime(m.OriginalStart); err == nil {
				modified[t.UTC().Unix()] = m
			}
		}
	}
	prevOverrides := map[int64]eventFields{}
	if prev != nil {
		presolve := icalfix.NewResolver(prev)
		for _, c := range overridesOf(prev, uid) {
			p := c.Props.Get(ical.PropRecurrenceID)
			t, _, err := propTime(presolve, p, p.Value)
			if err != nil {
				continue
			}
			if f, err := fieldsOfEvent(presolve, c); err == nil {
				prevOverrides[t.UTC().Unix()] = f
			}
		}
	}

	var recIDs []time.Time
	for t := range exdates {
		if !deleted[t] {
			recIDs = append(recIDs, time.Unix(t, 0).UTC())
		}
	}
	slices.SortFunc(recIDs, func(a, b time.Time) int { return a.Compare(b) })
	var edits []occEdit
	for _, c := range overridesOf(cal, uid) {
		p := c.Props.Get(ical.PropRecurrenceID)
		t, _, err := propTime(resolve, p, p.Value)
		if err != nil {
			return plan, fmt.Errorf("ews: RECURRENCE-ID %q: %w", p.Value, adapters.ErrInvalid)
		}
		t = t.UTC()
		if exdates[t.Unix()] || deleted[t.Unix()] {
			continue // the instance is gone: EXDATE wins
		}
		f, err := fieldsOfEvent(resolve, c)
		if err != nil {
			return plan, err
		}
		if old, ok := prevOverrides[t.Unix()]; ok && sameOccurrence(old, f) {
			if m, ok := modified[t.Unix()]; ok && sameTime(m.Start, f.Start) && sameTime(m.End, f.End) {
				continue // unchanged and already on Exchange
			}
		}
		edits = append(edits, occEdit{recID: t, fields: f})
		recIDs = append(recIDs, t)
	}
	if len(recIDs) == 0 {
		return plan, nil
	}
	index, err := instanceIndexes(cal, master, recIDs)
	if err != nil {
		// Too many instances to count (or dates the expansion refuses):
		// the occurrences cannot be addressed, the stored iCalendar
		// still has them.
		return plan, nil
	}
	for t := range exdates {
		if n := index[t]; n > 0 && !deleted[t] {
			plan.deletes = append(plan.deletes, occDelete{recID: time.Unix(t, 0).UTC(), index: n})
		}
	}
	slices.SortFunc(plan.deletes, func(a, b occDelete) int { return a.index - b.index })
	for _, e := range edits {
		if e.index = index[e.recID.Unix()]; e.index > 0 {
			plan.edits = append(plan.edits, e)
		}
	}
	slices.SortFunc(plan.edits, func(a, b occEdit) int { return a.index - b.index })
	return plan, nil
}

func propValue(c *ical.Component, name string) string {
	if p := c.Props.Get(name); p != nil {
		return p.Value
	}
	return ""
}

// overridesOf returns the RECURRENCE-ID VEVENTs of the series uid.
func overridesOf(cal *ical.Calendar, uid string) []*ical.Component {
	var out []*ical.Component
	for _, c := range cal.Children {
		if c.Name == ical.CompEvent && c.Props.Get(ical.PropRecurrenceID) != nil && propValue(c, ical.PropUID) == uid {
			out = append(out, c)
		}
	}
	return out
}

// sameOccurrence compares the fields an occurrence edit writes.
func sameOccurrence(a, b eventFields) bool {
	return a.Subject == b.Subject && a.Description == b.Description && a.Location == b.Location &&
		a.Start.Equal(b.Start) && a.End.Equal(b.End) && a.AllDay == b.AllDay && a.FreeBusy == b.FreeBusy
}

func sameTime(s string, t time.Time) bool {
	v, err := api.ParseTime(s)
	return err == nil && v.Equal(t)
}

// instanceIndexes maps each of recIDs (UTC) that is an instance of the
// master's pattern to its 1-based position in the series, counting from
// DTSTART with EXDATEs ignored (deleted instances keep their index).
func instanceIndexes(cal *ical.Calendar, master *ical.Component, recIDs []time.Time) (map[int64]int, error) {
	last := slices.MaxFunc(recIDs, func(a, b time.Time) int { return a.Compare(b) })
	series := ical.NewCalendar()
	series.Props = cal.Props
	m := ical.NewComponent(ical.CompEvent)
	for name, props := range master.Props {
		switch name {
		case ical.PropExceptionDates, ical.PropRecurrenceDates:
			continue
		}
		m.Props[name] = props
	}
	for _, c := range cal.Children {
		if c.Name == ical.CompTimezone {
			series.Children = append(series.Children, c)
		}
	}
	series.Children = append(series.Children, m)
	exp, err := filter.Expand(series, time.Time{}, last.Add(time.Second),
		filter.WithResolver(icalfix.NewResolver(cal)), filter.WithMaxIterations(20000))
	if err != nil {
		return nil, err
	}
	resolve := icalfix.NewResolver(exp)
	var starts []int64
	for _, c := range exp.Children {
		p := c.Props.Get(ical.PropRecurrenceID)
		if c.Name != ical.CompEvent || p == nil {
			continue
		}
		if t, _, err := propTime(resolve, p, p.Value); err == nil {
			starts = append(starts, t.UTC().Unix())
		}
	}
	slices.Sort(starts)
	starts = slices.Compact(starts)
	want := map[int64]bool{}
	for _, t := range recIDs {
		want[t.Unix()] = true
	}
	out := map[int64]int{}
	for i, t := range starts {
		if want[t] {
			out[t] = i + 1
		}
	}
	return out, nil
}

// occurrenceUpdates lists the UpdateItem changes of one occurrence.
func occurrenceUpdates(f eventFields) []api.Update {
	var u []api.Update
	set := func(uri string, v *api.CalendarItem) { u = append(u, api.SetField(uri, v)) }
	s := f.Subject
	set("item:Subject", &api.CalendarItem{Subject: &s})
	if f.Description != "" {
		set("item:Body", &api.CalendarItem{Body: &api.BodyContent{BodyType: "Text", Value: f.Description}})
	} else {
		u = append(u, api.DeleteField("item:Body"))
	}
	allDay := f.AllDay
	set("calendar:IsAllDayEvent", &api.CalendarItem{IsAllDayEvent: &allDay})
	set("calendar:Start", &api.CalendarItem{Start: api.FormatTime(f.Start)})
	set("calendar:End", &api.CalendarItem{End: api.FormatTime(f.End)})
	if f.Location != "" {
		l := f.Location
		set("calendar:Location", &api.CalendarItem{Location: &l})
	} else {
		u = append(u, api.DeleteField("calendar:Location"))
	}
	set("calendar:LegacyFreeBusyStatus", &api.CalendarItem{LegacyFreeBusyStatus: f.FreeBusy})
	return u
}
