package ews

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/adaptertest"
	"github.com/davgate/davgate/adapters/ews/ewstest"
)

// harness runs the adapter against the fake EWS server, seeding through
// the fake's own API (an Exchange-side import, not through the adapter).
type harness struct {
	t   *testing.T
	srv *ewstest.Server

	mu     sync.Mutex
	a      *Adapter
	seeder *Adapter          // another davgate writing into the same mailbox
	seeded map[string]string // object ID → EWS ItemId
}

func newHarness(t *testing.T) adaptertest.Harness {
	return &harness{t: t, srv: ewstest.New(), seeded: map[string]string{}}
}

func testOptions(url string) Options {
	return Options{URL: url, Username: "user@example.test", Password: "secret",
		RetryBaseDelay: time.Millisecond, MaxRetryWait: time.Second}
}

func newTestAdapter(t *testing.T, o Options) *Adapter {
	t.Helper()
	a, err := NewWith(o, adapters.Env{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := a.Provision(t.Context()); err != nil {
		t.Fatal(err)
	}
	return a
}

func (h *harness) Adapter(ctx context.Context) (adapters.Reader, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.a == nil {
		h.a = newTestAdapter(h.t, testOptions(h.srv.URL()))
	}
	return h.a, nil
}

// Seed stores events as Exchange-side imports. Contacts and tasks have no
// import in Exchange (no vCard MIME, no VTODO MIME): they are written by a
// second adapter instance, which the instance under test sees as an
// outside writer. Seeds of VTODOs only go to the tasks folder.
func (h *harness) Seed(ctx context.Context, kind adapters.Kind, objs ...adapters.Object) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	todos := kind == adapters.KindCalendar && len(objs) > 0
	for _, o := range objs {
		if cal, err := o.Calendar(); err != nil || isCalendarData(cal) {
			todos = false
		}
	}
	if kind == adapters.KindAddressBook || todos {
		if h.seeder == nil {
			h.seeder = newTestAdapter(h.t, testOptions(h.srv.URL()))
		}
		coll := PrimaryContacts
		if todos {
			coll = PrimaryTasks
		}
		for _, o := range objs {
			if _, err := h.seeder.Put(ctx, coll, o, adapters.Cond{}); err != nil {
				return "", err
			}
		}
		return coll, nil
	}
	for _, o := range objs {
		if cal, err := o.Calendar(); err == nil && !isCalendarData(cal) {
			continue // VTODO mixed with events: calendar folders hold events only
		}
		data, err := o.Encode()
		if err != nil {
			return "", err
		}
		if id, ok := h.seeded[o.ID]; ok {
			if _, err := h.srv.UpdateItem(id, string(data)); err != nil {
				return "", err
			}
			continue
		}
		ref, err := h.srv.AddCalendarItem("calendar", string(data))
		if err != nil {
			return "", err
		}
		h.seeded[o.ID] = ref.ID
	}
	return PrimaryCalendar, nil
}

func (h *harness) Close() { h.srv.Close() }

func TestConformance(t *testing.T) {
	adaptertest.RunCalendar(t, newHarness)
}

func TestConformanceContacts(t *testing.T) {
	adaptertest.RunContacts(t, newHarness)
}
