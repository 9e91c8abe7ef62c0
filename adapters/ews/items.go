package ews

import (
	"context"
	"errors"
	"fmt"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/ews/api"
)

// Collection IDs of the mailbox's contacts and tasks folders.
const (
	PrimaryContacts = "contacts"
	PrimaryTasks    = "tasks"
)

// otherObjectID is the ID a contact, list or task is served under: the
// client's href ID kept in davgate-id, else the EWS ItemId.
func otherObjectID(id *api.ItemID, ext []api.ExtendedProperty) string {
	for _, e := range ext {
		if e.ExtendedFieldURI.Same(propID) && e.Value != "" {
			return e.Value
		}
	}
	return id.ID
}

// firstItemID returns the id of the first item of any type in items.
func firstItemID(items *api.Items) *api.ItemID {
	if items == nil {
		return nil
	}
	switch {
	case len(items.CalendarItems) > 0:
		return items.CalendarItems[0].ItemID
	case len(items.Contacts) > 0:
		return items.Contacts[0].ItemID
	case len(items.DistLists) > 0:
		return items.DistLists[0].ItemID
	case len(items.Tasks) > 0:
		return items.Tasks[0].ItemID
	case len(items.Items) > 0:
		return items.Items[0].ItemID
	}
	return nil
}

// itemElement is the item element name EWS expects for a collection's
// items in SetItemField.
func (k collKind) itemElement() string {
	switch k {
	case kindContacts:
		return "Contact"
	case kindTasks:
		return "Task"
	}
	return "CalendarItem"
}

// otherCollections lists the contacts folder and the address books below
// it, and the tasks folder. A folder the mailbox lacks or refuses is left
// out (logged), so calendars keep working.
func (a *Adapter) otherCollections(ctx context.Context) ([]adapters.Collection, error) {
	var out []adapters.Collection
	for _, d := range []struct {
		id   string
		kind collKind
		name string
	}{{PrimaryContacts, kindContacts, "Contacts"}, {PrimaryTasks, kindTasks, "Tasks"}} {
		ref := api.FolderRef{Distinguished: &api.DistinguishedFolderID{ID: d.id}}
		msgs, err := a.c.Call(ctx, "GetFolder "+d.id, read, &api.GetFolder{
			FolderShape: api.FolderShape{BaseShape: "IdOnly", AdditionalProperties: folderPaths()}, FolderIDs: ref.Refs()})
		if err != nil {
			return nil, err
		}
		if len(msgs) != 1 || check("GetFolder "+d.id, read, msgs[0]) != nil {
			continue
		}
		name, ro := d.name, false
		if fs := msgs[0].Folders; fs != nil && len(fs.List) > 0 {
			f := fs.List[0]
			name = cmpOr(f.DisplayName, name)
			ro = f.EffectiveRights != nil && !f.EffectiveRights.CreateContents && !f.EffectiveRights.Modify
		}
		out = append(out, a.collectionOf(d.kind, d.id, name, ro, ref))
		if d.kind != kindContacts {
			continue
		}
		for offset := 0; ; {
			msgs, err := a.c.Call(ctx, "FindFolder contacts", read, &api.FindFolder{Traversal: "Deep",
				FolderShape:     api.FolderShape{BaseShape: "IdOnly", AdditionalProperties: folderPaths()},
				IndexedPageView: &api.IndexedPageView{MaxEntriesReturned: a.opts.PageSize, Offset: offset, BasePoint: "Beginning"},
				ParentFolderIDs: ref.Refs()})
			if err != nil {
				return nil, err
			}
			if len(msgs) != 1 {
				return nil, fmt.Errorf("ews: FindFolder contacts: %d response messages", len(msgs))
			}
			if err := check("FindFolder contacts", read, msgs[0]); err != nil {
				return nil, err
			}
			rf := msgs[0].RootFolder
			if rf == nil || rf.Folders == nil {
				break
			}
			for _, f := range rf.Folders.List {
				if f.FolderID == nil || !(f.XMLName.Local == "ContactsFolder" || f.FolderClass == "IPF.Contact" || len(f.FolderClass) > 11 && f.FolderClass[:12] == "IPF.Contact.") {
					continue
				}
				ro := f.EffectiveRights != nil && !f.EffectiveRights.CreateContents && !f.EffectiveRights.Modify
				out = append(out, a.collectionOf(kindContacts, f.FolderID.ID, f.DisplayName, ro, api.FolderRef{FolderID: &api.FolderID{ID: f.FolderID.ID}}))
			}
			if rf.IncludesLastItemInRange || len(rf.Folders.List) == 0 || rf.IndexedPagingOffset <= offset {
				break
			}
			offset = rf.IndexedPagingOffset
		}
	}
	return out, nil
}

// getAny reads items of any type in batches with shape; the result is
// aligned with ids, a missing item being nil.
func (a *Adapter) getAny(ctx context.Context, ids []string, shape api.ItemShape) ([]*api.Items, error) {
	out := make([]*api.Items, len(ids))
	for start := 0; start < len(ids); start += a.opts.BatchSize {
		end := min(len(ids), start+a.opts.BatchSize)
		req := &api.GetItem{ItemShape: shape}
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
			if firstItemID(m.Items) != nil {
				out[start+i] = m.Items
			}
		}
	}
	return out, nil
}

// fetch reads and translates items of st's kind; results are aligned
// with itemIDs (nil for items gone), with the ids and ChangeKeys read.
func (a *Adapter) fetch(ctx context.Context, st *collState, itemIDs []string) ([]*adapters.Object, []api.ItemID, error) {
	switch st.kind {
	case kindContacts:
		return a.fetchContacts(ctx, itemIDs)
	case kindTasks:
		return a.fetchTasks(ctx, itemIDs)
	}
	items, err := a.getItems(ctx, itemIDs, false)
	if err != nil {
		return nil, nil, err
	}
	objs, err := a.materialize(ctx, items)
	if err != nil {
		return nil, nil, err
	}
	keys := make([]api.ItemID, len(items))
	for i, it := range items {
		if it != nil && it.ItemID != nil {
			keys[i] = *it.ItemID
		}
	}
	return objs, keys, nil
}

// currentVersion returns an item's current Version, or "" if it is gone.
func (a *Adapter) currentVersion(ctx context.Context, st *collState, itemID string) (string, error) {
	if st.kind == kindEvents {
		items, err := a.getItems(ctx, []string{itemID}, false)
		if err != nil || items[0] == nil {
			return "", err
		}
		return versionOf(items[0]), nil
	}
	items, err := a.getAny(ctx, []string{itemID}, api.ItemShape{BaseShape: "IdOnly"})
	if err != nil || items[0] == nil {
		return "", err
	}
	return firstItemID(items[0]).ChangeKey, nil
}
