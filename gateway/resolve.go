package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"

	"github.com/davgate/davgate/adapters"
)

// collRef is a resolved collection.
type collRef struct {
	src  *srcEntry
	meta adapters.Collection
	href string
	card bool
}

func (c *collRef) readOnly() bool {
	_, w := c.src.Adapter.(adapters.Writer)
	return c.meta.ReadOnly || !c.src.caps.Write || !w
}

func (c *collRef) displayName() string {
	if c.src.DisplayName != "" && c.meta.ID == "" {
		return c.src.DisplayName
	}
	if c.meta.Name != "" {
		return c.meta.Name
	}
	if c.meta.ID != "" {
		return c.meta.ID
	}
	return c.src.Name
}

func (c *collRef) color() string {
	if c.src.Color != "" {
		return c.src.Color
	}
	return c.meta.Color
}

func (s *Server) userOf(ctx context.Context) *userEntry {
	return s.users[scopeOf(ctx).user]
}

// resolveSource finds the source and collection ID a segment names.
func (u *userEntry) resolveSource(t target) (*srcEntry, string, bool) {
	if a, ok := u.alias(t.card, t.seg); ok {
		return a.src, a.coll, true
	}
	if t.hasColl {
		se, ok := u.byName[t.source]
		return se, t.coll, ok
	}
	if se, ok := u.byName[t.seg]; ok {
		return se, "", true
	}
	if u.primary != nil {
		// A bare segment a client invented when it created a collection.
		return u.primary, t.seg, true
	}
	return nil, "", false
}

// resolveColl finds the collection a target names; the href is the one the
// client used (canonicalised with a trailing slash), so aliases stay
// self-consistent.
func (s *Server) resolveColl(ctx context.Context, t target) (*collRef, error) {
	u := s.userOf(ctx)
	if u == nil {
		return nil, errStatus(http.StatusNotFound, "not found")
	}
	se, id, ok := u.resolveSource(t)
	if !ok {
		return nil, errStatus(http.StatusNotFound, fmt.Sprintf("no source %q for user %q", t.source, u.name))
	}
	colls, err := se.Adapter.Collections(ctx)
	if err != nil {
		return nil, err
	}
	want := adapters.KindCalendar
	if t.card {
		want = adapters.KindAddressBook
	}
	for _, c := range colls {
		if c.ID == id && c.Kind == want {
			return &collRef{src: se, meta: c, card: t.card, href: homePath(t.card, u.name) + url.PathEscape(t.seg) + "/"}, nil
		}
	}
	return nil, errStatus(http.StatusNotFound, fmt.Sprintf("no collection %q in source %q", id, se.Name))
}

// listColls lists the user's collections of one kind across sources. A
// failing source fails the listing: omitting its collections would make
// clients delete their local copies.
func (s *Server) listColls(ctx context.Context, card bool) ([]*collRef, error) {
	u := s.userOf(ctx)
	if u == nil {
		return nil, errStatus(http.StatusNotFound, "not found")
	}
	want := adapters.KindCalendar
	if card {
		want = adapters.KindAddressBook
	}
	var out []*collRef
	for _, se := range u.sources {
		colls, err := se.Adapter.Collections(ctx)
		if err != nil {
			return nil, fmt.Errorf("source %q of user %q: %w", se.Name, u.name, err)
		}
		for _, c := range colls {
			if c.Kind == want {
				out = append(out, &collRef{src: se, meta: c, card: card, href: collPath(card, u.name, se.Name, c.ID)})
			}
		}
	}
	return out, nil
}

// token returns the collection's sync token (also its CTag).
func (s *Server) token(ctx context.Context, c *collRef) (string, error) {
	if cl, ok := c.src.Adapter.(adapters.ChangeLister); ok && c.src.caps.Changes {
		return cl.Token(ctx, c.meta.ID)
	}
	// Unwrapped adapters without change listing: derive from content.
	objs, err := c.src.Adapter.Objects(ctx, c.meta.ID, adapters.Query{})
	if err != nil {
		return "", err
	}
	tags := make([]string, len(objs))
	for i, o := range objs {
		tags[i] = o.ID + "\x00" + etagOf(c.meta.ID, o)
	}
	sort.Strings(tags)
	h := sha256.New()
	for _, t := range tags {
		h.Write([]byte(t))
		h.Write([]byte{0})
	}
	return "h" + hex.EncodeToString(h.Sum(nil)[:12]), nil
}

const syncTokenPrefix = "urn:davgate:sync:"

// collAlias maps a collection URL a client chose at creation to the ID the
// upstream gave the collection (Google picks calendar IDs itself), so the
// client finds its new collection where it created it. Aliases live in
// memory: after a restart clients see the canonical URL on rediscovery.
type collAlias struct {
	src  *srcEntry
	coll string
}

type aliasKey struct {
	card bool
	seg  string
}

func (u *userEntry) alias(card bool, seg string) (collAlias, bool) {
	u.aliasMu.RLock()
	defer u.aliasMu.RUnlock()
	a, ok := u.aliases[aliasKey{card, seg}]
	return a, ok
}

func (u *userEntry) setAlias(card bool, seg string, a collAlias) {
	u.aliasMu.Lock()
	defer u.aliasMu.Unlock()
	if u.aliases == nil {
		u.aliases = map[aliasKey]collAlias{}
	}
	u.aliases[aliasKey{card, seg}] = a
}
