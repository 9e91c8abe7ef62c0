package filter

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

// calendar decodes a VCALENDAR made of the given components.
func calendar(t testing.TB, comps ...string) *ical.Calendar {
	t.Helper()
	s := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//davgate//test//EN\r\n" + strings.Join(comps, "") + "END:VCALENDAR\r\n"
	c, err := ical.NewDecoder(strings.NewReader(s)).Decode()
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, s)
	}
	return c
}

// comp builds one component with a UID and DTSTAMP.
func comp(name string, lines ...string) string {
	s := "BEGIN:" + name + "\r\nUID:uid-1\r\nDTSTAMP:20240101T000000Z\r\n"
	for _, l := range lines {
		s += l + "\r\n"
	}
	return s + "END:" + name + "\r\n"
}

func event(lines ...string) string { return comp("VEVENT", lines...) }

// ts parses a UTC basic-format time; "" is the zero time (an open end).
func ts(t testing.TB, s string) time.Time {
	t.Helper()
	if s == "" {
		return time.Time{}
	}
	v, err := time.Parse("20060102T150405Z", s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func tr(t testing.TB, start, end string) *TimeRange {
	return &TimeRange{Start: ts(t, start), End: ts(t, end)}
}

// inRange builds VCALENDAR > name with a time-range.
func inRange(name string, r *TimeRange) CompFilter {
	return CompFilter{Name: "VCALENDAR", Comps: []CompFilter{{Name: name, TimeRange: r}}}
}

func mustMatch(t testing.TB, c *ical.Calendar, f CompFilter, opts ...Option) bool {
	t.Helper()
	ok, err := Match(c, f, opts...)
	if err != nil {
		t.Fatalf("Match: %v", err)
	}
	// The prepared path must agree with the one-off path.
	p, err := Prepare(c, opts...)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	ok2, err := p.Match(f)
	if err != nil || ok2 != ok {
		t.Fatalf("Prepared.Match = %v, %v; Match = %v", ok2, err, ok)
	}
	return ok
}
