package google

import (
	"strings"
	"testing"

	"github.com/emersion/go-ical"
	calendar "google.golang.org/api/calendar/v3"
	people "google.golang.org/api/people/v1"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/adaptertest"
)

func decodeCal(t *testing.T, text string) *ical.Calendar {
	t.Helper()
	cal, err := ical.NewDecoder(strings.NewReader(strings.ReplaceAll(text, "\n", "\r\n"))).Decode()
	if err != nil {
		t.Fatal(err)
	}
	return cal
}

const seriesHead = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//t//EN
BEGIN:VEVENT
UID:series@example.com
DTSTAMP:20240101T000000Z
DTSTART;TZID=Europe/Berlin:20240101T090000
DTEND;TZID=Europe/Berlin:20240101T093000
RRULE:FREQ=WEEKLY;COUNT=6
`

// TestSeriesWrites PUTs a series with a moved instance, then edits the
// override, then replaces it by an EXDATE, reading back each time.
func TestSeriesWrites(t *testing.T) {
	h := newTestHarness(t)
	defer h.Close()
	coll := seedN(t, h, 1)
	a := h.adapter(t)
	ctx := t.Context()
	steps := []string{
		seriesHead + `SUMMARY:Weekly
END:VEVENT
BEGIN:VEVENT
UID:series@example.com
DTSTAMP:20240101T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20240115T090000
DTSTART;TZID=Europe/Berlin:20240115T110000
DTEND;TZID=Europe/Berlin:20240115T113000
SUMMARY:Weekly (moved)
END:VEVENT
END:VCALENDAR
`,
		seriesHead + `SUMMARY:Weekly
END:VEVENT
BEGIN:VEVENT
UID:series@example.com
DTSTAMP:20240101T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20240115T090000
DTSTART;TZID=Europe/Berlin:20240115T110000
DTEND;TZID=Europe/Berlin:20240115T113000
SUMMARY:Weekly (moved and edited)
END:VEVENT
END:VCALENDAR
`,
		seriesHead + `SUMMARY:Weekly
EXDATE;TZID=Europe/Berlin:20240115T090000
END:VEVENT
END:VCALENDAR
`,
	}
	version := ""
	for i, text := range steps {
		want := decodeCal(t, text)
		c := adapters.Cond{IfAbsent: i == 0, IfVersion: version}
		put, err := a.Put(ctx, coll, adapters.Object{ID: "series.ics", Data: want}, c)
		if err != nil {
			t.Fatalf("step %d: Put: %v", i, err)
		}
		got, err := a.Object(ctx, coll, "series.ics")
		if err != nil {
			t.Fatalf("step %d: Object: %v", i, err)
		}
		if d := adaptertest.DiffCalendar(want, got.Data); d != "" {
			t.Errorf("step %d: read back differs:\n%s", i, d)
		}
		if got.Version != put.Version || got.Version == version {
			t.Errorf("step %d: Version %q, Put said %q, before %q", i, got.Version, put.Version, version)
		}
		version = got.Version
	}
	// The instance is cancelled upstream, not only hidden by the EXDATE.
	var cancelled bool
	for _, e := range h.srv.Events(coll) {
		if e.RecurringEventId != "" && e.Status == "cancelled" {
			cancelled = true
		}
	}
	if !cancelled {
		t.Errorf("no cancelled instance upstream after the EXDATE replaced the override")
	}
}

// TestPreconditionUpstream: a Google-side edit between the client's read
// and its write makes the write fail with ErrPrecondition.
func TestPreconditionUpstream(t *testing.T) {
	h := newTestHarness(t)
	defer h.Close()
	coll := seedN(t, h, 1)
	a := h.adapter(t)
	ctx := t.Context()
	objs, err := a.Objects(ctx, coll, adapters.Query{})
	if err != nil {
		t.Fatal(err)
	}
	o := objs[0]
	h.srv.UpdateEvent(coll, EventID(o.ID), func(e *calendar.Event) { e.Summary = "edited on Google" })
	_, err = a.Put(ctx, coll, adapters.Object{ID: o.ID, Data: simpleCal(o.ID, "mine")}, adapters.Cond{IfVersion: o.Version})
	if !errorsIs(err, adapters.ErrPrecondition) {
		t.Errorf("Put with stale version = %v, want ErrPrecondition", err)
	}
}

// TestContactMerge: when Google merges contacts, the survivor keeps the
// ID (href) of a contact the client knew, and the other disappears.
func TestContactMerge(t *testing.T) {
	h := newTestHarness(t)
	defer h.Close()
	a := h.adapter(t)
	ctx := t.Context()
	rn1 := h.srv.AddContact(&people.Person{Names: []*people.Name{{GivenName: "Ada", FamilyName: "Lovelace"}}})
	rn2 := h.srv.AddContact(&people.Person{EmailAddresses: []*people.EmailAddress{{Value: "ada@example.com"}}})
	all, err := a.Changes(ctx, ContactsCollection, "")
	if err != nil || len(all.Updated) != 2 {
		t.Fatalf("Changes = %d, %v", len(all.Updated), err)
	}
	id1 := strings.TrimPrefix(rn1, "people/")
	h.srv.MergeContacts(rn1, rn2)
	ch, err := a.Changes(ctx, ContactsCollection, all.Token)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Updated) != 1 || ch.Updated[0].ID != id1 {
		t.Errorf("Updated after merge = %v, want %q kept", ids(ch.Updated), id1)
	}
	if len(ch.Deleted) != 1 || ch.Deleted[0] != strings.TrimPrefix(rn2, "people/") {
		t.Errorf("Deleted after merge = %q", ch.Deleted)
	}
	if got := ch.Updated[0].Card.Value("EMAIL"); got != "ada@example.com" {
		t.Errorf("merged card EMAIL = %q", got)
	}
}

func ids(objs []adapters.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.ID)
	}
	return out
}
