package googletest

import (
	"fmt"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
	"google.golang.org/api/calendar/v3"
)

// maxInstances caps expansion of unbounded series (Google pages them
// forever; tests never need more than a few years of a daily rule).
const maxInstances = 1000

// when is a parsed EventDateTime.
type when struct {
	t      time.Time // instant; midnight in loc for all-day
	allDay bool
	loc    *time.Location
	tz     string // the timeZone field as sent
}

// parseWhen parses start/end; defLoc places all-day dates and offset-less
// date-times without timeZone.
func parseWhen(d *calendar.EventDateTime, defLoc *time.Location, which string) (when, error) {
	if d == nil || (d.Date == "" && d.DateTime == "") {
		return when{}, &apiError{Code: 400, Reason: "required", Message: "Missing " + which + " time."}
	}
	loc := defLoc
	if d.TimeZone != "" {
		l, err := time.LoadLocation(d.TimeZone)
		if err != nil {
			return when{}, &apiError{Code: 400, Reason: "invalid",
				Message: "Invalid time zone definition for " + which + " time."}
		}
		loc = l
	}
	if d.Date != "" {
		t, err := time.ParseInLocation(time.DateOnly, d.Date, loc)
		if err != nil {
			return when{}, &apiError{Code: 400, Reason: "invalid", Message: "Invalid value for: Invalid format: \"" + d.Date + "\""}
		}
		return when{t: t, allDay: true, loc: loc, tz: d.TimeZone}, nil
	}
	t, err := time.Parse(time.RFC3339, d.DateTime)
	if err != nil {
		if d.TimeZone == "" {
			return when{}, &apiError{Code: 400, Reason: "required",
				Message: "Missing time zone definition for " + which + " time."}
		}
		t, err = time.ParseInLocation("2006-01-02T15:04:05", d.DateTime, loc)
		if err != nil {
			return when{}, &apiError{Code: 400, Reason: "invalid", Message: "Invalid value for: Invalid format: \"" + d.DateTime + "\""}
		}
	}
	if d.TimeZone != "" {
		t = t.In(loc)
	}
	return when{t: t, allDay: false, loc: t.Location(), tz: d.TimeZone}, nil
}

// dateTime renders t like the master's start (same kind and zone).
func (w when) dateTime(t time.Time) *calendar.EventDateTime {
	if w.allDay {
		return &calendar.EventDateTime{Date: t.Format(time.DateOnly)}
	}
	return &calendar.EventDateTime{DateTime: t.In(w.loc).Format(time.RFC3339), TimeZone: w.tz}
}

// instanceStamp is the suffix Google appends to a master ID for an
// instance ID: _20240105T100000Z or, all-day, _20240105.
func (w when) instanceStamp(t time.Time) string {
	if w.allDay {
		return t.Format("20060102")
	}
	return t.UTC().Format("20060102T150405Z")
}

// parseStamp inverts instanceStamp.
func (w when) parseStamp(s string) (time.Time, bool) {
	if w.allDay {
		t, err := time.ParseInLocation("20060102", s, w.loc)
		return t, err == nil
	}
	t, err := time.Parse("20060102T150405Z", s)
	return t, err == nil
}

// series is a recurring master ready to expand.
type series struct {
	start when
	dur   time.Duration // timed events
	days  int           // all-day events
	set   *rrule.Set
}

func newSeries(ev *calendar.Event, defLoc *time.Location) (*series, error) {
	st, err := parseWhen(ev.Start, defLoc, "start")
	if err != nil {
		return nil, err
	}
	en, err := parseWhen(ev.End, st.loc, "end")
	if err != nil {
		return nil, err
	}
	sr := &series{start: st}
	if st.allDay {
		sr.days = int(en.t.Sub(st.t).Round(24*time.Hour) / (24 * time.Hour))
	} else {
		sr.dur = en.t.Sub(st.t)
	}
	// rrule-go computes in DTSTART's zone, which is what RRULE BYDAY and
	// DST need; a fixed offset or UTC is written as UTC.
	var dt string
	switch {
	case st.allDay:
		dt = "DTSTART:" + time.Date(st.t.Year(), st.t.Month(), st.t.Day(), 0, 0, 0, 0, time.UTC).Format("20060102T150405Z")
	case st.tz != "" && st.loc != time.UTC:
		dt = "DTSTART;TZID=" + st.loc.String() + ":" + st.t.Format("20060102T150405")
	default:
		dt = "DTSTART:" + st.t.UTC().Format("20060102T150405Z")
	}
	lines := []string{dt}
	for _, l := range ev.Recurrence {
		name, _, _ := strings.Cut(strings.ToUpper(l), ":")
		name, _, _ = strings.Cut(name, ";")
		switch name {
		case "RRULE", "RDATE", "EXDATE":
			lines = append(lines, l)
		case "EXRULE":
			// rrule-go has no EXRULE; Google deprecated it too.
		default:
			return nil, &apiError{Code: 400, Reason: "invalid", Message: "Invalid recurrence rule."}
		}
	}
	set, err := rrule.StrSliceToRRuleSetInLoc(lines, time.UTC)
	if err != nil {
		return nil, &apiError{Code: 400, Reason: "invalid", Message: "Invalid recurrence rule."}
	}
	sr.set = set
	return sr, nil
}

// starts returns instance starts (in the series zone; all-day at midnight
// of st.loc) up to, excluding, until (zero: no bound), at most maxInstances.
func (sr *series) starts(until time.Time) []time.Time {
	next := sr.set.Iterator()
	var out []time.Time
	for len(out) < maxInstances {
		t, ok := next()
		if !ok {
			break
		}
		if sr.start.allDay {
			t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, sr.start.loc)
		}
		if !until.IsZero() && !t.Before(until) {
			break
		}
		out = append(out, t)
	}
	return out
}

func (sr *series) end(t time.Time) time.Time {
	if sr.start.allDay {
		return t.AddDate(0, 0, sr.days)
	}
	return t.Add(sr.dur)
}

// has reports whether t is an instance start.
func (sr *series) has(t time.Time) bool {
	for _, s := range sr.starts(t.Add(time.Second)) {
		if s.Equal(t) {
			return true
		}
	}
	return false
}

func (sr *series) String() string { return fmt.Sprint(sr.set.Recurrence()) }
