package google

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	people "google.golang.org/api/people/v1"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/google/api"
)

// bookState mirrors the address book like calState mirrors a calendar.
type bookState struct {
	mu      sync.Mutex
	loaded  bool
	gtok    string
	persons map[string]*api.Person // by resource name, live only
	ids     map[string]string      // resource name → object ID
	byID    map[string]string      // object ID → resource name
	objs    map[string]adapters.Object
	groups  Groups
	seq     uint64
	log     []bookChange
}

type bookChange struct {
	seq uint64
	ids []string // object IDs
}

func (a *Adapter) book() *bookState {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.contacts == nil {
		a.contacts = &bookState{persons: map[string]*api.Person{}, ids: map[string]string{}, byID: map[string]string{},
			objs: map[string]adapters.Object{}}
	}
	return a.contacts
}

// syncBook brings the mirror up to date: one connections.list pass with
// the stored sync token, or a full listing (plus the contact groups) the
// first time and when Google says EXPIRED_SYNC_TOKEN. Callers hold b.mu.
func (a *Adapter) syncBook(ctx context.Context, b *bookState) error {
	if b.loaded {
		err := a.listPeople(ctx, b, b.gtok)
		if err == nil || !errors.Is(err, adapters.ErrInvalidToken) {
			return err
		}
		a.log.Info("People sync token expired, relisting contacts")
	}
	if err := a.loadGroups(ctx, b); err != nil {
		return err
	}
	return a.listPeople(ctx, b, "")
}

func (a *Adapter) loadGroups(ctx context.Context, b *bookState) error {
	g := Groups{ByResource: map[string]string{}, ByName: map[string]string{}}
	pageToken := ""
	for {
		var page *people.ListContactGroupsResponse
		err := a.call(ctx, a.pplLimit, read, "contactGroups.list", func(ctx context.Context) error {
			var err error
			page, err = a.ppl.ContactGroups.List().PageSize(1000).PageToken(pageToken).Context(ctx).Do()
			return err
		})
		if err != nil {
			return err
		}
		for _, cg := range page.ContactGroups {
			// System groups (myContacts, starred, ...) are not categories.
			if cg.GroupType == "SYSTEM_CONTACT_GROUP" {
				continue
			}
			name := firstNonEmpty(cg.FormattedName, cg.Name)
			g.ByResource[cg.ResourceName] = name
			g.ByName[name] = cg.ResourceName
		}
		if pageToken = page.NextPageToken; pageToken == "" {
			break
		}
	}
	b.groups = g
	return nil
}

func (a *Adapter) listPeople(ctx context.Context, b *bookState, syncToken string) error {
	var got []*api.Person
	pageToken, next := "", ""
	for {
		var page *people.ListConnectionsResponse
		err := a.call(ctx, a.pplLimit, syncCall, "people.connections.list", func(ctx context.Context) error {
			c := a.ppl.People.Connections.List("people/me").PersonFields(api.PersonFields).PageSize(1000).
				RequestSyncToken(true).Context(ctx)
			if syncToken != "" {
				c = c.SyncToken(syncToken)
			}
			if pageToken != "" {
				c = c.PageToken(pageToken)
			}
			var err error
			page, err = c.Do()
			return err
		})
		if err != nil {
			return err
		}
		got = append(got, page.Connections...)
		if pageToken = page.NextPageToken; pageToken == "" {
			next = page.NextSyncToken
			break
		}
	}
	changed := map[string]bool{}
	if syncToken == "" {
		old := b.persons
		b.persons = map[string]*api.Person{}
		for _, p := range got {
			if p.Metadata != nil && p.Metadata.Deleted {
				continue
			}
			if o, ok := old[p.ResourceName]; !ok || o.Etag != p.Etag {
				b.assign(p, changed)
			} else {
				b.assign(p, map[string]bool{})
			}
			b.persons[p.ResourceName] = p
		}
		for rn := range old {
			if _, ok := b.persons[rn]; !ok {
				changed[b.ids[rn]] = true
			}
		}
	} else {
		for _, p := range got {
			if p.Metadata != nil && p.Metadata.Deleted {
				if _, ok := b.persons[p.ResourceName]; ok {
					changed[b.ids[p.ResourceName]] = true
					delete(b.persons, p.ResourceName)
				}
				continue
			}
			if o, ok := b.persons[p.ResourceName]; ok && o.Etag == p.Etag {
				continue
			}
			b.assign(p, changed)
			b.persons[p.ResourceName] = p
		}
	}
	b.record(changed, !b.loaded)
	b.gtok, b.loaded = next, true
	return nil
}

// assign gives p its object ID: the client's, else the ID of a resource
// name Google merged into it (previousResourceNames), so hrefs stay
// stable across merges, else its own resource name. The IDs of the other
// merged contacts are added to changed: they are gone.
func (b *bookState) assign(p *api.Person, changed map[string]bool) string {
	id := clientValue(p, cdID)
	if p.Metadata != nil {
		for _, prev := range p.Metadata.PreviousResourceNames {
			old, ok := b.ids[prev]
			if !ok {
				continue
			}
			delete(b.persons, prev)
			if id == "" {
				id = old
			} else if old != id {
				changed[old] = true
			}
		}
	}
	if id == "" {
		id = b.ids[p.ResourceName]
	}
	if id == "" {
		id = strings.TrimPrefix(p.ResourceName, "people/")
	}
	b.ids[p.ResourceName] = id
	b.byID[id] = p.ResourceName
	changed[id] = true
	return id
}

func (b *bookState) record(changed map[string]bool, first bool) {
	if len(changed) == 0 && !first {
		return
	}
	ids := make([]string, 0, len(changed))
	for id := range changed {
		if id == "" {
			continue
		}
		ids = append(ids, id)
		delete(b.objs, id)
	}
	sort.Strings(ids)
	b.seq++
	b.log = append(b.log, bookChange{seq: b.seq, ids: ids})
	if over := len(b.log) - maxChangeLog; over > 0 {
		b.log = b.log[over:]
	}
}

// person returns the live person with object ID id.
func (b *bookState) person(id string) (*api.Person, bool) {
	rn, ok := b.byID[id]
	if !ok {
		return nil, false
	}
	p, ok := b.persons[rn]
	if !ok || b.ids[rn] != id {
		return nil, false
	}
	return p, true
}

func (a *Adapter) contactObj(b *bookState, id string) (adapters.Object, bool, error) {
	if o, ok := b.objs[id]; ok {
		return o, true, nil
	}
	p, ok := b.person(id)
	if !ok {
		return adapters.Object{}, false, nil
	}
	card, err := PersonToCard(p, a.opts.VCardVersion, b.groups)
	if err != nil {
		return adapters.Object{}, false, fmt.Errorf("google: contact %q: %w", id, err)
	}
	o := adapters.Object{ID: id, Card: card, Version: p.Etag}
	b.objs[id] = o
	return o, true, nil
}

func (a *Adapter) contactObjects(ctx context.Context) ([]adapters.Object, error) {
	b := a.book()
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := a.syncBook(ctx, b); err != nil {
		return nil, err
	}
	return a.allContacts(b)
}

func (a *Adapter) allContacts(b *bookState) ([]adapters.Object, error) {
	out := make([]adapters.Object, 0, len(b.persons))
	for rn := range b.persons {
		o, ok, err := a.contactObj(b, b.ids[rn])
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (a *Adapter) contactObject(ctx context.Context, id string) (adapters.Object, error) {
	b := a.book()
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := a.syncBook(ctx, b); err != nil {
		return adapters.Object{}, err
	}
	o, ok, err := a.contactObj(b, id)
	if err != nil {
		return adapters.Object{}, err
	}
	if !ok {
		return adapters.Object{}, fmt.Errorf("google: contact %q: %w", id, adapters.ErrNotFound)
	}
	return o, nil
}

func (a *Adapter) contactChanges(ctx context.Context, token string) (adapters.Changes, error) {
	b := a.book()
	b.mu.Lock()
	defer b.mu.Unlock()
	if token == "" {
		if err := a.loadGroups(ctx, b); err != nil {
			return adapters.Changes{}, err
		}
		if err := a.listPeople(ctx, b, ""); err != nil {
			return adapters.Changes{}, err
		}
		objs, err := a.allContacts(b)
		return adapters.Changes{Token: a.token(b.seq), Updated: objs}, err
	}
	since, ok := a.parseToken(token)
	if !ok || !b.loaded || since > b.seq || (len(b.log) > 0 && since < b.log[0].seq-1) {
		return adapters.Changes{}, fmt.Errorf("google: contacts token %q: %w", token, adapters.ErrInvalidToken)
	}
	if err := a.syncBook(ctx, b); err != nil {
		return adapters.Changes{}, err
	}
	ids := map[string]bool{}
	for _, e := range b.log {
		if e.seq > since {
			for _, id := range e.ids {
				ids[id] = true
			}
		}
	}
	out := adapters.Changes{Token: a.token(b.seq)}
	for id := range ids {
		o, ok, err := a.contactObj(b, id)
		if err != nil {
			return adapters.Changes{}, err
		}
		if ok {
			out.Updated = append(out.Updated, o)
		} else {
			out.Deleted = append(out.Deleted, id)
		}
	}
	sort.Slice(out.Updated, func(i, j int) bool { return out.Updated[i].ID < out.Updated[j].ID })
	sort.Strings(out.Deleted)
	return out, nil
}

func (a *Adapter) contactToken(ctx context.Context) (string, error) {
	b := a.book()
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := a.syncBook(ctx, b); err != nil {
		return "", err
	}
	return a.token(b.seq), nil
}

// putContact creates (createContact) or updates (updateContact with the
// person's etag) one contact. Mutations run one at a time per account.
func (a *Adapter) putContact(ctx context.Context, obj adapters.Object, c adapters.Cond) (adapters.Object, error) {
	if obj.ID == "" || obj.Card == nil {
		return adapters.Object{}, fmt.Errorf("google: put contact without ID or vCard: %w", adapters.ErrInvalid)
	}
	b := a.book()
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := a.syncBook(ctx, b); err != nil {
		return adapters.Object{}, err
	}
	cur, exists := b.person(obj.ID)
	if c.IfAbsent && exists {
		return adapters.Object{}, fmt.Errorf("google: put contact %q: exists: %w", obj.ID, adapters.ErrPrecondition)
	}
	if c.IfVersion != "" && (!exists || cur.Etag != c.IfVersion) {
		return adapters.Object{}, fmt.Errorf("google: put contact %q: version is not %q: %w", obj.ID, c.IfVersion, adapters.ErrPrecondition)
	}
	p, err := CardToPerson(obj.Card, obj.ID, b.groups)
	if err != nil {
		return adapters.Object{}, fmt.Errorf("google: put contact %q: %w", obj.ID, err)
	}
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	var stored *api.Person
	if exists {
		p.ResourceName, p.Etag = cur.ResourceName, cur.Etag
		// Without CATEGORIES the memberships stay as Google has them:
		// an update may not leave a contact in no group.
		mask := api.UpdatePersonFields
		if len(p.Memberships) == 0 {
			mask = strings.Replace(mask, ",memberships", "", 1)
		}
		err = a.call(ctx, a.pplLimit, write, "people.updateContact", func(ctx context.Context) error {
			var err error
			stored, err = a.ppl.People.UpdateContact(cur.ResourceName, p).UpdatePersonFields(mask).
				PersonFields(api.PersonFields).Context(ctx).Do()
			return err
		})
	} else {
		err = a.call(ctx, a.pplLimit, write, "people.createContact", func(ctx context.Context) error {
			var err error
			stored, err = a.ppl.People.CreateContact(p).PersonFields(api.PersonFields).Context(ctx).Do()
			return err
		})
	}
	if err != nil {
		return adapters.Object{}, err
	}
	changed := map[string]bool{}
	id := b.assign(stored, changed)
	b.persons[stored.ResourceName] = stored
	b.record(changed, false)
	o, ok, err := a.contactObj(b, id)
	if err != nil {
		return adapters.Object{}, err
	}
	if !ok {
		return adapters.Object{}, fmt.Errorf("google: contact %q not visible after write: %w", obj.ID, adapters.ErrUnavailable)
	}
	return o, nil
}

func (a *Adapter) deleteContact(ctx context.Context, id string, c adapters.Cond) error {
	b := a.book()
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := a.syncBook(ctx, b); err != nil {
		return err
	}
	cur, exists := b.person(id)
	if !exists {
		return fmt.Errorf("google: delete contact %q: %w", id, adapters.ErrNotFound)
	}
	if c.IfAbsent || (c.IfVersion != "" && cur.Etag != c.IfVersion) {
		return fmt.Errorf("google: delete contact %q: condition does not hold: %w", id, adapters.ErrPrecondition)
	}
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	// deleteContact has no etag precondition; the check above against a
	// just-synced mirror is the best the People API allows.
	err := a.call(ctx, a.pplLimit, write, "people.deleteContact", func(ctx context.Context) error {
		_, err := a.ppl.People.DeleteContact(cur.ResourceName).Context(ctx).Do()
		return err
	})
	if err != nil {
		return err
	}
	delete(b.persons, cur.ResourceName)
	b.record(map[string]bool{id: true}, false)
	return nil
}
