package ews

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/ews/api"
	"github.com/davgate/davgate/adapters/icalfix"
)

// PrimaryCalendar is the collection ID of the mailbox's calendar folder.
const PrimaryCalendar = "calendar"

// sharedPrefix starts the collection IDs of shared calendars.
const sharedPrefix = "shared:"

// maxTokens bounds the SyncStates kept per collection.
const maxTokens = 64

// collState is one collection's mirror: item ids and ChangeKeys by
// object ID, the last translation of each, and SyncStates by token.
type collState struct {
	folder api.FolderRef
	kind   collKind

	mu     sync.Mutex
	listed bool
	byID   map[string]*entry
	byItem map[string]string // EWS ItemId → object ID
	// known maps every ItemId ever seen to its object ID, so that
	// SyncFolderItems deletions (ItemIds only) resolve after the item
	// left the mirror.
	known map[string]string

	seq    int
	states map[string]string // token → SyncState ("" = initial)
	order  []string
	latest string // latest token
}

type entry struct {
	itemID, changeKey string
	uid               string
	obj               *adapters.Object // translation at changeKey, or nil
	objKey            string           // changeKey obj was built from
}

// collKind says what a collection's folder holds.
type collKind int

const (
	kindEvents collKind = iota
	kindContacts
	kindTasks
)

func newCollState(f api.FolderRef, k collKind) *collState {
	return &collState{folder: f, kind: k, byID: map[string]*entry{}, byItem: map[string]string{}, known: map[string]string{}, states: map[string]string{}}
}

// ---------------------------------------------------------------- collections

func folderPaths() *api.AdditionalProperties {
	return &api.AdditionalProperties{FieldURIs: []api.FieldURI{{FieldURI: "folder:DisplayName"}, {FieldURI: "folder:FolderClass"},
		{FieldURI: "folder:EffectiveRights"}}}
}

// Collections lists the calendar folder, the calendars below it and the
// configured shared calendars.
func (a *Adapter) Collections(ctx context.Context) ([]adapters.Collection, error) {
	primary := api.FolderRef{Distinguished: &api.DistinguishedFolderID{ID: "calendar"}}
	msgs, err := a.c.Call(ctx, "GetFolder calendar", read, &api.GetFolder{
		FolderShape: api.FolderShape{BaseShape: "IdOnly", AdditionalProperties: folderPaths()},
		FolderIDs:   primary.Refs()})
	if err != nil {
		return nil, err
	}
	if len(msgs) != 1 {
		return nil, fmt.Errorf("ews: GetFolder calendar: %d response messages", len(msgs))
	}
	if err := check("GetFolder calendar", read, msgs[0]); err != nil {
		return nil, err
	}
	var out []adapters.Collection
	name := "Calendar"
	readOnly := false
	if fs := msgs[0].Folders; fs != nil && len(fs.List) > 0 {
		f := fs.List[0]
		name = cmpOr(f.DisplayName, name)
		readOnly = f.EffectiveRights != nil && !f.EffectiveRights.CreateContents && !f.EffectiveRights.Modify
	}
	out = append(out, a.collection(PrimaryCalendar, name, readOnly, primary))

	// Sub-calendars: FindFolder Deep under the calendar folder.
	for offset := 0; ; {
		msgs, err := a.c.Call(ctx, "FindFolder calendar", read, &api.FindFolder{Traversal: "Deep",
			FolderShape:     api.FolderShape{BaseShape: "IdOnly", AdditionalProperties: folderPaths()},
			IndexedPageView: &api.IndexedPageView{MaxEntriesReturned: a.opts.PageSize, Offset: offset, BasePoint: "Beginning"},
			ParentFolderIDs: primary.Refs()})
		if err != nil {
			return nil, err
		}
		if len(msgs) != 1 {
			return nil, fmt.Errorf("ews: FindFolder: %d response messages", len(msgs))
		}
		if err := check("FindFolder calendar", read, msgs[0]); err != nil {
			return nil, err
		}
		rf := msgs[0].RootFolder
		if rf == nil || rf.Folders == nil {
			break
		}
		for _, f := range rf.Folders.List {
			if f.FolderID == nil || !isCalendarFolder(f) {
				continue
			}
			ro := f.EffectiveRights != nil && !f.EffectiveRights.CreateContents && !f.EffectiveRights.Modify
			out = append(out, a.collection(f.FolderID.ID, f.DisplayName, ro, api.FolderRef{FolderID: &api.FolderID{ID: f.FolderID.ID}}))
		}
		if rf.IncludesLastItemInRange || len(rf.Folders.List) == 0 || rf.IndexedPagingOffset <= offset {
			break
		}
		offset = rf.IndexedPagingOffset
	}

	for _, addr := range a.opts.SharedCalendars {
		ref := api.FolderRef{Distinguished: &api.DistinguishedFolderID{ID: "calendar", Mailbox: &api.Mailbox{EmailAddress: addr}}}
		msgs, err := a.c.Call(ctx, "GetFolder shared calendar", read, &api.GetFolder{
			FolderShape: api.FolderShape{BaseShape: "IdOnly", AdditionalProperties: folderPaths()}, FolderIDs: ref.Refs()})
		if err != nil {
			return nil, err
		}
		if len(msgs) != 1 || check("GetFolder shared calendar", read, msgs[0]) != nil {
			// Access withdrawn or mailbox gone: leave it out rather
			// than failing every listing.
			a.log.Warn("shared calendar not accessible; check the delegation", "mailbox", addr)
			continue
		}
		name, ro := addr, false
		if fs := msgs[0].Folders; fs != nil && len(fs.List) > 0 {
			f := fs.List[0]
			name = cmpOr(f.DisplayName, "Calendar") + " (" + addr + ")"
			ro = f.EffectiveRights != nil && !f.EffectiveRights.CreateContents && !f.EffectiveRights.Modify
		}
		out = append(out, a.collection(sharedPrefix+addr, name, ro, ref))
	}
	more, err := a.otherCollections(ctx)
	if err != nil {
		return nil, err
	}
	return append(out, more...), nil
}

func isCalendarFolder(f api.Folder) bool {
	return f.XMLName.Local == "CalendarFolder" || strings.HasPrefix(f.FolderClass, "IPF.Appointment")
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (a *Adapter) collection(id, name string, readOnly bool, ref api.FolderRef) adapters.Collection {
	return a.collectionOf(kindEvents, id, name, readOnly, ref)
}

func (a *Adapter) collectionOf(k collKind, id, name string, readOnly bool, ref api.FolderRef) adapters.Collection {
	a.mu.Lock()
	if _, ok := a.colls[id]; !ok {
		a.colls[id] = newCollState(ref, k)
	}
	a.mu.Unlock()
	switch k {
	case kindContacts:
		return adapters.Collection{ID: id, Kind: adapters.KindAddressBook, Name: name, ReadOnly: readOnly}
	case kindTasks:
		return adapters.Collection{ID: id, Kind: adapters.KindCalendar, Name: name, Components: []string{ical.CompToDo}, ReadOnly: readOnly}
	}
	return adapters.Collection{ID: id, Kind: adapters.KindCalendar, Name: name, Components: []string{ical.CompEvent}, ReadOnly: readOnly}
}

// state returns coll's mirror. Unknown IDs are resolved without listing
// when their shape says what they are; else Collections is consulted.
func (a *Adapter) state(ctx context.Context, coll string) (*collState, error) {
	a.mu.Lock()
	st, ok := a.colls[coll]
	a.mu.Unlock()
	if ok {
		return st, nil
	}
	if _, err := a.Collections(ctx); err != nil {
		return nil, err
	}
	a.mu.Lock()
	st, ok = a.colls[coll]
	a.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("ews: collection %q: %w", coll, adapters.ErrNotFound)
	}
	return st, nil
}

// ---------------------------------------------------------------- listing

// list runs FindItem (IndexedPageItemView, ids + ChangeKeys + davgate-id +
// UID) over the whole folder and refreshes the mirror.
func (a *Adapter) list(ctx context.Context, coll string, st *collState) error {
	type row struct{ id, itemID, changeKey, uid string }
	var rows []row
	for offset := 0; ; {
		ap := &api.AdditionalProperties{ExtendedFieldURIs: []api.ExtendedFieldURI{propID}}
		if st.kind == kindEvents {
			ap.FieldURIs = []api.FieldURI{{FieldURI: "calendar:UID"}}
		}
		msgs, err := a.c.Call(ctx, "FindItem", read, &api.FindItem{Traversal: "Shallow",
			ItemShape:       api.ItemShape{BaseShape: "IdOnly", AdditionalProperties: ap},
			IndexedPageView: &api.IndexedPageView{MaxEntriesReturned: a.opts.PageSize, Offset: offset, BasePoint: "Beginning"},
			ParentFolderIDs: st.folder.Refs()})
		if err != nil {
			return err
		}
		if len(msgs) != 1 {
			return fmt.Errorf("ews: FindItem: %d response messages", len(msgs))
		}
		if err := check(fmt.Sprintf("FindItem in %q", coll), read, msgs[0]); err != nil {
			return err
		}
		rf := msgs[0].RootFolder
		if rf == nil || rf.Items == nil {
			break
		}
		for _, it := range rf.Items.CalendarItems {
			if it.ItemID == nil {
				continue
			}
			rows = append(rows, row{id: objectID(&it), itemID: it.ItemID.ID, changeKey: it.ItemID.ChangeKey, uid: it.UID})
		}
		other := func(id *api.ItemID, ext []api.ExtendedProperty) {
			if id != nil {
				rows = append(rows, row{id: otherObjectID(id, ext), itemID: id.ID, changeKey: id.ChangeKey})
			}
		}
		if st.kind != kindEvents {
			for _, it := range rf.Items.Contacts {
				other(it.ItemID, it.ExtendedProperty)
			}
			for _, it := range rf.Items.DistLists {
				other(it.ItemID, it.ExtendedProperty)
			}
			for _, it := range rf.Items.Tasks {
				other(it.ItemID, it.ExtendedProperty)
			}
		}
		n := len(rf.Items.CalendarItems) + len(rf.Items.Items) + len(rf.Items.Tasks) + len(rf.Items.Contacts) + len(rf.Items.DistLists)
		if rf.IncludesLastItemInRange || n == 0 || rf.IndexedPagingOffset <= offset {
			break
		}
		offset = rf.IndexedPagingOffset
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	byID := make(map[string]*entry, len(rows))
	byItem := make(map[string]string, len(rows))
	for _, r := range rows {
		if _, dup := byID[r.id]; dup {
			continue // two items claim one ID: keep the first
		}
		e := &entry{itemID: r.itemID, changeKey: r.changeKey, uid: r.uid}
		if old, ok := st.byID[r.id]; ok && old.obj != nil && old.itemID == r.itemID && old.objKey == r.changeKey {
			e.obj, e.objKey = old.obj, old.objKey
		}
		byID[r.id] = e
		byItem[r.itemID] = r.id
		st.known[r.itemID] = r.id
	}
	st.byID, st.byItem, st.listed = byID, byItem, true
	return nil
}

// objectID is the ID an item is served under: the client's href ID kept
// in davgate-id, else the iCalendar UID, else the EWS ItemId.
func objectID(it *api.CalendarItem) string {
	if v, ok := it.Extended(propID); ok && v != "" {
		return v
	}
	if it.UID != "" {
		return it.UID
	}
	return it.ItemID.ID
}

// readPaths are the typed properties read with every item.
func readShape(mime bool) api.ItemShape {
	fields := []string{"item:Subject", "item:Body", "item:Sensitivity", "item:LastModifiedTime", "calendar:UID",
		"calendar:Start", "calendar:End", "calendar:IsAllDayEvent", "calendar:Location", "calendar:LegacyFreeBusyStatus",
		"calendar:CalendarItemType", "calendar:Recurrence", "calendar:ModifiedOccurrences", "calendar:DeletedOccurrences",
		"calendar:Organizer", "calendar:RequiredAttendees", "calendar:OptionalAttendees"}
	ap := &api.AdditionalProperties{ExtendedFieldURIs: []api.ExtendedFieldURI{propID, propICal, propFP}}
	for _, f := range fields {
		ap.FieldURIs = append(ap.FieldURIs, api.FieldURI{FieldURI: f})
	}
	return api.ItemShape{BaseShape: "IdOnly", IncludeMimeContent: mime, BodyType: "Text", AdditionalProperties: ap}
}

// getItems reads items in batches; the result is aligned with ids, and a
// missing item is a nil entry (not an error).
func (a *Adapter) getItems(ctx context.Context, ids []string, mime bool) ([]*api.CalendarItem, error) {
	out := make([]*api.CalendarItem, len(ids))
	batch := a.opts.BatchSize
	if mime {
		batch = max(1, batch/2)
	}
	for start := 0; start < len(ids); start += batch {
		end := min(len(ids), start+batch)
		req := &api.GetItem{ItemShape: readShape(mime)}
		for _, id := range ids[start:end] {
			req.ItemIDs.IDs = append(req.ItemIDs.IDs, api.ItemID{ID: id})
		}
		msgs, err := a.c.Call(ctx, "GetItem", read, req)
		if err != nil {
			return nil, err
		}
		if len(msgs) != end-start {
			return nil, fmt.Errorf("ews: GetItem: %d response messages for %d ids", len(msgs), end-start)
		}
		for i, m := range msgs {
			if err := check("GetItem", read, m); err != nil {
				if errors.Is(err, adapters.ErrNotFound) {
					continue
				}
				return nil, err
			}
			if m.Items != nil && len(m.Items.CalendarItems) > 0 {
				it := m.Items.CalendarItems[0]
				out[start+i] = &it
			}
		}
	}
	return out, nil
}

// materialize turns typed items into objects: the stored client
// iCalendar where still valid, else Exchange's MimeContent (fetched in a
// second batched GetItem when the first did not include it).
func (a *Adapter) materialize(ctx context.Context, items []*api.CalendarItem) ([]*adapters.Object, error) {
	out := make([]*adapters.Object, len(items))
	var need []int
	for i, it := range items {
		if it == nil {
			continue
		}
		if ics := storedCalendar(it); ics != nil {
			obj := &adapters.Object{ID: objectID(it), Raw: ics, Version: versionOf(it), Updated: parseTime(it.LastModifiedTime)}
			if _, err := obj.Calendar(); err == nil {
				out[i] = obj
				continue
			}
		}
		if it.MimeContent != nil {
			obj, err := objectFromItem(it)
			if err != nil {
				return nil, err
			}
			out[i] = obj
			continue
		}
		need = append(need, i)
	}
	if len(need) == 0 {
		return out, nil
	}
	ids := make([]string, len(need))
	for j, i := range need {
		ids[j] = items[i].ItemID.ID
	}
	full, err := a.getItems(ctx, ids, true)
	if err != nil {
		return nil, err
	}
	for j, i := range need {
		if full[j] == nil {
			continue // deleted meanwhile
		}
		obj, err := objectFromItem(full[j])
		if err != nil {
			return nil, err
		}
		out[i] = obj
	}
	return out, nil
}

func objectFromItem(it *api.CalendarItem) (*adapters.Object, error) {
	mime, err := decodeMime(it.MimeContent)
	if err != nil {
		return nil, err
	}
	cal, err := calendarFromItem(it, mime)
	if err != nil {
		return nil, fmt.Errorf("ews: item %s: %w", objectID(it), err)
	}
	return &adapters.Object{ID: objectID(it), Data: cal, Version: versionOf(it), Updated: parseTime(it.LastModifiedTime)}, nil
}

func parseTime(s string) time.Time {
	t, _ := api.ParseTime(s)
	return t
}

// Objects lists coll's objects; a time range narrows the reads with a
// CalendarView (occurrences and exceptions map to their series by UID).
func (a *Adapter) Objects(ctx context.Context, coll string, q adapters.Query) ([]adapters.Object, error) {
	st, err := a.state(ctx, coll)
	if err != nil {
		return nil, err
	}
	if err := a.list(ctx, coll, st); err != nil {
		return nil, err
	}
	var inRange map[string]bool
	if st.kind == kindEvents && !q.Start.IsZero() && !q.End.IsZero() && q.End.Sub(q.Start) < 700*24*time.Hour {
		if inRange, err = a.uidsInRange(ctx, st, q); err != nil {
			return nil, err
		}
	}
	st.mu.Lock()
	var ids []string
	for id, e := range st.byID {
		if inRange != nil && !inRange[e.uid] && e.uid != "" {
			continue
		}
		ids = append(ids, id)
	}
	st.mu.Unlock()
	slices.Sort(ids)
	return a.read(ctx, st, ids)
}

// uidsInRange returns the UIDs of items with an instance in q.
func (a *Adapter) uidsInRange(ctx context.Context, st *collState, q adapters.Query) (map[string]bool, error) {
	msgs, err := a.c.Call(ctx, "FindItem CalendarView", read, &api.FindItem{Traversal: "Shallow",
		ItemShape: api.ItemShape{BaseShape: "IdOnly", AdditionalProperties: &api.AdditionalProperties{
			FieldURIs: []api.FieldURI{{FieldURI: "calendar:UID"}}}},
		CalendarView:    &api.CalendarView{MaxEntriesReturned: 1000, StartDate: api.FormatTime(q.Start), EndDate: api.FormatTime(q.End)},
		ParentFolderIDs: st.folder.Refs()})
	if err != nil {
		return nil, err
	}
	if len(msgs) != 1 {
		return nil, fmt.Errorf("ews: CalendarView: %d response messages", len(msgs))
	}
	if err := check("FindItem CalendarView", read, msgs[0]); err != nil {
		if errors.Is(err, adapters.ErrNotFound) {
			return nil, err
		}
		return nil, nil // ErrorCalendarViewRangeTooBig and the like: read everything
	}
	rf := msgs[0].RootFolder
	if rf == nil || !rf.IncludesLastItemInRange {
		return nil, nil // truncated view: read everything
	}
	uids := map[string]bool{}
	if rf.Items != nil {
		for _, it := range rf.Items.CalendarItems {
			if it.UID == "" {
				return nil, nil
			}
			uids[it.UID] = true
		}
	}
	return uids, nil
}

// read returns the objects with the given IDs, reusing translations whose
// ChangeKey is unchanged and fetching the rest in batches.
func (a *Adapter) read(ctx context.Context, st *collState, ids []string) ([]adapters.Object, error) {
	out := make([]adapters.Object, 0, len(ids))
	var fetch []string // item ids
	var fetchObj []string
	st.mu.Lock()
	for _, id := range ids {
		e := st.byID[id]
		if e == nil {
			continue
		}
		if e.obj != nil && e.objKey == e.changeKey {
			out = append(out, *e.obj)
			continue
		}
		fetch = append(fetch, e.itemID)
		fetchObj = append(fetchObj, id)
	}
	st.mu.Unlock()
	if len(fetch) == 0 {
		return out, nil
	}
	objs, keys, err := a.fetch(ctx, st, fetch)
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	for i, o := range objs {
		if o == nil {
			continue
		}
		o.ID = fetchObj[i] // the listing's ID wins (duplicates resolved there)
		if e := st.byID[fetchObj[i]]; e != nil && e.itemID == keys[i].ID {
			e.obj, e.objKey, e.changeKey = o, keys[i].ChangeKey, keys[i].ChangeKey
		}
		out = append(out, *o)
	}
	st.mu.Unlock()
	slices.SortFunc(out, func(x, y adapters.Object) int { return strings.Compare(x.ID, y.ID) })
	return out, nil
}

// lookup finds id's entry, listing the folder when it is unknown.
func (a *Adapter) lookup(ctx context.Context, coll, id string) (*collState, *entry, error) {
	st, err := a.state(ctx, coll)
	if err != nil {
		return nil, nil, err
	}
	// Copy the entry under the lock: Object updates entries in place.
	get := func() (*entry, bool) {
		st.mu.Lock()
		defer st.mu.Unlock()
		e, ok := st.byID[id]
		if !ok {
			return nil, st.listed
		}
		cp := *e
		return &cp, st.listed
	}
	e, listed := get()
	if e == nil || !listed {
		if err := a.list(ctx, coll, st); err != nil {
			return nil, nil, err
		}
		e, _ = get()
	}
	return st, e, nil
}

// Object returns one object; ErrNotFound if coll or the object does not
// exist.
func (a *Adapter) Object(ctx context.Context, coll, id string) (adapters.Object, error) {
	for attempt := 0; attempt < 2; attempt++ {
		st, e, err := a.lookup(ctx, coll, id)
		if err != nil {
			return adapters.Object{}, err
		}
		if e == nil {
			return adapters.Object{}, fmt.Errorf("ews: object %q in %q: %w", id, coll, adapters.ErrNotFound)
		}
		if st.kind != kindEvents {
			objs, keys, err := a.fetch(ctx, st, []string{e.itemID})
			if err != nil {
				return adapters.Object{}, err
			}
			if objs[0] == nil { // moved or deleted since the listing
				if err := a.list(ctx, coll, st); err != nil {
					return adapters.Object{}, err
				}
				continue
			}
			obj := *objs[0]
			obj.ID = id
			st.mu.Lock()
			if cur := st.byID[id]; cur != nil && cur.itemID == e.itemID {
				cur.obj, cur.objKey, cur.changeKey = &obj, keys[0].ChangeKey, keys[0].ChangeKey
			}
			st.mu.Unlock()
			return obj, nil
		}
		items, err := a.getItems(ctx, []string{e.itemID}, false)
		if err != nil {
			return adapters.Object{}, err
		}
		if items[0] == nil { // moved or deleted since the listing
			if err := a.list(ctx, coll, st); err != nil {
				return adapters.Object{}, err
			}
			continue
		}
		if e.obj != nil && e.objKey == items[0].ItemID.ChangeKey && e.obj.Version == versionOf(items[0]) {
			return *e.obj, nil
		}
		objs, err := a.materialize(ctx, items)
		if err != nil {
			return adapters.Object{}, err
		}
		if objs[0] == nil {
			continue
		}
		obj := *objs[0]
		obj.ID = id
		st.mu.Lock()
		if cur := st.byID[id]; cur != nil && cur.itemID == e.itemID {
			cur.obj, cur.objKey, cur.changeKey = &obj, items[0].ItemID.ChangeKey, items[0].ItemID.ChangeKey
		}
		st.mu.Unlock()
		return obj, nil
	}
	return adapters.Object{}, fmt.Errorf("ews: object %q in %q: %w", id, coll, adapters.ErrNotFound)
}

// ---------------------------------------------------------------- writes

func (a *Adapter) invitations() string {
	if a.opts.SendInvitations {
		return "SendToAllAndSaveCopy"
	}
	return "SendToNone"
}

// Put creates or replaces obj. A new object is created from its
// iCalendar (CreateItem MimeContent); an existing one is updated field by
// field with its current ChangeKey (UpdateItem NeverOverwrite), so a
// concurrent change elsewhere is ErrPrecondition; on a series, new EXDATEs
// and changed overrides then go to their occurrences (writeOccurrences).
// Either way the client's
// iCalendar is stored on the item and served back while the item stays
// as davgate left it.
func (a *Adapter) Put(ctx context.Context, coll string, obj adapters.Object, c adapters.Cond) (adapters.Object, error) {
	if obj.ID == "" {
		return adapters.Object{}, fmt.Errorf("ews: put: empty object ID: %w", adapters.ErrInvalid)
	}
	if st, err := a.state(ctx, coll); err != nil {
		return adapters.Object{}, err
	} else if st.kind == kindContacts {
		return a.putContact(ctx, coll, obj, c)
	} else if st.kind == kindTasks {
		return a.putTask(ctx, coll, obj, c)
	}
	cal, err := obj.Calendar()
	if err != nil {
		return adapters.Object{}, err
	}
	if !isCalendarData(cal) {
		return adapters.Object{}, fmt.Errorf("ews: put %q: only VEVENT objects are supported: %w", obj.ID, adapters.ErrUnsupported)
	}
	raw, err := obj.Encode()
	if err != nil {
		return adapters.Object{}, err
	}
	st, e, err := a.lookup(ctx, coll, obj.ID)
	if err != nil {
		return adapters.Object{}, err
	}
	var itemID api.ItemID
	if e == nil {
		if c.IfVersion != "" {
			return adapters.Object{}, fmt.Errorf("ews: put %q: object does not exist: %w", obj.ID, adapters.ErrPrecondition)
		}
		if itemID, err = a.create(ctx, coll, st, obj.ID, cal, raw); err != nil {
			return adapters.Object{}, err
		}
	} else {
		if c.IfAbsent {
			return adapters.Object{}, fmt.Errorf("ews: put %q: object exists: %w", obj.ID, adapters.ErrPrecondition)
		}
		items, err := a.getItems(ctx, []string{e.itemID}, false)
		if err != nil {
			return adapters.Object{}, err
		}
		cur := items[0]
		if cur == nil {
			return adapters.Object{}, fmt.Errorf("ews: put %q: item vanished: %w", obj.ID, adapters.ErrPrecondition)
		}
		if c.IfVersion != "" && c.IfVersion != versionOf(cur) {
			return adapters.Object{}, fmt.Errorf("ews: put %q: version %q is not current: %w", obj.ID, c.IfVersion, adapters.ErrPrecondition)
		}
		ups, err := updatesFor(cal, raw)
		if err != nil {
			return adapters.Object{}, err
		}
		// Occurrences are planned against Exchange's state before the
		// master update, which leaves exceptions and deletions alone.
		var prev *ical.Calendar
		if b := storedCalendar(cur); b != nil {
			if cals, _, err := icalfix.DecodeBytes(b); err == nil {
				prev = cals[0]
			}
		}
		plan, err := planOccurrences(cal, prev, cur)
		if err != nil {
			return adapters.Object{}, err
		}
		if itemID, err = a.update(ctx, "UpdateItem "+obj.ID, *cur.ItemID, ups); err != nil {
			return adapters.Object{}, err
		}
		if err := a.writeOccurrences(ctx, obj.ID, itemID.ID, plan); err != nil {
			return adapters.Object{}, err
		}
	}
	// Fingerprint Exchange's view of the item as written, so later reads
	// can tell whether it changed elsewhere. The read also picks up the
	// ChangeKey that occurrence writes gave the master.
	items, err := a.getItems(ctx, []string{itemID.ID}, false)
	if err != nil {
		return adapters.Object{}, err
	}
	if items[0] == nil {
		return adapters.Object{}, fmt.Errorf("ews: put %q: item not found after write: %w", obj.ID, adapters.ErrUnavailable)
	}
	itemID, err = a.update(ctx, "UpdateItem fingerprint "+obj.ID, *items[0].ItemID,
		[]api.Update{api.SetExtended(propFP, fingerprint(items[0]))})
	if err != nil {
		return adapters.Object{}, err
	}
	it := items[0]
	// Occurrence ItemIds carry the master's ChangeKey, so the
	// fingerprint write moved theirs along.
	if mo := it.ModifiedOccurrences; mo != nil {
		cp := *mo
		cp.List = slices.Clone(mo.List)
		for i := range cp.List {
			if cp.List[i].ItemID.ChangeKey == it.ItemID.ChangeKey {
				cp.List[i].ItemID.ChangeKey = itemID.ChangeKey
			}
		}
		it.ModifiedOccurrences = &cp
	}
	it.ItemID = &itemID
	stored := adapters.Object{ID: obj.ID, Raw: raw, Version: versionOf(it), Updated: parseTime(it.LastModifiedTime)}
	st.mu.Lock()
	if old, ok := st.byID[obj.ID]; ok && old.itemID != itemID.ID {
		delete(st.byItem, old.itemID)
	}
	st.byID[obj.ID] = &entry{itemID: itemID.ID, changeKey: itemID.ChangeKey, uid: it.UID, obj: &stored, objKey: itemID.ChangeKey}
	st.byItem[itemID.ID] = obj.ID
	st.known[itemID.ID] = obj.ID
	st.mu.Unlock()
	return stored, nil
}

// writeOccurrences carries plan to Exchange in at most three calls: one
// GetItem of the planned OccurrenceItemIds (their OriginalStart confirms
// each InstanceIndex; instances already gone are skipped), one DeleteItem
// of the occurrences behind new EXDATEs and one UpdateItem of the edited
// ones. An index that does not land on its RECURRENCE-ID (Exchange counts
// the pattern differently) is skipped with a warning rather than editing
// the wrong instance; the stored iCalendar still carries it.
func (a *Adapter) writeOccurrences(ctx context.Context, id, masterID string, plan occPlan) error {
	if plan.empty() {
		return nil
	}
	type target struct {
		recID time.Time
		index int
		edit  *occEdit
	}
	var ts []target
	for _, d := range plan.deletes {
		ts = append(ts, target{recID: d.recID, index: d.index})
	}
	for i := range plan.edits {
		e := &plan.edits[i]
		ts = append(ts, target{recID: e.recID, index: e.index, edit: e})
	}
	shape := api.ItemShape{BaseShape: "IdOnly", AdditionalProperties: &api.AdditionalProperties{
		FieldURIs: []api.FieldURI{{FieldURI: "calendar:OriginalStart"}}}}
	req := &api.GetItem{ItemShape: shape}
	for _, t := range ts {
		req.ItemIDs.Occurrences = append(req.ItemIDs.Occurrences, api.OccurrenceItemID{RecurringMasterID: masterID, InstanceIndex: t.index})
	}
	op := "GetItem occurrences " + id
	msgs, err := a.c.Call(ctx, op, read, req)
	if err != nil {
		return err
	}
	if len(msgs) != len(ts) {
		return fmt.Errorf("ews: %s: %d response messages for %d ids", op, len(msgs), len(ts))
	}
	var dels []api.ItemID
	var changes []api.ItemChange
	for i, m := range msgs {
		if err := check(op, read, m); err != nil {
			if errors.Is(err, adapters.ErrNotFound) {
				continue // deleted already (or past the end): nothing to do
			}
			return err
		}
		var occ *api.CalendarItem
		if m.Items != nil && len(m.Items.CalendarItems) > 0 {
			occ = &m.Items.CalendarItems[0]
		}
		if occ == nil || occ.ItemID == nil {
			continue
		}
		if !sameTime(occ.OriginalStart, ts[i].recID) {
			a.log.Warn("occurrence index does not match its RECURRENCE-ID; not written to Exchange",
				"object", id, "index", ts[i].index, "recurrence_id", ts[i].recID, "original_start", occ.OriginalStart)
			continue
		}
		if ts[i].edit == nil {
			dels = append(dels, api.ItemID{ID: occ.ItemID.ID})
		} else {
			changes = append(changes, api.ItemChange{ItemID: *occ.ItemID, Updates: occurrenceUpdates(ts[i].edit.fields)})
		}
	}
	if len(dels) > 0 {
		op := "DeleteItem occurrences " + id
		msgs, err := a.c.Call(ctx, op, write, &api.DeleteItem{DeleteType: a.opts.DeleteType,
			SendMeetingCancellations: a.invitations(), AffectedTaskOccurrences: "SpecifiedOccurrenceOnly",
			ItemIDs: api.ItemIDs{IDs: dels}})
		if err != nil {
			return err
		}
		if len(msgs) != len(dels) {
			return fmt.Errorf("ews: %s: %d response messages for %d ids", op, len(msgs), len(dels))
		}
		for _, m := range msgs {
			if err := check(op, write, m); err != nil && !errors.Is(err, adapters.ErrNotFound) {
				return err
			}
		}
	}
	if len(changes) > 0 {
		// AutoResolve: each occurrence write moves the master's
		// ChangeKey, which the later changes of the batch carry stale.
		// The master's version was checked before its own update.
		op := "UpdateItem occurrences " + id
		msgs, err := a.c.Call(ctx, op, write, &api.UpdateItem{ConflictResolution: "AutoResolve", MessageDisposition: "SaveOnly",
			SendMeetingInvitationsOrCancellations: a.invitationsOrCancellations(), ItemChanges: changes})
		if err != nil {
			return err
		}
		if len(msgs) != len(changes) {
			return fmt.Errorf("ews: %s: %d response messages for %d changes", op, len(msgs), len(changes))
		}
		for _, m := range msgs {
			if err := check(op, write, m); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *Adapter) create(ctx context.Context, coll string, st *collState, id string, cal *ical.Calendar, raw []byte) (api.ItemID, error) {
	mime, err := icalForCreate(cal)
	if err != nil {
		return api.ItemID{}, err
	}
	folder := st.folder
	item := api.CalendarItem{MimeContent: encodeMime(mime), ExtendedProperty: []api.ExtendedProperty{
		{ExtendedFieldURI: propID, Value: id}, {ExtendedFieldURI: propICal, Value: string(raw)}}}
	msgs, err := a.c.Call(ctx, "CreateItem", write, &api.CreateItem{MessageDisposition: "SaveOnly",
		SendMeetingInvitations: a.invitations(), SavedItemFolderID: &folder,
		Items: api.Items{CalendarItems: []api.CalendarItem{item}}})
	if err != nil {
		return api.ItemID{}, err
	}
	if len(msgs) != 1 {
		return api.ItemID{}, fmt.Errorf("ews: CreateItem: %d response messages", len(msgs))
	}
	if err := check(fmt.Sprintf("CreateItem %q in %q", id, coll), write, msgs[0]); err != nil {
		return api.ItemID{}, err
	}
	got := firstItemID(msgs[0].Items)
	if got == nil {
		return api.ItemID{}, fmt.Errorf("ews: CreateItem %q: no ItemId in the response", id)
	}
	return *got, nil
}

func (a *Adapter) update(ctx context.Context, op string, id api.ItemID, ups []api.Update) (api.ItemID, error) {
	msgs, err := a.c.Call(ctx, op, write, &api.UpdateItem{ConflictResolution: "NeverOverwrite", MessageDisposition: "SaveOnly",
		SendMeetingInvitationsOrCancellations: a.invitationsOrCancellations(),
		ItemChanges:                           []api.ItemChange{{ItemID: id, Updates: ups}}})
	if err != nil {
		return api.ItemID{}, err
	}
	if len(msgs) != 1 {
		return api.ItemID{}, fmt.Errorf("ews: %s: %d response messages", op, len(msgs))
	}
	if err := check(op, write, msgs[0]); err != nil {
		return api.ItemID{}, err
	}
	if m := msgs[0]; m.ConflictResults != nil && m.ConflictResults.Count > 0 {
		return api.ItemID{}, fmt.Errorf("ews: %s: %d conflicts: %w", op, m.ConflictResults.Count, adapters.ErrPrecondition)
	}
	got := firstItemID(msgs[0].Items)
	if got == nil {
		return api.ItemID{}, fmt.Errorf("ews: %s: no ItemId in the response", op)
	}
	return *got, nil
}

func (a *Adapter) invitationsOrCancellations() string {
	if a.opts.SendInvitations {
		return "SendToAllAndSaveCopy"
	}
	return "SendToNone"
}

// Delete removes an object: ErrNotFound if it does not exist,
// ErrPrecondition if c does not hold.
func (a *Adapter) Delete(ctx context.Context, coll, id string, c adapters.Cond) error {
	st, e, err := a.lookup(ctx, coll, id)
	if err != nil {
		return err
	}
	if e == nil {
		return fmt.Errorf("ews: delete %q in %q: %w", id, coll, adapters.ErrNotFound)
	}
	if c.IfVersion != "" {
		cur, err := a.currentVersion(ctx, st, e.itemID)
		if err != nil {
			return err
		}
		if cur == "" {
			return fmt.Errorf("ews: delete %q in %q: %w", id, coll, adapters.ErrNotFound)
		}
		if cur != c.IfVersion {
			return fmt.Errorf("ews: delete %q: version %q is not current: %w", id, c.IfVersion, adapters.ErrPrecondition)
		}
	}
	msgs, err := a.c.Call(ctx, "DeleteItem", write, &api.DeleteItem{DeleteType: a.opts.DeleteType,
		SendMeetingCancellations: a.invitations(), AffectedTaskOccurrences: "AllOccurrences",
		ItemIDs: api.ItemIDs{IDs: []api.ItemID{{ID: e.itemID}}}})
	if err != nil {
		return err
	}
	if len(msgs) != 1 {
		return fmt.Errorf("ews: DeleteItem: %d response messages", len(msgs))
	}
	if err := check(fmt.Sprintf("DeleteItem %q in %q", id, coll), write, msgs[0]); err != nil {
		return err
	}
	st.mu.Lock()
	if cur := st.byID[id]; cur != nil && cur.itemID == e.itemID {
		delete(st.byID, id)
		delete(st.byItem, e.itemID)
	}
	st.mu.Unlock()
	return nil
}

// ---------------------------------------------------------------- changes

// syncChanges runs SyncFolderItems from state until the server has no
// more, returning created/updated ItemIds, deleted ItemIds and the new
// state.
func (a *Adapter) syncChanges(ctx context.Context, coll string, st *collState, state string) (upd, del []string, next string, err error) {
	seen := map[string]bool{}
	for range 1000 {
		msgs, err := a.c.Call(ctx, "SyncFolderItems", syncCall, &api.SyncFolderItems{
			ItemShape: api.ItemShape{BaseShape: "IdOnly"}, SyncFolderID: st.folder, SyncState: state,
			MaxChangesReturned: 512, SyncScope: "NormalItems"})
		if err != nil {
			return nil, nil, "", err
		}
		if len(msgs) != 1 {
			return nil, nil, "", fmt.Errorf("ews: SyncFolderItems: %d response messages", len(msgs))
		}
		m := msgs[0]
		if err := check(fmt.Sprintf("SyncFolderItems %q", coll), syncCall, m); err != nil {
			return nil, nil, "", err
		}
		if m.Changes != nil {
			for _, ch := range m.Changes.List {
				id := ch.ID().ID
				if id == "" {
					continue
				}
				switch ch.Kind() {
				case "Create", "Update":
					if !seen[id] {
						upd = append(upd, id)
						seen[id] = true
					}
				case "Delete":
					del = append(del, id)
				}
			}
		}
		state = m.SyncState
		if m.IncludesLastItemInRange == nil || *m.IncludesLastItemInRange {
			return upd, del, state, nil
		}
	}
	return nil, nil, "", fmt.Errorf("ews: SyncFolderItems %q: too many pages: %w", coll, adapters.ErrUnavailable)
}

func (st *collState) newToken(epoch, state string) string {
	st.seq++
	tok := epoch + "-" + strconv.Itoa(st.seq)
	st.states[tok] = state
	st.order = append(st.order, tok)
	if len(st.order) > maxTokens {
		delete(st.states, st.order[0])
		st.order = st.order[1:]
	}
	st.latest = tok
	return tok
}

// Changes returns what changed in coll since token, from SyncFolderItems;
// ErrInvalidToken for unknown tokens and when Exchange rejects the
// SyncState (the client then resynchronises).
func (a *Adapter) Changes(ctx context.Context, coll, token string) (adapters.Changes, error) {
	st, err := a.state(ctx, coll)
	if err != nil {
		return adapters.Changes{}, err
	}
	state := ""
	if token != "" {
		st.mu.Lock()
		s, ok := st.states[token]
		st.mu.Unlock()
		if !ok {
			return adapters.Changes{}, fmt.Errorf("ews: sync token %q of %q: %w", token, coll, adapters.ErrInvalidToken)
		}
		state = s
	}
	upd, del, next, err := a.syncChanges(ctx, coll, st, state)
	if err != nil {
		return adapters.Changes{}, err
	}
	if token != "" && len(upd) == 0 && len(del) == 0 {
		st.mu.Lock()
		st.states[token] = next // same content, newer cursor
		st.mu.Unlock()
		return adapters.Changes{Token: token}, nil
	}
	// Refresh the mirror so item ids map to object IDs (deletions carry
	// only ItemIds), then read what changed.
	st.mu.Lock()
	delIDs := make([]string, 0, len(del))
	for _, it := range del {
		if id, ok := st.known[it]; ok {
			delIDs = append(delIDs, id)
		}
	}
	st.mu.Unlock()
	if err := a.list(ctx, coll, st); err != nil {
		return adapters.Changes{}, err
	}
	st.mu.Lock()
	var ids []string
	for _, it := range upd {
		if id, ok := st.byItem[it]; ok {
			ids = append(ids, id)
		}
	}
	// A deleted item whose object ID is back (re-created) is an update.
	delIDs = slices.DeleteFunc(delIDs, func(id string) bool { _, ok := st.byID[id]; return ok })
	tok := st.newToken(a.epoch, next)
	st.mu.Unlock()
	slices.Sort(ids)
	ids = slices.Compact(ids)
	objs, err := a.read(ctx, st, ids)
	if err != nil {
		return adapters.Changes{}, err
	}
	slices.Sort(delIDs)
	return adapters.Changes{Token: tok, Updated: objs, Deleted: slices.Compact(delIDs)}, nil
}

// Token returns coll's current token: the latest one when SyncFolderItems
// reports no change since, else a new one.
func (a *Adapter) Token(ctx context.Context, coll string) (string, error) {
	st, err := a.state(ctx, coll)
	if err != nil {
		return "", err
	}
	st.mu.Lock()
	latest := st.latest
	state := st.states[latest]
	st.mu.Unlock()
	upd, del, next, err := a.syncChanges(ctx, coll, st, state)
	if errors.Is(err, adapters.ErrInvalidToken) && latest != "" {
		upd, del, next, err = a.syncChanges(ctx, coll, st, "")
		latest = ""
	}
	if err != nil {
		return "", err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if latest != "" && len(upd) == 0 && len(del) == 0 && st.latest == latest {
		st.states[latest] = next
		return latest, nil
	}
	return st.newToken(a.epoch, next), nil
}

var (
	_ adapters.Reader         = (*Adapter)(nil)
	_ adapters.Writer         = (*Adapter)(nil)
	_ adapters.ChangeLister   = (*Adapter)(nil)
	_ adapters.StatusReporter = (*Adapter)(nil)
	_ adapters.Validator      = (*Adapter)(nil)
	_ adapters.Provisioner    = (*Adapter)(nil)
)
