package google

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	calendar "google.golang.org/api/calendar/v3"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/google/api"
)

// calState mirrors one Google calendar. mu serialises syncs and writes
// of the collection; the fields below it are guarded by it.
type calState struct {
	id string

	mu     sync.Mutex
	meta   adapters.Collection
	info   CalendarInfo
	loaded bool
	gtok   string                // Google's nextSyncToken for the mirror
	events map[string]*api.Event // by event id, tombstones included
	byKey  map[string]map[string]bool
	ids    map[string]string // series key → object ID, kept after deletion
	objs   map[string]adapters.Object
	seq    uint64 // our token counter: bumps when something changed
	log    []changeEntry
}

type changeEntry struct {
	seq  uint64
	keys []string // series keys
}

const maxChangeLog = 5000

// state returns the mirror of calendar id, which must be in the calendar
// list (allow-list applied). It returns ErrNotFound otherwise.
func (a *Adapter) state(ctx context.Context, id string) (*calState, error) {
	if id == ContactsCollection && *a.opts.Contacts {
		return nil, fmt.Errorf("google: %q is the address book: %w", id, adapters.ErrNotFound)
	}
	a.mu.Lock()
	st, ok := a.cals[id]
	listed := a.listed
	a.mu.Unlock()
	if ok {
		return st, nil
	}
	if !a.calendarAllowed(id) || listed {
		return nil, fmt.Errorf("google: calendar %q: %w", id, adapters.ErrNotFound)
	}
	if _, err := a.Collections(ctx); err != nil {
		return nil, err
	}
	a.mu.Lock()
	st, ok = a.cals[id]
	a.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("google: calendar %q: %w", id, adapters.ErrNotFound)
	}
	return st, nil
}

// Collections implements adapters.Reader: the calendar list (filtered by
// the allow-list) plus the address book.
func (a *Adapter) Collections(ctx context.Context) ([]adapters.Collection, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var entries []*calendar.CalendarListEntry
	pageToken := ""
	for {
		var page *calendar.CalendarList
		err := a.call(ctx, a.calLimit, read, "calendarList.list", func(ctx context.Context) error {
			var err error
			page, err = a.cal.CalendarList.List().PageToken(pageToken).MaxResults(250).Context(ctx).Do()
			return err
		})
		if err != nil {
			return nil, err
		}
		entries = append(entries, page.Items...)
		if pageToken = page.NextPageToken; pageToken == "" {
			break
		}
	}
	var out []adapters.Collection
	a.mu.Lock()
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Deleted || !a.calendarAllowed(e.Id) {
			continue
		}
		meta := collectionOf(e)
		seen[e.Id] = true
		st := a.cals[e.Id]
		if st == nil {
			st = &calState{id: e.Id}
			a.cals[e.Id] = st
		}
		a.mu.Unlock()
		st.mu.Lock()
		st.meta = meta
		if st.info.TimeZone == "" {
			st.info.TimeZone = e.TimeZone
		}
		if !st.loaded {
			st.info.DefaultReminders = e.DefaultReminders
		}
		st.mu.Unlock()
		a.mu.Lock()
		out = append(out, meta)
	}
	for id := range a.cals {
		if !seen[id] {
			delete(a.cals, id)
		}
	}
	a.listed = true
	a.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if *a.opts.Contacts {
		out = append(out, adapters.Collection{ID: ContactsCollection, Kind: adapters.KindAddressBook, Name: "Contacts"})
	}
	return out, nil
}

func collectionOf(e *calendar.CalendarListEntry) adapters.Collection {
	return adapters.Collection{
		ID:          e.Id,
		Kind:        adapters.KindCalendar,
		Name:        cmpOr(e.SummaryOverride, e.Summary),
		Description: e.Description,
		Color:       strings.ToUpper(e.BackgroundColor),
		TimeZone:    e.TimeZone,
		Components:  []string{"VEVENT"},
		ReadOnly:    e.AccessRole == "reader" || e.AccessRole == "freeBusyReader",
	}
}

// sync brings the mirror up to date: a full listing the first time, else
// one incremental listing (all pages). A sync token Google no longer
// accepts (410) triggers a full listing diffed against the mirror, so the
// caller's own token stays valid. Callers hold st.mu.
func (a *Adapter) sync(ctx context.Context, st *calState) error {
	if st.loaded {
		err := a.listEvents(ctx, st, st.gtok)
		if err == nil || !errors.Is(err, adapters.ErrInvalidToken) {
			return err
		}
		a.log.Info("Google sync token expired, relisting calendar", "calendar", st.id)
	}
	return a.listEvents(ctx, st, "")
}

// listEvents lists (all pages of) events.list with or without a sync
// token and applies the result to the mirror.
func (a *Adapter) listEvents(ctx context.Context, st *calState, syncToken string) error {
	full := syncToken == ""
	var got []*api.Event
	pageToken, next := "", ""
	var tz string
	var defaults []*calendar.EventReminder
	for {
		var page *calendar.Events
		err := a.call(ctx, a.calLimit, syncCall, "events.list", func(ctx context.Context) error {
			c := a.cal.Events.List(st.id).ShowDeleted(true).SingleEvents(false).MaxResults(2500).Context(ctx)
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
		got = append(got, page.Items...)
		tz, defaults = page.TimeZone, page.DefaultReminders
		if pageToken = page.NextPageToken; pageToken == "" {
			next = page.NextSyncToken
			break
		}
	}
	if tz != "" {
		st.info.TimeZone = tz
	}
	st.info.DefaultReminders = defaults
	if full {
		a.replaceMirror(st, got)
	} else {
		a.applyEvents(st, got)
	}
	st.gtok = next
	st.loaded = true
	return nil
}

// replaceMirror installs a full listing, logging what differs from the
// previous mirror so tokens handed out before stay answerable.
func (a *Adapter) replaceMirror(st *calState, events []*api.Event) {
	old := st.events
	st.events = map[string]*api.Event{}
	st.byKey = map[string]map[string]bool{}
	changed := map[string]bool{}
	for _, e := range events {
		st.put(e)
		if o, ok := old[e.Id]; !ok || o.Etag != e.Etag {
			changed[seriesKey(e)] = true
		}
	}
	for id, e := range old {
		if _, ok := st.events[id]; !ok {
			changed[seriesKey(e)] = true
		}
	}
	a.logChanges(st, changed, old == nil)
}

// applyEvents merges a delta into the mirror.
func (a *Adapter) applyEvents(st *calState, events []*api.Event) {
	changed := map[string]bool{}
	for _, e := range events {
		if o, ok := st.events[e.Id]; ok && o.Etag == e.Etag && o.Status == e.Status {
			continue
		}
		st.put(e)
		changed[seriesKey(e)] = true
	}
	a.logChanges(st, changed, false)
}

func (st *calState) put(e *api.Event) {
	st.events[e.Id] = e
	k := seriesKey(e)
	if st.byKey[k] == nil {
		st.byKey[k] = map[string]bool{}
	}
	st.byKey[k][e.Id] = true
}

func (a *Adapter) logChanges(st *calState, changed map[string]bool, first bool) {
	if st.objs == nil {
		st.objs = map[string]adapters.Object{}
		st.ids = map[string]string{}
	}
	if len(changed) == 0 && !first {
		return
	}
	keys := make([]string, 0, len(changed))
	for k := range changed {
		keys = append(keys, k)
		delete(st.objs, k)
		if s := st.series(k); s.Master != nil || len(s.Overrides) > 0 || len(s.Cancelled) > 0 {
			st.ids[k] = s.ID
		}
	}
	sort.Strings(keys)
	st.seq++
	st.log = append(st.log, changeEntry{seq: st.seq, keys: keys})
	if over := len(st.log) - maxChangeLog; over > 0 {
		st.log = st.log[over:]
	}
}

// series assembles the series with key k from the mirror.
func (st *calState) series(k string) Series {
	var evs []*api.Event
	for id := range st.byKey[k] {
		if e, ok := st.events[id]; ok {
			evs = append(evs, e)
		}
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].Id < evs[j].Id })
	g := GroupSeries(evs)
	if s, ok := g[k]; ok {
		return *s
	}
	return Series{ID: k}
}

// object returns the translated object of series k, or false if the
// series is not visible.
func (a *Adapter) object(st *calState, k string) (adapters.Object, bool, error) {
	if o, ok := st.objs[k]; ok {
		return o, true, nil
	}
	s := st.series(k)
	if !s.visible() {
		return adapters.Object{}, false, nil
	}
	cal, err := SeriesToCalendar(s, st.info)
	if err != nil {
		return adapters.Object{}, false, fmt.Errorf("google: calendar %q series %q: %w", st.id, k, err)
	}
	o := adapters.Object{ID: s.ID, Data: cal, Version: s.Version(), Updated: s.Updated()}
	st.objs[k] = o
	return o, true, nil
}

func (st *calState) keyOf(id string) (string, bool) {
	// The deterministic id is the usual key; the scan covers series
	// whose key is a Google id and IDs stored in extended properties.
	if k := EventID(id); st.byKey[k] != nil && st.ids[k] == id {
		return k, true
	}
	if st.byKey[id] != nil && st.ids[id] == id {
		return id, true
	}
	for k, oid := range st.ids {
		if oid == id && st.byKey[k] != nil {
			return k, true
		}
	}
	return "", false
}

// Objects implements adapters.Reader. It returns every object whatever q
// says (a superset is allowed), after one incremental sync.
func (a *Adapter) Objects(ctx context.Context, coll string, _ adapters.Query) ([]adapters.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if coll == ContactsCollection && *a.opts.Contacts {
		return a.contactObjects(ctx)
	}
	st, err := a.state(ctx, coll)
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := a.sync(ctx, st); err != nil {
		return nil, err
	}
	return a.allObjects(st)
}

func (a *Adapter) allObjects(st *calState) ([]adapters.Object, error) {
	out := make([]adapters.Object, 0, len(st.byKey))
	for k := range st.byKey {
		o, ok, err := a.object(st, k)
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

// Object implements adapters.Reader, from the mirror after one
// incremental sync.
func (a *Adapter) Object(ctx context.Context, coll, id string) (adapters.Object, error) {
	if err := ctx.Err(); err != nil {
		return adapters.Object{}, err
	}
	if coll == ContactsCollection && *a.opts.Contacts {
		return a.contactObject(ctx, id)
	}
	st, err := a.state(ctx, coll)
	if err != nil {
		return adapters.Object{}, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := a.sync(ctx, st); err != nil {
		return adapters.Object{}, err
	}
	return a.lookup(st, id)
}

func (a *Adapter) lookup(st *calState, id string) (adapters.Object, error) {
	if k, ok := st.keyOf(id); ok {
		o, ok, err := a.object(st, k)
		if err != nil {
			return adapters.Object{}, err
		}
		if ok {
			return o, nil
		}
	}
	return adapters.Object{}, fmt.Errorf("google: object %q in %q: %w", id, st.id, adapters.ErrNotFound)
}

// token names the mirror state; tokens of another process (epoch) are
// unknown.
func (a *Adapter) token(seq uint64) string { return a.epoch + "-" + strconv.FormatUint(seq, 10) }

func (a *Adapter) parseToken(tok string) (uint64, bool) {
	ep, s, ok := strings.Cut(tok, "-")
	if !ok || ep != a.epoch {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// Changes implements adapters.ChangeLister. The empty token costs one
// full listing (⌈N/2500⌉ calls); any other costs one incremental call.
// It returns ErrInvalidToken for tokens of another process or older than
// the change log.
func (a *Adapter) Changes(ctx context.Context, coll, token string) (adapters.Changes, error) {
	if err := ctx.Err(); err != nil {
		return adapters.Changes{}, err
	}
	if coll == ContactsCollection && *a.opts.Contacts {
		return a.contactChanges(ctx, token)
	}
	st, err := a.state(ctx, coll)
	if err != nil {
		return adapters.Changes{}, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if token == "" {
		if err := a.listEvents(ctx, st, ""); err != nil {
			return adapters.Changes{}, err
		}
		objs, err := a.allObjects(st)
		return adapters.Changes{Token: a.token(st.seq), Updated: objs}, err
	}
	since, ok := a.parseToken(token)
	if !ok || !st.loaded || since > st.seq || (len(st.log) > 0 && since < st.log[0].seq-1) {
		return adapters.Changes{}, fmt.Errorf("google: calendar %q token %q: %w", coll, token, adapters.ErrInvalidToken)
	}
	if err := a.sync(ctx, st); err != nil {
		return adapters.Changes{}, err
	}
	keys := map[string]bool{}
	for _, e := range st.log {
		if e.seq > since {
			for _, k := range e.keys {
				keys[k] = true
			}
		}
	}
	out := adapters.Changes{Token: a.token(st.seq)}
	for k := range keys {
		o, visible, err := a.object(st, k)
		if err != nil {
			return adapters.Changes{}, err
		}
		if visible {
			out.Updated = append(out.Updated, o)
		} else if id := st.ids[k]; id != "" {
			out.Deleted = append(out.Deleted, id)
		}
	}
	sort.Slice(out.Updated, func(i, j int) bool { return out.Updated[i].ID < out.Updated[j].ID })
	sort.Strings(out.Deleted)
	return out, nil
}

// Token implements adapters.ChangeLister: one incremental call once the
// mirror is loaded (a full listing only the first time).
func (a *Adapter) Token(ctx context.Context, coll string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if coll == ContactsCollection && *a.opts.Contacts {
		return a.contactToken(ctx)
	}
	st, err := a.state(ctx, coll)
	if err != nil {
		return "", err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := a.sync(ctx, st); err != nil {
		return "", err
	}
	return a.token(st.seq), nil
}
