package transfer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/davgate/davgate/adapters"
)

// Target is what Copy writes into. It is read too, to compare with what is
// already there. A target that also implements adapters.CollectionWriter
// gets missing collections created.
type Target interface {
	adapters.Reader
	adapters.Writer
}

// Options tune Copy.
type Options struct {
	// Policy resolves conflicts.
	Policy Policy
	// DryRun reads both sides and reports what would be done, writing
	// nothing (not even the State).
	DryRun bool
	// Delete says which target objects without a source are removed.
	Delete DeleteMode
	// Concurrency bounds the writes in flight. Default 4.
	Concurrency int
	// Retries is how often a call failing with ErrUnavailable is retried.
	// Default 4; negative means none.
	Retries int
	// Backoff is the first retry's wait, doubled each time up to MaxBackoff.
	// Defaults 250ms and 10s.
	Backoff, MaxBackoff time.Duration
	// AbortAfter stops the run after that many consecutive objects failed
	// with ErrUnavailable after their retries: the target is down, and
	// hammering it per object only delays the report. Default
	// Concurrency+4.
	AbortAfter int
	// State, when set, speeds reruns and tells source changes from target
	// edits. It is saved after each collection.
	State *State
	// Ignore names extra properties the comparison disregards (on top of
	// DTSTAMP, PRODID and REV).
	Ignore []string
	// NoBulk writes object by object even where the target offers a
	// BulkWriter (for comparisons and servers that misreport it).
	NoBulk bool
	// Progress, if set, is called after each object, from one goroutine
	// at a time.
	Progress func(Progress)
	Logger   *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Retries == 0 {
		o.Retries = 4
	} else if o.Retries < 0 {
		o.Retries = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = 250 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 10 * time.Second
	}
	if o.AbortAfter <= 0 {
		o.AbortAfter = o.Concurrency + 4
	}
	o.Logger = logger(o.Logger)
	return o
}

type copier struct {
	opts  Options
	dst   Target
	retry retrier
	log   *slog.Logger
	state *State
}

// errTargetDown cancels a collection's workers when the target keeps
// failing with ErrUnavailable.
var errTargetDown = errors.New("target keeps failing")

// Copy copies each job's collection into dst, creating target collections
// where dst allows, and returns what it did. It never returns early on an
// object's failure: failures are in the report. The run stops early
// (Report.Aborted) only if ctx ends or the target stays unavailable;
// rerunning completes the job, since Copy compares with what the target
// holds.
func Copy(ctx context.Context, jobs []Job, dst Target, opts Options) *Report {
	opts = opts.withDefaults()
	c := &copier{
		opts: opts, dst: dst, log: opts.Logger, state: opts.State,
		retry: retrier{retries: opts.Retries, base: opts.Backoff, max: opts.MaxBackoff},
	}
	if opts.DryRun && c.state != nil {
		// A dry run must not record copies it did not make.
		c.state = cloneState(c.state)
	}
	rep := &Report{DryRun: opts.DryRun}
	start := time.Now()
	defer func() { rep.Duration = time.Since(start) }()

	var existing []adapters.Collection
	err := c.retry.do(ctx, func() (err error) {
		existing, err = dst.Collections(ctx)
		return err
	})
	if err != nil {
		rep.Aborted = fmt.Errorf("list target collections: %w", err)
		return rep
	}
	byID := make(map[string]adapters.Collection, len(existing))
	for _, col := range existing {
		byID[col.ID] = col
	}
	for i, job := range jobs {
		if err := ctx.Err(); err != nil {
			rep.Aborted = err
			break
		}
		cr, abort := c.collection(ctx, job, byID, i+1, len(jobs))
		rep.Collections = append(rep.Collections, cr)
		if !opts.DryRun {
			if err := c.state.Save(); err != nil {
				c.log.Warn("saving transfer state failed; the next run compares content instead", "err", err)
			}
		}
		if opts.Progress != nil {
			opts.Progress(Progress{Label: job.Label, Done: cr.Total - cr.Pending, Total: cr.Total, Collection: i + 1, Jobs: len(jobs), Finished: true, Report: cr})
		}
		if abort != nil {
			rep.Aborted = abort
			break
		}
	}
	return rep
}

func cloneState(s *State) *State {
	out := NewState()
	s.mu.Lock()
	defer s.mu.Unlock()
	for coll, m := range s.data.Collections {
		cp := make(map[string]Entry, len(m))
		for k, v := range m {
			cp[k] = v
		}
		out.data.Collections[coll] = cp
	}
	return out
}

// tobj is one object of the target collection.
type tobj struct {
	obj     adapters.Object
	uid     string
	matched bool // has a source counterpart (or is a KeepBoth copy)
}

type work struct {
	src adapters.Object
	uid string
	t   *tobj // counterpart on the target, or nil
}

// collection copies one job. It returns a non-nil abort error when the
// whole run must stop.
func (c *copier) collection(ctx context.Context, job Job, targets map[string]adapters.Collection, n, jobs int) (*CollectionReport, error) {
	cr := &CollectionReport{Label: job.Label, Target: job.Target}
	kind := job.Collection.Kind
	log := c.log.With(slog.String("collection", job.Label), slog.String("target", job.Target))

	var srcObjs []adapters.Object
	if err := c.retry.do(ctx, func() (err error) {
		srcObjs, err = job.Source.Objects(ctx, job.Collection.ID, adapters.Query{})
		return err
	}); err != nil {
		cr.Err = fmt.Errorf("list source collection %q: %w", job.Label, err)
		return cr, abortOn(ctx, err)
	}
	sort.Slice(srcObjs, func(i, j int) bool { return srcObjs[i].ID < srcObjs[j].ID })
	cr.Total = len(srcObjs)

	exists, err := c.ensureCollection(ctx, job, targets, cr)
	if err != nil {
		cr.Err = err
		cr.Pending = cr.Total
		return cr, abortOn(ctx, err)
	}

	// Index the target collection. Both listings of one collection are
	// held at once; collections are processed one at a time, so memory is
	// bounded by the largest collection, not by the account.
	byID, byUID, err := c.index(ctx, job, kind, exists, log)
	if err != nil {
		cr.Err = err
		cr.Pending = cr.Total
		return cr, abortOn(ctx, err)
	}

	// Plan sequentially: pair each source object with its counterpart
	// (same ID, else same UID: a target that renamed the href on an
	// earlier copy, or an object that was already there) and reject
	// duplicate UIDs, which a CalDAV collection cannot hold twice.
	seenUID := map[string]string{}
	works := make([]work, 0, len(srcObjs))
	for _, o := range srcObjs {
		o, err := decoded(kind, o)
		if err != nil {
			c.record(cr, Item{ID: o.ID, Action: ActFail, Reason: "source object is not decodable", Err: err})
			continue
		}
		uid := UID(o)
		if uid != "" {
			if first, dup := seenUID[uid]; dup {
				c.record(cr, Item{ID: o.ID, UID: uid, Action: ActFail,
					Reason: fmt.Sprintf("UID also used by source object %q; a collection holds each UID once", first),
					Err:    fmt.Errorf("duplicate UID %q: %w", uid, adapters.ErrInvalid)})
				continue
			}
			seenUID[uid] = o.ID
		}
		works = append(works, work{src: lean(o), uid: uid})
	}
	pair(c.opts.Policy, works, byID, byUID)

	// A collection this run created is empty: a target that can fill it
	// in one request gets every object at once.
	if bw, ok := c.dst.(BulkWriter); ok && !exists && cr.CreatedCollection && !c.opts.DryRun && !c.opts.NoBulk && len(works) > 1 {
		works, byID, err = c.bulk(ctx, job, kind, cr, bw, works, n, jobs, log)
		if err != nil {
			cr.Err = err
			cr.Pending = len(works)
			return cr, abortOn(ctx, err)
		}
	}
	abort := c.run(ctx, job, kind, cr, works, byID, n, jobs)
	if abort == nil {
		c.deletions(ctx, job, cr, works, byID)
	}
	log.Debug("collection done", "copied", cr.Copied, "unchanged", cr.Unchanged, "skipped", cr.Skipped,
		"failed", cr.Failed, "deleted", cr.Deleted, "pending", cr.Pending)
	return cr, abort
}

// abortOn says whether a collection-level failure must stop the run: a
// target or source that is down fails every later collection too.
func abortOn(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, adapters.ErrUnavailable) || errors.Is(err, adapters.ErrUnauthorized) {
		return err
	}
	return nil
}

// ensureCollection creates the target collection if missing (or plans to,
// in a dry run) and aligns its name and color. It reports whether the
// target collection existed before.
func (c *copier) ensureCollection(ctx context.Context, job Job, targets map[string]adapters.Collection, cr *CollectionReport) (bool, error) {
	src := job.Collection
	tc, ok := targets[job.Target]
	cw, canCreate := c.dst.(adapters.CollectionWriter)
	// Wrappers (the cache) implement every interface; ask what they back.
	canCreate = canCreate && adapters.CapabilitiesOf(c.dst).CollectionWrite
	if !ok {
		if !canCreate {
			return false, fmt.Errorf("target collection %q does not exist and the target cannot create collections; create it there first: %w", job.Target, adapters.ErrUnsupported)
		}
		cr.CreatedCollection = true
		if c.opts.DryRun {
			return false, nil
		}
		meta := src
		meta.ID, meta.ReadOnly = job.Target, false
		var created adapters.Collection
		err := c.retry.do(ctx, func() (err error) {
			created, err = cw.CreateCollection(ctx, meta)
			return err
		})
		if err != nil {
			return false, fmt.Errorf("create target collection %q: %w", job.Target, err)
		}
		targets[job.Target] = created
		return false, nil
	}
	if tc.Kind != src.Kind {
		return true, fmt.Errorf("target collection %q is a%s %s, the source an %s: %w", job.Target,
			map[bool]string{true: "n", false: ""}[tc.Kind == adapters.KindAddressBook], tc.Kind, src.Kind, adapters.ErrInvalid)
	}
	var p adapters.CollectionPatch
	if src.Name != "" && src.Name != tc.Name {
		p.Name = &src.Name
	}
	if src.Color != "" && !sameColor(src.Color, tc.Color) {
		p.Color = &src.Color
	}
	if canCreate && (p.Name != nil || p.Color != nil) {
		cr.UpdatedCollection = true
		if !c.opts.DryRun {
			err := c.retry.do(ctx, func() error {
				_, err := cw.UpdateCollection(ctx, job.Target, p)
				return err
			})
			if err != nil {
				// Properties are cosmetic; the objects still get copied.
				cr.UpdatedCollection = false
				c.log.Warn("updating the target collection's name or color failed", "target", job.Target, "err", err)
			}
		}
	}
	return true, nil
}

// sameColor compares #RRGGBB with #RRGGBBFF (servers add the alpha).
func sameColor(a, b string) bool {
	norm := func(s string) string {
		if len(s) == 9 && (s[7:] == "FF" || s[7:] == "ff") {
			s = s[:7]
		}
		return s
	}
	return equalFoldASCII(norm(a), norm(b))
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// run handles works with bounded concurrency.
func (c *copier) run(ctx context.Context, job Job, kind adapters.Kind, cr *CollectionReport, works []work, byID map[string]*tobj, n, jobs int) error {
	jctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ch := make(chan work)
	var (
		mu          sync.Mutex
		done        = cr.Failed + cr.Copied // failures recorded while planning, bulk copies
		unavailable int
	)
	var wg sync.WaitGroup
	for range c.opts.Concurrency {
		wg.Go(func() {
			for w := range ch {
				var it Item
				if jctx.Err() != nil {
					it = Item{ID: w.src.ID, UID: w.uid, Action: "pending"}
				} else {
					it = c.safeHandle(jctx, job, kind, w, byID)
				}
				mu.Lock()
				c.record(cr, it)
				done++
				switch {
				case it.Action == ActFail && errors.Is(it.Err, adapters.ErrUnavailable):
					unavailable++
					if unavailable >= c.opts.AbortAfter {
						cancel(fmt.Errorf("%w: %d objects in a row failed after retries, last: %w", errTargetDown, unavailable, it.Err))
					}
				case it.Action != "pending" && it.Action != ActFail:
					unavailable = 0
				}
				if c.opts.Progress != nil {
					c.opts.Progress(Progress{Label: job.Label, Done: done, Total: cr.Total, Collection: n, Jobs: jobs})
				}
				mu.Unlock()
			}
		})
	}
	for _, w := range works {
		ch <- w
	}
	close(ch)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if cause := context.Cause(jctx); cause != nil && errors.Is(cause, errTargetDown) {
		return cause
	}
	return nil
}

// safeHandle is handle with a recovered panic turned into a failure, so
// one malformed object cannot take down a long migration.
func (c *copier) safeHandle(ctx context.Context, job Job, kind adapters.Kind, w work, byID map[string]*tobj) (it Item) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic while copying an object", "id", w.src.ID, "panic", r, "stack", string(debug.Stack()))
			it = Item{ID: w.src.ID, UID: w.uid, Action: ActFail, Reason: fmt.Sprintf("internal error: %v", r),
				Err: fmt.Errorf("panic: %v", r)}
		}
	}()
	return c.handle(ctx, job, kind, w, byID)
}

// handle decides what to do with one source object and does it.
func (c *copier) handle(ctx context.Context, job Job, kind adapters.Kind, w work, byID map[string]*tobj) Item {
	src := w.src
	sv := contentVersion(src)
	e, hasE := c.state.get(job.Target, src.ID)
	if w.t == nil {
		return c.put(ctx, job, src, w.uid, src.ID, adapters.Cond{IfAbsent: true}, ActCreate, sv)
	}
	t := w.t.obj
	tid := e.TargetID
	if tid == "" {
		tid = src.ID
	}
	// The target copy is the one this tool wrote last time, untouched.
	untouched := hasE && tid == t.ID && t.Version != "" && e.TargetVersion == t.Version
	if untouched && e.SourceVersion == sv {
		return Item{ID: src.ID, UID: w.uid}
	}
	if Diff(kind, full(kind, src), full(kind, t), c.opts.Ignore...) == "" {
		c.state.put(job.Target, src.ID, Entry{SourceVersion: sv, TargetID: t.ID, TargetVersion: t.Version})
		return Item{ID: src.ID, UID: w.uid}
	}
	cond := adapters.Cond{IfVersion: t.Version}
	if untouched {
		return c.put(ctx, job, src, w.uid, t.ID, cond, ActUpdate, sv)
	}
	reason := "target copy differs from the source and has no record of an earlier copy"
	if hasE {
		reason = "target copy was changed on the target since the last run"
	}
	switch c.opts.Policy {
	case Overwrite:
		it := c.put(ctx, job, src, w.uid, t.ID, cond, ActOverwrite, sv)
		if it.Reason == "" {
			it.Reason = "conflict: " + reason
		}
		return it
	case KeepBoth:
		id2, uid2 := keepBothID(src, w.uid)
		cp, err := withUID(kind, src, id2, uid2)
		if err != nil {
			return Item{ID: src.ID, UID: w.uid, Action: ActFail, Reason: "cannot copy for keep-both", Err: err}
		}
		cond := adapters.Cond{IfAbsent: true}
		if prev := byID[id2]; prev != nil {
			if Diff(kind, cp, full(kind, prev.obj), c.opts.Ignore...) == "" {
				return Item{ID: src.ID, UID: w.uid, TargetID: id2, Action: ActSkip,
					Reason: "conflict: " + reason + "; both kept on an earlier run"}
			}
			cond = adapters.Cond{IfVersion: prev.obj.Version}
		}
		// The kept copy is not recorded in the State: the original pairing
		// stays, so the conflict stays visible in later reports.
		it := c.put(ctx, job, cp, uid2, id2, cond, ActKeepBoth, "")
		it.ID, it.TargetID = src.ID, id2
		if it.Reason == "" {
			it.Reason = "conflict: " + reason + "; source copy written as " + id2
		}
		return it
	}
	return Item{ID: src.ID, UID: w.uid, Action: ActSkip, Reason: "conflict: " + reason}
}

// put writes obj under id (unless dry-running) and records it in the
// State when sv is set.
func (c *copier) put(ctx context.Context, job Job, obj adapters.Object, uid, id string, cond adapters.Cond, act Action, sv string) Item {
	it := Item{ID: obj.ID, UID: uid, Action: act}
	if id != obj.ID {
		it.TargetID = id
	}
	if c.opts.DryRun {
		return it
	}
	obj = full(job.Collection.Kind, obj) // targets may want the parsed form
	out := adapters.Object{ID: id, Data: obj.Data, Card: obj.Card, Raw: obj.Raw, Updated: obj.Updated}
	var stored adapters.Object
	err := c.retry.do(ctx, func() (err error) {
		stored, err = c.dst.Put(ctx, job.Target, out, cond)
		return err
	})
	if err != nil {
		it.Action, it.Err = ActFail, err
		it.Reason = failReason(act, err)
		return it
	}
	if sv != "" {
		if stored.ID == "" {
			stored.ID = id
		}
		c.state.put(job.Target, obj.ID, Entry{SourceVersion: sv, TargetID: stored.ID, TargetVersion: stored.Version})
	}
	return it
}

// failReason turns an adapter error into words for the report.
func failReason(act Action, err error) string {
	what := "target rejected the object"
	switch {
	case errors.Is(err, adapters.ErrUnsupported):
		what = "target cannot hold this object (unsupported component or too large)"
	case errors.Is(err, adapters.ErrInvalid):
		what = "target rejected the object as invalid"
	case errors.Is(err, adapters.ErrPrecondition):
		if act == ActCreate {
			what = "target already holds this ID or UID (created concurrently, or the UID is used by another object)"
		} else {
			what = "target copy changed while copying; rerun to compare again"
		}
	case errors.Is(err, adapters.ErrReadOnly):
		what = "target collection is read-only"
	case errors.Is(err, adapters.ErrUnauthorized):
		what = "target rejected the credentials"
	case errors.Is(err, adapters.ErrUnavailable):
		what = "target unavailable after retries"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		what = "interrupted"
	}
	return fmt.Sprintf("%s: %v", what, err)
}

// record counts it in cr; callers serialise.
func (c *copier) record(cr *CollectionReport, it Item) {
	switch it.Action {
	case "":
		cr.Unchanged++
		return
	case "pending":
		cr.Pending++
		return
	case ActCreate:
		cr.Created++
		cr.Copied++
	case ActUpdate:
		cr.Updated++
		cr.Copied++
	case ActOverwrite:
		cr.Overwritten++
		cr.Copied++
	case ActKeepBoth:
		cr.KeptBoth++
		cr.Copied++
	case ActSkip:
		cr.Skipped++
	case ActDelete:
		cr.Deleted++
	case ActFail:
		cr.Failed++
	}
	cr.Items = append(cr.Items, it)
}

// deletions removes target objects whose source is gone, per Delete.
func (c *copier) deletions(ctx context.Context, job Job, cr *CollectionReport, works []work, byID map[string]*tobj) {
	present := make(map[string]bool, len(works))
	for _, w := range works {
		present[w.src.ID] = true
	}
	// State entries of vanished sources name the target copies this tool
	// made; with DeleteTracked only those go, and only if unedited.
	type victim struct {
		t      *tobj
		srcID  string
		reason string
	}
	var victims []victim
	tracked := map[string]bool{}
	for srcID, e := range c.state.entries(job.Target) {
		if present[srcID] {
			continue
		}
		tid := e.TargetID
		if tid == "" {
			tid = srcID
		}
		t := byID[tid]
		switch {
		case t == nil || t.matched:
			c.state.remove(job.Target, srcID)
		case c.opts.Delete == DeleteNone:
			c.state.remove(job.Target, srcID)
		case c.opts.Delete == DeleteTracked && (t.obj.Version == "" || t.obj.Version != e.TargetVersion):
			tracked[tid] = true
			c.record(cr, Item{ID: tid, UID: t.uid, Action: ActSkip,
				Reason: "deleted in the source, but the target copy was changed since; kept"})
		default:
			tracked[tid] = true
			victims = append(victims, victim{t: t, srcID: srcID})
		}
	}
	if c.opts.Delete == DeleteAll {
		ids := make([]string, 0)
		for id, t := range byID {
			if !t.matched && !tracked[id] {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		for _, id := range ids {
			victims = append(victims, victim{t: byID[id]})
		}
	}
	for _, v := range victims {
		it := Item{ID: v.t.obj.ID, UID: v.t.uid, Action: ActDelete}
		if !c.opts.DryRun {
			err := c.retry.do(ctx, func() error {
				return c.dst.Delete(ctx, job.Target, v.t.obj.ID, adapters.Cond{IfVersion: v.t.obj.Version})
			})
			if errors.Is(err, adapters.ErrNotFound) {
				err = nil // gone already: the goal is reached
			}
			if err != nil {
				it.Action, it.Err, it.Reason = ActFail, err, "delete failed: "+err.Error()
			} else if v.srcID != "" {
				c.state.remove(job.Target, v.srcID)
			}
		}
		c.record(cr, it)
	}
}

// index lists the target collection (when it exists) by ID and by UID.
func (c *copier) index(ctx context.Context, job Job, kind adapters.Kind, exists bool, log *slog.Logger) (byID, byUID map[string]*tobj, err error) {
	byID, byUID = map[string]*tobj{}, map[string]*tobj{}
	if !exists {
		return byID, byUID, nil
	}
	var tObjs []adapters.Object
	if err := c.retry.do(ctx, func() (err error) {
		tObjs, err = c.dst.Objects(ctx, job.Target, adapters.Query{})
		return err
	}); err != nil {
		return nil, nil, fmt.Errorf("list target collection %q: %w", job.Target, err)
	}
	for _, o := range tObjs {
		o, err := decoded(kind, o)
		if err != nil {
			log.Warn("target object is not decodable; it is treated as different", "id", o.ID, "err", err)
		}
		t := &tobj{obj: lean(o), uid: UID(o)}
		byID[o.ID] = t
		if t.uid != "" {
			byUID[t.uid] = t
		}
	}
	return byID, byUID, nil
}

// pair sets each work's target counterpart: same ID, else same UID.
func pair(policy Policy, works []work, byID, byUID map[string]*tobj) {
	for i := range works {
		w := &works[i]
		t := byID[w.src.ID]
		if t == nil && w.uid != "" {
			if u := byUID[w.uid]; u != nil && !u.matched {
				t = u
			}
		}
		if t != nil {
			t.matched = true
		}
		w.t = t
		if policy == KeepBoth {
			if id2, _ := keepBothID(w.src, w.uid); byID[id2] != nil {
				byID[id2].matched = true
			}
		}
	}
}

// lean drops the parsed form of an object that has its bytes: a
// collection's objects are held for the whole copy, and parsed calendars
// take ten times their encoding. full parses them again where compared.
func lean(o adapters.Object) adapters.Object {
	if len(o.Raw) > 0 {
		o.Data, o.Card = nil, nil
	}
	return o
}

// full is o with Data or Card parsed from Raw (o unchanged if that fails:
// Diff then reports the difference).
func full(kind adapters.Kind, o adapters.Object) adapters.Object {
	d, err := decoded(kind, o)
	if err != nil {
		return o
	}
	return d
}
