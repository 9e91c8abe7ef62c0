package e2e

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters/adaptertest"
)

// TestEWSRoundTrip PUTs every event of testdata/e2e/ews/roundtrip/ through
// davgate serve into the fake Exchange, GETs it back and compares the two
// after normalising only DTSTAMP, PRODID and SEQUENCE (the corpus covers
// RRULE with COUNT/UNTIL/BYMONTHDAY/BYSETPOS, EXDATE, overridden
// instances, VALARM, CATEGORIES, CLASS, URL, X- properties, all-day,
// IANA and Windows TZIDs, floating times and attendees). It then checks
// that every event reached the fake, and that the GET still matches once
// the gateway's cache has expired (a fresh read from Exchange).
func TestEWSRoundTrip(t *testing.T) {
	t.Parallel()
	g := startEWS(t, clientTestCache, nil)
	files, err := filepath.Glob(filepath.Join(repoRoot, "testdata", "e2e", "ews", "roundtrip", "*.ics"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) < 30 {
		t.Fatalf("round-trip corpus has %d events, want at least 30", len(files))
	}
	type sent struct {
		name, href, uid string
		cal             *ical.Calendar
	}
	var all []sent
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cal := decodeCal(t, data)
		uid, _ := cal.Events()[0].Props.Text(ical.PropUID)
		name := strings.TrimSuffix(filepath.Base(f), ".ics")
		href := g.CalURL + name + ".ics"
		resp, body := g.do(t, http.MethodPut, href, data, map[string]string{"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"})
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusNoContent {
			t.Errorf("%s: PUT: %s\n%s", name, resp.Status, body)
			continue
		}
		all = append(all, sent{name, href, uid, cal})
	}
	check := func(what string) {
		t.Helper()
		for _, s := range all {
			resp, body := g.do(t, http.MethodGet, s.href, nil, nil)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s: GET (%s): %s", s.name, what, resp.Status)
				continue
			}
			got, err := ical.NewDecoder(bytes.NewReader(body)).Decode()
			if err != nil {
				t.Errorf("%s: GET (%s): %v\n%s", s.name, what, err, body)
				continue
			}
			if d := adaptertest.DiffCalendar(s.cal, got, ical.PropDateTimeStamp, ical.PropProductID, ical.PropSequence); d != "" {
				t.Errorf("%s: GET (%s) differs from the PUT (-sent +got):\n%s", s.name, what, d)
			}
		}
	}
	check("after the PUT")
	for _, s := range all {
		if _, _, ok := itemByUID(t, g.srv, s.uid); !ok {
			t.Errorf("%s: the fake holds no item with UID %s", s.name, s.uid)
		}
	}
	if n := countItems(t, g.srv); n != len(all) {
		t.Errorf("the fake holds %d items, want %d", n, len(all))
	}
	time.Sleep(1200 * time.Millisecond) // past cache.ttl: the next GET asks Exchange
	check("after the cache TTL")
}
