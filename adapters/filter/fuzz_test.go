package filter

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

// decode wraps go-ical's decoder, which panics on some input (a
// truncated parameter).
func decode(data string) (c *ical.Calendar, err error) {
	defer func() {
		if recover() != nil {
			c, err = nil, fmt.Errorf("decoder panic")
		}
	}()
	return ical.NewDecoder(strings.NewReader(data)).Decode()
}

func FuzzMatch(f *testing.F) {
	seeds := []string{
		event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;COUNT=5", "EXDATE:20240108T100000Z,20240115T100000Z"),
		event("DTSTART;TZID=Europe/Berlin:20240101T100000", "RDATE;VALUE=PERIOD:20240401T100000Z/PT3H", "RRULE:FREQ=MONTHLY;BYDAY=-1FR",
			"BEGIN:VALARM\r\nTRIGGER;RELATED=END:-PT5M\r\nREPEAT:3\r\nDURATION:PT1M\r\nEND:VALARM"),
		comp("VTODO", "DUE;VALUE=DATE:20240110", "COMPLETED:20240111T000000Z"),
		comp("VFREEBUSY", "FREEBUSY;FBTYPE=BUSY:20240110T160000Z/PT1H"),
		event("DTSTART:20000101T000000Z", "RRULE:FREQ=SECONDLY;BYHOUR=3"),
	}
	for _, s := range seeds {
		f.Add("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + s + "END:VCALENDAR\r\n")
	}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 1, 0)
	filters := []CompFilter{
		inRange("VEVENT", &TimeRange{start, end}),
		inRange("VTODO", &TimeRange{Start: start}),
		{Name: "VCALENDAR", Comps: []CompFilter{{Name: "VEVENT", Comps: []CompFilter{{Name: "VALARM", TimeRange: &TimeRange{End: end}}},
			Props: []PropFilter{{Name: "DTSTART", TimeRange: &TimeRange{start, end}}, {Name: "SUMMARY", TextMatch: &TextMatch{Text: "é", Collation: "i;unicode-casemap"}}}}}},
		inRange("VFREEBUSY", &TimeRange{start, end}),
	}
	f.Fuzz(func(t *testing.T, data string) {
		c, err := decode(data)
		if err != nil || c == nil {
			return
		}
		opts := []Option{WithMaxIterations(2000)}
		for _, fl := range filters {
			_, _ = Match(c, fl, opts...)
		}
		_, _ = Expand(c, start, end, opts...)
		_ = FreeBusy([]*ical.Calendar{c}, start, end, opts...)
		_, _, _ = Bounds(c, opts...)
	})
}
