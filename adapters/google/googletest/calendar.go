package googletest

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/api/calendar/v3"
)

type role int

const (
	roleNone role = iota
	roleFreeBusy
	roleReader
	roleWriter
	roleOwner
)

var roles = map[string]role{"freeBusyReader": roleFreeBusy, "reader": roleReader, "writer": roleWriter, "owner": roleOwner}

// cal is a calendar, shared by the users whose calendar list holds it.
type cal struct {
	meta    calendar.Calendar
	seq     int64
	events  map[string]*event
	deleted bool
}

func (c *cal) loc() *time.Location {
	if l, err := time.LoadLocation(c.meta.TimeZone); err == nil {
		return l
	}
	return time.UTC
}

// event is one stored event: a single event, a recurring master or an
// exception. raw is what is served (it keeps the zero values clients sent,
// which the generated structs would drop); ev is raw parsed, for logic.
type event struct {
	raw   map[string]any
	ev    *calendar.Event
	seq   int64
	order int64
}

// listEntry holds a user's view of a calendar (calendarList fields).
type listEntry struct {
	e       calendar.CalendarListEntry
	seq     int64
	order   int64
	deleted bool
}

type user struct {
	email    string
	list     map[string]*listEntry
	contacts map[string]*contact
	groups   map[string]*group
	peopleID string
}

// userLocked returns the user, creating it with its primary calendar.
func (s *Server) userLocked(email string) *user {
	if u := s.users[email]; u != nil {
		return u
	}
	u := &user{email: email, list: map[string]*listEntry{}, contacts: map[string]*contact{}}
	s.ids++
	u.peopleID = "people/1" + strconv.FormatInt(1e17+s.ids, 10)
	u.groups = systemGroups()
	s.users[email] = u
	if s.cals[email] == nil {
		s.cals[email] = &cal{meta: calendar.Calendar{Id: email, Summary: email, TimeZone: "UTC"}, events: map[string]*event{}, seq: s.nextSeq()}
	}
	s.addEntryLocked(u, email, calendar.CalendarListEntry{
		AccessRole: "owner", Primary: true, Selected: true, BackgroundColor: "#9fe1e7", ForegroundColor: "#000000",
		ColorId: "14", DefaultReminders: []*calendar.EventReminder{{Method: "popup", Minutes: 10}},
	})
	return u
}

func (s *Server) addEntryLocked(u *user, id string, e calendar.CalendarListEntry) {
	if e.AccessRole == "" {
		e.AccessRole = "owner"
	}
	if roles[e.AccessRole] == roleNone {
		bug("unknown accessRole %q", e.AccessRole)
	}
	s.ids++
	u.list[id] = &listEntry{e: e, seq: s.nextSeq(), order: s.ids}
}

// resolve maps "primary" to the user's primary calendar.
func resolve(u *user, id string) string {
	if id == "primary" {
		return u.email
	}
	return id
}

var errNotFound = &apiError{Code: 404, Reason: "notFound", Message: "Not Found"}

func errWriter() error {
	return &apiError{Code: 403, Reason: "requiredAccessLevel", Domain: "calendar",
		Message: "You need to have writer access to this calendar."}
}

func errForbidden() error { return &apiError{Code: 403, Reason: "forbidden", Message: "Forbidden"} }

// calFor finds a calendar the user can see with at least need, answering
// 404 if it cannot see it at all (as Google does) and 403 if the role is
// too low.
func (s *Server) calFor(u *user, id string, need role, forbid func() error) (*cal, *listEntry, error) {
	id = resolve(u, id)
	c, le := s.cals[id], u.list[id]
	if c == nil || c.deleted || le == nil || le.deleted {
		return nil, nil, errNotFound
	}
	if roles[le.e.AccessRole] < need {
		return nil, nil, forbid()
	}
	return c, le, nil
}

// renderEntry merges calendar and per-user fields.
func (s *Server) renderEntry(c *cal, le *listEntry) *calendar.CalendarListEntry {
	e := le.e
	e.Kind = "calendar#calendarListEntry"
	e.Id = c.meta.Id
	e.Summary, e.Description, e.Location, e.TimeZone = c.meta.Summary, c.meta.Description, c.meta.Location, c.meta.TimeZone
	e.Etag = etagOf(max(c.seq, le.seq))
	e.ConferenceProperties = &calendar.ConferenceProperties{AllowedConferenceSolutionTypes: []string{"hangoutsMeet"}}
	if le.deleted || c.deleted {
		e.Deleted = true
	}
	if e.DefaultReminders == nil {
		e.DefaultReminders = []*calendar.EventReminder{}
		e.ForceSendFields = []string{"DefaultReminders"}
	}
	return &e
}

func renderCal(c *cal) *calendar.Calendar {
	m := c.meta
	m.Kind = "calendar#calendar"
	m.Etag = etagOf(c.seq)
	m.ConferenceProperties = &calendar.ConferenceProperties{AllowedConferenceSolutionTypes: []string{"hangoutsMeet"}}
	return &m
}

func (s *Server) routeCalendar(mux *http.ServeMux) {
	const p = "/calendar/v3"
	h := func(pattern, op string, fn apiHandler) { mux.Handle(pattern, s.api(op, fn)) }
	h("GET "+p+"/users/me/calendarList", "calendar.calendarList.list", s.calendarListList)
	h("GET "+p+"/users/me/calendarList/{calendarId}", "calendar.calendarList.get", s.calendarListGet)
	h("PATCH "+p+"/users/me/calendarList/{calendarId}", "calendar.calendarList.patch", s.calendarListPatch)
	h("POST "+p+"/calendars", "calendar.calendars.insert", s.calendarsInsert)
	h("GET "+p+"/calendars/{calendarId}", "calendar.calendars.get", s.calendarsGet)
	h("PATCH "+p+"/calendars/{calendarId}", "calendar.calendars.patch", s.calendarsPatch(false))
	h("PUT "+p+"/calendars/{calendarId}", "calendar.calendars.update", s.calendarsPatch(true))
	h("DELETE "+p+"/calendars/{calendarId}", "calendar.calendars.delete", s.calendarsDelete)
	h("GET "+p+"/calendars/{calendarId}/events", "calendar.events.list", s.eventsList)
	h("POST "+p+"/calendars/{calendarId}/events", "calendar.events.insert", s.eventsInsert)
	h("POST "+p+"/calendars/{calendarId}/events/import", "calendar.events.import", s.eventsImport)
	h("GET "+p+"/calendars/{calendarId}/events/{eventId}", "calendar.events.get", s.eventsGet)
	h("PUT "+p+"/calendars/{calendarId}/events/{eventId}", "calendar.events.update", s.eventsWrite(false))
	h("PATCH "+p+"/calendars/{calendarId}/events/{eventId}", "calendar.events.patch", s.eventsWrite(true))
	h("DELETE "+p+"/calendars/{calendarId}/events/{eventId}", "calendar.events.delete", s.eventsDelete)
	h("GET "+p+"/calendars/{calendarId}/events/{eventId}/instances", "calendar.events.instances", s.eventsInstances)
}

// ---- sync tokens

type syncState int

const (
	syncOK syncState = iota
	syncInvalid
	syncExpired
)

// syncToken encodes a position in the change history of scope. It is
// opaque to clients, like Google's.
func (s *Server) syncToken(kind, scope string) string {
	b := binary.AppendVarint(nil, s.seq)
	b = binary.AppendVarint(b, s.tokenGen)
	b = binary.AppendVarint(b, s.now().Unix())
	b = append(b, kind+"\x00"+scope...)
	return base64.StdEncoding.EncodeToString(b)
}

func (s *Server) parseSyncToken(tok, kind, scope string, ttl time.Duration) (int64, syncState) {
	b, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		return 0, syncInvalid
	}
	var v [3]int64
	for i := range v {
		n, k := binary.Varint(b)
		if k <= 0 {
			return 0, syncInvalid
		}
		v[i], b = n, b[k:]
	}
	if string(b) != kind+"\x00"+scope {
		return 0, syncInvalid
	}
	if v[1] != s.tokenGen || (ttl > 0 && s.now().Sub(time.Unix(v[2], 0)) > ttl) {
		return 0, syncExpired
	}
	return v[0], syncOK
}

// InvalidateSyncTokens makes every sync token issued so far (Calendar and
// People) answer "full sync required".
func (s *Server) InvalidateSyncTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenGen++
}

func errFullSync() error {
	return &apiError{Code: 410, Reason: "fullSyncRequired", Domain: "calendar",
		Message: "Sync token is no longer valid, a full sync is required.", Location: "syncToken", LocationType: "parameter"}
}

func errInvalidParam(name, msg string) error {
	return &apiError{Code: 400, Reason: "invalid", Message: msg, Location: name, LocationType: "parameter"}
}

// ---- calendar list and calendars

func (s *Server) calendarListList(r *http.Request, u *user) (any, error) {
	q := r.URL.Query()
	size, err := queryInt(r, "maxResults", 100, 250)
	if err != nil {
		return nil, err
	}
	minRole := roleFreeBusy
	if v := q.Get("minAccessRole"); v != "" {
		if minRole = roles[v]; minRole == roleNone {
			return nil, errInvalidParam("minAccessRole", "Invalid value for: "+v)
		}
	}
	showHidden, showDeleted := q.Get("showHidden") == "true", q.Get("showDeleted") == "true"
	since, incremental := int64(0), q.Get("syncToken") != ""
	if incremental {
		if q.Get("minAccessRole") != "" {
			return nil, errInvalidParam("minAccessRole", "Sync token cannot be used with minAccessRole.")
		}
		var st syncState
		if since, st = s.parseSyncToken(q.Get("syncToken"), "cl", u.email, s.cfg.calSyncTTL); st != syncOK {
			return nil, errFullSync()
		}
	}
	items, next, tok, err := s.paginate("cl:"+u.email, q.Get("pageToken"), size, func() ([]any, string, error) {
		var out []any
		for _, id := range s.entryOrder(u) {
			le, c := u.list[id], s.cals[id]
			gone := le.deleted || c.deleted
			switch {
			case incremental:
				if max(le.seq, c.seq) <= since {
					continue
				}
			case gone && !showDeleted, le.e.Hidden && !showHidden, roles[le.e.AccessRole] < minRole:
				continue
			}
			out = append(out, s.renderEntry(c, le))
		}
		return out, s.syncToken("cl", u.email), nil
	})
	if err != nil {
		return nil, err
	}
	res := &calendar.CalendarList{Kind: "calendar#calendarList", Etag: etagOf(s.seq), NextPageToken: next, NextSyncToken: tok,
		ForceSendFields: []string{"Items"}, Items: []*calendar.CalendarListEntry{}}
	for _, it := range items {
		res.Items = append(res.Items, it.(*calendar.CalendarListEntry))
	}
	return res, nil
}

func (s *Server) entryOrder(u *user) []string {
	ids := make([]string, 0, len(u.list))
	for id := range u.list {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return int(u.list[a].order - u.list[b].order) })
	return ids
}

func (s *Server) calendarListGet(r *http.Request, u *user) (any, error) {
	c, le, err := s.calFor(u, r.PathValue("calendarId"), roleFreeBusy, errForbidden)
	if err != nil {
		return nil, err
	}
	return s.renderEntry(c, le), nil
}

// calendarListPatch changes the user's own settings of a calendar (colour,
// visibility, reminders); any role may.
func (s *Server) calendarListPatch(r *http.Request, u *user) (any, error) {
	c, le, err := s.calFor(u, r.PathValue("calendarId"), roleFreeBusy, errForbidden)
	if err != nil {
		return nil, err
	}
	var p calendar.CalendarListEntry
	var raw map[string]json.RawMessage
	if err := readJSON(r, &raw); err != nil {
		return nil, err
	}
	b, _ := json.Marshal(raw)
	_ = json.Unmarshal(b, &p)
	has := func(k string) bool { _, ok := raw[k]; return ok }
	if (has("backgroundColor") || has("foregroundColor")) && r.URL.Query().Get("colorRgbFormat") != "true" {
		// Google ignores RGB colours unless asked to use them.
		delete(raw, "backgroundColor")
		delete(raw, "foregroundColor")
	}
	if has("backgroundColor") {
		le.e.BackgroundColor, le.e.ColorId = p.BackgroundColor, ""
	}
	if has("foregroundColor") {
		le.e.ForegroundColor = p.ForegroundColor
	}
	if has("colorId") {
		le.e.ColorId = p.ColorId
	}
	if has("hidden") {
		le.e.Hidden = p.Hidden
	}
	if has("selected") {
		le.e.Selected = p.Selected
	}
	if has("summaryOverride") {
		le.e.SummaryOverride = p.SummaryOverride
	}
	if has("defaultReminders") {
		le.e.DefaultReminders = p.DefaultReminders
	}
	le.seq = s.nextSeq()
	return s.renderEntry(c, le), nil
}

func (s *Server) calendarsGet(r *http.Request, u *user) (any, error) {
	c, _, err := s.calFor(u, r.PathValue("calendarId"), roleFreeBusy, errForbidden)
	if err != nil {
		return nil, err
	}
	return renderCal(c), nil
}

func (s *Server) calendarsInsert(r *http.Request, u *user) (any, error) {
	var in calendar.Calendar
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	if in.Summary == "" {
		return nil, &apiError{Code: 400, Reason: "required", Message: "Missing title."}
	}
	if in.TimeZone == "" {
		in.TimeZone = s.cals[u.email].meta.TimeZone
	} else if _, err := time.LoadLocation(in.TimeZone); err != nil {
		return nil, &apiError{Code: 400, Reason: "invalid", Message: "Invalid time zone definition."}
	}
	id := "c_" + s.newID() + "@group.calendar.google.com"
	c := &cal{meta: calendar.Calendar{Id: id, Summary: in.Summary, Description: in.Description, Location: in.Location, TimeZone: in.TimeZone},
		events: map[string]*event{}, seq: s.nextSeq()}
	s.cals[id] = c
	s.addEntryLocked(u, id, calendar.CalendarListEntry{AccessRole: "owner", Selected: true, BackgroundColor: "#a47ae2", ForegroundColor: "#000000", ColorId: "24"})
	return renderCal(c), nil
}

func (s *Server) calendarsPatch(replace bool) apiHandler {
	return func(r *http.Request, u *user) (any, error) {
		c, _, err := s.calFor(u, r.PathValue("calendarId"), roleOwner, errForbidden)
		if err != nil {
			return nil, err
		}
		var raw map[string]json.RawMessage
		if err := readJSON(r, &raw); err != nil {
			return nil, err
		}
		var in calendar.Calendar
		b, _ := json.Marshal(raw)
		_ = json.Unmarshal(b, &in)
		has := func(k string) bool { _, ok := raw[k]; return replace || ok }
		if replace && in.Summary == "" {
			return nil, &apiError{Code: 400, Reason: "required", Message: "Missing title."}
		}
		if has("timeZone") && in.TimeZone != "" {
			if _, err := time.LoadLocation(in.TimeZone); err != nil {
				return nil, &apiError{Code: 400, Reason: "invalid", Message: "Invalid time zone definition."}
			}
			c.meta.TimeZone = in.TimeZone
		}
		if has("summary") && in.Summary != "" {
			c.meta.Summary = in.Summary
		}
		if has("description") {
			c.meta.Description = in.Description
		}
		if has("location") {
			c.meta.Location = in.Location
		}
		c.seq = s.nextSeq()
		return renderCal(c), nil
	}
}

func (s *Server) calendarsDelete(r *http.Request, u *user) (any, error) {
	c, _, err := s.calFor(u, r.PathValue("calendarId"), roleOwner, errForbidden)
	if err != nil {
		return nil, err
	}
	if c.meta.Id == u.email {
		return nil, &apiError{Code: 400, Reason: "cannotDeletePrimaryCalendar", Domain: "calendar", Message: "Cannot delete primary calendar."}
	}
	s.removeCalendarLocked(c)
	return noContent{}, nil
}

func (s *Server) removeCalendarLocked(c *cal) {
	c.deleted = true
	c.seq = s.nextSeq()
	for _, u := range s.users {
		if le := u.list[c.meta.Id]; le != nil {
			le.deleted, le.seq = true, s.nextSeq()
		}
	}
}

// ---- events: storage

var (
	b32     = base32.HexEncoding.WithPadding(base32.NoPadding)
	idRE    = regexp.MustCompile(`^[a-v0-9]+$`)
	tombKey = []string{"kind", "etag", "id", "status", "recurringEventId", "originalStartTime"}
)

// validID: Google event IDs are base32hex, 5 to 1024 characters.
func validID(id string) bool { return len(id) >= 5 && len(id) <= 1024 && idRE.MatchString(id) }

// newID returns a fresh base32hex ID like Google's event IDs.
func (s *Server) newID() string {
	s.ids++
	var b [10]byte
	binary.BigEndian.PutUint64(b[2:], uint64(s.ids)*0x9e3779b97f4a7c15)
	b[0], b[1] = byte(s.ids>>8), byte(s.ids)
	return strings.ToLower(b32.EncodeToString(b[:]))
}

func toMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		bug("marshal: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		bug("unmarshal: %v", err)
	}
	return m
}

func parseEvent(m map[string]any) *calendar.Event {
	b, _ := json.Marshal(m)
	var ev calendar.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		// Only reachable from a malformed request body, checked earlier.
		return &calendar.Event{}
	}
	return &ev
}

// checkEvent validates what Google validates on writes.
func checkEvent(c *cal, ev *calendar.Event) error {
	st, err := parseWhen(ev.Start, c.loc(), "start")
	if err != nil {
		return err
	}
	en, err := parseWhen(ev.End, c.loc(), "end")
	if err != nil {
		return err
	}
	if st.allDay != en.allDay {
		return &apiError{Code: 400, Reason: "invalid", Message: "Start and end times must either both be date or both be dateTime."}
	}
	if en.t.Before(st.t) || (st.allDay && !en.t.After(st.t)) {
		return &apiError{Code: 400, Reason: "timeRangeEmpty", Domain: "calendar", Message: "The specified time range is empty.",
			Location: "end", LocationType: "parameter"}
	}
	if len(ev.Recurrence) > 0 {
		if ev.RecurringEventId != "" {
			return &apiError{Code: 400, Reason: "invalid", Message: "Recurrence is not allowed on an instance of a recurring event."}
		}
		if !st.allDay && ev.Start.TimeZone == "" {
			return &apiError{Code: 400, Reason: "required", Message: "Missing time zone definition for start time."}
		}
		if _, err := newSeries(ev, c.loc()); err != nil {
			return err
		}
	}
	switch ev.Status {
	case "", "confirmed", "tentative", "cancelled":
	default:
		return &apiError{Code: 400, Reason: "invalid", Message: "Invalid value for: " + ev.Status}
	}
	return nil
}

// store writes raw as event id, filling server-owned fields. Locked.
func (s *Server) store(c *cal, raw map[string]any, prev *event) *event {
	now := rfc3339ms(s.now())
	seq := s.nextSeq()
	raw["kind"] = "calendar#event"
	raw["etag"] = etagOf(seq)
	raw["updated"] = now
	if prev != nil {
		raw["created"] = prev.raw["created"]
	} else {
		raw["created"] = now
	}
	if st, _ := raw["status"].(string); st == "" {
		raw["status"] = "confirmed"
	}
	if _, ok := raw["sequence"]; !ok {
		raw["sequence"] = 0
	}
	if _, ok := raw["reminders"]; !ok {
		raw["reminders"] = map[string]any{"useDefault": true}
	}
	if _, ok := raw["eventType"]; !ok {
		raw["eventType"] = "default"
	}
	id := raw["id"].(string)
	raw["htmlLink"] = "https://www.google.com/calendar/event?eid=" + base64.RawURLEncoding.EncodeToString([]byte(id+" "+c.meta.Id))
	self := map[string]any{"email": c.meta.Id, "self": true}
	if _, ok := raw["creator"]; !ok {
		raw["creator"] = self
	}
	if _, ok := raw["organizer"]; !ok {
		raw["organizer"] = self
	}
	e := &event{raw: raw, ev: parseEvent(raw), seq: seq}
	if prev != nil {
		e.order = prev.order
	} else {
		s.ids++
		e.order = s.ids
	}
	c.events[id] = e
	return e
}

// exceptionsOf returns the stored exceptions of master, by original start.
func exceptionsOf(c *cal, master *event, sr *series) map[int64]*event {
	out := map[int64]*event{}
	for _, e := range c.events {
		if e.ev.RecurringEventId != master.ev.Id || e.ev.OriginalStartTime == nil {
			continue
		}
		w, err := parseWhen(e.ev.OriginalStartTime, sr.start.loc, "originalStart")
		if err != nil {
			continue
		}
		out[w.t.Unix()] = e
	}
	return out
}

// virtualInstance renders an unmodified instance of master starting at t.
func virtualInstance(master *event, sr *series, t time.Time) map[string]any {
	m := make(map[string]any, len(master.raw))
	for k, v := range master.raw {
		m[k] = v
	}
	delete(m, "recurrence")
	m["id"] = master.ev.Id + "_" + sr.start.instanceStamp(t)
	m["recurringEventId"] = master.ev.Id
	m["originalStartTime"] = toMap(sr.start.dateTime(t))
	m["start"] = toMap(sr.start.dateTime(t))
	m["end"] = toMap(sr.start.dateTime(sr.end(t)))
	return m
}

// instances expands master with its exceptions, up to until (zero: capped
// at maxInstances). Cancelled instances are kept only with showDeleted.
func (s *Server) instances(c *cal, master *event, until time.Time, showDeleted bool) ([]map[string]any, error) {
	sr, err := newSeries(master.ev, c.loc())
	if err != nil {
		return nil, err
	}
	exc := exceptionsOf(c, master, sr)
	var out []map[string]any
	for _, t := range sr.starts(until) {
		if e := exc[t.Unix()]; e != nil {
			if e.ev.Status == "cancelled" {
				if showDeleted {
					out = append(out, tombstone(e.raw))
				}
				continue
			}
			out = append(out, e.raw)
			continue
		}
		out = append(out, virtualInstance(master, sr, t))
	}
	return out, nil
}

// lookup finds a stored event or an unmodified instance of a master by its
// instance ID. Locked.
func (s *Server) lookup(c *cal, id string) (stored *event, virtual map[string]any, master *event, err error) {
	if e := c.events[id]; e != nil {
		return e, nil, nil, nil
	}
	i := strings.LastIndexByte(id, '_')
	if i < 0 {
		return nil, nil, nil, errNotFound
	}
	m := c.events[id[:i]]
	if m == nil || len(m.ev.Recurrence) == 0 || m.ev.Status == "cancelled" {
		return nil, nil, nil, errNotFound
	}
	sr, err := newSeries(m.ev, c.loc())
	if err != nil {
		return nil, nil, nil, errNotFound
	}
	t, ok := sr.start.parseStamp(id[i+1:])
	if !ok || !sr.has(t) {
		return nil, nil, nil, errNotFound
	}
	return nil, virtualInstance(m, sr, t), m, nil
}

func tombstone(raw map[string]any) map[string]any {
	m := map[string]any{}
	for _, k := range tombKey {
		if v, ok := raw[k]; ok {
			m[k] = v
		}
	}
	m["status"] = "cancelled"
	return m
}

// freeBusyKeys is what a freeBusyReader sees of an event.
var freeBusyKeys = []string{"kind", "etag", "id", "status", "start", "end", "updated", "created",
	"recurringEventId", "originalStartTime", "transparency", "iCalUID", "recurrence", "eventType"}

func (s *Server) view(le *listEntry, raw map[string]any) map[string]any {
	if roles[le.e.AccessRole] > roleFreeBusy {
		return raw
	}
	m := map[string]any{}
	for _, k := range freeBusyKeys {
		if v, ok := raw[k]; ok {
			m[k] = v
		}
	}
	return m
}

// span returns an event's [start, end) for time-range filtering.
func span(c *cal, raw map[string]any) (time.Time, time.Time, bool) {
	ev := parseEvent(raw)
	if ev.Start == nil && ev.OriginalStartTime != nil {
		w, err := parseWhen(ev.OriginalStartTime, c.loc(), "start")
		return w.t, w.t.Add(time.Second), err == nil
	}
	st, err1 := parseWhen(ev.Start, c.loc(), "start")
	en, err2 := parseWhen(ev.End, c.loc(), "end")
	return st.t, en.t, err1 == nil && err2 == nil
}

// ---- events: handlers

func (s *Server) eventsList(r *http.Request, u *user) (any, error) {
	c, le, err := s.calFor(u, r.PathValue("calendarId"), roleFreeBusy, errWriter)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	size, err := queryInt(r, "maxResults", 250, 2500)
	if err != nil {
		return nil, err
	}
	single, showDeleted := q.Get("singleEvents") == "true", q.Get("showDeleted") == "true"
	var tmin, tmax, updMin time.Time
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"timeMin", &tmin}, {"timeMax", &tmax}, {"updatedMin", &updMin}} {
		if v := q.Get(p.name); v != "" {
			if *p.t, err = time.Parse(time.RFC3339, v); err != nil {
				return nil, errInvalidParam(p.name, "Bad Request")
			}
		}
	}
	if !tmin.IsZero() && !tmax.IsZero() && !tmax.After(tmin) {
		return nil, &apiError{Code: 400, Reason: "timeRangeEmpty", Domain: "calendar", Message: "The specified time range is empty.",
			Location: "timeMax", LocationType: "parameter"}
	}
	orderBy := q.Get("orderBy")
	if orderBy == "startTime" && !single {
		return nil, errInvalidParam("orderBy", "The requested ordering is not available for the particular query.")
	}
	since, incremental := int64(0), q.Get("syncToken") != ""
	if incremental {
		for _, p := range []string{"iCalUID", "orderBy", "q", "timeMin", "timeMax", "updatedMin", "privateExtendedProperty", "sharedExtendedProperty"} {
			if q.Has(p) {
				return nil, errInvalidParam(p, "Sync token cannot be used with "+p+".")
			}
		}
		var st syncState
		if since, st = s.parseSyncToken(q.Get("syncToken"), "ev", c.meta.Id, s.cfg.calSyncTTL); st == syncInvalid {
			return nil, errInvalidParam("syncToken", "Invalid sync token value.")
		} else if st == syncExpired {
			return nil, errFullSync()
		}
	}
	iCalUID, text := q.Get("iCalUID"), strings.ToLower(q.Get("q"))
	privProps, sharedProps := q["privateExtendedProperty"], q["sharedExtendedProperty"]

	match := func(e *event) bool {
		ev := e.ev
		if iCalUID != "" && ev.ICalUID != iCalUID {
			return false
		}
		if !updMin.IsZero() {
			if t, err := time.Parse(time.RFC3339, ev.Updated); err == nil && t.Before(updMin) {
				return false
			}
		}
		if text != "" && !strings.Contains(strings.ToLower(ev.Summary+"\n"+ev.Description+"\n"+ev.Location), text) {
			return false
		}
		return hasProps(ev, privProps, false) && hasProps(ev, sharedProps, true)
	}
	overlaps := func(raw map[string]any) bool {
		if tmin.IsZero() && tmax.IsZero() {
			return true
		}
		st, en, ok := span(c, raw)
		if !ok {
			return true
		}
		return (tmin.IsZero() || en.After(tmin)) && (tmax.IsZero() || st.Before(tmax))
	}
	scope := "ev:" + u.email + ":" + c.meta.Id
	items, next, tok, err := s.paginate(scope, q.Get("pageToken"), size, func() ([]any, string, error) {
		evs := make([]*event, 0, len(c.events))
		for _, e := range c.events {
			evs = append(evs, e)
		}
		slices.SortFunc(evs, func(a, b *event) int { return int(a.order - b.order) })
		var out []map[string]any
		for _, e := range evs {
			cancelled := e.ev.Status == "cancelled"
			if incremental {
				if e.seq <= since {
					continue
				}
			} else if !match(e) {
				continue
			}
			isExc := e.ev.RecurringEventId != ""
			switch {
			case cancelled && (incremental || showDeleted || (!single && isExc)):
				if !single || !isExc || showDeleted || incremental {
					out = append(out, tombstone(e.raw))
				}
				continue
			case cancelled:
				continue
			case single && isExc && !incremental:
				continue // served within its master's instances
			case single && len(e.ev.Recurrence) > 0:
				insts, err := s.instances(c, e, tmax, showDeleted)
				if err != nil {
					return nil, "", err
				}
				for _, in := range insts {
					if overlaps(in) {
						out = append(out, in)
					}
				}
				continue
			case len(e.ev.Recurrence) > 0 && !incremental && (!tmin.IsZero() || !tmax.IsZero()):
				insts, err := s.instances(c, e, tmax, false)
				if err != nil {
					return nil, "", err
				}
				if !slices.ContainsFunc(insts, overlaps) {
					continue
				}
			case !incremental && !overlaps(e.raw):
				continue
			}
			out = append(out, e.raw)
		}
		switch orderBy {
		case "startTime":
			slices.SortStableFunc(out, func(a, b map[string]any) int {
				sa, _, _ := span(c, a)
				sb, _, _ := span(c, b)
				return sa.Compare(sb)
			})
		case "updated":
			slices.SortStableFunc(out, func(a, b map[string]any) int {
				ua, _ := a["updated"].(string)
				ub, _ := b["updated"].(string)
				return strings.Compare(ua, ub)
			})
		}
		all := make([]any, len(out))
		for i, m := range out {
			all[i] = s.view(le, m)
		}
		return all, s.syncToken("ev", c.meta.Id), nil
	})
	if err != nil {
		return nil, err
	}
	return s.eventsResponse(c, le, items, next, tok), nil
}

// eventsResponse is the Events list body: items are raw maps so zero
// values survive, hence a map rather than calendar.Events.
func (s *Server) eventsResponse(c *cal, le *listEntry, items []any, next, tok string) map[string]any {
	if items == nil {
		items = []any{}
	}
	upd := time.Time{}
	for _, e := range c.events {
		if t, err := time.Parse(time.RFC3339, e.ev.Updated); err == nil && t.After(upd) {
			upd = t
		}
	}
	if upd.IsZero() {
		upd = s.now()
	}
	dr := le.e.DefaultReminders
	if dr == nil {
		dr = []*calendar.EventReminder{}
	}
	res := map[string]any{
		"kind": "calendar#events", "etag": etagOf(s.seq), "summary": c.meta.Summary, "description": c.meta.Description,
		"updated": rfc3339ms(upd), "timeZone": c.meta.TimeZone, "accessRole": le.e.AccessRole,
		"defaultReminders": dr, "items": items,
	}
	if c.meta.Description == "" {
		delete(res, "description")
	}
	if next != "" {
		res["nextPageToken"] = next
	}
	if tok != "" {
		res["nextSyncToken"] = tok
	}
	return res
}

// hasProps checks "name=value" extended property filters.
func hasProps(ev *calendar.Event, filters []string, shared bool) bool {
	if len(filters) == 0 {
		return true
	}
	var props map[string]string
	if ev.ExtendedProperties != nil {
		props = ev.ExtendedProperties.Private
		if shared {
			props = ev.ExtendedProperties.Shared
		}
	}
	for _, f := range filters {
		k, v, _ := strings.Cut(f, "=")
		if got, ok := props[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func (s *Server) eventsGet(r *http.Request, u *user) (any, error) {
	c, le, err := s.calFor(u, r.PathValue("calendarId"), roleFreeBusy, errWriter)
	if err != nil {
		return nil, err
	}
	e, virt, _, err := s.lookup(c, r.PathValue("eventId"))
	if err != nil {
		return nil, err
	}
	if virt != nil {
		return s.view(le, virt), nil
	}
	// Google still serves deleted events by ID, with status "cancelled".
	return s.view(le, e.raw), nil
}

// readEvent decodes a request body keeping both the map (for zero values
// and presence) and the struct.
func readEvent(r *http.Request) (map[string]any, error) {
	var raw map[string]any
	if err := readJSON(r, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		raw = map[string]any{}
	}
	return raw, nil
}

// serverOwned fields are ignored in request bodies.
var serverOwned = []string{"kind", "etag", "created", "updated", "htmlLink", "creator", "recurringEventId", "originalStartTime", "iCalUID", "id"}

func (s *Server) eventsInsert(r *http.Request, u *user) (any, error) {
	c, _, err := s.calFor(u, r.PathValue("calendarId"), roleWriter, errWriter)
	if err != nil {
		return nil, err
	}
	raw, err := readEvent(r)
	if err != nil {
		return nil, err
	}
	id, _ := raw["id"].(string)
	uid, _ := raw["iCalUID"].(string)
	for _, k := range serverOwned {
		delete(raw, k)
	}
	delete(raw, "organizer") // only import may set it
	if id == "" {
		id = s.newID()
	} else if !validID(id) {
		return nil, &apiError{Code: 400, Reason: "invalid", Message: "Invalid resource id value."}
	}
	if c.events[id] != nil {
		return nil, &apiError{Code: 409, Reason: "duplicate", Message: "The requested identifier already exists."}
	}
	if uid == "" {
		uid = id + "@google.com"
	} else if findByUID(c, uid, "") != nil {
		return nil, &apiError{Code: 409, Reason: "duplicate", Message: "The requested identifier already exists."}
	}
	raw["id"], raw["iCalUID"] = id, uid
	if err := checkEvent(c, parseEvent(raw)); err != nil {
		return nil, err
	}
	return s.store(c, raw, nil).raw, nil
}

// findByUID finds the live event with iCalUID uid and original start orig
// (empty: the master or single event).
func findByUID(c *cal, uid, orig string) *event {
	for _, e := range c.events {
		if e.ev.ICalUID != uid {
			continue
		}
		o := ""
		if e.ev.OriginalStartTime != nil {
			o = e.ev.OriginalStartTime.DateTime + e.ev.OriginalStartTime.Date
		}
		if o == orig {
			return e
		}
	}
	return nil
}

// eventsImport stores a private copy keeping iCalUID; importing an
// iCalUID (and originalStartTime) the calendar has updates that event.
func (s *Server) eventsImport(r *http.Request, u *user) (any, error) {
	c, _, err := s.calFor(u, r.PathValue("calendarId"), roleWriter, errWriter)
	if err != nil {
		return nil, err
	}
	raw, err := readEvent(r)
	if err != nil {
		return nil, err
	}
	in := parseEvent(raw)
	if in.ICalUID == "" {
		return nil, &apiError{Code: 400, Reason: "required", Message: "Missing iCalUID."}
	}
	if in.EventType != "" && in.EventType != "default" {
		return nil, &apiError{Code: 400, Reason: "eventTypeRestriction", Domain: "calendar",
			Message: "Event type cannot be imported."}
	}
	orig := ""
	if in.OriginalStartTime != nil {
		orig = in.OriginalStartTime.DateTime + in.OriginalStartTime.Date
	}
	for _, k := range []string{"kind", "etag", "created", "updated", "htmlLink", "recurringEventId"} {
		delete(raw, k)
	}
	prev := findByUID(c, in.ICalUID, orig)
	switch {
	case prev != nil:
		raw["id"] = prev.ev.Id
		if prev.ev.RecurringEventId != "" {
			raw["recurringEventId"] = prev.ev.RecurringEventId
		}
	case orig != "":
		master := findByUID(c, in.ICalUID, "")
		if master == nil || len(master.ev.Recurrence) == 0 {
			return nil, &apiError{Code: 400, Reason: "invalid", Message: "Invalid original start time."}
		}
		sr, err := newSeries(master.ev, c.loc())
		if err != nil {
			return nil, err
		}
		w, err := parseWhen(in.OriginalStartTime, sr.start.loc, "originalStart")
		if err != nil {
			return nil, err
		}
		raw["id"] = master.ev.Id + "_" + sr.start.instanceStamp(w.t)
		raw["recurringEventId"] = master.ev.Id
	default:
		id, _ := raw["id"].(string)
		if id == "" {
			id = s.newID()
		} else if !validID(id) {
			return nil, &apiError{Code: 400, Reason: "invalid", Message: "Invalid resource id value."}
		} else if c.events[id] != nil {
			return nil, &apiError{Code: 409, Reason: "duplicate", Message: "The requested identifier already exists."}
		}
		raw["id"] = id
	}
	if err := checkEvent(c, parseEvent(raw)); err != nil {
		return nil, err
	}
	if prev != nil {
		if _, ok := raw["sequence"]; !ok {
			raw["sequence"] = prev.raw["sequence"]
		}
		if _, ok := raw["organizer"]; !ok {
			raw["organizer"] = prev.raw["organizer"]
		}
	}
	return s.store(c, raw, prev).raw, nil
}

// ifMatch applies If-Match against etag.
func ifMatch(r *http.Request, etag string) error {
	im := r.Header.Get("If-Match")
	if im == "" || im == "*" {
		return nil
	}
	norm := func(s string) string { return strings.Trim(strings.TrimPrefix(strings.TrimSpace(s), "W/"), `"`) }
	for _, v := range strings.Split(im, ",") {
		if norm(v) == norm(etag) {
			return nil
		}
	}
	return &apiError{Code: 412, Reason: "conditionNotMet", Message: "Precondition Failed", Location: "If-Match", LocationType: "header"}
}

// mergePatch applies JSON patch semantics: objects merge recursively,
// arrays and scalars replace, null clears.
func mergePatch(dst, patch map[string]any) {
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(dst, k)
		case map[string]any:
			if dv, ok := dst[k].(map[string]any); ok {
				cp := make(map[string]any, len(dv))
				for kk, vv := range dv {
					cp[kk] = vv
				}
				mergePatch(cp, pv)
				dst[k] = cp
			} else {
				dst[k] = pv
			}
		default:
			dst[k] = pv
		}
	}
}

// eventsWrite is events.update (full replace) and events.patch. Writing an
// unmodified instance of a recurring event creates an exception.
func (s *Server) eventsWrite(patch bool) apiHandler {
	return func(r *http.Request, u *user) (any, error) {
		c, _, err := s.calFor(u, r.PathValue("calendarId"), roleWriter, errWriter)
		if err != nil {
			return nil, err
		}
		prev, virt, _, err := s.lookup(c, r.PathValue("eventId"))
		if err != nil {
			return nil, err
		}
		cur := virt
		if prev != nil {
			cur = prev.raw
		}
		if err := ifMatch(r, cur["etag"].(string)); err != nil {
			return nil, err
		}
		body, err := readEvent(r)
		if err != nil {
			return nil, err
		}
		if seq, ok := body["sequence"].(float64); ok {
			if cs, _ := cur["sequence"].(float64); int64(seq) < int64(cs) {
				return nil, &apiError{Code: 400, Reason: "invalid",
					Message: "Invalid sequence value. The specified sequence number is below the current sequence number of the resource."}
			}
		}
		var raw map[string]any
		if patch {
			raw = make(map[string]any, len(cur))
			for k, v := range cur {
				raw[k] = v
			}
			mergePatch(raw, body)
		} else {
			raw = body
			for _, k := range []string{"sequence", "organizer"} {
				if _, ok := raw[k]; !ok && cur[k] != nil {
					raw[k] = cur[k]
				}
			}
			if _, ok := raw["status"]; !ok {
				raw["status"] = "confirmed"
			}
		}
		for _, k := range []string{"id", "iCalUID", "recurringEventId", "originalStartTime", "creator", "created"} {
			if v, ok := cur[k]; ok {
				raw[k] = v
			} else {
				delete(raw, k)
			}
		}
		if raw["recurringEventId"] != nil {
			delete(raw, "recurrence")
		}
		if err := checkEvent(c, parseEvent(raw)); err != nil {
			return nil, err
		}
		return s.store(c, raw, prev).raw, nil
	}
}

func (s *Server) eventsDelete(r *http.Request, u *user) (any, error) {
	c, _, err := s.calFor(u, r.PathValue("calendarId"), roleWriter, errWriter)
	if err != nil {
		return nil, err
	}
	prev, virt, _, err := s.lookup(c, r.PathValue("eventId"))
	if err != nil {
		return nil, err
	}
	cur := virt
	if prev != nil {
		cur = prev.raw
	}
	if err := ifMatch(r, cur["etag"].(string)); err != nil {
		return nil, err
	}
	if prev != nil && prev.ev.Status == "cancelled" {
		return nil, &apiError{Code: 410, Reason: "deleted", Message: "Resource has been deleted"}
	}
	s.cancelLocked(c, cur, prev)
	return noContent{}, nil
}

// cancelLocked deletes an event: it stays as a cancelled tombstone so sync
// reports it; a master takes its exceptions with it.
func (s *Server) cancelLocked(c *cal, cur map[string]any, prev *event) {
	raw := make(map[string]any, len(cur))
	for k, v := range cur {
		raw[k] = v
	}
	raw["status"] = "cancelled"
	e := s.store(c, raw, prev)
	if len(e.ev.Recurrence) == 0 {
		return
	}
	for _, x := range c.events {
		if x.ev.RecurringEventId == e.ev.Id && x.ev.Status != "cancelled" {
			s.cancelLocked(c, x.raw, x)
		}
	}
}

func (s *Server) eventsInstances(r *http.Request, u *user) (any, error) {
	c, le, err := s.calFor(u, r.PathValue("calendarId"), roleFreeBusy, errWriter)
	if err != nil {
		return nil, err
	}
	master := c.events[r.PathValue("eventId")]
	if master == nil || master.ev.Status == "cancelled" {
		return nil, errNotFound
	}
	q := r.URL.Query()
	size, err := queryInt(r, "maxResults", 250, 2500)
	if err != nil {
		return nil, err
	}
	var tmin, tmax, orig time.Time
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"timeMin", &tmin}, {"timeMax", &tmax}, {"originalStart", &orig}} {
		if v := q.Get(p.name); v != "" {
			if *p.t, err = time.Parse(time.RFC3339, v); err != nil {
				return nil, errInvalidParam(p.name, "Bad Request")
			}
		}
	}
	showDeleted := q.Get("showDeleted") == "true"
	scope := "in:" + u.email + ":" + c.meta.Id + ":" + master.ev.Id
	items, next, _, err := s.paginate(scope, q.Get("pageToken"), size, func() ([]any, string, error) {
		var insts []map[string]any
		if len(master.ev.Recurrence) == 0 {
			insts = []map[string]any{master.raw}
		} else {
			var err error
			if insts, err = s.instances(c, master, tmax, showDeleted); err != nil {
				return nil, "", err
			}
		}
		var out []any
		for _, in := range insts {
			if !orig.IsZero() {
				ev := parseEvent(in)
				w, err := parseWhen(ev.OriginalStartTime, c.loc(), "originalStart")
				if err != nil || !w.t.Equal(orig) {
					continue
				}
			}
			if st, en, ok := span(c, in); ok && ((!tmin.IsZero() && !en.After(tmin)) || (!tmax.IsZero() && !st.Before(tmax))) {
				continue
			}
			out = append(out, s.view(le, in))
		}
		return out, "", nil
	})
	if err != nil {
		return nil, err
	}
	return s.eventsResponse(c, le, items, next, ""), nil
}

// ---- seeding and Google-side changes

// AddCalendar adds a calendar to the default user's list; see User.
func (s *Server) AddCalendar(entry *calendar.CalendarListEntry) string {
	return s.User(s.cfg.user).AddCalendar(entry)
}

// PutEvent stores ev in calID ("primary" is the default user's) as a change
// made on the Google side, and returns it as stored. An event with ev.Id
// is replaced; without one it gets a new ID. iCalUID defaults to
// id@google.com, and server fields (etag, updated, ...) are set as on a
// write through the API. An exception (OriginalStartTime set) is linked to
// its master by RecurringEventId or ICalUID and, without an ID, gets
// Google's instance ID. No validation is done, so tests can seed data the
// API would refuse.
func (s *Server) PutEvent(calID string, ev *calendar.Event) *calendar.Event {
	return s.putRaw(calID, toMap(ev))
}

// PutEventJSON is PutEvent with the event as Google JSON, so zero values
// (useDefault false, minutes 0) are kept exactly.
func (s *Server) PutEventJSON(calID, js string) *calendar.Event {
	var raw map[string]any
	if err := json.Unmarshal([]byte(js), &raw); err != nil {
		bug("PutEventJSON: %v", err)
	}
	return s.putRaw(calID, raw)
}

func (s *Server) putRaw(calID string, raw map[string]any) *calendar.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calLocked(calID)
	s.linkException(c, raw)
	id, _ := raw["id"].(string)
	if id == "" {
		id = s.newID()
		raw["id"] = id
	}
	if uid, _ := raw["iCalUID"].(string); uid == "" {
		raw["iCalUID"] = id + "@google.com"
	}
	prev := c.events[id]
	for _, k := range []string{"kind", "etag", "updated"} {
		delete(raw, k)
	}
	return parseEvent(s.store(c, raw, prev).raw)
}

// linkException completes a seeded exception (one with originalStartTime)
// from its master, found by recurringEventId or iCalUID: the master's ID,
// iCalUID, and Google's instance ID when none is given.
func (s *Server) linkException(c *cal, raw map[string]any) {
	if raw["originalStartTime"] == nil {
		return
	}
	var master *event
	if rid, _ := raw["recurringEventId"].(string); rid != "" {
		master = c.events[rid]
	} else if uid, _ := raw["iCalUID"].(string); uid != "" {
		master = findByUID(c, uid, "")
	}
	if master == nil || len(master.ev.Recurrence) == 0 {
		return
	}
	raw["recurringEventId"], raw["iCalUID"] = master.ev.Id, master.ev.ICalUID
	if id, _ := raw["id"].(string); id != "" {
		return
	}
	sr, err := newSeries(master.ev, c.loc())
	if err != nil {
		return
	}
	if w, err := parseWhen(parseEvent(raw).OriginalStartTime, sr.start.loc, "originalStart"); err == nil {
		raw["id"] = master.ev.Id + "_" + sr.start.instanceStamp(w.t)
	}
}

func (s *Server) calLocked(calID string) *cal {
	if calID == "primary" {
		calID = s.cfg.user
	}
	c := s.cals[calID]
	if c == nil {
		bug("unknown calendar %q", calID)
	}
	return c
}

// UpdateEvent changes a stored event in place as a Google-side edit (new
// etag and updated time). It panics if the event does not exist.
func (s *Server) UpdateEvent(calID, eventID string, fn func(*calendar.Event)) *calendar.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calLocked(calID)
	prev := c.events[eventID]
	if prev == nil {
		bug("unknown event %q in %q", eventID, calID)
	}
	ev := parseEvent(prev.raw)
	fn(ev)
	raw := toMap(ev)
	return parseEvent(s.store(c, raw, prev).raw)
}

// DeleteEvent deletes an event as a Google-side change. An instance ID of
// an unmodified occurrence cancels that occurrence. It reports whether
// there was something to delete.
func (s *Server) DeleteEvent(calID, eventID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calLocked(calID)
	prev, virt, _, err := s.lookup(c, eventID)
	if err != nil || (prev != nil && prev.ev.Status == "cancelled") {
		return false
	}
	cur := virt
	if prev != nil {
		cur = prev.raw
	}
	s.cancelLocked(c, cur, prev)
	return true
}

// Event returns a stored event (tombstones included) as Google would serve
// it to events.get.
func (s *Server) Event(calID, eventID string) (*calendar.Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.calLocked(calID).events[eventID]
	if e == nil {
		return nil, false
	}
	return parseEvent(e.raw), true
}

// Events returns every stored event of calID, tombstones included, in
// creation order.
func (s *Server) Events(calID string) []*calendar.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calLocked(calID)
	evs := make([]*event, 0, len(c.events))
	for _, e := range c.events {
		evs = append(evs, e)
	}
	slices.SortFunc(evs, func(a, b *event) int { return int(a.order - b.order) })
	out := make([]*calendar.Event, len(evs))
	for i, e := range evs {
		out[i] = parseEvent(e.raw)
	}
	return out
}

// RemoveCalendar deletes a calendar for everyone, as its owner would.
func (s *Server) RemoveCalendar(calID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeCalendarLocked(s.calLocked(calID))
}

// UpdateCalendar changes a calendar's shared properties (summary,
// description, timeZone, location) as a Google-side edit.
func (s *Server) UpdateCalendar(calID string, fn func(*calendar.Calendar)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calLocked(calID)
	fn(&c.meta)
	c.meta.Id = c.calIDOr(calID)
	c.seq = s.nextSeq()
}

func (c *cal) calIDOr(id string) string {
	if c.meta.Id != "" {
		return c.meta.Id
	}
	return id
}

// User is a handle on one Google account of the fake.
type User struct {
	s     *Server
	email string
}

// User returns the account with this email, creating it (with a primary
// calendar named after it) if needed.
func (s *Server) User(email string) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(email)
	return &User{s: s, email: email}
}

// Email is the account's address, also its primary calendar ID.
func (u *User) Email() string { return u.email }

// AddCalendar puts a calendar in the user's calendar list and returns its
// ID. entry carries both the calendar (Id, Summary, Description, TimeZone,
// Location) and the user's view (AccessRole, default owner; colours,
// Hidden, DefaultReminders). An entry whose Id names an existing calendar
// shares that calendar with the user instead (its calendar fields are
// then ignored): that is how reader and freeBusyReader calendars are made.
func (u *User) AddCalendar(entry *calendar.CalendarListEntry) string {
	s := u.s
	s.mu.Lock()
	defer s.mu.Unlock()
	usr := s.userLocked(u.email)
	e := *entry
	id := e.Id
	if id == "" {
		id = "c_" + s.newID() + "@group.calendar.google.com"
	}
	if c := s.cals[id]; c == nil || c.deleted {
		tz := e.TimeZone
		if tz == "" {
			tz = "UTC"
		}
		summary := e.Summary
		if summary == "" {
			summary = id
		}
		s.cals[id] = &cal{meta: calendar.Calendar{Id: id, Summary: summary, Description: e.Description, Location: e.Location, TimeZone: tz},
			events: map[string]*event{}, seq: s.nextSeq()}
	}
	e.Id, e.Summary, e.Description, e.Location, e.TimeZone, e.Etag, e.Kind = "", "", "", "", "", "", ""
	s.addEntryLocked(usr, id, e)
	return id
}

// String helps debugging output.
func (c *cal) String() string {
	return fmt.Sprintf("cal(%s, %d events)", url.PathEscape(c.meta.Id), len(c.events))
}
