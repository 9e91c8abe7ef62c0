package ics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters"
)

const tzBerlin = `BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
`

func event(uid, start, summary string) string {
	return fmt.Sprintf("BEGIN:VEVENT\nUID:%s\nDTSTAMP:20260101T000000Z\nDTSTART:%s\nDTEND:%s\nSUMMARY:%s\nEND:VEVENT\n",
		uid, start, start[:9]+"235900Z", summary)
}

func feed(body ...string) string {
	return "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\nX-WR-CALNAME:Test feed\n" + strings.Join(body, "") + "END:VCALENDAR\n"
}

func newTestAdapter(t *testing.T, o Options, c *clock, logs *logBuffer) *Adapter {
	t.Helper()
	var w *logBuffer
	if logs != nil {
		w = logs
	}
	env := testEnv(c, nil)
	if w != nil {
		env = testEnv(c, w)
	}
	a := NewWith(o, env)
	if err := a.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func mustObjects(t *testing.T, a *Adapter) map[string]adapters.Object {
	t.Helper()
	objs, err := a.Objects(t.Context(), "", adapters.Query{})
	if err != nil {
		t.Fatalf("Objects: %v", err)
	}
	m := map[string]adapters.Object{}
	for _, o := range objs {
		m[o.ID] = o
	}
	return m
}

func TestConditionalGETCostsNoReparse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		noCond bool
	}{{"304", false}, {"same body hash", true}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFeedServer(t, feed(event("a@x", "20260301T100000Z", "A")))
			srv.noCond = tc.noCond
			c := newClock()
			a := newTestAdapter(t, Options{URL: srv.URL, AllowPrivate: true}, c, nil)
			first := mustObjects(t, a)
			mustObjects(t, a) // fresh: no request at all
			if n := srv.requests.Load(); n != 1 {
				t.Fatalf("requests after two fresh reads = %d, want 1", n)
			}
			c.advance(2 * time.Hour)
			again := mustObjects(t, a)
			if n := srv.requests.Load(); n != 2 {
				t.Errorf("requests = %d, want 2", n)
			}
			if !tc.noCond {
				if srv.notModified.Load() != 1 {
					t.Errorf("304 answers = %d, want 1", srv.notModified.Load())
				}
				if r := srv.lastReq.Load(); r.Header.Get("If-None-Match") == "" || r.Header.Get("If-Modified-Since") == "" {
					t.Errorf("conditional headers missing: %v", r.Header)
				}
			}
			if p := a.parses.Load(); p != 1 {
				t.Errorf("parses = %d, want 1 (unchanged feed re-parsed)", p)
			}
			if again["a@x"].Version != first["a@x"].Version {
				t.Errorf("Version changed on an unchanged feed")
			}
			if st := a.Status(); st.Fetches != 2 || !st.Healthy || st.Stale {
				t.Errorf("Status = %+v", st)
			}
		})
	}
}

func TestStaleCopyOnFailureAndRecovery(t *testing.T) {
	srv := newFeedServer(t, feed(event("a@x", "20260301T100000Z", "A")))
	c := newClock()
	logs := &logBuffer{}
	a := newTestAdapter(t, Options{URL: srv.URL + "/private-0123456789abcdef0123/basic.ics?token=SECRET", AllowPrivate: true}, c, logs)
	mustObjects(t, a)

	srv.fail(http.StatusInternalServerError, nil)
	c.advance(2 * time.Hour)
	got := mustObjects(t, a)
	if _, ok := got["a@x"]; !ok {
		t.Fatalf("last good copy not served: %v", got)
	}
	st := a.Status()
	if !st.Stale || st.Healthy || st.Failures != 1 || st.LastError == "" {
		t.Errorf("Status after failure = %+v", st)
	}
	out := logs.String()
	if !strings.Contains(out, "serving the last good copy") || !strings.Contains(out, "basic.ics") {
		t.Errorf("log lacks the failure line with the feed: %s", out)
	}
	if strings.Contains(out, "SECRET") || strings.Contains(out, "0123456789abcdef0123") || strings.Contains(st.LastError, "SECRET") {
		t.Errorf("secret leaked into logs or status: %s / %s", out, st.LastError)
	}
	// Within the retry delay the failing feed is not asked again.
	before := srv.requests.Load()
	mustObjects(t, a)
	if srv.requests.Load() != before {
		t.Errorf("failing feed asked again before the retry delay")
	}

	srv.fail(0, nil)
	srv.set(feed(event("a@x", "20260301T100000Z", "A"), event("b@x", "20260302T100000Z", "B")))
	c.advance(10 * time.Minute)
	got = mustObjects(t, a)
	if len(got) != 2 {
		t.Errorf("after recovery %d objects, want 2", len(got))
	}
	if st := a.Status(); st.Stale || !st.Healthy || st.LastError != "" {
		t.Errorf("Status after recovery = %+v", st)
	}
}

func TestErrorsWithoutCopy(t *testing.T) {
	for _, tc := range []struct {
		status int
		header http.Header
		want   error
	}{
		{http.StatusUnauthorized, nil, adapters.ErrUnauthorized},
		{http.StatusForbidden, nil, adapters.ErrUnauthorized},
		{http.StatusNotFound, nil, adapters.ErrNotFound},
		{http.StatusGone, nil, adapters.ErrNotFound},
		{http.StatusInternalServerError, nil, adapters.ErrUnavailable},
		{http.StatusServiceUnavailable, http.Header{"Retry-After": {"120"}}, adapters.ErrUnavailable},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			srv := newFeedServer(t, "")
			srv.fail(tc.status, tc.header)
			a := newTestAdapter(t, Options{URL: srv.URL, AllowPrivate: true}, newClock(), nil)
			_, err := a.Objects(t.Context(), "", adapters.Query{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			var ra *adapters.RetryAfterError
			if tc.header != nil && (!errors.As(err, &ra) || ra.After != 2*time.Minute) {
				t.Errorf("want RetryAfterError of 2m, got %v", err)
			}
			// Discovery still lists the collection.
			colls, err := a.Collections(t.Context())
			if err != nil || len(colls) != 1 || !colls[0].ReadOnly {
				t.Errorf("Collections = %+v, %v", colls, err)
			}
			if a.Status().Healthy {
				t.Errorf("Status healthy after a failure")
			}
		})
	}
}

func TestSingleFetchForConcurrentReads(t *testing.T) {
	srv := newFeedServer(t, feed(event("a@x", "20260301T100000Z", "A")))
	srv.delay = 200 * time.Millisecond
	a := newTestAdapter(t, Options{URL: srv.URL, AllowPrivate: true}, newClock(), nil)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := a.Object(t.Context(), "", "a@x"); err != nil {
				t.Errorf("Object: %v", err)
			}
		})
	}
	wg.Wait()
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("%d requests for 10 concurrent reads, want 1", n)
	}
}

func TestSlowFeedTimesOut(t *testing.T) {
	srv := newFeedServer(t, feed(event("a@x", "20260301T100000Z", "A")))
	srv.delay = 2 * time.Second
	a := newTestAdapter(t, Options{URL: srv.URL, AllowPrivate: true, Timeout: 100 * time.Millisecond}, newClock(), nil)
	_, err := a.Objects(t.Context(), "", adapters.Query{})
	if !errors.Is(err, adapters.ErrUnavailable) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("error %v, want a timeout matching ErrUnavailable", err)
	}
}

func TestStableIDsAndVersions(t *testing.T) {
	noUID := "BEGIN:VEVENT\nDTSTAMP:20260101T000000Z\nDTSTART:20260310T100000Z\nSUMMARY:Same\nEND:VEVENT\n"
	body := feed(event("a@x", "20260301T100000Z", "A"), event("b/slash", "20260302T100000Z", "B"), noUID, noUID)
	srv := newFeedServer(t, body)
	c := newClock()
	a := newTestAdapter(t, Options{URL: srv.URL, AllowPrivate: true}, c, nil)
	first := mustObjects(t, a)
	if len(first) != 4 {
		t.Fatalf("%d objects, want 4 (two identical events without UID stay two)", len(first))
	}
	for id := range first {
		if strings.ContainsAny(id, "/ ") {
			t.Errorf("ID %q is not URL-safe", id)
		}
	}

	srv.set(strings.Replace(body, "SUMMARY:B", "SUMMARY:B changed", 1))
	c.advance(2 * time.Hour)
	second := mustObjects(t, a)
	if len(second) != len(first) {
		t.Fatalf("IDs changed: %d then %d objects", len(first), len(second))
	}
	changed := 0
	for id, o := range first {
		n, ok := second[id]
		if !ok {
			t.Fatalf("ID %q vanished after a refresh", id)
		}
		if n.Version != o.Version {
			changed++
			if uid := mustCal(t, n).Children[0].Props.Get(ical.PropUID).Value; uid != "b/slash" {
				t.Errorf("Version of unchanged %q changed", uid)
			}
		}
	}
	if changed != 1 {
		t.Errorf("%d Versions changed, want 1", changed)
	}
}

func TestBadEventsSkippedGoodServed(t *testing.T) {
	body := feed(
		event("good1@x", "20260301T100000Z", "Good 1"),
		"BEGIN:VEVENT\nUID:bad-start@x\nDTSTAMP:20260101T000000Z\nDTSTART:not-a-date\nEND:VEVENT\n",
		"this line is garbage\n",
		"BEGIN:VEVENT\nUID:cut@x\nDTSTART;TZID=Europe/Paris\nSUMMARY:cut param line\nDTSTAMP:20260101T000000Z\nEND:VEVENT\n",
		"BEGIN:VEVENT\nUID:bad-quote@x\nDTSTAMP:20260101T000000Z\nDTSTART:20260305T100000Z\nATTENDEE;CN=a\"b:mailto:a@x\nEND:VEVENT\n",
		event("good2@x", "20260302T100000Z", "Good 2"),
	)
	srv := newFeedServer(t, body)
	a := newTestAdapter(t, Options{URL: srv.URL, AllowPrivate: true}, newClock(), nil)
	got := mustObjects(t, a)
	for _, id := range []string{"good1@x", "good2@x", "cut@x", "bad-quote@x"} {
		if _, ok := got[id]; !ok {
			t.Errorf("%s not served; got %d objects", id, len(got))
		}
	}
	if _, ok := got["bad-start@x"]; ok {
		t.Errorf("event with unusable DTSTART served")
	}
	if st := a.Status(); !strings.Contains(st.Detail, "1 malformed") {
		t.Errorf("Status.Detail = %q, want the skipped count", st.Detail)
	}
}

func TestDuplicatesAndOrphanOverrides(t *testing.T) {
	body := feed(
		"BEGIN:VEVENT\nUID:dup@x\nSEQUENCE:1\nDTSTAMP:20260101T000000Z\nDTSTART:20260301T100000Z\nSUMMARY:newer\nEND:VEVENT\n",
		"BEGIN:VEVENT\nUID:dup@x\nSEQUENCE:0\nDTSTAMP:20260201T000000Z\nDTSTART:20260301T100000Z\nSUMMARY:older\nEND:VEVENT\n",
		"BEGIN:VEVENT\nUID:orphan@x\nDTSTAMP:20260101T000000Z\nRECURRENCE-ID:20260308T100000Z\nDTSTART:20260308T120000Z\nSUMMARY:moved\nEND:VEVENT\n",
	)
	srv := newFeedServer(t, body)
	a := newTestAdapter(t, Options{URL: srv.URL, AllowPrivate: true}, newClock(), nil)
	got := mustObjects(t, a)
	dup, ok := got["dup@x"]
	if !ok || len(mustCal(t, dup).Children) != 1 || mustCal(t, dup).Children[0].Props.Get(ical.PropSummary).Value != "newer" {
		t.Errorf("duplicate UID: want the SEQUENCE 1 copy only, got %+v", mustCal(t, dup))
	}
	if _, ok := got["orphan@x"]; !ok {
		t.Errorf("override without master not served")
	}
}

func TestFixturesNeverPanic(t *testing.T) {
	root := fixtureDir(t)
	var files []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(strings.ToLower(p), ".ics") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Skip("no fixtures")
	}
	served, rejected := 0, 0
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		t.Run(rel, func(t *testing.T) {
			a := newTestAdapter(t, Options{URL: "file://" + filepath.ToSlash(f)}, newClock(), nil)
			objs, err := a.Objects(t.Context(), "", adapters.Query{})
			if err != nil {
				if !errors.Is(err, adapters.ErrInvalid) {
					t.Errorf("rejected without ErrInvalid: %v", err)
				}
				rejected++
				return
			}
			served++
			for _, o := range objs {
				var buf bytes.Buffer
				if err := ical.NewEncoder(&buf).Encode(mustCal(t, o)); err != nil {
					t.Errorf("object %q does not encode: %v", o.ID, err)
				} else if !bytes.Equal(buf.Bytes(), o.Raw) {
					t.Errorf("object %q: Raw differs from the encoding of Data", o.ID)
				}
				if _, err := ical.NewDecoder(bytes.NewReader(o.Raw)).Decode(); err != nil {
					t.Errorf("object %q: Raw does not decode: %v", o.ID, err)
				}
			}
		})
	}
	t.Logf("%d fixtures served, %d rejected with ErrInvalid", served, rejected)
}

func TestPrivateAddressRefused(t *testing.T) {
	srv := newFeedServer(t, feed(event("a@x", "20260301T100000Z", "A")))
	a := newTestAdapter(t, Options{URL: srv.URL}, newClock(), nil)
	_, err := a.Objects(t.Context(), "", adapters.Query{})
	if !errors.Is(err, ErrPrivateAddress) || !errors.Is(err, adapters.ErrUnavailable) {
		t.Fatalf("error %v, want ErrPrivateAddress and ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "allow_private") {
		t.Errorf("error %q does not say how to allow it", err)
	}
	if srv.requests.Load() != 0 {
		t.Errorf("the request reached the loopback server")
	}
}

func TestRefusedAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:80": true, "[::1]:443": true, "10.1.2.3:80": true, "192.168.1.1:80": true,
		"172.16.0.1:80": true, "169.254.169.254:80": true, "0.0.0.0:80": true, "[::]:80": true,
		"[fe80::1]:80": true, "100.64.0.1:80": true, "[::ffff:127.0.0.1]:80": true, "[fd00::1]:80": true,
		"93.184.216.34:443": false, "[2606:4700::1111]:443": false,
	} {
		err := guardControl("tcp", addr, nil)
		if got := err != nil; got != want {
			t.Errorf("guardControl(%s) refused=%v, want %v (%v)", addr, got, want, err)
		}
	}
}

func TestRefreshInterval(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		hint time.Duration
		want time.Duration
	}{
		{"default", Options{}, 0, time.Hour},
		{"feed hint", Options{}, 15 * time.Minute, 15 * time.Minute},
		{"hint below min", Options{}, time.Minute, 5 * time.Minute},
		{"hint above max", Options{}, 7 * 24 * time.Hour, 24 * time.Hour},
		{"custom clamp", Options{MinRefresh: 30 * time.Minute, MaxRefresh: 2 * time.Hour}, 10 * time.Minute, 30 * time.Minute},
		{"explicit refresh wins", Options{Refresh: 2 * time.Minute}, 7 * 24 * time.Hour, 2 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := NewWith(tc.o, adapters.Env{})
			if got := a.interval(&snapshot{hint: tc.hint}); got != tc.want {
				t.Errorf("interval = %s, want %s", got, tc.want)
			}
		})
	}

	// End to end: X-PUBLISHED-TTL:PT1M is clamped to five minutes.
	srv := newFeedServer(t, strings.Replace(feed(event("a@x", "20260301T100000Z", "A")), "VERSION:2.0\n", "VERSION:2.0\nX-PUBLISHED-TTL:PT1M\n", 1))
	c := newClock()
	a := newTestAdapter(t, Options{URL: srv.URL, AllowPrivate: true}, c, nil)
	mustObjects(t, a)
	c.advance(4 * time.Minute)
	mustObjects(t, a)
	if srv.requests.Load() != 1 {
		t.Errorf("refetched before min_refresh")
	}
	c.advance(2 * time.Minute)
	mustObjects(t, a)
	if srv.requests.Load() != 2 {
		t.Errorf("not refetched after min_refresh")
	}
}

func TestNewOptions(t *testing.T) {
	_, err := New(yamlOptions("url: https://example.org/a.ics\nbogus: 1\n"), adapters.Env{})
	if err == nil {
		t.Errorf("unknown option accepted")
	}
	ad, err := New(yamlOptions("url: webcal://example.org/cal.ics\nrefresh: 90m\nuser_agent: Mozilla/5.0\nheaders: {X-Api: k}\n"), adapters.Env{})
	if err != nil {
		t.Fatal(err)
	}
	a := ad.(*Adapter)
	if a.src.url != "https://example.org/cal.ics" || a.opts.Refresh != 90*time.Minute || a.opts.UserAgent != "Mozilla/5.0" {
		t.Errorf("decoded %+v from %+v", a.opts, a.src)
	}
	if err := a.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	for _, tc := range []struct{ name, yaml string }{
		{"no url", "name: x\n"},
		{"ftp", "url: ftp://example.org/a.ics\n"},
		{"bad color", "url: https://example.org/a.ics\ncolor: red\n"},
		{"refresh too short", "url: https://example.org/a.ics\nrefresh: 10ms\n"},
		{"bad header", "url: https://example.org/a.ics\nheaders: {\"Bad Header\": x}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ad, err := New(yamlOptions(tc.yaml), adapters.Env{})
			if err != nil {
				t.Fatal(err)
			}
			if err := ad.(*Adapter).Validate(); !errors.Is(err, adapters.ErrInvalid) {
				t.Errorf("Validate = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestRequestHeadersAndOverrides(t *testing.T) {
	srv := newFeedServer(t, feed(event("a@x", "20260301T100000Z", "A")))
	a := newTestAdapter(t, Options{URL: srv.URL, AllowPrivate: true, Username: "u", Password: "p",
		Headers: map[string]string{"X-Test": "1"}, Name: "Mine", Color: "#112233"}, newClock(), nil)
	colls, err := a.Collections(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c := colls[0]; c.Name != "Mine" || c.Color != "#112233" || c.ID != "" || !c.ReadOnly || c.Kind != adapters.KindCalendar {
		t.Errorf("collection = %+v", c)
	}
	r := srv.lastReq.Load()
	if u, p, ok := r.BasicAuth(); !ok || u != "u" || p != "p" {
		t.Errorf("no Basic auth")
	}
	if r.Header.Get("X-Test") != "1" || !strings.HasPrefix(r.Header.Get("User-Agent"), "davgate/") {
		t.Errorf("headers = %v", r.Header)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://calendar.google.com/calendar/ical/me%40gmail.com/private-0123456789abcdef0123456789/basic.ics": "https://calendar.google.com/…/basic.ics",
		"https://user:pw@example.org/feed.ics?token=abc":                                                        "https://example.org/feed.ics?…",
		"https://example.org/a/b/3f9e1c2d4b5a69788796a5b4":                                                      "https://example.org/…",
		"testdata/feeds/team.ics": "testdata/feeds/team.ics",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDemoFeeds(t *testing.T) {
	for _, tc := range []struct {
		file    string
		objects int
		check   func(t *testing.T, objs map[string]adapters.Object)
	}{
		{"holidays.ics", 7, nil},
		{"team.ics", 4, func(t *testing.T, objs map[string]adapters.Object) {
			o := objs["weekly-standup-2026@team.example.org"]
			if mustCal(t, o) == nil || len(mustCal(t, o).Children) != 3 { // VTIMEZONE, master, override
				t.Fatalf("stand-up object = %+v", mustCal(t, o))
			}
			if n := len(mustCal(t, o).Events()[0].Props[ical.PropExceptionDates]); n != 2 {
				t.Errorf("EXDATE split into %d properties, want 2", n)
			}
		}},
		{"outlook.ics", 3, func(t *testing.T, objs map[string]adapters.Object) {
			for _, o := range objs {
				for _, ev := range mustCal(t, o).Events() {
					tzid := ev.Props.Get(ical.PropDateTimeStart).Params.Get(ical.ParamTimezoneID)
					if _, err := time.LoadLocation(tzid); err != nil || tzid == "" {
						t.Errorf("TZID %q is not IANA", tzid)
					}
					if _, err := ev.DateTimeStart(time.UTC); err != nil {
						t.Errorf("DTSTART unreadable: %v", err)
					}
				}
			}
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("..", "..", "testdata", "feeds", tc.file)
			if _, err := os.Stat(path); err != nil {
				t.Skip(err)
			}
			a := newTestAdapter(t, Options{URL: path}, newClock(), nil)
			objs := mustObjects(t, a)
			if len(objs) != tc.objects {
				t.Errorf("%d objects, want %d", len(objs), tc.objects)
			}
			if tc.check != nil {
				tc.check(t, objs)
			}
		})
	}
}

func TestTimeRangeNeverOmits(t *testing.T) {
	body := feed(
		event("past@x", "20250101T100000Z", "past"),
		event("in@x", "20260305T100000Z", "in"),
		"BEGIN:VEVENT\nUID:weekly@x\nDTSTAMP:20260101T000000Z\nDTSTART:20200106T090000Z\nDTEND:20200106T100000Z\nRRULE:FREQ=WEEKLY\nEND:VEVENT\n",
		"BEGIN:VEVENT\nUID:until@x\nDTSTAMP:20260101T000000Z\nDTSTART:20200106T090000Z\nDTEND:20200106T100000Z\nRRULE:FREQ=WEEKLY;UNTIL=20210101T000000Z\nEND:VEVENT\n",
		"BEGIN:VEVENT\nUID:floating@x\nDTSTAMP:20260101T000000Z\nDTSTART:20260308T230000\nEND:VEVENT\n",
		"BEGIN:VEVENT\nUID:moved@x\nDTSTAMP:20260101T000000Z\nDTSTART:20250106T090000Z\nRRULE:FREQ=DAILY;COUNT=1\nEND:VEVENT\n",
	)
	srv := newFeedServer(t, body)
	a := newTestAdapter(t, Options{URL: srv.URL, AllowPrivate: true}, newClock(), nil)
	objs, err := a.Objects(t.Context(), "", adapters.Query{
		Start: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, o := range objs {
		got[o.ID] = true
	}
	for _, id := range []string{"in@x", "weekly@x", "floating@x", "moved@x"} {
		if !got[id] {
			t.Errorf("%s omitted from an overlapping range", id)
		}
	}
	for _, id := range []string{"past@x", "until@x"} {
		if got[id] {
			t.Errorf("%s returned although it cannot overlap", id)
		}
	}
}

func TestCanceledWhileFetching(t *testing.T) {
	srv := newFeedServer(t, feed(event("a@x", "20260301T100000Z", "A")))
	srv.delay = 300 * time.Millisecond
	a := newTestAdapter(t, Options{URL: srv.URL, AllowPrivate: true}, newClock(), nil)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := a.Objects(ctx, "", adapters.Query{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the caller's deadline", err)
	}
	// The shared fetch went on and serves the next read.
	time.Sleep(400 * time.Millisecond)
	if _, err := a.Object(t.Context(), "", "a@x"); err != nil {
		t.Errorf("Object after a canceled read: %v", err)
	}
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}
