package ics

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/davgate/davgate/adapters"
)

// bigFeed generates a feed of n events: a tenth weekly series with an
// override and EXDATEs, the rest single events with descriptions and
// alarms, in Europe/Berlin, like a large exported work calendar.
func bigFeed(n int) string {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nX-WR-CALNAME:Bench\r\n")
	b.WriteString(strings.ReplaceAll(tzBerlin, "\n", "\r\n"))
	desc := strings.Repeat("Agenda item with some words\\, notes and a link https://example.org/x. ", 6)
	for i := range n {
		day := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i%700) * 24 * time.Hour)
		start := day.Format("20060102T150405")
		if i%10 == 0 {
			fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:series-%d@bench.example.org\r\nDTSTAMP:20260101T000000Z\r\n"+
				"DTSTART;TZID=Europe/Berlin:%s\r\nDTEND;TZID=Europe/Berlin:%s\r\nRRULE:FREQ=WEEKLY;UNTIL=20271231T000000Z\r\n"+
				"EXDATE;TZID=Europe/Berlin:%s,%s\r\nSUMMARY:Series %d\r\nDESCRIPTION:%s\r\nEND:VEVENT\r\n",
				i, start, day.Add(time.Hour).Format("20060102T150405"),
				day.Add(7*24*time.Hour).Format("20060102T150405"), day.Add(14*24*time.Hour).Format("20060102T150405"), i, desc)
			fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:series-%d@bench.example.org\r\nDTSTAMP:20260101T000000Z\r\n"+
				"RECURRENCE-ID;TZID=Europe/Berlin:%s\r\nDTSTART;TZID=Europe/Berlin:%s\r\nDTEND;TZID=Europe/Berlin:%s\r\n"+
				"SUMMARY:Series %d (moved)\r\nEND:VEVENT\r\n",
				i, day.Add(21*24*time.Hour).Format("20060102T150405"), day.Add(21*24*time.Hour+2*time.Hour).Format("20060102T150405"),
				day.Add(21*24*time.Hour+3*time.Hour).Format("20060102T150405"), i)
			continue
		}
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:event-%d@bench.example.org\r\nDTSTAMP:20260101T000000Z\r\n"+
			"LAST-MODIFIED:20260101T000000Z\r\nDTSTART;TZID=Europe/Berlin:%s\r\nDTEND;TZID=Europe/Berlin:%s\r\n"+
			"SUMMARY:Meeting %d\r\nLOCATION:Room %d\r\nDESCRIPTION:%s\r\nORGANIZER;CN=Someone:mailto:someone@example.org\r\n"+
			"ATTENDEE;CN=Other;PARTSTAT=ACCEPTED:mailto:other@example.org\r\n"+
			"BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT\r\n",
			i, start, day.Add(time.Hour).Format("20060102T150405"), i, i%40, desc)
	}
	b.WriteString("END:VCALENDAR\r\n")
	return b.String()
}

// BenchmarkRefresh10k measures one full refresh of a 10,000-event feed:
// fetch over HTTP, clean, split, decode, normalise, encode and index.
func BenchmarkRefresh10k(b *testing.B) {
	body := bigFeed(10000)
	srv := newFeedServer(b, body)
	srv.noCond = true
	b.SetBytes(int64(len(body)))
	b.ReportMetric(float64(len(body)), "feed-bytes")
	var heapRatio float64
	for b.Loop() {
		b.StopTimer()
		c := newClock()
		a := NewWith(Options{URL: srv.URL, AllowPrivate: true}, testEnv(c, nil))
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		objs, err := a.Objects(b.Context(), "", adapters.Query{})
		b.StopTimer()
		if err != nil || len(objs) != 10000 {
			b.Fatalf("%d objects, %v", len(objs), err)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		heapRatio = float64(after.HeapAlloc-before.HeapAlloc) / float64(len(body))
		runtime.KeepAlive(a)
		b.StartTimer()
	}
	b.ReportMetric(heapRatio, "heap/feed")
}
