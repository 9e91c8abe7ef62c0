package ews

import (
	"strings"
	"testing"
	"time"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/ews/api"
	"github.com/davgate/davgate/adapters/ews/ewstest"
)

// seriesICS is a weekly series of six Mondays at 10:00 UTC whose second
// instance is moved to 15:00; master, override and EXDATE are filled in.
func seriesICS(summary, exdate, override string) string {
	s := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//client//EN\r\nBEGIN:VEVENT\r\nUID:series@example.com\r\n" +
		"DTSTAMP:20260101T000000Z\r\nDTSTART:20260302T100000Z\r\nDTEND:20260302T110000Z\r\nRRULE:FREQ=WEEKLY;COUNT=6\r\n"
	if exdate != "" {
		s += "EXDATE:" + exdate + "\r\n"
	}
	s += "SUMMARY:" + summary + "\r\nEND:VEVENT\r\n"
	if override != "" {
		s += "BEGIN:VEVENT\r\nUID:series@example.com\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:20260309T100000Z\r\n" +
			override + "END:VEVENT\r\n"
	}
	return s + "END:VCALENDAR\r\n"
}

func TestPutSeriesWritesOccurrences(t *testing.T) {
	srv := ewstest.New()
	defer srv.Close()
	a := newTestAdapter(t, testOptions(srv.URL()))
	ctx := t.Context()
	const id = "series-href"
	created := seriesICS("Team sync", "", "DTSTART:20260309T150000Z\r\nDTEND:20260309T160000Z\r\nSUMMARY:Team sync moved\r\n")
	put, err := a.Put(ctx, PrimaryCalendar, adapters.Object{ID: id, Raw: []byte(created)}, adapters.Cond{IfAbsent: true})
	if err != nil {
		t.Fatal(err)
	}
	refs, _ := srv.Primary().Items("calendar")
	if len(refs) != 1 {
		t.Fatalf("%d items", len(refs))
	}

	// Edit the master and the moved instance, delete the fourth one.
	srv.ResetCalls()
	edited := seriesICS("Team sync (edited)", "20260323T100000Z",
		"DTSTART:20260309T160000Z\r\nDTEND:20260309T170000Z\r\nSUMMARY:Team sync moved (edited)\r\nLOCATION:Room 2\r\n")
	put2, err := a.Put(ctx, PrimaryCalendar, adapters.Object{ID: id, Raw: []byte(edited)}, adapters.Cond{IfVersion: put.Version})
	if err != nil {
		t.Fatal(err)
	}
	calls := srv.Calls()
	// GetItem master, UpdateItem master, GetItem occurrences, DeleteItem,
	// UpdateItem occurrences, GetItem master, UpdateItem fingerprint.
	if calls["GetItem"] != 3 || calls["UpdateItem"] != 3 || calls["DeleteItem"] != 1 || len(calls) != 3 {
		t.Errorf("SOAP calls %v, want GetItem 3, UpdateItem 3, DeleteItem 1", calls)
	}
	ics, _ := srv.Primary().ItemICS(refs[0].ID)
	u := strings.ReplaceAll(ics, "\r\n ", "")
	for _, want := range []string{"SUMMARY:Team sync (edited)", "EXDATE:20260323T100000Z", "SUMMARY:Team sync moved (edited)",
		"DTSTART:20260309T160000Z", "DTEND:20260309T170000Z", "LOCATION:Room 2"} {
		if !strings.Contains(u, want) {
			t.Errorf("the fake lacks %q:\n%s", want, ics)
		}
	}

	// Exchange's own view: one modified occurrence at its new times, one
	// deleted occurrence.
	items, err := a.getItems(ctx, []string{refs[0].ID}, false)
	if err != nil || items[0] == nil {
		t.Fatal(err)
	}
	it := items[0]
	if m := it.Modified(); len(m) != 1 || !sameTimeStr(m[0].Start, "2026-03-09T16:00:00Z") || !sameTimeStr(m[0].OriginalStart, "2026-03-09T10:00:00Z") {
		t.Errorf("ModifiedOccurrences %+v", m)
	}
	if d := it.Deleted(); len(d) != 1 || !sameTimeStr(d[0].Start, "2026-03-23T10:00:00Z") {
		t.Errorf("DeletedOccurrences %+v", d)
	}

	// The client's iCalendar is still served (fingerprint taken after the
	// occurrence writes), under the version Put returned.
	got, err := a.Object(ctx, PrimaryCalendar, id)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := got.Encode(); string(b) != edited {
		t.Errorf("GET differs from PUT:\n%s", b)
	}
	if got.Version != put2.Version {
		t.Errorf("version %q after put, %q on read", put2.Version, got.Version)
	}

	// The same PUT again touches no occurrence.
	srv.ResetCalls()
	if _, err := a.Put(ctx, PrimaryCalendar, adapters.Object{ID: id, Raw: []byte(edited)}, adapters.Cond{IfVersion: put2.Version}); err != nil {
		t.Fatal(err)
	}
	if calls := srv.Calls(); calls["GetItem"] != 2 || calls["UpdateItem"] != 2 || len(calls) != 2 {
		t.Errorf("unchanged series: SOAP calls %v, want GetItem 2, UpdateItem 2", calls)
	}

	// Dropping the override without an EXDATE leaves Exchange's exception.
	plain := seriesICS("Team sync (edited)", "20260323T100000Z", "")
	if _, err := a.Put(ctx, PrimaryCalendar, adapters.Object{ID: id, Raw: []byte(plain)}, adapters.Cond{}); err != nil {
		t.Fatal(err)
	}
	if ics, _ := srv.Primary().ItemICS(refs[0].ID); !strings.Contains(ics, "RECURRENCE-ID") {
		t.Errorf("the exception is gone:\n%s", ics)
	}
}

func sameTimeStr(a, b string) bool {
	ta, err1 := api.ParseTime(a)
	tb, err2 := api.ParseTime(b)
	return err1 == nil && err2 == nil && ta.Equal(tb)
}

func TestPlanOccurrences(t *testing.T) {
	const ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//client//EN\r\nBEGIN:VEVENT\r\nUID:tz@example.com\r\nDTSTAMP:20260101T000000Z\r\n" +
		"DTSTART;TZID=Europe/Berlin:20260302T100000\r\nDTEND;TZID=Europe/Berlin:20260302T110000\r\nRRULE:FREQ=WEEKLY;BYDAY=MO\r\n" +
		"EXDATE;TZID=Europe/Berlin:20260316T100000,20260330T100000\r\nEXDATE;TZID=Europe/Berlin:20260303T100000\r\nSUMMARY:S\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:tz@example.com\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin:20260309T100000\r\n" +
		"DTSTART;TZID=Europe/Berlin:20260309T150000\r\nDTEND;TZID=Europe/Berlin:20260309T160000\r\nSUMMARY:moved\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	obj := adapters.Object{Raw: []byte(ics)}
	cal, err := obj.Calendar()
	if err != nil {
		t.Fatal(err)
	}
	// Exchange already deleted 16 March; 3 March (a Tuesday) is no instance.
	cur := &api.CalendarItem{DeletedOccurrences: &api.DeletedOccurrences{List: []api.DeletedOccurrence{{Start: "2026-03-16T09:00:00Z"}}}}
	plan, err := planOccurrences(cal, nil, cur)
	if err != nil {
		t.Fatal(err)
	}
	// 30 March is the fifth Monday, 10:00 CEST = 08:00Z after the switch.
	if len(plan.deletes) != 1 || plan.deletes[0].index != 5 || !plan.deletes[0].recID.Equal(mustTime(t, "2026-03-30T08:00:00Z")) {
		t.Errorf("deletes %+v", plan.deletes)
	}
	if len(plan.edits) != 1 || plan.edits[0].index != 2 || plan.edits[0].fields.Subject != "moved" ||
		!plan.edits[0].fields.Start.Equal(mustTime(t, "2026-03-09T14:00:00Z")) {
		t.Errorf("edits %+v", plan.edits)
	}
	// Unchanged against the stored iCalendar and Exchange: nothing to edit.
	cur.ModifiedOccurrences = &api.Occurrences{List: []api.OccurrenceInfo{{Start: "2026-03-09T14:00:00Z", End: "2026-03-09T15:00:00Z", OriginalStart: "2026-03-09T09:00:00Z"}}}
	if plan, err = planOccurrences(cal, cal, cur); err != nil || len(plan.edits) != 0 || len(plan.deletes) != 1 {
		t.Errorf("unchanged override: %+v %v", plan, err)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := api.ParseTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
