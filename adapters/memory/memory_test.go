package memory_test

import (
	"context"
	"testing"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/adaptertest"
	"github.com/davgate/davgate/adapters/memory"
)

// harness seeds through the adapter itself: memory is its own upstream.
type harness struct {
	a *memory.Adapter
}

func newHarness(t *testing.T) adaptertest.Harness {
	t.Helper()
	a, err := memory.NewWith(memory.Options{Collections: []memory.CollectionOptions{
		{ID: "cal", Name: "Calendar", Components: []string{"VEVENT", "VTODO"}},
		{ID: "book", Kind: "addressbook", Name: "Contacts"},
		{ID: "cal-ro", Name: "Holidays", ReadOnly: true},
		{ID: "book-ro", Kind: "addressbook", Name: "Directory", ReadOnly: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{a: a}
}

func (h *harness) Adapter(context.Context) (adapters.Reader, error) { return h.a, nil }

func (h *harness) Seed(ctx context.Context, kind adapters.Kind, objs ...adapters.Object) (string, error) {
	coll := "cal"
	if kind == adapters.KindAddressBook {
		coll = "book"
	}
	for _, o := range objs {
		if _, err := h.a.Put(ctx, coll, o, adapters.Cond{}); err != nil {
			return "", err
		}
	}
	return coll, nil
}

func (h *harness) Close() { _ = h.a.Close() }

func TestCalendarConformance(t *testing.T) { adaptertest.RunCalendar(t, newHarness) }

func TestContactsConformance(t *testing.T) { adaptertest.RunContacts(t, newHarness) }
