package cache

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/memory"
)

type fbMemory struct{ *memory.Adapter }

func (fbMemory) FreeBusy(ctx context.Context, coll string, start, end time.Time) ([]adapters.BusyPeriod, error) {
	return []adapters.BusyPeriod{{Start: start, End: end, Type: "BUSY"}}, nil
}

func TestFreeBusyPassThrough(t *testing.T) {
	mem, err := memory.NewWith(memory.Options{Collections: []memory.CollectionOptions{{ID: "c", Name: "C"}}})
	if err != nil {
		t.Fatal(err)
	}
	start, end := time.Unix(0, 0).UTC(), time.Unix(3600, 0).UTC()
	plain := Wrap(mem, Options{})
	if adapters.CapabilitiesOf(plain).FreeBusy {
		t.Error("cache over memory declares FreeBusy")
	}
	if _, err := plain.FreeBusy(t.Context(), "c", start, end); !errors.Is(err, adapters.ErrUnsupported) {
		t.Errorf("FreeBusy without an inner FreeBusyer: %v", err)
	}
	native := Wrap(fbMemory{mem}, Options{})
	if !adapters.CapabilitiesOf(native).FreeBusy {
		t.Error("cache hides the inner FreeBusyer")
	}
	got, err := native.FreeBusy(t.Context(), "c", start, end)
	if err != nil || len(got) != 1 || got[0].Type != "BUSY" {
		t.Errorf("FreeBusy = %v, %v", got, err)
	}
}
