package filter

import (
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

// benchObjects builds n objects: 80% single events spread over two years,
// 20% weekly series with two overrides.
func benchObjects(b *testing.B, n int) []*ical.Calendar {
	base := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)
	cals := make([]*ical.Calendar, n)
	for i := range cals {
		start := base.Add(time.Duration(i*7919%(2*365*24)) * time.Hour)
		s := start.Format("20060102T150405Z")
		if i%5 != 0 {
			cals[i] = calendar(b, event("DTSTART:"+s, "DURATION:PT1H", fmt.Sprintf("SUMMARY:event %d", i)))
			continue
		}
		rid1 := start.AddDate(0, 0, 7).Format("20060102T150405Z")
		rid2 := start.AddDate(0, 0, 70).Format("20060102T150405Z")
		cals[i] = calendar(b,
			event("DTSTART;TZID=Europe/Berlin:"+start.Format("20060102T150405"), "DTEND;TZID=Europe/Berlin:"+start.Add(time.Hour).Format("20060102T150405"), "RRULE:FREQ=WEEKLY;COUNT=52"),
			event("RECURRENCE-ID:"+rid1, "DTSTART:"+start.AddDate(0, 0, 8).Format("20060102T150405Z"), "DURATION:PT1H"),
			event("RECURRENCE-ID:"+rid2, "DTSTART:"+start.AddDate(0, 0, 71).Format("20060102T150405Z"), "DURATION:PT1H"),
		)
	}
	return cals
}

// BenchmarkMatch is one calendar-query (a one-month VEVENT time-range)
// over 10,000 prepared objects; ns/op is the whole query.
func BenchmarkMatch(b *testing.B) {
	cals := benchObjects(b, 10_000)
	prepared := make([]*Prepared, len(cals))
	for i, c := range cals {
		p, err := Prepare(c)
		if err != nil {
			b.Fatal(err)
		}
		prepared[i] = p
	}
	f := inRange("VEVENT", &TimeRange{time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)})
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for _, p := range prepared {
			if ok, _ := p.Match(f); ok {
				n++
			}
		}
		if n == 0 {
			b.Fatal("nothing matched")
		}
	}
}

// BenchmarkMatchUnprepared is the same query parsing every object.
func BenchmarkMatchUnprepared(b *testing.B) {
	cals := benchObjects(b, 10_000)
	f := inRange("VEVENT", &TimeRange{time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)})
	b.ResetTimer()
	for b.Loop() {
		for _, c := range cals {
			_, _ = Match(c, f)
		}
	}
}
