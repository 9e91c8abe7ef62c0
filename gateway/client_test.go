package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"
	"github.com/emersion/go-webdav/carddav"

	"github.com/davgate/davgate/adapters/memory"
	"github.com/davgate/davgate/cache"
)

// TestGoWebdavClient drives the gateway, over the cache, with go-webdav's
// own CalDAV and CardDAV clients: an independent implementation of the
// client side of the protocols.
func TestGoWebdavClient(t *testing.T) {
	mem, err := memory.NewWith(memory.Options{Collections: []memory.CollectionOptions{
		{ID: "work", Name: "Work"},
		{ID: "people", Kind: "addressbook", Name: "People"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	cached := cache.Wrap(mem, cache.Options{})
	s, err := New(Options{Users: []User{{Name: "alice", Sources: []Source{{Name: "mem", Adapter: cached}}}}, Auth: plainAuth{"alice": "pw"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx := context.Background()
	hc := webdav.HTTPClientWithBasicAuth(http.DefaultClient, "alice", "pw")

	cc, err := caldav.NewClient(hc, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	principal, err := cc.FindCurrentUserPrincipal(ctx)
	if err != nil || principal != "/dav/principals/alice/" {
		t.Fatalf("principal %q, %v", principal, err)
	}
	home, err := cc.FindCalendarHomeSet(ctx, principal)
	if err != nil {
		t.Fatal(err)
	}
	cals, err := cc.FindCalendars(ctx, home)
	if err != nil || len(cals) != 1 || cals[0].Name != "Work" {
		t.Fatalf("calendars %+v, %v", cals, err)
	}
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropProductID, "-//test//EN")
	ev := ical.NewEvent()
	ev.Props.SetText(ical.PropUID, "gw-1")
	ev.Props.SetDateTime(ical.PropDateTimeStamp, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ev.Props.SetDateTime(ical.PropDateTimeStart, time.Date(2026, 12, 24, 18, 0, 0, 0, time.UTC))
	ev.Props.SetDateTime(ical.PropDateTimeEnd, time.Date(2026, 12, 24, 22, 0, 0, 0, time.UTC))
	ev.Props.SetText(ical.PropSummary, "Dinner")
	cal.Children = append(cal.Children, ev.Component)
	objPath := cals[0].Path + "gw-1.ics"
	if _, err := cc.PutCalendarObject(ctx, objPath, cal); err != nil {
		t.Fatal(err)
	}
	got, err := cc.QueryCalendar(ctx, cals[0].Path, &caldav.CalendarQuery{
		CompRequest: caldav.CalendarCompRequest{Name: "VCALENDAR", AllProps: true, AllComps: true},
		CompFilter: caldav.CompFilter{Name: "VCALENDAR", Comps: []caldav.CompFilter{{
			Name: "VEVENT", Start: time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 25, 0, 0, 0, 0, time.UTC),
		}}},
	})
	if err != nil || len(got) != 1 || got[0].Path != objPath || got[0].ETag == "" {
		t.Fatalf("query %+v, %v", got, err)
	}
	if s, _ := got[0].Data.Events()[0].Props.Text(ical.PropSummary); s != "Dinner" {
		t.Fatalf("summary %q", s)
	}
	mg, err := cc.MultiGetCalendar(ctx, cals[0].Path, &caldav.CalendarMultiGet{Paths: []string{objPath}, CompRequest: caldav.CalendarCompRequest{Name: "VCALENDAR", AllProps: true, AllComps: true}})
	if err != nil || len(mg) != 1 || mg[0].ETag != got[0].ETag {
		t.Fatalf("multiget %+v, %v", mg, err)
	}

	cd, err := carddav.NewClient(hc, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	abHome, err := cd.FindAddressBookHomeSet(ctx, principal)
	if err != nil {
		t.Fatal(err)
	}
	books, err := cd.FindAddressBooks(ctx, abHome)
	if err != nil || len(books) != 1 {
		t.Fatalf("address books %+v, %v", books, err)
	}
	card := vcard.Card{}
	card.SetValue(vcard.FieldVersion, "4.0")
	card.SetValue(vcard.FieldUID, "p1")
	card.SetValue(vcard.FieldFormattedName, "Ada Lovelace")
	if _, err := cd.PutAddressObject(ctx, books[0].Path+"p1.vcf", card); err != nil {
		t.Fatal(err)
	}
	first, err := cd.SyncCollection(ctx, books[0].Path, &carddav.SyncQuery{DataRequest: carddav.AddressDataRequest{AllProp: true}})
	if err != nil || len(first.Updated) != 1 || first.SyncToken == "" {
		t.Fatalf("sync %+v, %v", first, err)
	}
	if err := cd.RemoveAll(ctx, books[0].Path+"p1.vcf"); err != nil {
		t.Fatal(err)
	}
	next, err := cd.SyncCollection(ctx, books[0].Path, &carddav.SyncQuery{SyncToken: first.SyncToken, DataRequest: carddav.AddressDataRequest{AllProp: true}})
	if err != nil || len(next.Deleted) != 1 || !strings.HasSuffix(next.Deleted[0], "p1.vcf") {
		t.Fatalf("incremental sync %+v, %v", next, err)
	}
}
