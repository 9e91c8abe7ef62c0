package ews

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/ews/ewstest"
)

const losslessICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//client//EN\r\nX-CLIENT-CAL:1\r\nBEGIN:VEVENT\r\nUID:lossless@example.com\r\n" +
	"DTSTAMP:20250101T000000Z\r\nDTSTART:20250110T100000Z\r\nDTEND:20250110T110000Z\r\nSUMMARY:Original\r\nX-APPLE-TRAVEL-ADVISORY:1\r\n" +
	"COLOR:teal\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

func TestLosslessAndOutsideChange(t *testing.T) {
	srv := ewstest.New()
	defer srv.Close()
	a := newTestAdapter(t, testOptions(srv.URL()))
	ctx := t.Context()
	put, err := a.Put(ctx, PrimaryCalendar, adapters.Object{ID: "client-href-1", Raw: []byte(losslessICS)}, adapters.Cond{IfAbsent: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.Object(ctx, PrimaryCalendar, "client-href-1")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := got.Encode(); string(b) != losslessICS {
		t.Errorf("GET differs from PUT:\n%s", b)
	}
	if got.Version != put.Version {
		t.Errorf("version %q after put, %q on read", put.Version, got.Version)
	}
	// A fresh instance (no mirror) finds the object by its stored ID.
	b := newTestAdapter(t, testOptions(srv.URL()))
	if o, err := b.Object(ctx, PrimaryCalendar, "client-href-1"); err != nil || o.Version != put.Version {
		t.Fatalf("fresh instance: %v %q", err, o.Version)
	}

	// Edited in Outlook: the stored iCalendar no longer holds.
	refs, _ := srv.Primary().Items("calendar")
	if len(refs) != 1 {
		t.Fatalf("%d items", len(refs))
	}
	edited := strings.Replace(losslessICS, "SUMMARY:Original", "SUMMARY:Edited in Outlook", 1)
	if _, err := srv.UpdateItem(refs[0].ID, edited); err != nil {
		t.Fatal(err)
	}
	got, err = b.Object(ctx, PrimaryCalendar, "client-href-1")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := got.Encode()
	if !strings.Contains(string(data), "SUMMARY:Edited in Outlook") || got.Version == put.Version {
		t.Errorf("outside change not served (version %q):\n%s", got.Version, data)
	}

	// The stale version is refused, the current one accepted.
	_, err = b.Put(ctx, PrimaryCalendar, adapters.Object{ID: "client-href-1", Raw: []byte(losslessICS)}, adapters.Cond{IfVersion: put.Version})
	if !errors.Is(err, adapters.ErrPrecondition) {
		t.Errorf("stale put: %v", err)
	}
	if _, err := b.Put(ctx, PrimaryCalendar, adapters.Object{ID: "client-href-1", Raw: []byte(losslessICS)}, adapters.Cond{IfVersion: got.Version}); err != nil {
		t.Errorf("current put: %v", err)
	}
	if err := b.Delete(ctx, PrimaryCalendar, "client-href-1", adapters.Cond{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, PrimaryCalendar, "client-href-1", adapters.Cond{}); !errors.Is(err, adapters.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
}

func TestInvalidSyncState(t *testing.T) {
	srv := ewstest.New()
	defer srv.Close()
	a := newTestAdapter(t, testOptions(srv.URL()))
	ctx := t.Context()
	ch, err := a.Changes(ctx, PrimaryCalendar, "")
	if err != nil {
		t.Fatal(err)
	}
	srv.InvalidateSyncStates()
	if _, err := a.Changes(ctx, PrimaryCalendar, ch.Token); !errors.Is(err, adapters.ErrInvalidToken) {
		t.Errorf("Changes after invalidation: %v, want ErrInvalidToken", err)
	}
	// Token recovers with a full resync.
	if tok, err := a.Token(ctx, PrimaryCalendar); err != nil || tok == "" {
		t.Errorf("Token: %q %v", tok, err)
	}
}

func TestSubCalendars(t *testing.T) {
	srv := ewstest.New()
	defer srv.Close()
	if _, err := srv.AddFolder("calendar", "Team", "IPF.Appointment"); err != nil {
		t.Fatal(err)
	}
	a := newTestAdapter(t, testOptions(srv.URL()))
	all, err := a.Collections(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var colls []adapters.Collection
	for _, c := range all {
		if c.Kind == adapters.KindCalendar && slices.Contains(c.Components, "VEVENT") {
			colls = append(colls, c)
		}
	}
	var names []string
	for _, c := range colls {
		names = append(names, c.Name)
	}
	if len(colls) != 2 || colls[0].ID != PrimaryCalendar || colls[1].Name != "Team" {
		t.Fatalf("collections = %q", names)
	}
	if _, err := a.Put(t.Context(), colls[1].ID, adapters.Object{ID: "x", Raw: []byte(losslessICS)}, adapters.Cond{}); err != nil {
		t.Fatal(err)
	}
	objs, err := a.Objects(t.Context(), colls[1].ID, adapters.Query{})
	if err != nil || len(objs) != 1 || objs[0].ID != "x" {
		t.Errorf("objects in sub-calendar: %v %v", objs, err)
	}
}

func TestValidate(t *testing.T) {
	for name, o := range map[string]Options{
		"no url":      {Username: "u", Password: "p"},
		"no password": {URL: "https://x/EWS/Exchange.asmx", Username: "u"},
		"two secrets": {URL: "https://x/EWS/Exchange.asmx", Username: "u", Password: "p", PasswordEnv: "X"},
		"bad auth":    {URL: "https://x/EWS/Exchange.asmx", Auth: "kerberos"},
		"app-only, no mailbox": {URL: "https://x/EWS/Exchange.asmx", Auth: "oauth2",
			OAuth2: OAuth2Options{TenantID: "t", ClientID: "c", ClientSecret: "s"}},
	} {
		a, _ := NewWith(o, adapters.Env{})
		if err := a.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	a, _ := NewWith(Options{URL: "https://x/EWS/Exchange.asmx", Auth: "oauth2", Mailbox: "m@x",
		OAuth2: OAuth2Options{TenantID: "t", ClientID: "c", ClientSecret: "s"}}, adapters.Env{})
	if err := a.Validate(); err != nil {
		t.Errorf("app-only oauth2: %v", err)
	}
}

func TestContactsTypedAndPhotos(t *testing.T) {
	srv := ewstest.New()
	defer srv.Close()
	jpeg := []byte("\xff\xd8\xff\xe0photo")
	for _, n := range []string{"Ann", "Ben", "Cid"} {
		if _, err := srv.AddContact("contacts", ewstest.Contact{GivenName: n, Surname: "Typed", Photo: jpeg,
			Emails: map[string]string{"EmailAddress1": strings.ToLower(n) + "@example.test"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := srv.AddDistributionList("contacts", ewstest.DistributionList{DisplayName: "Team",
		Members: []ewstest.Member{{Name: "Ann", Email: "ann@example.test"}}}); err != nil {
		t.Fatal(err)
	}
	a := newTestAdapter(t, testOptions(srv.URL()))
	ctx := t.Context()
	srv.ResetCalls()
	objs, err := a.Objects(ctx, PrimaryContacts, adapters.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Calls()["GetAttachment"]; n != 1 {
		t.Errorf("%d GetAttachment calls for 3 photos, want 1 batch", n)
	}
	if len(objs) != 4 {
		t.Fatalf("%d objects", len(objs))
	}
	groups := 0
	for _, o := range objs {
		b, _ := o.Encode()
		s := string(b)
		if strings.Contains(s, "X-ADDRESSBOOKSERVER-KIND:group") {
			groups++
			if !strings.Contains(s, "X-ADDRESSBOOKSERVER-MEMBER:mailto:ann@example.test") {
				t.Errorf("group without member:\n%s", s)
			}
			continue
		}
		if !strings.Contains(s, "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4HBob3Rv") || !strings.Contains(s, "VERSION:3.0") || !strings.Contains(s, "EMAIL;TYPE=INTERNET;TYPE=PREF:") {
			t.Errorf("typed contact:\n%s", s)
		}
	}
	if groups != 1 {
		t.Errorf("%d groups", groups)
	}

	// A PUT is served back as sent until the contact is edited in Outlook.
	const v4 = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:put-1\r\nFN:Put Person\r\nN:Person;Put;;;\r\nX-CUSTOM:kept\r\n" +
		"PHOTO:data:image/jpeg;base64,/9j/4HBob3Rv\r\nEND:VCARD\r\n"
	put, err := a.Put(ctx, PrimaryContacts, adapters.Object{ID: "put-1.vcf", Raw: []byte(v4)}, adapters.Cond{IfAbsent: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.Object(ctx, PrimaryContacts, "put-1.vcf")
	if b, _ := got.Encode(); err != nil || string(b) != v4 || got.Version != put.Version {
		t.Fatalf("GET after PUT: %v %q %q\n%q", err, got.Version, put.Version, b)
	}
	var itemID string
	for _, r := range mustItems(t, srv, "contacts") {
		if o, _ := a.Object(ctx, PrimaryContacts, "put-1.vcf"); o.Version == r.ChangeKey {
			itemID = r.ID
		}
	}
	if itemID == "" {
		t.Fatal("item not found")
	}
	if _, err := srv.UpdateItem(itemID, ewstest.Contact{GivenName: "Edited", Surname: "Person"}); err != nil {
		t.Fatal(err)
	}
	got, err = a.Object(ctx, PrimaryContacts, "put-1.vcf")
	b, _ := got.Encode()
	if err != nil || !strings.Contains(string(b), "FN:Edited Person") || strings.Contains(string(b), "X-CUSTOM") || !strings.Contains(string(b), "UID:put-1") {
		t.Errorf("after an outside edit: %v\n%s", err, b)
	}
	_, err = a.Put(ctx, PrimaryContacts, adapters.Object{ID: "put-1.vcf", Raw: []byte(v4)}, adapters.Cond{IfVersion: put.Version})
	if !errors.Is(err, adapters.ErrPrecondition) {
		t.Errorf("stale put: %v", err)
	}
	if _, err := a.Put(ctx, PrimaryContacts, adapters.Object{ID: "put-1.vcf", Raw: []byte(v4)}, adapters.Cond{IfVersion: got.Version}); err != nil {
		t.Errorf("current put: %v", err)
	}
}

func mustItems(t *testing.T, srv *ewstest.Server, folder string) []ewstest.ItemRef {
	t.Helper()
	refs, err := srv.Primary().Items(folder)
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

func TestFreeBusyOneCall(t *testing.T) {
	srv := ewstest.New()
	defer srv.Close()
	for _, ev := range []struct{ uid, start, end, extra string }{
		{"busy", "20250602T100000Z", "20250602T110000Z", ""},
		{"tentative", "20250602T120000Z", "20250602T130000Z", "X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE\r\n"},
		{"oof", "20250603T000000Z", "20250604T000000Z", "X-MICROSOFT-CDO-BUSYSTATUS:OOF\r\n"},
		{"free", "20250602T140000Z", "20250602T150000Z", "TRANSP:TRANSPARENT\r\nX-MICROSOFT-CDO-BUSYSTATUS:FREE\r\n"},
		{"outside", "20250702T100000Z", "20250702T110000Z", ""},
	} {
		ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:" + ev.uid + "\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:" +
			ev.start + "\r\nDTEND:" + ev.end + "\r\nSUMMARY:" + ev.uid + "\r\n" + ev.extra + "END:VEVENT\r\nEND:VCALENDAR\r\n"
		if _, err := srv.AddCalendarItem("calendar", ics); err != nil {
			t.Fatal(err)
		}
	}
	a := newTestAdapter(t, testOptions(srv.URL()))
	if !adapters.CapabilitiesOf(a).FreeBusy {
		t.Fatal("FreeBusy capability not declared")
	}
	if _, err := a.Collections(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	start, end := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 6, 8, 0, 0, 0, 0, time.UTC)
	got, err := a.FreeBusy(t.Context(), PrimaryCalendar, start, end)
	if err != nil {
		t.Fatal(err)
	}
	calls := srv.Calls()
	total := 0
	for _, n := range calls {
		total += n
	}
	if calls["GetUserAvailability"] != 1 || total != 1 {
		t.Errorf("upstream calls = %v, want exactly one GetUserAvailability", calls)
	}
	want := []adapters.BusyPeriod{
		{Start: time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC), End: time.Date(2025, 6, 2, 11, 0, 0, 0, time.UTC), Type: "BUSY"},
		{Start: time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC), End: time.Date(2025, 6, 2, 13, 0, 0, 0, time.UTC), Type: "BUSY-TENTATIVE"},
		{Start: time.Date(2025, 6, 3, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 6, 4, 0, 0, 0, 0, time.UTC), Type: "BUSY-UNAVAILABLE"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("FreeBusy =\n%v\nwant\n%v", got, want)
	}
	if _, err := a.FreeBusy(t.Context(), PrimaryTasks, start, end); !errors.Is(err, adapters.ErrUnsupported) {
		t.Errorf("tasks: %v, want ErrUnsupported", err)
	}
}
