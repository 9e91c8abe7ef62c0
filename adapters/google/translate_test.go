package google

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters/adaptertest"
	"github.com/davgate/davgate/adapters/google/api"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/translate")

// golden compares got with testdata/translate/<name>, or rewrites it.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "translate", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from golden (run go test -update and review):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

func encodeCal(t *testing.T, cal *ical.Calendar) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		t.Fatalf("encode: %v", err)
	}
	return buf.Bytes()
}

// TestTranslateCalendarGolden renders each events.list page in
// testdata/translate/*.json (calendar cases have "items") as one
// VCALENDAR per series, and checks that translating the output back to
// Google events and rendering again is lossless.
func TestTranslateCalendarGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "translate", "*.json"))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if strings.HasPrefix(name, "people-") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var page api.EventsPage
			if err := json.Unmarshal(raw, &page); err != nil {
				t.Fatal(err)
			}
			info := CalendarInfo{TimeZone: page.TimeZone, DefaultReminders: page.DefaultReminders}
			groups := GroupSeries(page.Items)
			keys := make([]string, 0, len(groups))
			for k := range groups {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var out bytes.Buffer
			for _, k := range keys {
				s := *groups[k]
				cal, err := SeriesToCalendar(s, info)
				if err != nil {
					t.Fatalf("SeriesToCalendar(%q): %v", k, err)
				}
				out.WriteString("# object " + s.ID + " version " + s.Version() + "\r\n")
				out.Write(encodeCal(t, cal))

				// Back to Google and out again: nothing may change.
				back, err := CalendarToSeries(cal, s.ID, info)
				if err != nil {
					t.Fatalf("CalendarToSeries(%q): %v", k, err)
				}
				simulateStore(&back, s)
				again, err := SeriesToCalendar(back, info)
				if err != nil {
					t.Fatalf("SeriesToCalendar(round trip %q): %v", k, err)
				}
				if d := adaptertest.DiffCalendar(cal, again); d != "" {
					t.Errorf("round trip of %q changed the object:\n%s", k, d)
				}
			}
			golden(t, name+".ics", out.Bytes())
		})
	}
}

// simulateStore does to written events what Google does on an update:
// Google-owned fields (conference data, event type, sequence bumps) stay
// as they were, and overrides keep their instance ids.
func simulateStore(s *Series, orig Series) {
	if m, o := s.Master, orig.Master; m != nil && o != nil {
		m.ConferenceData, m.HangoutLink, m.EventType, m.Etag = o.ConferenceData, o.HangoutLink, o.EventType, o.Etag
	}
	for i, o := range s.Overrides {
		o.Id = fmt.Sprintf("%s_%d", o.RecurringEventId, i)
	}
}

// TestCalendarToSeries checks the write-side mapping of fields that the
// golden round trip cannot see on its own.
func TestCalendarToSeries(t *testing.T) {
	text := strings.ReplaceAll(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:w@example.com
DTSTAMP:20240101T000000Z
DTSTART;VALUE=DATE:20240310
SUMMARY:No end
TRANSP:OPAQUE
STATUS:CONFIRMED
CATEGORIES:A,B
X-FOO;X-P=1:bar
BEGIN:VALARM
ACTION:DISPLAY
TRIGGER:PT0S
DESCRIPTION:x
END:VALARM
END:VEVENT
END:VCALENDAR
`, "\n", "\r\n")
	cal, err := ical.NewDecoder(strings.NewReader(text)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	s, err := CalendarToSeries(cal, "a/b c", CalendarInfo{TimeZone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	m := s.Master
	if m.Id != EventID("a/b c") || !validEventID(m.Id) {
		t.Errorf("Id = %q", m.Id)
	}
	if got := m.ExtendedProperties.Private[api.PropID]; got != "a/b c" {
		t.Errorf("stored ID = %q", got)
	}
	if m.End.Date != "2024-03-11" {
		t.Errorf("End = %+v, want next day", m.End)
	}
	if m.Transparency != "opaque" || m.Status != "confirmed" {
		t.Errorf("transparency %q status %q", m.Transparency, m.Status)
	}
	if m.Reminders.UseDefault || len(m.Reminders.Overrides) != 1 || m.Reminders.Overrides[0].Minutes != 0 {
		t.Errorf("reminders = %+v", m.Reminders)
	}
	body, _ := json.Marshal(m)
	for _, want := range []string{`"useDefault":false`, `"minutes":0`, `CATEGORIES:A,B`, `X-FOO;X-P=1:bar`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("JSON lacks %s: %s", want, body)
		}
	}
}

func TestEventID(t *testing.T) {
	for _, id := range []string{"abcde", "user@example.com", "a/b+c%20d", strings.Repeat("long-uid-", 120)} {
		eid := EventID(id)
		if !validEventID(eid) {
			t.Errorf("EventID(%q) = %q is not a valid Google id", id, eid)
		}
		if EventID(id) != eid {
			t.Errorf("EventID(%q) not deterministic", id)
		}
		if len(eid) <= maxEventID && strings.HasPrefix(eid, encPrefix) {
			if got := objectIDOf(nil, eid); got != id {
				t.Errorf("objectIDOf(%q) = %q, want %q", eid, got, id)
			}
		}
	}
	if EventID("abcde") != "abcde" {
		t.Errorf("valid Google id changed")
	}
	m := map[string]string{}
	long := strings.Repeat("ü", 1500)
	setChunked(m, "k", long)
	if len(m) < 3 || getChunked(m, "k") != long {
		t.Errorf("chunking lost data: %d chunks", len(m))
	}
}
