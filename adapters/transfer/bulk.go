package transfer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/davgate/davgate/adapters"
)

// BulkWriter is an optional capability of a Target: filling a collection
// that Copy has just created, and that is therefore empty, in one request
// (the caldav adapter on servers that take a whole-calendar PUT on a
// collection URL, such as Radicale). Per-object writes into such servers
// cost time in proportion to the collection's size, so a bulk load turns
// a quadratic copy into a linear one.
//
// It is not part of the adapter contract: only migrations into a fresh
// collection can use it, and the gateway never does.
type BulkWriter interface {
	// PutAll stores objs in coll, which must be empty. It returns the
	// objects stored (ID as given, and Version); objects it left out
	// are written one by one by the caller. An error means nothing is
	// known about the collection's contents: the caller lists it again
	// and continues object by object. Errors other than ErrUnsupported
	// (ErrUnavailable: the request failed in flight) fail the collection:
	// the server may still apply the bulk write later.
	PutAll(ctx context.Context, coll string, objs []adapters.Object) ([]adapters.Object, error)
}

// bulk hands works to bw and records what it stored. It returns the
// works still to do, and the target index to do them against (re-read
// when the bulk write failed, as the collection may hold part of it).
func (c *copier) bulk(ctx context.Context, job Job, kind adapters.Kind, cr *CollectionReport, bw BulkWriter,
	works []work, n, jobs int, log *slog.Logger) ([]work, map[string]*tobj, error) {
	objs := make([]adapters.Object, len(works))
	for i, w := range works {
		objs[i] = w.src
	}
	stored, err := bw.PutAll(ctx, job.Target, objs)
	objs = nil
	if err != nil {
		if ctx.Err() != nil {
			return works, nil, ctx.Err()
		}
		if !errors.Is(err, adapters.ErrUnsupported) {
			// Interrupted in flight: the server may still be storing
			// the collection, and would replace what is written now.
			return works, nil, fmt.Errorf("bulk upload into %q interrupted (the server may still complete it; rerun to compare and copy the rest): %w", job.Target, err)
		}
		log.Info("bulk upload refused; copying object by object", "err", err)
		byID, byUID, lerr := c.index(ctx, job, kind, true, log)
		if lerr != nil {
			return works, nil, lerr
		}
		for i := range works {
			works[i].t = nil
		}
		pair(c.opts.Policy, works, byID, byUID)
		return works, byID, nil
	}
	got := make(map[string]adapters.Object, len(stored))
	for _, o := range stored {
		got[o.ID] = o
	}
	rest := make([]work, 0, len(works)-len(got))
	for _, w := range works {
		s, ok := got[w.src.ID]
		if !ok {
			rest = append(rest, w)
			continue
		}
		c.record(cr, Item{ID: w.src.ID, UID: w.uid, Action: ActCreate})
		c.state.put(job.Target, w.src.ID, Entry{SourceVersion: contentVersion(w.src), TargetID: w.src.ID, TargetVersion: s.Version})
	}
	log.Debug("bulk upload", "stored", len(got), "left", len(rest))
	if c.opts.Progress != nil && len(got) > 0 {
		c.opts.Progress(Progress{Label: job.Label, Done: cr.Failed + cr.Copied, Total: cr.Total, Collection: n, Jobs: jobs})
	}
	return rest, map[string]*tobj{}, nil
}
