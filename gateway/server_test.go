package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/memory"
)

type plainAuth map[string]string

func (p plainAuth) Authenticate(_ context.Context, user, pw string) bool {
	want, ok := p[user]
	return ok && want == pw
}

type fixture struct {
	t   *testing.T
	srv *httptest.Server
	mem *memory.Adapter
}

func newFixture(t *testing.T, maxBody int64) *fixture {
	t.Helper()
	mem, err := memory.NewWith(memory.Options{Collections: []memory.CollectionOptions{
		{ID: "work", Name: "Work", Color: "#FF0000", Components: []string{"VEVENT", "VTODO"}},
		{ID: "ro", Name: "Read only", ReadOnly: true},
		{ID: "contacts", Kind: "addressbook", Name: "Contacts"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := memory.NewWith(memory.Options{Collections: []memory.CollectionOptions{{ID: "secret", Name: "Bob's"}}})
	s, err := New(Options{
		Users: []User{
			{Name: "alice", Sources: []Source{{Name: "mem", Adapter: mem}}},
			{Name: "bob", Sources: []Source{{Name: "mem", Adapter: other}}},
		},
		Auth:         plainAuth{"alice": "pw", "bob": "pw2"},
		MaxBodyBytes: maxBody,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &fixture{t: t, srv: srv, mem: mem}
}

type resp struct {
	code int
	hdr  http.Header
	body string
}

func (f *fixture) do(method, path, body string, hdr ...string) resp {
	f.t.Helper()
	return f.doAs("alice", "pw", method, path, body, hdr...)
}

func (f *fixture) doAs(user, pw, method, path, body string, hdr ...string) resp {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pw)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{code: res.StatusCode, hdr: res.Header, body: string(b)}
}

func (r resp) must(t *testing.T, code int, contains ...string) resp {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d; body:\n%s", r.code, code, r.body)
	}
	for _, c := range contains {
		if !strings.Contains(r.body, c) {
			t.Fatalf("body lacks %q:\n%s", c, r.body)
		}
	}
	return r
}

const event1 = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:ev1@example.com\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20261201T100000Z\r\nDTEND:20261201T110000Z\r\nSUMMARY:Planning\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

const propfindAll = `<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/" xmlns:x="urn:x-unknown">
<d:prop><d:resourcetype/><d:displayname/><cs:getctag/><d:sync-token/><d:supported-report-set/><d:current-user-privilege-set/><c:supported-calendar-component-set/><x:nope/><d:getetag/></d:prop></d:propfind>`

func TestDiscovery(t *testing.T) {
	f := newFixture(t, 0)
	r := f.doAs("", "", "GET", "/.well-known/caldav", "")
	if r.code != http.StatusMovedPermanently || r.hdr.Get("Location") != "/dav/" {
		t.Fatalf("well-known: %d %q", r.code, r.hdr.Get("Location"))
	}
	f.doAs("", "", "PROPFIND", "/dav/", "").must(t, http.StatusUnauthorized)
	f.doAs("alice", "wrong", "PROPFIND", "/dav/", "").must(t, http.StatusUnauthorized)
	f.do("PROPFIND", "/", `<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>`, "Depth", "0").
		must(t, 207, "<d:current-user-principal><d:href>/dav/principals/alice/</d:href>")
	f.do("PROPFIND", "/dav/principals/alice/", `<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop><c:calendar-home-set/><card:addressbook-home-set/><d:principal-URL/><d:displayname/></d:prop></d:propfind>`, "Depth", "0").
		must(t, 207, "<c:calendar-home-set><d:href>/dav/calendars/alice/</d:href>", "<card:addressbook-home-set><d:href>/dav/addressbooks/alice/</d:href>", "<d:principal-URL>", "<d:displayname>alice</d:displayname>")
	r = f.do("PROPFIND", "/dav/calendars/alice/", propfindAll, "Depth", "1").must(t, 207, "/dav/calendars/alice/mem~work/", "/dav/calendars/alice/mem~ro/")
	if strings.Contains(r.body, "contacts") {
		t.Fatalf("address book listed in the calendar home:\n%s", r.body)
	}
	f.do("PROPFIND", "/dav/addressbooks/alice/", propfindAll, "Depth", "1").must(t, 207, "/dav/addressbooks/alice/mem~contacts/", "<card:addressbook/>")
	// Another user's tree does not exist for alice.
	f.do("PROPFIND", "/dav/calendars/bob/", propfindAll, "Depth", "1").must(t, http.StatusNotFound)
	f.do("GET", "/dav/calendars/bob/mem~secret/", "").must(t, http.StatusNotFound)
	f.do("PROPFIND", "/dav/principals/bob/", "", "Depth", "0").must(t, http.StatusNotFound)
}

func TestCollectionProps(t *testing.T) {
	f := newFixture(t, 0)
	r := f.do("PROPFIND", "/dav/calendars/alice/mem~work/", propfindAll, "Depth", "0").
		must(t, 207, "<d:displayname>Work</d:displayname>", "<cs:getctag>", "<d:sync-token>urn:davgate:sync:",
			"<c:calendar-query/>", "<d:sync-collection/>", "<c:free-busy-query/>", "<d:write/>", `<c:comp name="VTODO"/>`,
			`<nope xmlns="urn:x-unknown"/>`, "404 Not Found")
	_ = r
	r = f.do("PROPFIND", "/dav/calendars/alice/mem~ro/", propfindAll, "Depth", "0").must(t, 207, "<d:read/>")
	if strings.Contains(r.body, "<d:write/>") {
		t.Fatalf("read-only collection advertises write:\n%s", r.body)
	}
	// Without trailing slash, same answer with the canonical href.
	f.do("PROPFIND", "/dav/calendars/alice/mem~work", propfindAll, "Depth", "0").must(t, 207, "<d:href>/dav/calendars/alice/mem~work/</d:href>")
	f.do("PROPFIND", "/dav/calendars/alice/mem~work/", propfindAll, "Depth", "infinity").must(t, http.StatusForbidden, "propfind-finite-depth")
	f.do("PROPFIND", "/dav/calendars/alice/nosuch~x/", propfindAll, "Depth", "0").must(t, http.StatusNotFound)
	f.do("PROPFIND", "/dav/calendars/alice/mem~work/", "<d:propfind", "Depth", "0").must(t, http.StatusBadRequest)
}

var etagRE = regexp.MustCompile(`^"[0-9A-Za-z._-]{1,64}"$`)

func TestObjectLifecycle(t *testing.T) {
	f := newFixture(t, 0)
	path := "/dav/calendars/alice/mem~work/ev1.ics"
	r := f.do("PUT", path, event1, "Content-Type", "text/calendar", "If-None-Match", "*").must(t, http.StatusCreated)
	etag := r.hdr.Get("ETag")
	if !etagRE.MatchString(etag) {
		t.Fatalf("PUT ETag %q", etag)
	}
	g := f.do("GET", path, "").must(t, 200, "UID:ev1@example.com", "SUMMARY:Planning")
	if g.hdr.Get("ETag") != etag {
		t.Fatalf("GET ETag %q != PUT ETag %q", g.hdr.Get("ETag"), etag)
	}
	f.do("GET", path, "", "If-None-Match", etag).must(t, http.StatusNotModified)
	f.do("HEAD", path, "").must(t, 200)
	// Creating again with If-None-Match: * fails.
	f.do("PUT", path, event1, "If-None-Match", "*").must(t, http.StatusPreconditionFailed)
	// Update with the right ETag, then the old one is stale.
	upd := strings.Replace(event1, "Planning", "Planning v2", 1)
	r = f.do("PUT", path, upd, "If-Match", etag).must(t, http.StatusNoContent)
	etag2 := r.hdr.Get("ETag")
	if etag2 == "" || etag2 == etag {
		t.Fatalf("ETag after update %q (before %q)", etag2, etag)
	}
	f.do("PUT", path, event1, "If-Match", etag).must(t, http.StatusPreconditionFailed)
	f.do("GET", path, "").must(t, 200, "Planning v2")
	// The same UID at another href is a conflict.
	f.do("PUT", "/dav/calendars/alice/mem~work/other.ics", event1).must(t, http.StatusConflict, "no-uid-conflict", path)
	// Bad data.
	f.do("PUT", "/dav/calendars/alice/mem~work/bad.ics", "BEGIN:VCALENDAR\r\nnonsense").must(t, http.StatusBadRequest, "valid-calendar-data")
	f.do("PUT", "/dav/calendars/alice/mem~work/bad.ics", event1, "Content-Type", "application/json").must(t, http.StatusUnsupportedMediaType)
	f.do("PUT", "/dav/calendars/alice/mem~work/j.ics", strings.ReplaceAll(event1, "VEVENT", "VJOURNAL")).must(t, http.StatusForbidden, "supported-calendar-component")
	// Read-only collection.
	f.do("PUT", "/dav/calendars/alice/mem~ro/x.ics", event1).must(t, http.StatusForbidden, "need-privileges")
	// Delete with a stale ETag, then the right one, then again.
	f.do("DELETE", path, "", "If-Match", etag).must(t, http.StatusPreconditionFailed)
	f.do("DELETE", path, "", "If-Match", etag2).must(t, http.StatusNoContent)
	f.do("DELETE", path, "").must(t, http.StatusNotFound)
	f.do("GET", path, "").must(t, http.StatusNotFound)
}

func TestHostileIDs(t *testing.T) {
	f := newFixture(t, 0)
	for _, id := range []string{"a b", "x%2Fy", "ünï@cödé+1", "semi;colon"} {
		path := "/dav/calendars/alice/mem~work/" + id + ".ics"
		ev := strings.Replace(event1, "ev1@example.com", "uid-"+id, 1)
		req := (&http.Request{}).URL
		_ = req
		f.do("PUT", path, ev).must(t, http.StatusCreated)
		f.do("GET", path, "").must(t, 200, "uid-"+id)
	}
	r := f.do("PROPFIND", "/dav/calendars/alice/mem~work/", `<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>`, "Depth", "1").must(t, 207)
	if c := strings.Count(r.body, ".ics</d:href>"); c != 4 {
		t.Fatalf("listing has %d objects, want 4:\n%s", c, r.body)
	}
}

func TestSyncCollection(t *testing.T) {
	f := newFixture(t, 0)
	coll := "/dav/calendars/alice/mem~work/"
	f.do("PUT", coll+"a.ics", event1).must(t, 201)
	syncReq := func(tok string) string {
		return `<d:sync-collection xmlns:d="DAV:"><d:sync-token>` + tok + `</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`
	}
	tokRE := regexp.MustCompile(`<d:sync-token>([^<]+)</d:sync-token>`)
	r := f.do("REPORT", coll, syncReq("")).must(t, 207, coll+"a.ics")
	tok := tokRE.FindStringSubmatch(r.body)[1]
	r = f.do("REPORT", coll, syncReq(tok)).must(t, 207)
	if strings.Contains(r.body, "a.ics") {
		t.Fatalf("no-change sync returned objects:\n%s", r.body)
	}
	f.do("PUT", coll+"b.ics", strings.Replace(event1, "ev1@", "ev2@", 1)).must(t, 201)
	f.do("DELETE", coll+"a.ics", "").must(t, 204)
	r = f.do("REPORT", coll, syncReq(tok)).must(t, 207, coll+"b.ics")
	if !regexp.MustCompile(`<d:href>` + regexp.QuoteMeta(coll) + `a.ics</d:href><d:status>HTTP/1.1 404`).MatchString(r.body) {
		t.Fatalf("deletion not reported as 404:\n%s", r.body)
	}
	f.do("REPORT", coll, syncReq("urn:davgate:sync:bogus")).must(t, http.StatusForbidden, "valid-sync-token")
	f.do("REPORT", coll, syncReq("http://other/token")).must(t, http.StatusForbidden, "valid-sync-token")
}

func TestMultiget(t *testing.T) {
	f := newFixture(t, 0)
	coll := "/dav/calendars/alice/mem~work/"
	f.do("PUT", coll+"a.ics", event1).must(t, 201)
	body := `<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop>
<d:href>` + coll + `a.ics</d:href><d:href>` + coll + `missing.ics</d:href><d:href>/dav/calendars/bob/mem~secret/x.ics</d:href></c:calendar-multiget>`
	r := f.do("REPORT", coll, body, "Depth", "1").must(t, 207, "UID:ev1@example.com")
	if strings.Count(r.body, "404 Not Found") != 2 {
		t.Fatalf("want two 404 responses:\n%s", r.body)
	}
}

func TestMkcalendarAndProppatch(t *testing.T) {
	f := newFixture(t, 0)
	mk := `<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:ical="http://apple.com/ns/ical/"><d:set><d:prop><d:displayname>Trips</d:displayname><ical:calendar-color>#00FF00</ical:calendar-color></d:prop></d:set></c:mkcalendar>`
	f.do("MKCALENDAR", "/dav/calendars/alice/mem~trips/", mk).must(t, 201)
	f.do("MKCALENDAR", "/dav/calendars/alice/mem~trips/", mk).must(t, http.StatusForbidden, "resource-must-be-null")
	// A bare segment (what Apple and DAVx5 send) lands in the writable source.
	f.do("MKCALENDAR", "/dav/calendars/alice/6F1C-UUID/", mk).must(t, 201)
	f.do("PROPFIND", "/dav/calendars/alice/6F1C-UUID/", propfindAll, "Depth", "0").must(t, 207, "<d:displayname>Trips</d:displayname>")
	pp := `<d:propertyupdate xmlns:d="DAV:" xmlns:ical="http://apple.com/ns/ical/"><d:set><d:prop><d:displayname>Journeys</d:displayname><ical:calendar-color>#0000FF</ical:calendar-color></d:prop></d:set></d:propertyupdate>`
	f.do("PROPPATCH", "/dav/calendars/alice/mem~trips/", pp).must(t, 207, "200 OK")
	f.do("PROPFIND", "/dav/calendars/alice/mem~trips/", `<d:propfind xmlns:d="DAV:" xmlns:ical="http://apple.com/ns/ical/"><d:prop><d:displayname/><ical:calendar-color/></d:prop></d:propfind>`, "Depth", "0").
		must(t, 207, "Journeys", "#0000FF")
	bad := `<d:propertyupdate xmlns:d="DAV:" xmlns:x="urn:x"><d:set><d:prop><d:displayname>X</d:displayname><x:unknown>1</x:unknown></d:prop></d:set></d:propertyupdate>`
	f.do("PROPPATCH", "/dav/calendars/alice/mem~trips/", bad).must(t, 207, "403 Forbidden", "424 Failed Dependency")
	f.do("PROPPATCH", "/dav/calendars/alice/mem~ro/", pp).must(t, http.StatusForbidden, "need-privileges")
	f.do("DELETE", "/dav/calendars/alice/mem~trips/", "").must(t, 204)
	f.do("PROPFIND", "/dav/calendars/alice/mem~trips/", propfindAll, "Depth", "0").must(t, http.StatusNotFound)
}

func TestLimitsAndOptions(t *testing.T) {
	f := newFixture(t, 64)
	f.do("PUT", "/dav/calendars/alice/mem~work/big.ics", event1).must(t, http.StatusRequestEntityTooLarge)
	r := f.doAs("", "", "OPTIONS", "/dav/calendars/alice/mem~work/", "").must(t, 200)
	if !strings.Contains(r.hdr.Get("DAV"), "calendar-access") || !strings.Contains(r.hdr.Get("Allow"), "REPORT") {
		t.Fatalf("OPTIONS headers: %v", r.hdr)
	}
	r = f.do("OPTIONS", "/dav/calendars/alice/mem~ro/x.ics", "").must(t, 200)
	if strings.Contains(r.hdr.Get("Allow"), "PUT") {
		t.Fatalf("read-only object allows PUT: %v", r.hdr.Get("Allow"))
	}
	f.do("POST", "/dav/calendars/alice/mem~work/", "").must(t, http.StatusMethodNotAllowed)
	f.doAs("", "", "GET", "/healthz", "").must(t, 200, `"status":"ok"`)
}

func TestContacts(t *testing.T) {
	f := newFixture(t, 0)
	card := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c1\r\nFN:Jane Doe\r\nEMAIL:jane@example.com\r\nEND:VCARD\r\n"
	path := "/dav/addressbooks/alice/mem~contacts/c1.vcf"
	f.do("PUT", path, card, "Content-Type", "text/vcard").must(t, 201)
	f.do("GET", path, "").must(t, 200, "FN:Jane Doe")
	mg := `<card:addressbook-multiget xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop><d:getetag/><card:address-data/></d:prop><d:href>` + path + `</d:href></card:addressbook-multiget>`
	f.do("REPORT", "/dav/addressbooks/alice/mem~contacts/", mg).must(t, 207, "jane@example.com")
	// A calendar REPORT on an address book is refused.
	f.do("REPORT", "/dav/addressbooks/alice/mem~contacts/", `<c:calendar-query xmlns:c="urn:ietf:params:xml:ns:caldav"><c:filter><c:comp-filter name="VCALENDAR"/></c:filter></c:calendar-query>`).
		must(t, http.StatusForbidden, "supported-report")
}

func TestCalendarQuery(t *testing.T) {
	f := newFixture(t, 0)
	coll := "/dav/calendars/alice/mem~work/"
	// A weekly series that started long before the window.
	weekly := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:weekly\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250107T090000Z\r\nDTEND:20250107T100000Z\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:Standup\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	// A long event that began before the window and runs into it.
	long := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:long\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20261125T000000Z\r\nDTEND:20261203T000000Z\r\nSUMMARY:Conference\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	past := strings.Replace(strings.Replace(event1, "20261201", "20240101", 2), "ev1@example.com", "past", 1)
	todo := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTODO\r\nUID:todo\r\nDTSTAMP:20250101T000000Z\r\nSUMMARY:no dates\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
	for name, body := range map[string]string{"weekly": weekly, "long": long, "past": past, "ev1": event1, "todo": todo} {
		f.do("PUT", coll+name+".ics", body).must(t, 201)
	}
	q := func(comp, extra string) string {
		return `<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="` + comp + `">` + extra + `</c:comp-filter></c:comp-filter></c:filter></c:calendar-query>`
	}
	window := `<c:time-range start="20261201T000000Z" end="20261202T000000Z"/>`
	r := f.do("REPORT", coll, q("VEVENT", window), "Depth", "1").must(t, 207, "weekly.ics", "long.ics", "ev1.ics")
	if strings.Contains(r.body, "past.ics") || strings.Contains(r.body, "todo.ics") {
		t.Fatalf("calendar-query over-matched:\n%s", r.body)
	}
	// Open-ended range: everything from 2026 on.
	r = f.do("REPORT", coll, q("VEVENT", `<c:time-range start="20260101T000000Z"/>`), "Depth", "1").must(t, 207, "weekly.ics", "long.ics", "ev1.ics")
	if strings.Contains(r.body, "past.ics") {
		t.Fatalf("open range matched a 2024 event:\n%s", r.body)
	}
	// Case-insensitive text-match.
	r = f.do("REPORT", coll, q("VEVENT", `<c:prop-filter name="SUMMARY"><c:text-match>STANDUP</c:text-match></c:prop-filter>`), "Depth", "1").must(t, 207, "weekly.ics")
	if strings.Contains(r.body, "long.ics") {
		t.Fatalf("text-match over-matched:\n%s", r.body)
	}
	// A VTODO without dates matches any range.
	f.do("REPORT", coll, q("VTODO", window), "Depth", "1").must(t, 207, "todo.ics")
	// Expanded calendar-data carries instances with RECURRENCE-ID.
	ex := `<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><c:calendar-data><c:expand start="20261201T000000Z" end="20261215T000000Z"/></c:calendar-data></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:prop-filter name="UID"><c:text-match collation="i;octet">weekly</c:text-match></c:prop-filter></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>`
	r = f.do("REPORT", coll, ex, "Depth", "1").must(t, 207, "RECURRENCE-ID")
	if strings.Contains(r.body, "RRULE") {
		t.Fatalf("expanded data still has RRULE:\n%s", r.body)
	}
	// Free-busy over the window.
	fb := `<c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav"><c:time-range start="20261201T000000Z" end="20261202T000000Z"/></c:free-busy-query>`
	f.do("REPORT", coll, fb, "Depth", "1").must(t, 200, "BEGIN:VFREEBUSY", "FREEBUSY")
	// An unknown collation is refused with the RFC 4791 precondition.
	f.do("REPORT", coll, q("VEVENT", `<c:prop-filter name="SUMMARY"><c:text-match collation="x-unknown">a</c:text-match></c:prop-filter>`), "Depth", "1").must(t, http.StatusForbidden, "supported-collation")
	// A bad time-range is a clear 400.
	f.do("REPORT", coll, q("VEVENT", `<c:time-range start="2026-12-01"/>`), "Depth", "1").must(t, http.StatusBadRequest, "valid-filter")
}

func TestAddressbookQuery(t *testing.T) {
	f := newFixture(t, 0)
	coll := "/dav/addressbooks/alice/mem~contacts/"
	for i, name := range []string{"Jane Doe", "John Smith", "Zoë Müller"} {
		card := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c" + string(rune('0'+i)) + "\r\nFN:" + name + "\r\nEND:VCARD\r\n"
		f.do("PUT", coll+"c"+string(rune('0'+i))+".vcf", card, "Content-Type", "text/vcard").must(t, 201)
	}
	q := `<card:addressbook-query xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop><d:getetag/><card:address-data/></d:prop><card:filter><card:prop-filter name="FN"><card:text-match match-type="contains">john</card:text-match></card:prop-filter></card:filter></card:addressbook-query>`
	r := f.do("REPORT", coll, q, "Depth", "1").must(t, 207, "John Smith")
	if strings.Contains(r.body, "Jane") {
		t.Fatalf("over-matched:\n%s", r.body)
	}
	q = strings.Replace(q, "john", "MÜLLER", 1)
	f.do("REPORT", coll, q, "Depth", "1").must(t, 207, "Zoë Müller")
	lim := `<card:addressbook-query xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop><d:getetag/></d:prop><card:filter/><card:limit><card:nresults>1</card:nresults></card:limit></card:addressbook-query>`
	f.do("REPORT", coll, lim, "Depth", "1").must(t, 207, "number-of-matches-within-limits")
}

// renamingAdapter gives new collections IDs of its own, as Google does.
type renamingAdapter struct{ *memory.Adapter }

func (r renamingAdapter) CreateCollection(ctx context.Context, c adapters.Collection) (adapters.Collection, error) {
	c.ID = "srv-" + c.ID
	return r.Adapter.CreateCollection(ctx, c)
}

func TestMkcalendarUpstreamChosenID(t *testing.T) {
	mem, _ := memory.NewWith(memory.Options{})
	s, err := New(Options{Users: []User{{Name: "alice", Sources: []Source{{Name: "g", Adapter: renamingAdapter{mem}}}}}, Auth: plainAuth{"alice": "pw"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	f := &fixture{t: t, srv: srv, mem: mem}
	mk := `<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>Trips</d:displayname></d:prop></d:set></c:mkcalendar>`
	r := f.do("MKCALENDAR", "/dav/calendars/alice/NEW-UUID/", mk).must(t, 201)
	if r.hdr.Get("Location") != "/dav/calendars/alice/g~srv-NEW-UUID/" {
		t.Fatalf("Location %q", r.hdr.Get("Location"))
	}
	// The client's URL keeps working, and so does the canonical one.
	f.do("PROPFIND", "/dav/calendars/alice/NEW-UUID/", propfindAll, "Depth", "0").must(t, 207, "<d:displayname>Trips</d:displayname>")
	f.do("PUT", "/dav/calendars/alice/NEW-UUID/a.ics", event1).must(t, 201)
	f.do("GET", "/dav/calendars/alice/g~srv-NEW-UUID/a.ics", "").must(t, 200, "ev1@example.com")
}
