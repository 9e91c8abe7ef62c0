package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"
)

// The query window used by every client: March 2026 (UTC). The feed's
// weekly series starts in January, so only its expansion puts it here.
var (
	windowStart = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	windowEnd   = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
)

// changedUID is the feed event the tests edit after the first sync.
const changedUID = "e2e-product-launch"

// loadFeed parses testdata/e2e/feed.ics.
func loadFeed(t *testing.T) *ical.Calendar {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "testdata", "e2e", "feed.ics"))
	if err != nil {
		t.Fatal(err)
	}
	return decodeCal(t, data)
}

func decodeCal(t *testing.T, data []byte) *ical.Calendar {
	t.Helper()
	cal, err := ical.NewDecoder(bytes.NewReader(data)).Decode()
	if err != nil {
		t.Fatalf("decode calendar: %v", err)
	}
	return cal
}

func encodeCal(t *testing.T, cal *ical.Calendar) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		t.Fatalf("encode calendar: %v", err)
	}
	return buf.Bytes()
}

// withSummary returns a copy of cal where event uid has a new SUMMARY and a
// bumped SEQUENCE.
func withSummary(t *testing.T, cal *ical.Calendar, uid, summary string) *ical.Calendar {
	t.Helper()
	out := decodeCal(t, encodeCal(t, cal))
	for _, ev := range out.Events() {
		if u, _ := ev.Props.Text(ical.PropUID); u == uid {
			ev.Props.SetText(ical.PropSummary, summary)
			seq := ical.NewProp(ical.PropSequence)
			seq.Value = "1"
			ev.Props.Set(seq)
			return out
		}
	}
	t.Fatalf("feed has no event %q", uid)
	return nil
}

// uids lists the calendar's event UIDs, sorted.
func uids(cal *ical.Calendar) []string {
	var out []string
	for _, ev := range cal.Events() {
		u, _ := ev.Props.Text(ical.PropUID)
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// occurrence is one instance of an event.
type occurrence struct {
	UID, Summary string
	Start, End   time.Time
	AllDay       bool
}

// occurrences expands cal's events (RRULE only; the fixture uses nothing
// else) and returns the instances overlapping [from, to), sorted by start.
func occurrences(t *testing.T, cal *ical.Calendar, from, to time.Time) []occurrence {
	t.Helper()
	var out []occurrence
	for _, ev := range cal.Events() {
		uid, _ := ev.Props.Text(ical.PropUID)
		summary, _ := ev.Props.Text(ical.PropSummary)
		start, err := ev.DateTimeStart(time.UTC)
		if err != nil {
			t.Fatalf("%s: DTSTART: %v", uid, err)
		}
		end, err := ev.DateTimeEnd(time.UTC)
		if err != nil {
			t.Fatalf("%s: DTEND: %v", uid, err)
		}
		allDay := ev.Props.Get(ical.PropDateTimeStart).ValueType() == ical.ValueDate
		dur := end.Sub(start)
		starts := []time.Time{start}
		if p := ev.Props.Get(ical.PropRecurrenceRule); p != nil {
			opt, err := rrule.StrToROption(p.Value)
			if err != nil {
				t.Fatalf("%s: RRULE: %v", uid, err)
			}
			opt.Dtstart = start
			rr, err := rrule.NewRRule(*opt)
			if err != nil {
				t.Fatalf("%s: RRULE: %v", uid, err)
			}
			starts = rr.Between(from.Add(-dur), to, false)
		}
		for _, s := range starts {
			if s.Before(to) && s.Add(dur).After(from) {
				out = append(out, occurrence{UID: uid, Summary: summary, Start: s, End: s.Add(dur), AllDay: allDay})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].UID < out[j].UID
	})
	return out
}

// uidsIn lists the distinct UIDs with an instance in [from, to), sorted.
func uidsIn(t *testing.T, cal *ical.Calendar, from, to time.Time) []string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	for _, o := range occurrences(t, cal, from, to) {
		if !seen[o.UID] {
			seen[o.UID] = true
			out = append(out, o.UID)
		}
	}
	sort.Strings(out)
	return out
}

// TestFixtureShape guards the assumptions the client tests make about
// feed.ics: a weekly series that starts before the window and recurs in it,
// events outside the window, and the event the tests change.
func TestFixtureShape(t *testing.T) {
	cal := loadFeed(t)
	in := uidsIn(t, cal, windowStart, windowEnd)
	all := uids(cal)
	if len(in) == 0 || len(in) == len(all) {
		t.Fatalf("window holds %v of %v: want some but not all events", in, all)
	}
	var series bool
	for _, ev := range cal.Events() {
		start, _ := ev.DateTimeStart(time.UTC)
		uid, _ := ev.Props.Text(ical.PropUID)
		if ev.Props.Get(ical.PropRecurrenceRule) != nil && start.Before(windowStart) && contains(in, uid) {
			series = true
		}
	}
	if !series {
		t.Error("no recurring event that starts before the window and recurs inside it")
	}
	if !contains(in, changedUID) {
		t.Errorf("changed event %q is not in the window %v", changedUID, in)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// recurringUID is the feed's recurring event that starts before the window.
func recurringUID(t *testing.T, cal *ical.Calendar) string {
	t.Helper()
	for _, ev := range cal.Events() {
		start, _ := ev.DateTimeStart(time.UTC)
		if ev.Props.Get(ical.PropRecurrenceRule) != nil && start.Before(windowStart) {
			u, _ := ev.Props.Text(ical.PropUID)
			return u
		}
	}
	t.Fatal("feed has no recurring event starting before the window")
	return ""
}
