package transfer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/davgate/davgate/adapters"
)

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Ignore names extra properties to disregard (on top of DTSTAMP,
	// PRODID and REV).
	Ignore []string
	// Retries and Backoff as in Options.
	Retries  int
	Backoff  time.Duration
	Progress func(Progress)
	Logger   *slog.Logger
}

// Difference is one object that is not the same on both sides.
type Difference struct {
	// UID identifies the object on both sides (objects are paired by UID,
	// since a target may store them under other hrefs); objects without a
	// UID are paired by ID.
	UID                string
	SourceID, TargetID string
	// Diff is the normalised line diff for changed objects ("-" source
	// only, "+" target only).
	Diff string
}

// VerifyCollection is the comparison of one job's collection.
type VerifyCollection struct {
	Label, Target string
	// Source and TargetCount are the object counts on each side.
	SourceCount, TargetCount int
	Equal                    int
	Missing                  []Difference // in the source only
	Extra                    []Difference // in the target only
	Changed                  []Difference // on both sides, different
	// Err is a failure to list either side; a missing target collection
	// matches adapters.ErrNotFound (and every source object is Missing).
	Err error
}

// OK reports whether the collection is the same on both sides.
func (v *VerifyCollection) OK() bool {
	return v.Err == nil && len(v.Missing) == 0 && len(v.Extra) == 0 && len(v.Changed) == 0
}

// VerifyReport is Verify's outcome.
type VerifyReport struct {
	Collections []*VerifyCollection
	Aborted     error
}

// OK reports whether every collection is the same on both sides.
func (r *VerifyReport) OK() bool {
	if r.Aborted != nil {
		return false
	}
	for _, c := range r.Collections {
		if !c.OK() {
			return false
		}
	}
	return true
}

// Verify compares each job's source collection with the target collection
// object by object: UID sets, then semantic equality (Diff) of each pair.
// It reads only. Differences are in the report; Verify does not stop on
// them.
func Verify(ctx context.Context, jobs []Job, dst adapters.Reader, opts VerifyOptions) *VerifyReport {
	rt := retrier{retries: opts.Retries, base: opts.Backoff, max: 10 * time.Second}
	if rt.retries == 0 {
		rt.retries = 4
	} else if rt.retries < 0 {
		rt.retries = 0
	}
	if rt.base <= 0 {
		rt.base = 250 * time.Millisecond
	}
	rep := &VerifyReport{}
	for i, job := range jobs {
		if err := ctx.Err(); err != nil {
			rep.Aborted = err
			break
		}
		vc := verifyCollection(ctx, rt, job, dst, opts.Ignore)
		rep.Collections = append(rep.Collections, vc)
		if opts.Progress != nil {
			opts.Progress(Progress{Label: job.Label, Done: vc.SourceCount, Total: vc.SourceCount, Collection: i + 1, Jobs: len(jobs), Finished: true})
		}
		if err := abortOn(ctx, vc.Err); err != nil {
			rep.Aborted = err
			break
		}
	}
	return rep
}

func verifyCollection(ctx context.Context, rt retrier, job Job, dst adapters.Reader, ignore []string) *VerifyCollection {
	vc := &VerifyCollection{Label: job.Label, Target: job.Target}
	kind := job.Collection.Kind
	var src, tgt []adapters.Object
	if err := rt.do(ctx, func() (err error) {
		src, err = job.Source.Objects(ctx, job.Collection.ID, adapters.Query{})
		return err
	}); err != nil {
		vc.Err = fmt.Errorf("list source collection %q: %w", job.Label, err)
		return vc
	}
	vc.SourceCount = len(src)
	err := rt.do(ctx, func() (err error) {
		tgt, err = dst.Objects(ctx, job.Target, adapters.Query{})
		return err
	})
	if err != nil {
		vc.Err = fmt.Errorf("list target collection %q: %w", job.Target, err)
		if !errors.Is(err, adapters.ErrNotFound) {
			return vc
		}
	}
	vc.TargetCount = len(tgt)
	key := func(o adapters.Object) string {
		if uid := UID(o); uid != "" {
			return uid
		}
		return "\x00id:" + o.ID // cannot collide with a UID
	}
	byKey := make(map[string]adapters.Object, len(tgt))
	for _, o := range tgt {
		o, _ = decoded(kind, o)
		byKey[key(o)] = o
	}
	tgt = nil
	seen := make(map[string]bool, len(src))
	for _, s := range src {
		s, err := decoded(kind, s)
		k := key(s)
		seen[k] = true
		t, ok := byKey[k]
		switch {
		case !ok:
			vc.Missing = append(vc.Missing, Difference{UID: UID(s), SourceID: s.ID})
		case err != nil:
			vc.Changed = append(vc.Changed, Difference{UID: UID(s), SourceID: s.ID, TargetID: t.ID, Diff: err.Error()})
		default:
			if d := Diff(kind, s, t, ignore...); d != "" {
				vc.Changed = append(vc.Changed, Difference{UID: UID(s), SourceID: s.ID, TargetID: t.ID, Diff: d})
			} else {
				vc.Equal++
			}
		}
	}
	for k, t := range byKey {
		if !seen[k] {
			vc.Extra = append(vc.Extra, Difference{UID: UID(t), TargetID: t.ID})
		}
	}
	sort.Slice(vc.Extra, func(i, j int) bool { return vc.Extra[i].TargetID < vc.Extra[j].TargetID })
	return vc
}
