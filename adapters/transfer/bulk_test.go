package transfer

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/memory"
)

// bulkMem is a memory target with a BulkWriter: it stores every other
// object (the rest are left for per-object PUTs), or, with fail set,
// stores a few and then reports an error, like a server that took part of
// a collection PUT.
type bulkMem struct {
	*memory.Adapter
	fail       bool
	down       bool // PutAll fails in flight
	bulkCalls  atomic.Int32
	singlePuts atomic.Int32
}

func (b *bulkMem) Put(ctx context.Context, coll string, o adapters.Object, c adapters.Cond) (adapters.Object, error) {
	b.singlePuts.Add(1)
	return b.Adapter.Put(ctx, coll, o, c)
}

func (b *bulkMem) PutAll(ctx context.Context, coll string, objs []adapters.Object) ([]adapters.Object, error) {
	b.bulkCalls.Add(1)
	if b.down {
		return nil, fmt.Errorf("bulk: timeout: %w", adapters.ErrUnavailable)
	}
	var out []adapters.Object
	for i, o := range objs {
		if i%2 == 1 || b.fail && i > 4 {
			continue
		}
		s, err := b.Adapter.Put(ctx, coll, full(adapters.KindCalendar, o), adapters.Cond{IfAbsent: true})
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if b.fail {
		return nil, fmt.Errorf("bulk: stored something else: %w", adapters.ErrUnsupported)
	}
	return out, nil
}

func TestBulkIntoNewCollection(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail=%v", fail), func(t *testing.T) {
			ctx := context.Background()
			src := source(t, 20)
			dst := &bulkMem{Adapter: newMem(t), fail: fail}
			state := NewState()
			rep := Copy(ctx, jobsFor(t, src), dst, Options{State: state})
			mustOK(t, rep)
			// After a failed bulk put, what the server did store is
			// found by the relisting and reported as unchanged.
			wantCreated := 21
			if fail {
				wantCreated = 18
			}
			if tot := rep.Totals(); tot.Created != wantCreated || tot.Copied+tot.Unchanged != 21 {
				t.Fatalf("first run: %+v", tot)
			}
			// The calendar goes through PutAll; the one-card address book
			// is not worth it.
			if dst.bulkCalls.Load() != 1 {
				t.Errorf("%d bulk calls, want 1", dst.bulkCalls.Load())
			}
			wantSingle := int32(10 + 1)
			if fail {
				wantSingle = 20 - 3 + 1 // 3 stored before the failure are found by the relisting
			}
			if got := dst.singlePuts.Load(); got != wantSingle {
				t.Errorf("%d single PUTs, want %d", got, wantSingle)
			}
			mustVerify(t, src, dst)
			// Reruns, with and without state, copy nothing and call no bulk.
			for _, st := range []*State{state, nil} {
				rep = Copy(ctx, jobsFor(t, src), dst, Options{State: st})
				mustOK(t, rep)
				if tot := rep.Totals(); tot.Copied != 0 || tot.Unchanged != 21 {
					t.Fatalf("rerun (state %v): %+v", st != nil, tot)
				}
			}
			if dst.bulkCalls.Load() != 1 {
				t.Errorf("bulk used on a rerun")
			}
		})
	}
}

// TestBulkInterrupted: a bulk write that failed in flight may still land
// on the server, so the collection fails instead of being written object
// by object meanwhile; the run stops (the target is unavailable).
func TestBulkInterrupted(t *testing.T) {
	src := source(t, 5)
	dst := &bulkMem{Adapter: newMem(t), down: true}
	rep := Copy(context.Background(), jobsFor(t, src), dst, Options{})
	// One single PUT: the address book, copied before "work".
	if rep.OK() || rep.Aborted == nil || dst.singlePuts.Load() != 1 {
		t.Fatalf("report OK %v, aborted %v, %d single PUTs", rep.OK(), rep.Aborted, dst.singlePuts.Load())
	}
	var work *CollectionReport
	for _, c := range rep.Collections {
		if c.Label == "work" {
			work = c
		}
	}
	if work == nil || work.Err == nil || work.Pending != 5 {
		t.Fatalf("work collection: %+v", work)
	}
}
