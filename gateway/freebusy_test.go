package gateway

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/memory"
)

// freeBusyMemory is a memory adapter whose upstream answers free-busy
// itself, for collection "native"; others say ErrUnsupported.
type freeBusyMemory struct {
	*memory.Adapter
	calls atomic.Int32
}

func (m *freeBusyMemory) FreeBusy(ctx context.Context, coll string, start, end time.Time) ([]adapters.BusyPeriod, error) {
	m.calls.Add(1)
	if coll != "native" {
		return nil, fmt.Errorf("free-busy of %q: %w", coll, adapters.ErrUnsupported)
	}
	return []adapters.BusyPeriod{
		{Start: start.Add(-time.Hour), End: start.Add(time.Hour), Type: "BUSY-TENTATIVE"}, // clipped to the window
		{Start: start.Add(2 * time.Hour), End: start.Add(3 * time.Hour), Type: "BUSY-UNAVAILABLE"},
		{Start: start.Add(4 * time.Hour), End: start.Add(5 * time.Hour)},
	}, nil
}

func TestFreeBusyNative(t *testing.T) {
	mem, err := memory.NewWith(memory.Options{Collections: []memory.CollectionOptions{
		{ID: "native", Name: "Native"}, {ID: "computed", Name: "Computed"}}})
	if err != nil {
		t.Fatal(err)
	}
	a := &freeBusyMemory{Adapter: mem}
	if !adapters.CapabilitiesOf(a).FreeBusy {
		t.Fatal("CapabilitiesOf does not see FreeBusyer")
	}
	s, err := New(Options{Users: []User{{Name: "alice", Sources: []Source{{Name: "mem", Adapter: a}}}}, Auth: plainAuth{"alice": "pw"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	f := &fixture{t: t, srv: srv, mem: mem}
	fb := `<c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav"><c:time-range start="20261201T000000Z" end="20261202T000000Z"/></c:free-busy-query>`
	f.do("REPORT", "/dav/calendars/alice/mem~native/", fb, "Depth", "1").must(t, 200,
		"FREEBUSY;FBTYPE=BUSY-TENTATIVE:20261201T000000Z/20261201T010000Z",
		"FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20261201T020000Z/20261201T030000Z",
		"FREEBUSY;FBTYPE=BUSY:20261201T040000Z/20261201T050000Z")
	if a.calls.Load() != 1 {
		t.Errorf("%d FreeBusy calls, want 1", a.calls.Load())
	}
	// ErrUnsupported: computed from the events instead.
	ev := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:fb1\r\nDTSTAMP:20260101T000000Z\r\n" +
		"DTSTART:20261201T100000Z\r\nDTEND:20261201T110000Z\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	f.do("PUT", "/dav/calendars/alice/mem~computed/fb1.ics", ev).must(t, 201)
	r := f.do("REPORT", "/dav/calendars/alice/mem~computed/", fb, "Depth", "1").must(t, 200, "FREEBUSY;FBTYPE=BUSY:20261201T100000Z/20261201T110000Z")
	if strings.Contains(r.body, "BUSY-TENTATIVE") || a.calls.Load() != 2 {
		t.Errorf("fallback: %d calls\n%s", a.calls.Load(), r.body)
	}
}
