package googletest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/api/calendar/v3"
)

func TestCalendarListPagingAndCalendars(t *testing.T) {
	s := newServer(t)
	svc := calSvc(t, s)
	for i := range 4 {
		s.AddCalendar(&calendar.CalendarListEntry{Summary: fmt.Sprintf("cal %d", i), AccessRole: "reader"})
	}
	created := must[*calendar.Calendar](t)(svc.Calendars.Insert(&calendar.Calendar{Summary: "new", TimeZone: "Europe/Berlin"}).Do())
	if !strings.HasSuffix(created.Id, "@group.calendar.google.com") {
		t.Errorf("id = %q", created.Id)
	}

	var got []*calendar.CalendarListEntry
	pages := 0
	for tok := ""; ; {
		res := must[*calendar.CalendarList](t)(svc.CalendarList.List().MaxResults(2).PageToken(tok).Do())
		pages++
		got = append(got, res.Items...)
		if res.NextPageToken == "" {
			if res.NextSyncToken == "" {
				t.Error("no nextSyncToken on last page")
			}
			break
		}
		if res.NextSyncToken != "" {
			t.Error("nextSyncToken before the last page")
		}
		tok = res.NextPageToken
	}
	if len(got) != 6 || pages != 3 {
		t.Fatalf("got %d entries in %d pages, want 6 in 3", len(got), pages)
	}
	if !got[0].Primary || got[0].AccessRole != "owner" || got[0].Id != DefaultUser {
		t.Errorf("first entry = %+v, want the primary calendar", got[0])
	}
	if e := got[5]; e.Id != created.Id || e.AccessRole != "owner" || e.TimeZone != "Europe/Berlin" {
		t.Errorf("inserted entry = %+v", e)
	}

	// minAccessRole filters; patch and delete need owner.
	owned := must[*calendar.CalendarList](t)(svc.CalendarList.List().MinAccessRole("owner").Do())
	if len(owned.Items) != 2 {
		t.Errorf("owner entries = %d, want 2", len(owned.Items))
	}
	_, err := svc.Calendars.Patch(got[1].Id, &calendar.Calendar{Summary: "x"}).Do()
	gerr(t, err, 403, "forbidden")
	p := must[*calendar.Calendar](t)(svc.Calendars.Patch(created.Id, &calendar.Calendar{Description: "d"}).Do())
	if p.Summary != "new" || p.Description != "d" || p.Etag == created.Etag {
		t.Errorf("patched = %+v (old etag %s)", p, created.Etag)
	}
	if err := svc.Calendars.Delete(created.Id).Do(); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Calendars.Get(created.Id).Do()
	gerr(t, err, 404, "notFound")
	err = svc.Calendars.Delete("primary").Do()
	gerr(t, err, 400, "")
}

func TestEventsPagingAndSync(t *testing.T) {
	s := newServer(t)
	svc := calSvc(t, s)
	for i := range 5 {
		st, en := timed(fmt.Sprintf("2026-03-%02dT10:00:00Z", i+1), 60)
		must[*calendar.Event](t)(svc.Events.Insert("primary", &calendar.Event{Summary: fmt.Sprint(i), Start: st, End: en}).Do())
	}
	full := func(call func() *calendar.EventsListCall) ([]*calendar.Event, string, int) {
		var all []*calendar.Event
		pages := 0
		for tok := ""; ; {
			res := must[*calendar.Events](t)(call().PageToken(tok).Do())
			pages++
			all = append(all, res.Items...)
			if res.NextPageToken == "" {
				return all, res.NextSyncToken, pages
			}
			if res.NextSyncToken != "" {
				t.Fatal("nextSyncToken on a page that is not the last")
			}
			tok = res.NextPageToken
		}
	}
	evs, sync1, pages := full(func() *calendar.EventsListCall { return svc.Events.List("primary").MaxResults(2) })
	if len(evs) != 5 || pages != 3 || sync1 == "" {
		t.Fatalf("full sync: %d events, %d pages, token %q", len(evs), pages, sync1)
	}

	// Google-side changes, then one of ours; a delete leaves a tombstone.
	s.UpdateEvent("primary", evs[0].Id, func(e *calendar.Event) { e.Summary = "changed" })
	if err := svc.Events.Delete("primary", evs[1].Id).Do(); err != nil {
		t.Fatal(err)
	}
	added := s.PutEvent("primary", &calendar.Event{Summary: "remote", Start: evs[2].Start, End: evs[2].End})

	delta, sync2, _ := full(func() *calendar.EventsListCall { return svc.Events.List("primary").SyncToken(sync1).MaxResults(2) })
	want := []string{evs[0].Id, evs[1].Id, added.Id}
	if !slices.Equal(ids(delta), want) {
		t.Fatalf("delta = %v, want %v", ids(delta), want)
	}
	if delta[1].Status != "cancelled" || delta[0].Summary != "changed" {
		t.Errorf("delta statuses: %+v %+v", delta[0], delta[1])
	}
	empty, sync3, _ := full(func() *calendar.EventsListCall { return svc.Events.List("primary").SyncToken(sync2) })
	if len(empty) != 0 || sync3 == "" {
		t.Errorf("no-change delta = %v, token %q", ids(empty), sync3)
	}

	// Deleted events are hidden from a full list unless showDeleted, and
	// get still serves them, cancelled; deleting again answers 410.
	live, _, _ := full(func() *calendar.EventsListCall { return svc.Events.List("primary") })
	withDeleted, _, _ := full(func() *calendar.EventsListCall { return svc.Events.List("primary").ShowDeleted(true) })
	if len(live) != 5 || len(withDeleted) != 6 {
		t.Errorf("live %d, with deleted %d; want 5, 6", len(live), len(withDeleted))
	}
	got := must[*calendar.Event](t)(svc.Events.Get("primary", evs[1].Id).Do())
	if got.Status != "cancelled" {
		t.Errorf("get deleted: status %q", got.Status)
	}
	gerr(t, svc.Events.Delete("primary", evs[1].Id).Do(), 410, "deleted")

	// Forbidden parameters, garbage tokens, invalidation and age.
	_, err := svc.Events.List("primary").SyncToken(sync3).TimeMin("2026-01-01T00:00:00Z").Do()
	gerr(t, err, 400, "invalid")
	_, err = svc.Events.List("primary").SyncToken("garbage").Do()
	gerr(t, err, 400, "invalid")
	s.InvalidateSyncTokens()
	_, err = svc.Events.List("primary").SyncToken(sync3).Do()
	gerr(t, err, 410, "fullSyncRequired")

	clk := newClock()
	s2 := newServer(t, WithClock(clk.Now), WithCalendarSyncTokenTTL(time.Hour), WithAccessTokenTTL(24*time.Hour))
	svc2 := calSvc(t, s2)
	tok := must[*calendar.Events](t)(svc2.Events.List("primary").Do()).NextSyncToken
	clk.Add(30 * time.Minute)
	must[*calendar.Events](t)(svc2.Events.List("primary").SyncToken(tok).Do())
	clk.Add(31 * time.Minute)
	_, err = svc2.Events.List("primary").SyncToken(tok).Do()
	gerr(t, err, 410, "fullSyncRequired")
}

func TestEventsTimeRange(t *testing.T) {
	s := newServer(t)
	svc := calSvc(t, s)
	a := s.PutEvent("primary", &calendar.Event{Summary: "a", Start: &calendar.EventDateTime{DateTime: "2026-03-01T10:00:00Z"}, End: &calendar.EventDateTime{DateTime: "2026-03-01T11:00:00Z"}})
	b := s.PutEvent("primary", &calendar.Event{Summary: "b", Start: &calendar.EventDateTime{Date: "2026-03-05"}, End: &calendar.EventDateTime{Date: "2026-03-06"}})
	weekly := s.PutEvent("primary", &calendar.Event{Summary: "w", Recurrence: []string{"RRULE:FREQ=WEEKLY;COUNT=3"},
		Start: &calendar.EventDateTime{DateTime: "2026-02-01T09:00:00+01:00", TimeZone: "Europe/Berlin"},
		End:   &calendar.EventDateTime{DateTime: "2026-02-01T10:00:00+01:00", TimeZone: "Europe/Berlin"}})
	tests := []struct {
		name, min, max string
		want           []string
	}{
		{"all", "", "", []string{a.Id, b.Id, weekly.Id}},
		{"end is exclusive", "2026-03-01T11:00:00Z", "", []string{b.Id}},
		{"start is exclusive", "", "2026-03-01T10:00:00Z", []string{weekly.Id}},
		{"all-day", "2026-03-05T12:00:00Z", "2026-03-05T13:00:00Z", []string{b.Id}},
		{"series overlaps", "2026-02-08T08:30:00Z", "2026-02-08T08:31:00Z", []string{weekly.Id}},
		{"after series", "2026-02-16T00:00:00Z", "2026-02-28T00:00:00Z", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call := svc.Events.List("primary")
			if tt.min != "" {
				call.TimeMin(tt.min)
			}
			if tt.max != "" {
				call.TimeMax(tt.max)
			}
			res := must[*calendar.Events](t)(call.Do())
			if got := ids(res.Items); !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestImportKeepsICalUID(t *testing.T) {
	s := newServer(t)
	svc := calSvc(t, s)
	st, en := timed("2026-03-03T10:00:00Z", 30)
	ev := &calendar.Event{ICalUID: "x/y+z@client.example", Summary: "v1", Start: st, End: en,
		Organizer: &calendar.EventOrganizer{Email: "boss@example.org"}}
	first := must[*calendar.Event](t)(svc.Events.Import("primary", ev).Do())
	if first.ICalUID != ev.ICalUID || first.Organizer.Email != "boss@example.org" {
		t.Fatalf("imported = %+v", first)
	}
	ev.Summary = "v2"
	second := must[*calendar.Event](t)(svc.Events.Import("primary", ev).Do())
	if second.Id != first.Id || second.Summary != "v2" || second.Etag == first.Etag {
		t.Fatalf("re-import: id %s→%s etag %s→%s summary %q", first.Id, second.Id, first.Etag, second.Etag, second.Summary)
	}
	res := must[*calendar.Events](t)(svc.Events.List("primary").ICalUID(ev.ICalUID).Do())
	if len(res.Items) != 1 {
		t.Errorf("events with that iCalUID: %d", len(res.Items))
	}
	_, err := svc.Events.Import("primary", &calendar.Event{Summary: "no uid", Start: st, End: en}).Do()
	gerr(t, err, 400, "required")

	// insert: generated iCalUID, client IDs validated, duplicates refused.
	ins := must[*calendar.Event](t)(svc.Events.Insert("primary", &calendar.Event{Id: "abcdef0123", Start: st, End: en}).Do())
	if ins.ICalUID != "abcdef0123@google.com" {
		t.Errorf("iCalUID = %q", ins.ICalUID)
	}
	_, err = svc.Events.Insert("primary", &calendar.Event{Id: "abcdef0123", Start: st, End: en}).Do()
	gerr(t, err, 409, "duplicate")
	_, err = svc.Events.Insert("primary", &calendar.Event{Id: "Not_Valid!", Start: st, End: en}).Do()
	gerr(t, err, 400, "invalid")
	_, err = svc.Events.Insert("primary", &calendar.Event{Start: st}).Do()
	gerr(t, err, 400, "required")
	_, err = svc.Events.Insert("primary", &calendar.Event{Start: en, End: st}).Do()
	gerr(t, err, 400, "timeRangeEmpty")
}

func TestIfMatch(t *testing.T) {
	s := newServer(t)
	svc := calSvc(t, s)
	st, en := timed("2026-03-03T10:00:00Z", 30)
	ev := must[*calendar.Event](t)(svc.Events.Insert("primary", &calendar.Event{Summary: "a", Start: st, End: en}).Do())
	if !strings.HasPrefix(ev.Etag, `"`) || !strings.HasSuffix(ev.Etag, `"`) {
		t.Errorf("etag %s is not quoted", ev.Etag)
	}
	stale := ev.Etag
	ev.Summary = "b"
	up := svc.Events.Update("primary", ev.Id, ev)
	up.Header().Set("If-Match", stale)
	cur := must[*calendar.Event](t)(up.Do())
	if cur.Etag == stale {
		t.Fatal("etag unchanged by update")
	}
	tests := []struct {
		name string
		do   func(etag string) error
	}{
		{"update", func(etag string) error {
			c := svc.Events.Update("primary", ev.Id, ev)
			c.Header().Set("If-Match", etag)
			_, err := c.Do()
			return err
		}},
		{"patch", func(etag string) error {
			c := svc.Events.Patch("primary", ev.Id, &calendar.Event{Summary: "p"})
			c.Header().Set("If-Match", etag)
			_, err := c.Do()
			return err
		}},
		{"delete", func(etag string) error {
			c := svc.Events.Delete("primary", ev.Id)
			c.Header().Set("If-Match", etag)
			return c.Do()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gerr(t, tt.do(stale), 412, "conditionNotMet")
			now, _ := s.Event("primary", ev.Id)
			if err := tt.do(now.Etag); err != nil {
				t.Fatalf("with current etag: %v", err)
			}
		})
	}
}

func TestPatchKeepsZeroValuesAndSequence(t *testing.T) {
	s := newServer(t)
	svc := calSvc(t, s)
	st, en := timed("2026-03-03T10:00:00Z", 30)
	ev := must[*calendar.Event](t)(svc.Events.Insert("primary", &calendar.Event{Start: st, End: en, Sequence: 3,
		Reminders: &calendar.EventReminders{UseDefault: false, ForceSendFields: []string{"UseDefault"}}}).Do())
	if ev.Reminders == nil || ev.Reminders.UseDefault {
		t.Errorf("reminders = %+v", ev.Reminders)
	}
	def := must[*calendar.Event](t)(svc.Events.Insert("primary", &calendar.Event{Start: st, End: en}).Do())
	if def.Reminders == nil || !def.Reminders.UseDefault {
		t.Errorf("default reminders = %+v", def.Reminders)
	}
	p := must[*calendar.Event](t)(svc.Events.Patch("primary", ev.Id, &calendar.Event{Location: "here"}).Do())
	if p.Sequence != 3 || p.Location != "here" || p.Start.DateTime != st.DateTime {
		t.Errorf("patched = %+v", p)
	}
	_, err := svc.Events.Patch("primary", ev.Id, &calendar.Event{Sequence: 1}).Do()
	gerr(t, err, 400, "invalid")
}

func TestRecurringExceptions(t *testing.T) {
	s := newServer(t)
	svc := calSvc(t, s)
	master := must[*calendar.Event](t)(svc.Events.Insert("primary", &calendar.Event{
		Summary: "standup", Recurrence: []string{"RRULE:FREQ=DAILY;COUNT=5"},
		Start: &calendar.EventDateTime{DateTime: "2026-03-02T09:00:00+01:00", TimeZone: "Europe/Berlin"},
		End:   &calendar.EventDateTime{DateTime: "2026-03-02T09:15:00+01:00", TimeZone: "Europe/Berlin"},
	}).Do())
	_, err := svc.Events.Insert("primary", &calendar.Event{Recurrence: []string{"RRULE:FREQ=DAILY"},
		Start: &calendar.EventDateTime{DateTime: "2026-03-02T09:00:00+01:00"}, End: &calendar.EventDateTime{DateTime: "2026-03-02T09:15:00+01:00"}}).Do()
	gerr(t, err, 400, "required") // recurring masters need start.timeZone

	inst := must[*calendar.Events](t)(svc.Events.Instances("primary", master.Id).Do()).Items
	if len(inst) != 5 {
		t.Fatalf("instances = %d, want 5", len(inst))
	}
	if inst[1].Id != master.Id+"_20260303T080000Z" || inst[1].RecurringEventId != master.Id ||
		inst[1].OriginalStartTime.DateTime != "2026-03-03T09:00:00+01:00" || inst[1].OriginalStartTime.TimeZone != "Europe/Berlin" {
		t.Fatalf("instance 1 = %+v %+v", inst[1], inst[1].OriginalStartTime)
	}

	// Move the second instance, cancel the third.
	moved := inst[1]
	moved.Start = &calendar.EventDateTime{DateTime: "2026-03-03T11:00:00+01:00", TimeZone: "Europe/Berlin"}
	moved.End = &calendar.EventDateTime{DateTime: "2026-03-03T11:30:00+01:00", TimeZone: "Europe/Berlin"}
	exc := must[*calendar.Event](t)(svc.Events.Update("primary", moved.Id, moved).Do())
	if exc.Id != moved.Id || exc.RecurringEventId != master.Id || exc.ICalUID != master.ICalUID {
		t.Errorf("exception = %+v", exc)
	}
	if err := svc.Events.Delete("primary", inst[2].Id).Do(); err != nil {
		t.Fatal(err)
	}

	// singleEvents=false: master + exception + cancelled instance, even
	// without showDeleted.
	res := must[*calendar.Events](t)(svc.Events.List("primary").Do())
	if got, want := ids(res.Items), []string{master.Id, exc.Id, inst[2].Id}; !slices.Equal(got, want) {
		t.Fatalf("list = %v, want %v", got, want)
	}
	if c := res.Items[2]; c.Status != "cancelled" || c.RecurringEventId != master.Id || c.OriginalStartTime == nil {
		t.Errorf("cancelled instance = %+v", c)
	}
	// singleEvents=true: four instances, moved one in place, ordered.
	single := must[*calendar.Events](t)(svc.Events.List("primary").SingleEvents(true).OrderBy("startTime").Do()).Items
	if len(single) != 4 || single[1].Start.DateTime != "2026-03-03T11:00:00+01:00" {
		t.Errorf("single events = %v", ids(single))
	}
	// Instances of an all-day weekly series with UNTIL, and an EXDATE.
	allDay := s.PutEvent("primary", &calendar.Event{Recurrence: []string{"RRULE:FREQ=WEEKLY;UNTIL=20260401", "EXDATE;VALUE=DATE:20260318"},
		Start: &calendar.EventDateTime{Date: "2026-03-04"}, End: &calendar.EventDateTime{Date: "2026-03-05"}})
	ad := must[*calendar.Events](t)(svc.Events.Instances("primary", allDay.Id).Do()).Items
	var days []string
	for _, e := range ad {
		days = append(days, e.Start.Date+"/"+e.End.Date)
	}
	if want := []string{"2026-03-04/2026-03-05", "2026-03-11/2026-03-12", "2026-03-25/2026-03-26", "2026-04-01/2026-04-02"}; !slices.Equal(days, want) {
		t.Errorf("all-day instances = %v, want %v", days, want)
	}
	if ad[0].Id != allDay.Id+"_20260304" {
		t.Errorf("all-day instance id = %q", ad[0].Id)
	}
	// originalStart picks one instance; getting a virtual instance works.
	one := must[*calendar.Events](t)(svc.Events.Instances("primary", master.Id).OriginalStart("2026-03-05T08:00:00Z").Do()).Items
	if len(one) != 1 || one[0].Id != master.Id+"_20260305T080000Z" {
		t.Errorf("originalStart = %v", ids(one))
	}
	must[*calendar.Event](t)(svc.Events.Get("primary", master.Id+"_20260306T080000Z").Do())
	_, err = svc.Events.Get("primary", master.Id+"_20260310T080000Z").Do()
	gerr(t, err, 404, "notFound")

	// Deleting the master cancels its exceptions too (sync sees both).
	tok := must[*calendar.Events](t)(svc.Events.List("primary").Do()).NextSyncToken
	if err := svc.Events.Delete("primary", master.Id).Do(); err != nil {
		t.Fatal(err)
	}
	delta := must[*calendar.Events](t)(svc.Events.List("primary").SyncToken(tok).Do()).Items
	if got, want := ids(delta), []string{master.Id, exc.Id}; !slices.Equal(got, want) {
		t.Errorf("delta after master delete = %v, want %v", got, want)
	}
	for _, e := range delta {
		if e.Status != "cancelled" {
			t.Errorf("%s status %q", e.Id, e.Status)
		}
	}
}

func TestAccessRoles(t *testing.T) {
	s := newServer(t)
	svc := calSvc(t, s)
	bob := s.User("bob@example.com")
	shared := bob.AddCalendar(&calendar.CalendarListEntry{Summary: "bob's"})
	st, en := timed("2026-03-03T10:00:00Z", 30)
	secret := s.PutEvent(shared, &calendar.Event{Summary: "secret", Description: "d", Start: st, End: en})
	s.AddCalendar(&calendar.CalendarListEntry{Id: shared, AccessRole: "freeBusyReader"})
	ro := s.AddCalendar(&calendar.CalendarListEntry{Summary: "holidays", AccessRole: "reader"})

	for _, cal := range []string{shared, ro} {
		_, err := svc.Events.Insert(cal, &calendar.Event{Start: st, End: en}).Do()
		ge := gerr(t, err, 403, "requiredAccessLevel")
		if ge.Message != "You need to have writer access to this calendar." {
			t.Errorf("message = %q", ge.Message)
		}
	}
	gerr(t, svc.Events.Delete(shared, secret.Id).Do(), 403, "requiredAccessLevel")
	got := must[*calendar.Event](t)(svc.Events.Get(shared, secret.Id).Do())
	if got.Summary != "" || got.Description != "" || got.Start == nil {
		t.Errorf("freeBusyReader sees %+v", got)
	}
	_, err := svc.Events.List(bob.Email()).Do()
	gerr(t, err, 404, "notFound") // not shared with us
}

func TestSeededException(t *testing.T) {
	s := newServer(t)
	svc := calSvc(t, s)
	m := s.PutEvent("primary", &calendar.Event{ICalUID: "series@client", Recurrence: []string{"RRULE:FREQ=DAILY;COUNT=3"},
		Start: &calendar.EventDateTime{Date: "2026-03-02"}, End: &calendar.EventDateTime{Date: "2026-03-03"}})
	x := s.PutEvent("primary", &calendar.Event{ICalUID: "series@client", Summary: "special",
		OriginalStartTime: &calendar.EventDateTime{Date: "2026-03-03"},
		Start:             &calendar.EventDateTime{Date: "2026-03-03"}, End: &calendar.EventDateTime{Date: "2026-03-04"}})
	if x.Id != m.Id+"_20260303" || x.RecurringEventId != m.Id {
		t.Fatalf("exception = %s of %s", x.Id, x.RecurringEventId)
	}
	inst := must[*calendar.Events](t)(svc.Events.Instances("primary", m.Id).Do()).Items
	if len(inst) != 3 || inst[1].Summary != "special" {
		t.Errorf("instances = %v", ids(inst))
	}
}
