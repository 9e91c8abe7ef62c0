package ews

import (
	"bytes"
	"context"
	"fmt"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/ews/api"
)

func taskShape() api.ItemShape {
	ap := &api.AdditionalProperties{ExtendedFieldURIs: []api.ExtendedFieldURI{propID, propICal, propFP}}
	for _, f := range []string{"item:Subject", "item:Body", "item:Categories", "item:Importance", "item:LastModifiedTime",
		"task:CompleteDate", "task:DueDate", "task:PercentComplete", "task:StartDate", "task:Status"} {
		ap.FieldURIs = append(ap.FieldURIs, api.FieldURI{FieldURI: f})
	}
	return api.ItemShape{BaseShape: "IdOnly", BodyType: "Text", AdditionalProperties: ap}
}

func (a *Adapter) getTasks(ctx context.Context, ids []string) ([]*api.Task, error) {
	items, err := a.getAny(ctx, ids, taskShape())
	if err != nil {
		return nil, err
	}
	out := make([]*api.Task, len(ids))
	for i, it := range items {
		if it != nil && len(it.Tasks) > 0 && it.Tasks[0].ItemID != nil {
			out[i] = &it.Tasks[0]
		}
	}
	return out, nil
}

// storedICal returns the client's iCalendar kept on a task while the
// task is as davgate left it, and the UID it carries (even when stale).
func storedICal(t *api.Task) (raw []byte, uid string) {
	ics, ok := t.Extended(propICal)
	if !ok || ics == "" {
		return nil, ""
	}
	obj := adapters.Object{Raw: []byte(ics)}
	cal, err := obj.Calendar()
	if err != nil {
		return nil, ""
	}
	if td := todoOf(cal); td != nil {
		if p := td.Props.Get(ical.PropUID); p != nil {
			uid = p.Value
		}
	}
	if fp, ok := t.Extended(propFP); ok && fp == taskFingerprint(t) {
		return []byte(ics), uid
	}
	return nil, uid
}

// fetchTasks reads and translates tasks: the stored client VTODO while
// the task is as davgate left it, else one built from the typed fields.
func (a *Adapter) fetchTasks(ctx context.Context, ids []string) ([]*adapters.Object, []api.ItemID, error) {
	items, err := a.getTasks(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	objs := make([]*adapters.Object, len(items))
	keys := make([]api.ItemID, len(items))
	for i, t := range items {
		if t == nil {
			continue
		}
		keys[i] = *t.ItemID
		obj := &adapters.Object{ID: otherObjectID(t.ItemID, t.ExtendedProperty), Version: t.ItemID.ChangeKey, Updated: parseTime(t.LastModifiedTime)}
		raw, uid := storedICal(t)
		if raw != nil {
			obj.Raw = raw
		} else {
			obj.Data = calendarFromTask(t, cmpOr(uid, obj.ID))
		}
		objs[i] = obj
	}
	return objs, keys, nil
}

// putTask creates or updates a task through typed properties, keeping the
// client's iCalendar in davgate-ical.
func (a *Adapter) putTask(ctx context.Context, coll string, obj adapters.Object, c adapters.Cond) (adapters.Object, error) {
	cal, err := obj.Calendar()
	if err != nil {
		return adapters.Object{}, err
	}
	want, err := taskFromCalendar(cal)
	if err != nil {
		return adapters.Object{}, err
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
		t := want
		t.ExtendedProperty = []api.ExtendedProperty{{ExtendedFieldURI: propID, Value: obj.ID}, {ExtendedFieldURI: propICal, Value: string(raw)}}
		msgs, err := a.c.Call(ctx, "CreateItem task", write, &api.CreateItem{MessageDisposition: "SaveOnly", SavedItemFolderID: &st.folder,
			Items: api.Items{Tasks: []api.Task{t}}})
		if err != nil {
			return adapters.Object{}, err
		}
		if len(msgs) != 1 {
			return adapters.Object{}, fmt.Errorf("ews: CreateItem task: %d response messages", len(msgs))
		}
		if err := check(fmt.Sprintf("CreateItem %q in %q", obj.ID, coll), write, msgs[0]); err != nil {
			return adapters.Object{}, err
		}
		got := firstItemID(msgs[0].Items)
		if got == nil {
			return adapters.Object{}, fmt.Errorf("ews: CreateItem %q: no ItemId in the response", obj.ID)
		}
		itemID = *got
	} else {
		if c.IfAbsent {
			return adapters.Object{}, fmt.Errorf("ews: put %q: object exists: %w", obj.ID, adapters.ErrPrecondition)
		}
		items, err := a.getTasks(ctx, []string{e.itemID})
		if err != nil {
			return adapters.Object{}, err
		}
		cur := items[0]
		if cur == nil {
			return adapters.Object{}, fmt.Errorf("ews: put %q: item vanished: %w", obj.ID, adapters.ErrPrecondition)
		}
		itemID = *cur.ItemID
		if c.IfVersion != "" && c.IfVersion != itemID.ChangeKey {
			return adapters.Object{}, fmt.Errorf("ews: put %q: version %q is not current: %w", obj.ID, c.IfVersion, adapters.ErrPrecondition)
		}
		ups := append(taskUpdates(cur, &want), api.SetExtended(propICal, string(raw)).Retarget("Task"))
		if itemID, err = a.update(ctx, "UpdateItem "+obj.ID, itemID, ups); err != nil {
			return adapters.Object{}, err
		}
	}
	items, err := a.getTasks(ctx, []string{itemID.ID})
	if err != nil {
		return adapters.Object{}, err
	}
	if items[0] == nil {
		return adapters.Object{}, fmt.Errorf("ews: put %q: item not found after write: %w", obj.ID, adapters.ErrUnavailable)
	}
	itemID, err = a.update(ctx, "UpdateItem fingerprint "+obj.ID, *items[0].ItemID,
		[]api.Update{api.SetExtended(propFP, taskFingerprint(items[0])).Retarget("Task")})
	if err != nil {
		return adapters.Object{}, err
	}
	stored := adapters.Object{ID: obj.ID, Raw: bytes.Clone(raw), Version: itemID.ChangeKey, Updated: parseTime(items[0].LastModifiedTime)}
	a.remember(st, obj.ID, itemID, "", &stored)
	return stored, nil
}
