package vdir

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"

	"github.com/davgate/davgate/adapters"
)

// Sync tokens.
//
// A token is a hash of the collection's listing (file name, size, mtime,
// inode), so it changes with every write (a write is a rename, which
// always brings a new inode) and needs no state on disk. A delta needs the
// old listing, which only this process can have seen: the last maxSnaps
// listings per collection are kept in memory, and a token not among them
// (an older one, or one from before a restart) gets ErrInvalidToken, after
// which the caller resynchronises from scratch.

// snapshot is a listing named by its token.
type snapshot struct {
	token string
	files map[string]entry // by file name
}

func tokenOf(ents []entry) string {
	sorted := append([]entry(nil), ents...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].file < sorted[j].file })
	h := sha256.New()
	for _, e := range sorted {
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00%d\n", e.file, e.size, e.mtime, e.ino)
	}
	return "vdir-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// current lists coll and remembers the listing under its token.
func (a *Adapter) current(ctx context.Context, coll string) (string, adapters.Kind, snapshot, error) {
	if err := ctx.Err(); err != nil {
		return "", 0, snapshot{}, err
	}
	dir, err := a.collDir(coll)
	if err != nil {
		return "", 0, snapshot{}, err
	}
	kind := a.kindOf(dir)
	ents, err := a.list(ctx, dir, kind)
	if err != nil {
		return "", 0, snapshot{}, err
	}
	s := snapshot{token: tokenOf(ents), files: make(map[string]entry, len(ents))}
	for _, e := range ents {
		s.files[e.file] = e
	}
	a.snapMu.Lock()
	defer a.snapMu.Unlock()
	list := a.snaps[coll]
	for _, old := range list {
		if old.token == s.token {
			return dir, kind, s, nil
		}
	}
	list = append(list, s)
	if len(list) > maxSnaps {
		list = list[len(list)-maxSnaps:]
	}
	a.snaps[coll] = list
	return dir, kind, s, nil
}

func (a *Adapter) snapshot(coll, token string) (snapshot, bool) {
	a.snapMu.Lock()
	defer a.snapMu.Unlock()
	for _, s := range a.snaps[coll] {
		if s.token == token {
			return s, true
		}
	}
	return snapshot{}, false
}

// Token implements adapters.ChangeLister.
func (a *Adapter) Token(ctx context.Context, coll string) (string, error) {
	_, _, s, err := a.current(ctx, coll)
	return s.token, err
}

// Changes implements adapters.ChangeLister. It returns an error matching
// ErrInvalidToken for a token this process has not handed out recently
// (see the comment at the top of this file).
func (a *Adapter) Changes(ctx context.Context, coll, token string) (adapters.Changes, error) {
	dir, kind, cur, err := a.current(ctx, coll)
	if err != nil {
		return adapters.Changes{}, err
	}
	out := adapters.Changes{Token: cur.token}
	if token == cur.token {
		return out, nil
	}
	var old snapshot
	if token != "" {
		var ok bool
		if old, ok = a.snapshot(coll, token); !ok {
			return adapters.Changes{}, fmt.Errorf("vdir: collection %q token %q: %w", coll, token, adapters.ErrInvalidToken)
		}
	}
	files := make([]string, 0, len(cur.files))
	for f := range cur.files {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		e := cur.files[f]
		if prev, ok := old.files[f]; ok && prev.stamp == e.stamp {
			continue
		}
		o, err := a.read(dir, e, kind)
		if errors.Is(err, adapters.ErrNotFound) {
			continue // deleted since the listing; the next delta says so
		}
		if err != nil {
			return adapters.Changes{}, err
		}
		out.Updated = append(out.Updated, o)
	}
	for f, e := range old.files {
		if _, ok := cur.files[f]; !ok {
			out.Deleted = append(out.Deleted, e.id)
		}
	}
	sort.Strings(out.Deleted)
	return out, nil
}
