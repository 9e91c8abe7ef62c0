package ews

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters/ews/api"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestTranslateGolden turns testdata/translate/<case>.xml (a GetItem
// response: MimeContent plus typed properties) into <case>.ics.
func TestTranslateGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/translate/*.xml")
	if len(files) == 0 {
		t.Fatal("no golden cases")
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".xml")
		if strings.HasPrefix(name, "contact-") || strings.HasPrefix(name, "task-") {
			continue // translate_contact_test.go, translate_task_test.go
		}
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var env api.ResponseEnvelope
			if err := xml.Unmarshal(data, &env); err != nil {
				t.Fatal(err)
			}
			it := &env.Body.Response.Messages.List[0].Items.CalendarItems[0]
			obj, err := objectFromItem(it)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := ical.NewEncoder(&buf).Encode(obj.Data); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(in, ".xml") + ".ics"
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs:\n%s", golden, buf.String())
			}
		})
	}
}

func TestTranslateSemantics(t *testing.T) {
	data, err := os.ReadFile("testdata/translate/recurring-exception.xml")
	if err != nil {
		t.Fatal(err)
	}
	var env api.ResponseEnvelope
	if err := xml.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	it := &env.Body.Response.Messages.List[0].Items.CalendarItems[0]
	obj, err := objectFromItem(it)
	if err != nil {
		t.Fatal(err)
	}
	if obj.ID != it.UID {
		t.Errorf("ID = %q, want the UID", obj.ID)
	}
	if !strings.HasPrefix(obj.Version, "DwAAABYAAADmaster.") {
		t.Errorf("Version = %q; want the master ChangeKey combined with the occurrence's", obj.Version)
	}
	if obj.Data.Props.Get(ical.PropMethod) != nil {
		t.Error("METHOD kept")
	}
	var events []*ical.Component
	for _, c := range obj.Data.Children {
		if c.Name == ical.CompEvent {
			events = append(events, c)
		}
	}
	if len(events) != 2 {
		t.Fatalf("%d VEVENTs, want master + override", len(events))
	}
	master, ovr := events[0], events[1]
	if tz := master.Props.Get(ical.PropDateTimeStart).Params.Get(ical.ParamTimezoneID); tz != "Europe/Berlin" {
		t.Errorf("TZID = %q, want Europe/Berlin", tz)
	}
	start, err := master.Props.DateTime(ical.PropDateTimeStart, nil)
	if err != nil || !start.Equal(time.Date(2025, 7, 2, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("DTSTART = %v, %v", start, err)
	}
	if got := ovr.Props.Get(ical.PropTransparency); got == nil || got.Value != "TRANSPARENT" {
		t.Errorf("override TRANSP = %v, want TRANSPARENT from BUSYSTATUS:FREE", got)
	}
	if got := len(master.Props.Values(ical.PropAttendee)); got != 2 {
		t.Errorf("%d attendees, want 2 from the typed properties", got)
	}
	if master.Props.Get(ical.PropOrganizer) == nil {
		t.Error("ORGANIZER missing")
	}
	if ovr.Props.Get(ical.PropRecurrenceID) == nil {
		t.Error("override lost its RECURRENCE-ID")
	}
}

func TestStoredCalendarFingerprint(t *testing.T) {
	subj := "A"
	it := &api.CalendarItem{ItemID: &api.ItemID{ID: "i", ChangeKey: "k"}, Subject: &subj, Start: "2025-01-01T10:00:00Z", End: "2025-01-01T11:00:00Z"}
	it.ExtendedProperty = []api.ExtendedProperty{{ExtendedFieldURI: propICal, Value: "BEGIN:VCALENDAR..."}, {ExtendedFieldURI: propFP, Value: fingerprint(it)}}
	if storedCalendar(it) == nil {
		t.Fatal("stored calendar not served while the item is unchanged")
	}
	changed := "B"
	it.Subject = &changed // edited in Outlook
	if storedCalendar(it) != nil {
		t.Error("stored calendar served after the item changed elsewhere")
	}
}

func TestRecurrenceFromRRule(t *testing.T) {
	start := time.Date(2025, 7, 2, 10, 0, 0, 0, time.UTC) // a Wednesday
	for rule, want := range map[string]string{
		"FREQ=DAILY;COUNT=5":                             `<Recurrence><DailyRecurrence><Interval>1</Interval></DailyRecurrence><NumberedRecurrence><StartDate>2025-07-02</StartDate><NumberOfOccurrences>5</NumberOfOccurrences></NumberedRecurrence></Recurrence>`,
		"FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE":             `<Recurrence><WeeklyRecurrence><Interval>2</Interval><DaysOfWeek>Monday Wednesday</DaysOfWeek></WeeklyRecurrence><NoEndRecurrence><StartDate>2025-07-02</StartDate></NoEndRecurrence></Recurrence>`,
		"FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20251231T000000Z": `<Recurrence><RelativeMonthlyRecurrence><Interval>1</Interval><DaysOfWeek>Friday</DaysOfWeek><DayOfWeekIndex>Last</DayOfWeekIndex></RelativeMonthlyRecurrence><EndDateRecurrence><StartDate>2025-07-02</StartDate><EndDate>2025-12-31</EndDate></EndDateRecurrence></Recurrence>`,
		"FREQ=YEARLY":            `<Recurrence><AbsoluteYearlyRecurrence><DayOfMonth>2</DayOfMonth><Month>July</Month></AbsoluteYearlyRecurrence><NoEndRecurrence><StartDate>2025-07-02</StartDate></NoEndRecurrence></Recurrence>`,
		"FREQ=WEEKLY;BYSETPOS=1": "",
		"FREQ=HOURLY":            "",
	} {
		r, ok := recurrenceFromRRule(rule, start)
		got := ""
		if ok {
			b, _ := xml.Marshal(r)
			got = string(b)
		}
		if got != want {
			t.Errorf("%s:\n got %s\nwant %s", rule, got, want)
		}
	}
}
