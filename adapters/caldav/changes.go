package caldav

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/davgate/davgate/adapters"
)

// Sync tokens.
//
// Where the server offers sync-collection (RFC 6578), a token is "s:"
// followed by the server's DAV:sync-token, and deltas come from the
// server, so they survive restarts. Otherwise the token is "e:" followed by
// a hash of the collection's (href, ETag) listing; the last maxSnaps
// listings per collection are kept in memory to compute deltas, and any
// other token gets ErrInvalidToken, after which the caller resynchronises.

const maxSnaps = 32

type snapshot struct {
	token string
	etags map[string]string // URL → ETag
	ids   map[string]string // URL → ID, for deletions
}

// Token implements adapters.ChangeLister.
func (a *Adapter) Token(ctx context.Context, coll string) (string, error) {
	c, err := a.lookup(ctx, coll)
	if err != nil {
		return "", err
	}
	if c.useSync() && !a.noSync {
		ms, err := a.propfind(ctx, c.url, "0", fmt.Sprintf("sync-token of %q", coll), "<d:sync-token/>")
		if err != nil {
			return "", err
		}
		for _, r := range ms.Responses {
			if t := r.prop(nsDAV, "sync-token").text(); t != "" {
				return "s:" + t, nil
			}
		}
		c.st.syncBroken.Store(true) // advertised but not served: use listings from now on
	}
	s, err := a.listingSnapshot(ctx, c)
	return s.token, err
}

// Changes implements adapters.ChangeLister.
func (a *Adapter) Changes(ctx context.Context, coll, token string) (adapters.Changes, error) {
	c, err := a.lookup(ctx, coll)
	if err != nil {
		return adapters.Changes{}, err
	}
	if c.useSync() && !a.noSync && (token == "" || strings.HasPrefix(token, "s:")) {
		ch, err := a.syncCollection(ctx, c, strings.TrimPrefix(token, "s:"))
		if err == nil || token != "" || !errors.Is(err, adapters.ErrUnsupported) && !errors.Is(err, adapters.ErrInvalid) {
			return ch, err
		}
		a.log.DebugContext(ctx, "sync-collection refused, comparing ETag listings", "collection", coll, "err", err)
		c.st.syncBroken.Store(true)
	}
	if token != "" && !strings.HasPrefix(token, "e:") {
		return adapters.Changes{}, fmt.Errorf("caldav: collection %q token %q: %w", coll, token, adapters.ErrInvalidToken)
	}
	return a.listingChanges(ctx, c, token)
}

// syncCollection runs sync-collection REPORTs from token until the server
// stops truncating (507 on the collection's own href).
func (a *Adapter) syncCollection(ctx context.Context, c *collection, token string) (adapters.Changes, error) {
	updated := map[string]bool{}
	deleted := map[string]bool{}
	for range 100 {
		body := `<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>` + xmlText(token) +
			`</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`
		ms, err := a.multistatus(ctx, request{method: "REPORT", url: c.url, body: []byte(body),
			what: fmt.Sprintf("sync-collection of %q", c.meta.ID)})
		if err != nil {
			if token != "" && (errors.Is(err, adapters.ErrInvalid) || errors.Is(err, adapters.ErrPrecondition) || errors.Is(err, adapters.ErrReadOnly)) {
				// Servers answer stale tokens with 403/409/412 and
				// not always with the valid-sync-token element.
				return adapters.Changes{}, fmt.Errorf("%w (%v)", adapters.ErrInvalidToken, err)
			}
			return adapters.Changes{}, err
		}
		truncated := false
		self := withSlash(mustPath(c.url))
		for _, r := range ms.Responses {
			u, err := a.resolve(r.href())
			if err != nil {
				continue
			}
			if withSlash(u.Path) == self {
				truncated = statusCode(r.Status) == http.StatusInsufficientStorage
				continue
			}
			if code := statusCode(r.Status); code == http.StatusNotFound || code == http.StatusGone {
				deleted[u.String()] = true
				delete(updated, u.String())
				continue
			}
			updated[u.String()] = true
			delete(deleted, u.String())
		}
		if ms.SyncToken == "" {
			return adapters.Changes{}, fmt.Errorf("caldav: sync-collection of %q: no sync-token in the answer: %w", c.meta.ID, adapters.ErrUnsupported)
		}
		token = ms.SyncToken
		if !truncated {
			break
		}
	}
	out := adapters.Changes{Token: "s:" + token}
	urls := make([]string, 0, len(updated))
	for u := range updated {
		urls = append(urls, u)
	}
	sort.Strings(urls)
	objs, err := a.multiget(ctx, c, urls)
	if err != nil {
		return adapters.Changes{}, err
	}
	out.Updated = objs
	for u := range deleted {
		out.Deleted = append(out.Deleted, c.idOfURL(u))
		c.st.mu.Lock()
		if id, ok := c.st.ids[u]; ok {
			delete(c.st.hrefs, id)
			delete(c.st.ids, u)
		}
		c.st.mu.Unlock()
	}
	sort.Strings(out.Deleted)
	return out, nil
}

// idOfURL names the object at u, using what listings taught for hashed
// names.
func (c *collection) idOfURL(u string) string {
	c.st.mu.Lock()
	id, ok := c.st.ids[u]
	c.st.mu.Unlock()
	if ok {
		return id
	}
	id, _ = idOfHref(lastSegment(mustEscapedPath(u)))
	return id
}

func (a *Adapter) listingSnapshot(ctx context.Context, c *collection) (snapshot, error) {
	ms, err := a.members(ctx, c)
	if err != nil {
		return snapshot{}, err
	}
	h := sha256.New()
	s := snapshot{etags: map[string]string{}, ids: map[string]string{}}
	for _, m := range ms {
		fmt.Fprintf(h, "%s\x00%s\n", m.url, m.etag)
		s.etags[m.url] = m.etag
		s.ids[m.url] = c.idOfURL(m.url)
	}
	s.token = "e:" + hex.EncodeToString(h.Sum(nil)[:16])
	a.snapMu.Lock()
	defer a.snapMu.Unlock()
	list := a.snaps[c.url]
	for _, old := range list {
		if old.token == s.token {
			return s, nil
		}
	}
	list = append(list, s)
	if len(list) > maxSnaps {
		list = list[len(list)-maxSnaps:]
	}
	a.snaps[c.url] = list
	return s, nil
}

func (a *Adapter) listingChanges(ctx context.Context, c *collection, token string) (adapters.Changes, error) {
	var old snapshot
	if token != "" {
		found := false
		a.snapMu.Lock()
		for _, s := range a.snaps[c.url] {
			if s.token == token {
				old, found = s, true
			}
		}
		a.snapMu.Unlock()
		if !found {
			return adapters.Changes{}, fmt.Errorf("caldav: collection %q token %q: %w", c.meta.ID, token, adapters.ErrInvalidToken)
		}
	}
	cur, err := a.listingSnapshot(ctx, c)
	if err != nil {
		return adapters.Changes{}, err
	}
	out := adapters.Changes{Token: cur.token}
	var urls []string
	for u, e := range cur.etags {
		if prev, ok := old.etags[u]; !ok || prev != e || e == "" {
			urls = append(urls, u)
		}
	}
	sort.Strings(urls)
	if out.Updated, err = a.multiget(ctx, c, urls); err != nil {
		return adapters.Changes{}, err
	}
	for u := range old.etags {
		if _, ok := cur.etags[u]; !ok {
			out.Deleted = append(out.Deleted, old.ids[u])
		}
	}
	sort.Strings(out.Deleted)
	return out, nil
}
