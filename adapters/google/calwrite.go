package google

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	calendar "google.golang.org/api/calendar/v3"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/google/api"
)

// Put implements adapters.Writer. New series are created with
// events.import (which keeps the client's UID as iCalUID) under the
// deterministic id EventID(obj.ID); existing ones are updated with
// If-Match on the Google etag, master and changed overrides only.
// Unchanged events are not written. It never reports success unless every
// write it made was answered with success.
func (a *Adapter) Put(ctx context.Context, coll string, obj adapters.Object, c adapters.Cond) (adapters.Object, error) {
	if err := ctx.Err(); err != nil {
		return adapters.Object{}, err
	}
	if coll == ContactsCollection && *a.opts.Contacts {
		return a.putContact(ctx, obj, c)
	}
	if obj.ID == "" {
		return adapters.Object{}, fmt.Errorf("google: put without ID: %w", adapters.ErrInvalid)
	}
	st, err := a.state(ctx, coll)
	if err != nil {
		return adapters.Object{}, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.meta.ReadOnly {
		return adapters.Object{}, fmt.Errorf("google: calendar %q: %w", coll, adapters.ErrReadOnly)
	}
	if err := a.sync(ctx, st); err != nil {
		return adapters.Object{}, err
	}
	key, known := st.keyOf(obj.ID)
	var cur Series
	exists := false
	if known {
		cur = st.series(key)
		exists = cur.visible()
	}
	if c.IfAbsent && exists {
		return adapters.Object{}, fmt.Errorf("google: put %q: object exists: %w", obj.ID, adapters.ErrPrecondition)
	}
	if c.IfVersion != "" && (!exists || cur.Version() != c.IfVersion) {
		return adapters.Object{}, fmt.Errorf("google: put %q: version is not %q: %w", obj.ID, c.IfVersion, adapters.ErrPrecondition)
	}
	ns, err := CalendarToSeries(obj.Data, obj.ID, st.info)
	if err != nil {
		return adapters.Object{}, fmt.Errorf("google: put %q: %w", obj.ID, err)
	}
	if !known {
		key = EventID(obj.ID)
	}
	// What the current object would write, to skip unchanged events.
	var was Series
	if exists {
		if cal, err := SeriesToCalendar(cur, st.info); err == nil {
			was, _ = CalendarToSeries(cal, obj.ID, st.info)
		}
	}

	changed := map[string]bool{}
	if m := ns.Master; m != nil {
		m.Id = key
		var stored *api.Event
		switch {
		case cur.Master != nil && exists && was.Master != nil && sameWrite(was.Master, m):
			// unchanged
		case cur.Master != nil:
			// An update, also of a deleted series' tombstone: Google
			// does not reuse ids of deleted events for inserts.
			etag := ""
			if exists {
				etag = cur.Master.Etag
			}
			if m.Status == "" {
				m.Status = "confirmed"
			}
			stored, err = a.updateEvent(ctx, coll, key, m, etag)
		case exists:
			return adapters.Object{}, fmt.Errorf("google: put %q: the series has no master here (invited to single instances): %w", obj.ID, adapters.ErrUnsupported)
		default:
			err = a.call(ctx, a.calLimit, write, "events.import", func(ctx context.Context) error {
				var err error
				stored, err = a.cal.Events.Import(coll, m).Context(ctx).Do()
				return err
			})
		}
		if err != nil {
			return adapters.Object{}, err
		}
		if stored != nil {
			if stored.Id != key && !known {
				key = stored.Id
			}
			st.put(stored)
			changed[key] = true
		}
	} else if !exists {
		return adapters.Object{}, fmt.Errorf("google: put %q: no master VEVENT for a new object: %w", obj.ID, adapters.ErrUnsupported)
	}

	if err := a.writeOverrides(ctx, st, key, cur, was, ns); err != nil {
		a.logChanges(st, map[string]bool{key: true}, false)
		return adapters.Object{}, err
	}
	changed[key] = true
	a.logChanges(st, changed, false)
	a.settle(ctx, st)
	o, ok, err := a.object(st, key)
	if err != nil {
		return adapters.Object{}, err
	}
	if !ok {
		return adapters.Object{}, fmt.Errorf("google: put %q: not visible after write: %w", obj.ID, adapters.ErrUnavailable)
	}
	return o, nil
}

// writeOverrides stores new or changed overrides as instance updates and
// cancels instances whose override the client replaced by an EXDATE.
func (a *Adapter) writeOverrides(ctx context.Context, st *calState, key string, cur, was Series, ns Series) error {
	existing := map[string]*api.Event{}
	for _, e := range append(append([]*api.Event(nil), cur.Overrides...), cur.Cancelled...) {
		existing[originalKey(e)] = e
	}
	before := map[string]*api.Event{}
	for _, e := range was.Overrides {
		before[originalKey(e)] = e
	}
	wanted := map[string]bool{}
	for _, o := range ns.Overrides {
		ok := originalKey(o)
		wanted[ok] = true
		o.RecurringEventId = key
		if b := before[ok]; b != nil && sameWrite(b, o) {
			continue
		}
		id, etag := "", ""
		if e := existing[ok]; e != nil {
			id = e.Id
			if e.Status != "cancelled" {
				etag = e.Etag
			}
		} else {
			inst, err := a.findInstance(ctx, st.id, key, o.OriginalStartTime)
			if err != nil {
				return err
			}
			id = inst.Id
		}
		o.Id = id
		if o.Status == "" {
			o.Status = "confirmed"
		}
		stored, err := a.updateEvent(ctx, st.id, id, o, etag)
		if err != nil {
			return err
		}
		st.put(stored)
	}
	// An override the client dropped in favour of an EXDATE: cancel it.
	if ns.Master != nil {
		exdates := map[string]bool{}
		for _, line := range ns.Master.Recurrence {
			if p, err := parseLine(line); err == nil && p.Name == "EXDATE" {
				for _, k := range instantKeys(*p) {
					exdates[k] = true
				}
			}
		}
		for ok, e := range existing {
			if wanted[ok] || e.Status == "cancelled" || !coveredBy(e, exdates) {
				continue
			}
			if err := a.call(ctx, a.calLimit, write, "events.delete", func(ctx context.Context) error {
				return a.cal.Events.Delete(st.id, e.Id).Context(ctx).Do()
			}); err != nil && !errorsIsNotFound(err) {
				return err
			}
			gone := *e
			gone.Status, gone.Etag = "cancelled", e.Etag+"-cancelled"
			st.put(&gone)
		}
	}
	return nil
}

func coveredBy(e *api.Event, exdates map[string]bool) bool {
	p, err := timeProp("EXDATE", e.OriginalStartTime, style{date: e.OriginalStartTime.Date != ""})
	if err != nil {
		return false
	}
	for _, k := range instantKeys(*p) {
		if exdates[k] {
			return true
		}
	}
	return false
}

// sameWrite reports whether two translated events would write the same
// fields, ignoring ids Google assigns.
func sameWrite(a, b *api.Event) bool {
	strip := func(e *api.Event) map[string]any {
		c := *e
		c.Id, c.Etag, c.RecurringEventId = "", "", ""
		raw, _ := json.Marshal(&c)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return m
	}
	return reflect.DeepEqual(strip(a), strip(b))
}

func (a *Adapter) updateEvent(ctx context.Context, coll, id string, e *api.Event, etag string) (*api.Event, error) {
	var stored *api.Event
	err := a.call(ctx, a.calLimit, write, "events.update", func(ctx context.Context) error {
		call := a.cal.Events.Update(coll, id, e).Context(ctx)
		if etag != "" {
			call.Header().Set("If-Match", etag)
		}
		var err error
		stored, err = call.Do()
		return err
	})
	return stored, err
}

// findInstance finds the instance of master starting originally at ost.
func (a *Adapter) findInstance(ctx context.Context, coll, master string, ost *api.EventDateTime) (*api.Event, error) {
	start := ost.DateTime
	if start == "" {
		start = ost.Date
	}
	var page *calendar.Events
	err := a.call(ctx, a.calLimit, read, "events.instances", func(ctx context.Context) error {
		var err error
		page, err = a.cal.Events.Instances(coll, master).OriginalStart(start).ShowDeleted(true).Context(ctx).Do()
		return err
	})
	if err != nil {
		return nil, err
	}
	want := originalKey(&api.Event{OriginalStartTime: ost})
	for _, e := range page.Items {
		if originalKey(e) == want {
			return e, nil
		}
	}
	return nil, fmt.Errorf("google: RECURRENCE-ID %s matches no instance of %q: %w", start, master, adapters.ErrInvalid)
}

// Delete implements adapters.Writer: the master is deleted with If-Match
// (Google cancels the whole series); an object without master has its
// instances deleted one by one.
func (a *Adapter) Delete(ctx context.Context, coll, id string, c adapters.Cond) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if coll == ContactsCollection && *a.opts.Contacts {
		return a.deleteContact(ctx, id, c)
	}
	st, err := a.state(ctx, coll)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.meta.ReadOnly {
		return fmt.Errorf("google: calendar %q: %w", coll, adapters.ErrReadOnly)
	}
	if err := a.sync(ctx, st); err != nil {
		return err
	}
	key, ok := st.keyOf(id)
	var cur Series
	if ok {
		cur = st.series(key)
	}
	if !ok || !cur.visible() {
		return fmt.Errorf("google: delete %q in %q: %w", id, coll, adapters.ErrNotFound)
	}
	if c.IfAbsent || (c.IfVersion != "" && cur.Version() != c.IfVersion) {
		return fmt.Errorf("google: delete %q: condition does not hold: %w", id, adapters.ErrPrecondition)
	}
	targets := []*api.Event{cur.Master}
	if cur.Master == nil {
		targets = cur.Overrides
	}
	for _, e := range targets {
		etag := ""
		if c.IfVersion != "" {
			etag = e.Etag
		}
		err := a.call(ctx, a.calLimit, write, "events.delete", func(ctx context.Context) error {
			call := a.cal.Events.Delete(coll, e.Id).Context(ctx)
			if etag != "" {
				call.Header().Set("If-Match", etag)
			}
			return call.Do()
		})
		if err != nil {
			return err
		}
		gone := *e
		gone.Status, gone.Etag = "cancelled", e.Etag+"-cancelled"
		st.put(&gone)
	}
	a.logChanges(st, map[string]bool{key: true}, false)
	a.settle(ctx, st)
	return nil
}

// settle pulls what a write changed on Google's side (tombstones of
// deletes return no body; Google may touch sibling events), so the
// Version a write returns is the one the next read sees. A failure here
// does not undo the stored write: the next read syncs again.
func (a *Adapter) settle(ctx context.Context, st *calState) {
	if err := a.sync(ctx, st); err != nil {
		a.log.Debug("sync after write failed", "calendar", st.id, "err", err)
	}
}

func errorsIsNotFound(err error) bool { return fmtIs(err, adapters.ErrNotFound) }

// CreateCollection implements adapters.CollectionWriter with
// calendars.insert. Google chooses calendar IDs, so the returned
// Collection's ID differs from c.ID.
func (a *Adapter) CreateCollection(ctx context.Context, c adapters.Collection) (adapters.Collection, error) {
	if err := ctx.Err(); err != nil {
		return adapters.Collection{}, err
	}
	if c.Kind == adapters.KindAddressBook {
		return adapters.Collection{}, fmt.Errorf("google: only one address book: %w", adapters.ErrUnsupported)
	}
	for _, comp := range c.Components {
		if comp != "VEVENT" {
			return adapters.Collection{}, fmt.Errorf("google: component %s: %w", comp, adapters.ErrUnsupported)
		}
	}
	var created *calendar.Calendar
	err := a.call(ctx, a.calLimit, write, "calendars.insert", func(ctx context.Context) error {
		var err error
		created, err = a.cal.Calendars.Insert(&calendar.Calendar{
			Summary: cmpOr(c.Name, c.ID), Description: c.Description, TimeZone: c.TimeZone,
		}).Context(ctx).Do()
		return err
	})
	if err != nil {
		return adapters.Collection{}, err
	}
	meta := adapters.Collection{ID: created.Id, Kind: adapters.KindCalendar, Name: created.Summary,
		Description: created.Description, TimeZone: created.TimeZone, Components: []string{"VEVENT"}}
	if c.Color != "" {
		if meta, err = a.patchColor(ctx, meta, c.Color); err != nil {
			return adapters.Collection{}, err
		}
	}
	a.mu.Lock()
	a.cals[meta.ID] = &calState{id: meta.ID, meta: meta, info: CalendarInfo{TimeZone: meta.TimeZone}}
	a.mu.Unlock()
	return meta, nil
}

func (a *Adapter) patchColor(ctx context.Context, meta adapters.Collection, color string) (adapters.Collection, error) {
	if len(color) == 9 { // #RRGGBBAA: Google has no alpha
		color = color[:7]
	}
	var entry *calendar.CalendarListEntry
	err := a.call(ctx, a.calLimit, write, "calendarList.patch", func(ctx context.Context) error {
		var err error
		entry, err = a.cal.CalendarList.Patch(meta.ID, &calendar.CalendarListEntry{
			BackgroundColor: color, ForegroundColor: "#000000",
		}).ColorRgbFormat(true).Context(ctx).Do()
		return err
	})
	if err != nil {
		return meta, err
	}
	meta.Color = cmpOr(entry.BackgroundColor, color)
	return meta, nil
}

// UpdateCollection implements adapters.CollectionWriter: summary and
// description through calendars.patch, colour through calendarList.patch.
func (a *Adapter) UpdateCollection(ctx context.Context, coll string, p adapters.CollectionPatch) (adapters.Collection, error) {
	if err := ctx.Err(); err != nil {
		return adapters.Collection{}, err
	}
	st, err := a.state(ctx, coll)
	if err != nil {
		return adapters.Collection{}, err
	}
	st.mu.Lock()
	meta := st.meta
	st.mu.Unlock()
	if meta.ReadOnly {
		return adapters.Collection{}, fmt.Errorf("google: calendar %q: %w", coll, adapters.ErrReadOnly)
	}
	if p.Name != nil || p.Description != nil {
		patch := &calendar.Calendar{}
		if p.Name != nil {
			patch.Summary = *p.Name
		}
		if p.Description != nil {
			patch.Description = *p.Description
			patch.ForceSendFields = []string{"Description"}
		}
		var got *calendar.Calendar
		err := a.call(ctx, a.calLimit, write, "calendars.patch", func(ctx context.Context) error {
			var err error
			got, err = a.cal.Calendars.Patch(coll, patch).Context(ctx).Do()
			return err
		})
		if err != nil {
			return adapters.Collection{}, err
		}
		meta.Name, meta.Description = got.Summary, got.Description
	}
	if p.Color != nil && *p.Color != "" {
		if meta, err = a.patchColor(ctx, meta, *p.Color); err != nil {
			return adapters.Collection{}, err
		}
	}
	st.mu.Lock()
	st.meta = meta
	st.mu.Unlock()
	return meta, nil
}

// DeleteCollection implements adapters.CollectionWriter. The primary
// calendar cannot be deleted (ErrUnsupported).
func (a *Adapter) DeleteCollection(ctx context.Context, coll string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if coll == ContactsCollection && *a.opts.Contacts {
		return fmt.Errorf("google: the address book cannot be deleted: %w", adapters.ErrUnsupported)
	}
	st, err := a.state(ctx, coll)
	if err != nil {
		return err
	}
	if coll == "primary" || st.meta.ReadOnly {
		return fmt.Errorf("google: calendar %q cannot be deleted: %w", coll, adapters.ErrReadOnly)
	}
	err = a.call(ctx, a.calLimit, write, "calendars.delete", func(ctx context.Context) error {
		return a.cal.Calendars.Delete(coll).Context(ctx).Do()
	})
	if err != nil {
		return err
	}
	a.mu.Lock()
	delete(a.cals, coll)
	a.mu.Unlock()
	return nil
}
