package ews

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/emersion/go-vcard"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/ews/api"
)

// contactShape selects the typed properties of contacts and lists.
func contactShape() api.ItemShape {
	ap := &api.AdditionalProperties{ExtendedFieldURIs: []api.ExtendedFieldURI{propID, propVCard, propFP}}
	for _, f := range []string{"item:Body", "item:Categories", "item:Attachments", "item:LastModifiedTime",
		"contacts:DisplayName", "contacts:GivenName", "contacts:MiddleName", "contacts:Nickname", "contacts:CompanyName",
		"contacts:EmailAddresses", "contacts:PhysicalAddresses", "contacts:PhoneNumbers", "contacts:Birthday",
		"contacts:BusinessHomePage", "contacts:Department", "contacts:Generation", "contacts:ImAddresses",
		"contacts:JobTitle", "contacts:Surname", "contacts:WeddingAnniversary", "distributionlist:Members"} {
		ap.FieldURIs = append(ap.FieldURIs, api.FieldURI{FieldURI: f})
	}
	return api.ItemShape{BaseShape: "IdOnly", BodyType: "Text", AdditionalProperties: ap}
}

// contactItem is one read contact or distribution list.
type contactItem struct {
	c *api.Contact
	d *api.DistributionList
}

func (ci contactItem) id() api.ItemID {
	if ci.c != nil {
		return *ci.c.ItemID
	}
	return *ci.d.ItemID
}

func (ci contactItem) ext() []api.ExtendedProperty {
	if ci.c != nil {
		return ci.c.ExtendedProperty
	}
	return ci.d.ExtendedProperty
}

func (ci contactItem) fingerprint() string { return contactFingerprint(ci.c, ci.d) }

func (ci contactItem) modified() string {
	if ci.c != nil {
		return ci.c.LastModifiedTime
	}
	return ci.d.LastModifiedTime
}

// getContacts reads contacts and lists; aligned with ids, nil when gone.
func (a *Adapter) getContacts(ctx context.Context, ids []string) ([]*contactItem, error) {
	items, err := a.getAny(ctx, ids, contactShape())
	if err != nil {
		return nil, err
	}
	out := make([]*contactItem, len(ids))
	for i, it := range items {
		switch {
		case it == nil:
		case len(it.Contacts) > 0 && it.Contacts[0].ItemID != nil:
			out[i] = &contactItem{c: &it.Contacts[0]}
		case len(it.DistLists) > 0 && it.DistLists[0].ItemID != nil:
			out[i] = &contactItem{d: &it.DistLists[0]}
		}
	}
	return out, nil
}

// getPhotos reads attachments in batches (one GetAttachment per
// BatchSize ids), returning them by id; missing ones are left out.
func (a *Adapter) getPhotos(ctx context.Context, ids []string) (map[string]*photo, error) {
	out := map[string]*photo{}
	for start := 0; start < len(ids); start += a.opts.BatchSize {
		end := min(len(ids), start+a.opts.BatchSize)
		req := &api.GetAttachment{}
		for _, id := range ids[start:end] {
			req.AttachmentIDs = append(req.AttachmentIDs, api.AttachmentID{ID: id})
		}
		msgs, err := a.c.Call(ctx, "GetAttachment", read, req)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if err := check("GetAttachment", read, m); err != nil {
				if errors.Is(err, adapters.ErrNotFound) {
					continue
				}
				return nil, err
			}
			if m.Attachments == nil {
				continue
			}
			for _, f := range m.Attachments.Files {
				if f.AttachmentID == nil {
					continue
				}
				data, err := decodeMime(&api.MimeContent{Value: f.Content})
				if err != nil {
					continue
				}
				out[f.AttachmentID.ID] = &photo{data: data, contentType: f.ContentType}
			}
		}
	}
	return out, nil
}

// fetchContacts reads and translates contacts and lists: the stored
// client vCard while the item is as davgate left it, else a vCard 3.0
// built from the typed properties, with photos read in one batch.
func (a *Adapter) fetchContacts(ctx context.Context, ids []string) ([]*adapters.Object, []api.ItemID, error) {
	items, err := a.getContacts(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	objs := make([]*adapters.Object, len(items))
	keys := make([]api.ItemID, len(items))
	var typed []int
	var photoIDList []string
	for i, it := range items {
		if it == nil {
			continue
		}
		keys[i] = it.id()
		id := keys[i]
		obj := &adapters.Object{ID: otherObjectID(&id, it.ext()), Version: id.ChangeKey, Updated: parseTime(it.modified())}
		if raw := storedCard(it.ext(), it.fingerprint()); raw != nil {
			if _, err := vcard.NewDecoder(bytes.NewReader(raw)).Decode(); err == nil {
				obj.Raw = raw
				objs[i] = obj
				continue
			}
		}
		objs[i] = obj
		typed = append(typed, i)
		if it.c != nil {
			if p := photoIDs(it.c); len(p) > 0 {
				photoIDList = append(photoIDList, p[0])
			}
		}
	}
	photos := map[string]*photo{}
	if len(photoIDList) > 0 {
		if photos, err = a.getPhotos(ctx, photoIDList); err != nil {
			return nil, nil, err
		}
	}
	for _, i := range typed {
		it, obj := items[i], objs[i]
		uid := cmpOr(storedUID(it.ext()), obj.ID)
		if it.d != nil {
			obj.Card = cardFromDistList(it.d, uid)
			continue
		}
		var ph *photo
		if p := photoIDs(it.c); len(p) > 0 {
			ph = photos[p[0]]
		}
		obj.Card = cardFromContact(it.c, uid, ph)
	}
	return objs, keys, nil
}

// putContact creates or updates a contact (or, for a group vCard, a
// distribution list) through typed properties, keeping the client's vCard
// in davgate-vcard.
func (a *Adapter) putContact(ctx context.Context, coll string, obj adapters.Object, c adapters.Cond) (adapters.Object, error) {
	card, err := obj.VCard()
	if err != nil {
		return adapters.Object{}, err
	}
	raw, err := obj.Encode()
	if err != nil {
		return adapters.Object{}, err
	}
	group := isGroup(card)
	st, e, err := a.lookup(ctx, coll, obj.ID)
	if err != nil {
		return adapters.Object{}, err
	}
	ph := photoOf(card)
	var itemID api.ItemID
	if e == nil {
		if c.IfVersion != "" {
			return adapters.Object{}, fmt.Errorf("ews: put %q: object does not exist: %w", obj.ID, adapters.ErrPrecondition)
		}
		ext := []api.ExtendedProperty{{ExtendedFieldURI: propID, Value: obj.ID}, {ExtendedFieldURI: propVCard, Value: string(raw)}}
		items := api.Items{}
		if group {
			d := distListFromCard(card)
			d.ExtendedProperty = ext
			items.DistLists = []api.DistributionList{d}
		} else {
			ct := contactFromCard(card)
			ct.ExtendedProperty = ext
			items.Contacts = []api.Contact{ct}
		}
		msgs, err := a.c.Call(ctx, "CreateItem contact", write, &api.CreateItem{MessageDisposition: "SaveOnly", SavedItemFolderID: &st.folder, Items: items})
		if err != nil {
			return adapters.Object{}, err
		}
		if len(msgs) != 1 {
			return adapters.Object{}, fmt.Errorf("ews: CreateItem contact: %d response messages", len(msgs))
		}
		if err := check(fmt.Sprintf("CreateItem %q in %q", obj.ID, coll), write, msgs[0]); err != nil {
			return adapters.Object{}, err
		}
		got := firstItemID(msgs[0].Items)
		if got == nil {
			return adapters.Object{}, fmt.Errorf("ews: CreateItem %q: no ItemId in the response", obj.ID)
		}
		itemID = *got
		if ph != nil && !group {
			if itemID, err = a.addPhoto(ctx, itemID, ph); err != nil {
				return adapters.Object{}, err
			}
		}
	} else {
		if c.IfAbsent {
			return adapters.Object{}, fmt.Errorf("ews: put %q: object exists: %w", obj.ID, adapters.ErrPrecondition)
		}
		items, err := a.getContacts(ctx, []string{e.itemID})
		if err != nil {
			return adapters.Object{}, err
		}
		cur := items[0]
		if cur == nil {
			return adapters.Object{}, fmt.Errorf("ews: put %q: item vanished: %w", obj.ID, adapters.ErrPrecondition)
		}
		itemID = cur.id()
		if c.IfVersion != "" {
			if c.IfVersion != itemID.ChangeKey {
				return adapters.Object{}, fmt.Errorf("ews: put %q: version %q is not current: %w", obj.ID, c.IfVersion, adapters.ErrPrecondition)
			}
			itemID.ChangeKey = c.IfVersion // Exchange refuses the update if it changed meanwhile
		}
		if group != (cur.d != nil) {
			return adapters.Object{}, fmt.Errorf("ews: put %q: a contact and a group cannot turn into each other in Exchange: %w", obj.ID, adapters.ErrUnsupported)
		}
		var ups []api.Update
		elem := "Contact"
		if group {
			elem = "DistributionList"
			want := distListFromCard(card)
			ups = distListUpdates(cur.d, &want)
		} else {
			want := contactFromCard(card)
			ups = contactUpdates(cur.c, &want)
		}
		ups = append(ups, api.SetExtended(propVCard, string(raw)).Retarget(elem))
		if itemID, err = a.update(ctx, "UpdateItem "+obj.ID, itemID, ups); err != nil {
			return adapters.Object{}, err
		}
		if !group {
			if itemID, err = a.replacePhoto(ctx, itemID, photoIDs(cur.c), ph); err != nil {
				return adapters.Object{}, err
			}
		}
	}
	// Fingerprint Exchange's view of the item as written.
	items, err := a.getContacts(ctx, []string{itemID.ID})
	if err != nil {
		return adapters.Object{}, err
	}
	if items[0] == nil {
		return adapters.Object{}, fmt.Errorf("ews: put %q: item not found after write: %w", obj.ID, adapters.ErrUnavailable)
	}
	elem := "Contact"
	if items[0].d != nil {
		elem = "DistributionList"
	}
	itemID, err = a.update(ctx, "UpdateItem fingerprint "+obj.ID, items[0].id(),
		[]api.Update{api.SetExtended(propFP, items[0].fingerprint()).Retarget(elem)})
	if err != nil {
		return adapters.Object{}, err
	}
	stored := adapters.Object{ID: obj.ID, Raw: raw, Version: itemID.ChangeKey, Updated: parseTime(items[0].modified())}
	a.remember(st, obj.ID, itemID, "", &stored)
	return stored, nil
}

// remember records a written object in the mirror.
func (a *Adapter) remember(st *collState, id string, itemID api.ItemID, uid string, stored *adapters.Object) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if old, ok := st.byID[id]; ok && old.itemID != itemID.ID {
		delete(st.byItem, old.itemID)
	}
	st.byID[id] = &entry{itemID: itemID.ID, changeKey: itemID.ChangeKey, uid: uid, obj: stored, objKey: itemID.ChangeKey}
	st.byItem[itemID.ID] = id
	st.known[itemID.ID] = id
}

// addPhoto attaches ph as the contact's picture and returns the item's
// new id.
func (a *Adapter) addPhoto(ctx context.Context, id api.ItemID, ph *photo) (api.ItemID, error) {
	ext := "jpg"
	if ph.typ() == "PNG" {
		ext = "png"
	}
	msgs, err := a.c.Call(ctx, "CreateAttachment", write, &api.CreateAttachment{ParentItemID: id,
		Attachments: []api.FileAttachment{{Name: "ContactPicture." + ext, ContentType: ph.contentType, IsContactPhoto: true,
			Content: encodeMime(ph.data).Value}}})
	if err != nil {
		return api.ItemID{}, err
	}
	if len(msgs) != 1 {
		return api.ItemID{}, fmt.Errorf("ews: CreateAttachment: %d response messages", len(msgs))
	}
	if err := check("CreateAttachment", write, msgs[0]); err != nil {
		return api.ItemID{}, err
	}
	return a.currentID(ctx, id)
}

// currentID re-reads an item's id and ChangeKey.
func (a *Adapter) currentID(ctx context.Context, id api.ItemID) (api.ItemID, error) {
	items, err := a.getAny(ctx, []string{id.ID}, api.ItemShape{BaseShape: "IdOnly"})
	if err != nil {
		return api.ItemID{}, err
	}
	if items[0] == nil {
		return api.ItemID{}, fmt.Errorf("ews: item vanished during a write: %w", adapters.ErrPrecondition)
	}
	return *firstItemID(items[0]), nil
}

// replacePhoto makes the contact's picture ph (nil: none), leaving an
// unchanged picture alone.
func (a *Adapter) replacePhoto(ctx context.Context, id api.ItemID, old []string, ph *photo) (api.ItemID, error) {
	if len(old) == 1 && ph != nil {
		cur, err := a.getPhotos(ctx, old)
		if err != nil {
			return api.ItemID{}, err
		}
		if p := cur[old[0]]; p != nil && bytes.Equal(p.data, ph.data) {
			return id, nil
		}
	}
	if len(old) == 0 && ph == nil {
		return id, nil
	}
	if len(old) > 0 {
		req := &api.DeleteAttachment{}
		for _, o := range old {
			req.AttachmentIDs = append(req.AttachmentIDs, api.AttachmentID{ID: o})
		}
		msgs, err := a.c.Call(ctx, "DeleteAttachment", write, req)
		if err != nil {
			return api.ItemID{}, err
		}
		for _, m := range msgs {
			if err := check("DeleteAttachment", write, m); err != nil && !errors.Is(err, adapters.ErrNotFound) {
				return api.ItemID{}, err
			}
		}
	}
	if ph == nil {
		return a.currentID(ctx, id)
	}
	return a.addPhoto(ctx, id, ph)
}
