package caldav

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/adaptertest"
)

const tzEvent = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n" +
	"BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n" +
	"RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n" +
	"BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n" +
	"TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n" +
	"BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;TZID=Europe/Berlin:%s\r\n" +
	"DURATION:PT1H\r\nSUMMARY:zoned\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

func bulkObjects(t *testing.T) (objs []adapters.Object, bulkable int) {
	for i := range 6 {
		objs = append(objs, eventObj(t, fmt.Sprintf("ev-%d@example.com", i), fmt.Sprintf("Event %d", i)))
	}
	objs = append(objs, adapters.Object{ID: "zoned-1", Raw: []byte(fmt.Sprintf(tzEvent, "zoned-1", "20260301T100000"))})
	bulkable = len(objs)
	// Left out: an ID that is not the UID, a local time before 2000.
	other := eventObj(t, "uid-differs", "x")
	other.ID = "file-name"
	objs = append(objs, other,
		adapters.Object{ID: "zoned-old", Raw: []byte(fmt.Sprintf(tzEvent, "zoned-old", "19950301T100000"))})
	return objs, bulkable
}

// TestBulkRadicale fills a new Radicale calendar with one collection PUT.
func TestBulkRadicale(t *testing.T) {
	s := startRadicale(t)
	ctx := t.Context()
	a := newAdapter(t, s, nil)
	if _, err := a.CreateCollection(ctx, adapters.Collection{ID: "bulk", Kind: adapters.KindCalendar, Name: "Bulk", Color: "#336699"}); err != nil {
		t.Fatal(err)
	}
	objs, bulkable := bulkObjects(t)
	stored, err := a.PutAll(ctx, "bulk", objs)
	if err != nil {
		t.Fatalf("PutAll: %v", err)
	}
	if len(stored) != bulkable {
		t.Fatalf("PutAll stored %d objects, want %d: %+v", len(stored), bulkable, stored)
	}
	got, err := a.Objects(ctx, "bulk", adapters.Query{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]adapters.Object{}
	for _, o := range got {
		byID[o.ID] = o
	}
	for _, s := range stored {
		o, ok := byID[s.ID]
		if !ok || o.Version != s.Version {
			t.Errorf("%s: listed %+v, PutAll said version %q", s.ID, ok, s.Version)
		}
	}
	if len(got) != bulkable {
		t.Errorf("%d objects in the calendar, want %d", len(got), bulkable)
	}
	want := objs[0]
	if d := adaptertest.DiffCalendar(want.Data, byID[want.ID].Data); d != "" {
		t.Errorf("%s changed by the bulk put:\n%s", want.ID, d)
	}
	if z := byID["zoned-1"]; z.Data == nil || !strings.Contains(string(z.Raw), "TZID=Europe/Berlin:20260301T100000") {
		t.Errorf("zoned event: %s", z.Raw)
	}
	colls, err := a.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range colls {
		if c.ID == "bulk" && (c.Name != "Bulk" || !sameColor(c.Color, "#336699")) {
			t.Errorf("name and color not restored after the bulk put: %+v", c)
		}
	}
}

// TestBulkXandikos: a server without whole-collection PUT refuses it and
// the calendar stays an empty calendar.
func TestBulkXandikos(t *testing.T) {
	s := startXandikos(t)
	ctx := t.Context()
	a := newAdapter(t, s, nil)
	if _, err := a.CreateCollection(ctx, adapters.Collection{ID: "bulk", Kind: adapters.KindCalendar, Name: "Bulk"}); err != nil {
		t.Fatal(err)
	}
	objs, _ := bulkObjects(t)
	if _, err := a.PutAll(ctx, "bulk", objs); !errors.Is(err, adapters.ErrUnsupported) {
		t.Fatalf("PutAll on Xandikos: %v, want ErrUnsupported", err)
	}
	got, err := a.Objects(ctx, "bulk", adapters.Query{})
	if err != nil || len(got) != 0 {
		t.Fatalf("after a refused bulk put: %d objects, %v", len(got), err)
	}
}
