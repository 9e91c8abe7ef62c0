package google

// Translation between Google Calendar v3 events and iCalendar. Everything
// in this file is free of I/O so the golden tests in testdata/translate
// drive it directly.
//
// One CalDAV object is one series: the master event plus its overrides
// (events with recurringEventId), with cancelled instances folded into the
// master as EXDATE. iCalendar data Google has no field for (unknown and X-
// properties, CATEGORIES, alarms it cannot express, VTIMEZONEs) travels
// in the event's private extended properties (api.PropExtra), and a few
// shape flags (api.PropFlags) undo Google's normalisation, so that what a
// client PUTs is what it reads back.

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/google/api"
	"github.com/davgate/davgate/adapters/icalfix"
)

// Series is one calendar object's worth of Google events.
type Series struct {
	// ID is the object ID (see EventID and objectIDOf).
	ID string
	// Master is nil when only instances are visible (the user was invited
	// to single occurrences).
	Master *api.Event
	// Overrides are modified instances (recurringEventId set).
	Overrides []*api.Event
	// Cancelled are cancelled instances; they become EXDATEs.
	Cancelled []*api.Event
}

// Events returns the series' events, master first.
func (s Series) Events() []*api.Event {
	var out []*api.Event
	if s.Master != nil {
		out = append(out, s.Master)
	}
	out = append(out, s.Overrides...)
	return append(out, s.Cancelled...)
}

// Version is the object's opaque Version: see seriesVersion.
func (s Series) Version() string { return seriesVersion(s.Events()) }

// Updated is the latest modification time of the series' events.
func (s Series) Updated() time.Time {
	var latest time.Time
	for _, e := range s.Events() {
		if t, err := time.Parse(time.RFC3339Nano, e.Updated); err == nil && t.After(latest) {
			latest = t
		}
	}
	return latest
}

// visible reports whether the series is served: a cancelled master (the
// series was deleted) hides its overrides too.
func (s Series) visible() bool {
	if s.Master != nil {
		return s.Master.Status != "cancelled"
	}
	return len(s.Overrides) > 0
}

// CalendarInfo is what translation needs from the calendar itself.
type CalendarInfo struct {
	// TimeZone is the calendar's IANA zone, used for floating times.
	TimeZone string
	// DefaultReminders expand reminders.useDefault into VALARMs.
	DefaultReminders []*api.EventReminder
}

// seriesKey is the id that groups an event into its series.
func seriesKey(e *api.Event) string {
	if e.RecurringEventId != "" {
		return e.RecurringEventId
	}
	return e.Id
}

// Shape flags stored in api.PropFlags.
const (
	flagNoEnd    = "noend"    // the client sent no DTEND/DURATION
	flagDuration = "dur"      // the client sent DURATION, not DTEND
	flagFloating = "floating" // the client sent floating times
	flagStatus   = "status"   // the client sent STATUS:CONFIRMED explicitly
	flagOpaque   = "opaque"   // the client sent TRANSP:OPAQUE explicitly
)

// Property values davgate writes that Google does not store.
const (
	prodID           = "-//davgate//google//EN"
	propColorID      = "X-GOOGLE-COLOR-ID"
	propEventType    = "X-GOOGLE-EVENT-TYPE"
	propConference   = "CONFERENCE"
	propConfLink     = "X-GOOGLE-CONFERENCE"
	propDefaultAlarm = "X-GOOGLE-DEFAULT-ALARM"
	maxReminders     = 5
	maxReminderMins  = 40320
)

// SeriesToCalendar renders a series as one VCALENDAR. It returns an error
// matching adapters.ErrNotFound for a series with nothing visible.
func SeriesToCalendar(s Series, info CalendarInfo) (*ical.Calendar, error) {
	if !s.visible() {
		return nil, fmt.Errorf("series %q has no visible event: %w", s.ID, adapters.ErrNotFound)
	}
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropProductID, prodID)

	ref := s.Master
	if ref == nil {
		ref = s.Overrides[0]
	}
	tzs, _, _ := decodeExtra(ref)
	cal.Children = append(cal.Children, tzs...)
	st := styleOf(s, info)

	if m := s.Master; m != nil {
		comp, err := eventComponent(m, info, nil)
		if err != nil {
			return nil, err
		}
		addCancelled(comp, s.Cancelled, st)
		cal.Children = append(cal.Children, comp)
	}
	overrides := append([]*api.Event(nil), s.Overrides...)
	sort.Slice(overrides, func(i, j int) bool { return originalKey(overrides[i]) < originalKey(overrides[j]) })
	for _, o := range overrides {
		comp, err := eventComponent(o, info, &st)
		if err != nil {
			return nil, err
		}
		cal.Children = append(cal.Children, comp)
	}
	return cal, nil
}

func originalKey(e *api.Event) string {
	if e.OriginalStartTime == nil {
		return e.Id
	}
	if t, err := time.Parse(time.RFC3339, e.OriginalStartTime.DateTime); err == nil {
		return t.UTC().Format(time.RFC3339)
	}
	return e.OriginalStartTime.Date
}

// style is how RECURRENCE-ID and EXDATE values are written: RFC 5545
// wants them in DTSTART's value type and zone.
type style struct {
	date     bool
	tz       string
	floating bool
}

func styleOf(s Series, info CalendarInfo) style {
	var st style
	var flags map[string]bool
	if s.Master != nil && s.Master.Start != nil {
		st.date = s.Master.Start.Date != ""
		st.tz = s.Master.Start.TimeZone
		flags = flagsOf(s.Master)
	} else if len(s.Overrides) > 0 {
		o := s.Overrides[0]
		if o.OriginalStartTime != nil {
			st.date = o.OriginalStartTime.Date != ""
			st.tz = o.OriginalStartTime.TimeZone
		}
		if st.tz == "" && o.Start != nil {
			st.tz = o.Start.TimeZone
		}
		flags = flagsOf(o)
	}
	if flags[flagFloating] {
		st.floating = true
		if st.tz == "" {
			st.tz = info.TimeZone
		}
	}
	return st
}

func flagsOf(e *api.Event) map[string]bool {
	m := map[string]bool{}
	if e.ExtendedProperties == nil {
		return m
	}
	for f := range strings.SplitSeq(e.ExtendedProperties.Private[api.PropFlags], ",") {
		if f != "" {
			m[f] = true
		}
	}
	return m
}

func isUTCZone(tz string) bool {
	switch tz {
	case "UTC", "Etc/UTC", "GMT", "Etc/GMT", "Z", "Etc/Zulu", "Zulu":
		return true
	}
	return false
}

// timeProp renders a Google date or date-time as an iCalendar property.
func timeProp(name string, edt *api.EventDateTime, st style) (*ical.Prop, error) {
	p := ical.NewProp(name)
	if edt == nil {
		return nil, fmt.Errorf("%s: no time: %w", name, adapters.ErrInvalid)
	}
	if edt.DateTime == "" {
		d, err := time.Parse(time.DateOnly, edt.Date)
		if err != nil {
			return nil, fmt.Errorf("%s: date %q: %w", name, edt.Date, adapters.ErrInvalid)
		}
		p.SetDate(d)
		return p, nil
	}
	t, err := time.Parse(time.RFC3339, edt.DateTime)
	if err != nil {
		return nil, fmt.Errorf("%s: dateTime %q: %w", name, edt.DateTime, adapters.ErrInvalid)
	}
	if st.date {
		// An instance of an all-day series: its RECURRENCE-ID is a date.
		p.SetDate(t)
		return p, nil
	}
	tz := st.tz
	if tz == "" {
		tz = edt.TimeZone
	}
	if tz == "" || isUTCZone(tz) {
		if st.floating {
			p.Value = t.Format("20060102T150405")
			return p, nil
		}
		p.Value = t.UTC().Format("20060102T150405Z")
		return p, nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		p.Value = t.UTC().Format("20060102T150405Z")
		return p, nil
	}
	p.Value = t.In(loc).Format("20060102T150405")
	if !st.floating {
		p.Params.Set(ical.ParamTimezoneID, tz)
	}
	return p, nil
}

// eventComponent renders one Google event; rid is set for overrides.
func eventComponent(e *api.Event, info CalendarInfo, rid *style) (*ical.Component, error) {
	c := ical.NewComponent(ical.CompEvent)
	flags := flagsOf(e)
	uid := e.ICalUID
	if uid == "" {
		uid = e.Id + "@google.com"
	}
	c.Props.SetText(ical.PropUID, uid)
	stamp := ical.NewProp(ical.PropDateTimeStamp)
	stamp.Value = "19700101T000000Z"
	for _, ts := range []string{e.Updated, e.Created} {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			stamp.Value = t.UTC().Format("20060102T150405Z")
			break
		}
	}
	c.Props.Set(stamp)

	own := style{floating: flags[flagFloating]}
	if own.floating && e.Start != nil && e.Start.TimeZone == "" {
		own.tz = info.TimeZone
	}
	start, err := timeProp(ical.PropDateTimeStart, e.Start, own)
	if err != nil {
		return nil, fmt.Errorf("event %q: %w", e.Id, err)
	}
	c.Props.Set(start)
	switch {
	case flags[flagNoEnd] || e.EndTimeUnspecified || e.End == nil:
	case flags[flagDuration]:
		d, err := eventDuration(e)
		if err != nil {
			return nil, fmt.Errorf("event %q: %w", e.Id, err)
		}
		p := ical.NewProp(ical.PropDuration)
		p.Value = formatDuration(d)
		c.Props.Set(p)
	default:
		end, err := timeProp(ical.PropDateTimeEnd, e.End, own)
		if err != nil {
			return nil, fmt.Errorf("event %q: %w", e.Id, err)
		}
		c.Props.Set(end)
	}
	if rid != nil && e.OriginalStartTime != nil {
		p, err := timeProp(ical.PropRecurrenceID, e.OriginalStartTime, *rid)
		if err != nil {
			return nil, fmt.Errorf("event %q: %w", e.Id, err)
		}
		c.Props.Set(p)
	}
	for name, v := range map[string]string{ical.PropSummary: e.Summary, ical.PropDescription: e.Description, ical.PropLocation: e.Location} {
		if v != "" {
			c.Props.SetText(name, v)
		}
	}
	switch e.Status {
	case "tentative":
		c.Props.SetText(ical.PropStatus, "TENTATIVE")
	case "cancelled":
		c.Props.SetText(ical.PropStatus, "CANCELLED")
	case "confirmed":
		if flags[flagStatus] {
			c.Props.SetText(ical.PropStatus, "CONFIRMED")
		}
	}
	switch {
	case e.Transparency == "transparent":
		c.Props.SetText(ical.PropTransparency, "TRANSPARENT")
	case flags[flagOpaque]:
		c.Props.SetText(ical.PropTransparency, "OPAQUE")
	}
	switch e.Visibility {
	case "public", "private", "confidential":
		c.Props.SetText(ical.PropClass, strings.ToUpper(e.Visibility))
	}
	if e.Sequence > 0 {
		setRaw(c.Props, ical.PropSequence, strconv.FormatInt(e.Sequence, 10))
	}
	if rid == nil {
		for _, line := range e.Recurrence {
			p, err := parseLine(line)
			if err != nil {
				return nil, fmt.Errorf("event %q: recurrence %q: %w", e.Id, line, err)
			}
			c.Props.Add(p)
		}
	}
	if o := e.Organizer; o != nil && o.Email != "" && (len(e.Attendees) > 0 || !o.Self) {
		p := ical.NewProp(ical.PropOrganizer)
		p.Value = "mailto:" + o.Email
		if o.DisplayName != "" {
			p.Params.Set(ical.ParamCommonName, o.DisplayName)
		}
		c.Props.Set(p)
	}
	for _, a := range e.Attendees {
		if a.Email == "" {
			continue
		}
		c.Props.Add(attendeeProp(a))
	}
	if e.ColorId != "" {
		setRaw(c.Props, propColorID, e.ColorId)
	}
	if e.EventType != "" && e.EventType != "default" {
		setRaw(c.Props, propEventType, e.EventType)
	}
	addConference(c, e)
	alarms(c, e, info)

	if _, extra, err := decodeExtra(e); err == nil && extra != nil {
		for name, ps := range extra.Props {
			if c.Props.Get(name) != nil {
				continue // a Google field wins over a stale copy
			}
			c.Props[name] = append(c.Props[name], ps...)
		}
		c.Children = append(c.Children, extra.Children...)
	}
	return c, nil
}

// setRaw sets a property whose value needs no TEXT escaping, without the
// VALUE=TEXT parameter SetText adds to non-TEXT and X- properties.
func setRaw(props ical.Props, name, value string) {
	p := ical.NewProp(name)
	p.Value = value
	props.Set(p)
}

func eventDuration(e *api.Event) (time.Duration, error) {
	if e.Start.Date != "" {
		s, err1 := time.Parse(time.DateOnly, e.Start.Date)
		f, err2 := time.Parse(time.DateOnly, e.End.Date)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("all-day duration: %w", adapters.ErrInvalid)
		}
		return f.Sub(s), nil
	}
	s, err1 := time.Parse(time.RFC3339, e.Start.DateTime)
	f, err2 := time.Parse(time.RFC3339, e.End.DateTime)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("duration: %w", adapters.ErrInvalid)
	}
	return f.Sub(s), nil
}

var partstat = map[string]string{
	"needsAction": "NEEDS-ACTION", "declined": "DECLINED", "tentative": "TENTATIVE", "accepted": "ACCEPTED",
}

func attendeeProp(a *api.EventAttendee) *ical.Prop {
	p := ical.NewProp(ical.PropAttendee)
	p.Value = "mailto:" + a.Email
	if a.DisplayName != "" {
		p.Params.Set(ical.ParamCommonName, a.DisplayName)
	}
	ps := partstat[a.ResponseStatus]
	if ps == "" {
		ps = "NEEDS-ACTION"
	}
	p.Params.Set(ical.ParamParticipationStatus, ps)
	if a.Optional {
		p.Params.Set(ical.ParamRole, "OPT-PARTICIPANT")
	}
	if a.Resource {
		p.Params.Set(ical.ParamCalendarUserType, "RESOURCE")
	}
	if ps == "NEEDS-ACTION" && !a.Organizer && !a.Resource {
		// Google asks every guest who has not answered to reply.
		p.Params.Set(ical.ParamRSVP, "TRUE")
	}
	if a.AdditionalGuests > 0 {
		p.Params.Set("X-NUM-GUESTS", strconv.FormatInt(a.AdditionalGuests, 10))
	}
	return p
}

// addConference exposes Meet and other conference links as RFC 7986
// CONFERENCE plus one X- property for clients that only show X- links.
// Both are read-only: Google creates conferences, clients do not.
func addConference(c *ical.Component, e *api.Event) {
	first := e.HangoutLink
	if cd := e.ConferenceData; cd != nil {
		label := ""
		if cd.ConferenceSolution != nil {
			label = cd.ConferenceSolution.Name
		}
		for _, ep := range cd.EntryPoints {
			if ep.Uri == "" {
				continue
			}
			p := ical.NewProp(propConference)
			p.Params.Set(ical.ParamValue, "URI")
			feature := map[string]string{"video": "VIDEO", "phone": "PHONE", "sip": "AUDIO", "more": "MODERATOR"}[ep.EntryPointType]
			if feature != "" {
				p.Params.Set("FEATURE", feature)
			}
			if l := firstNonEmpty(ep.Label, label); l != "" && !strings.ContainsAny(l, `"`) {
				p.Params.Set("LABEL", l)
			}
			p.Value = ep.Uri
			c.Props.Add(p)
			if first == "" && ep.EntryPointType == "video" {
				first = ep.Uri
			}
		}
	} else if e.HangoutLink != "" {
		p := ical.NewProp(propConference)
		p.Params.Set(ical.ParamValue, "URI")
		p.Params.Set("FEATURE", "VIDEO")
		p.Value = e.HangoutLink
		c.Props.Add(p)
	}
	if first != "" {
		setRaw(c.Props, propConfLink, first)
	}
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// alarms renders reminders; expanded calendar defaults are marked so a
// write-back keeps useDefault instead of freezing them as overrides.
func alarms(c *ical.Component, e *api.Event, info CalendarInfo) {
	r := e.Reminders
	if r == nil {
		return
	}
	if r.UseDefault {
		for _, d := range info.DefaultReminders {
			a := alarm(d)
			setRaw(a.Props, propDefaultAlarm, "TRUE")
			c.Children = append(c.Children, a)
		}
		return
	}
	for _, o := range r.Overrides {
		c.Children = append(c.Children, alarm(o))
	}
}

func alarm(r *api.EventReminder) *ical.Component {
	a := ical.NewComponent(ical.CompAlarm)
	trig := ical.NewProp(ical.PropTrigger)
	trig.Value = formatDuration(-time.Duration(r.Minutes) * time.Minute)
	a.Props.Set(trig)
	if r.Method == "email" {
		a.Props.SetText(ical.PropAction, "EMAIL")
		a.Props.SetText(ical.PropSummary, "Reminder")
	} else {
		a.Props.SetText(ical.PropAction, "DISPLAY")
	}
	a.Props.SetText(ical.PropDescription, "Reminder")
	return a
}

// formatDuration writes an RFC 5545 duration.
func formatDuration(d time.Duration) string {
	var sb strings.Builder
	if d < 0 {
		sb.WriteByte('-')
		d = -d
	}
	sb.WriteByte('P')
	if d == 0 {
		return sb.String() + "T0S"
	}
	if days := d / (24 * time.Hour); days > 0 && d%(24*time.Hour) == 0 {
		if days%7 == 0 {
			return sb.String() + strconv.Itoa(int(days/7)) + "W"
		}
		return sb.String() + strconv.Itoa(int(days)) + "D"
	} else if days > 0 {
		sb.WriteString(strconv.Itoa(int(days)) + "D")
		d -= days * 24 * time.Hour
	}
	sb.WriteByte('T')
	if h := d / time.Hour; h > 0 {
		sb.WriteString(strconv.Itoa(int(h)) + "H")
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		sb.WriteString(strconv.Itoa(int(m)) + "M")
		d -= m * time.Minute
	}
	if s := d / time.Second; s > 0 {
		sb.WriteString(strconv.Itoa(int(s)) + "S")
	}
	return sb.String()
}

// addCancelled folds cancelled instances into the master as EXDATEs,
// skipping those its recurrence lines already exclude.
func addCancelled(master *ical.Component, cancelled []*api.Event, st style) {
	have := map[string]bool{}
	for _, p := range master.Props.Values(ical.PropExceptionDates) {
		for _, k := range instantKeys(p) {
			have[k] = true
		}
	}
	sorted := append([]*api.Event(nil), cancelled...)
	sort.Slice(sorted, func(i, j int) bool { return originalKey(sorted[i]) < originalKey(sorted[j]) })
	for _, e := range sorted {
		if e.OriginalStartTime == nil {
			continue
		}
		p, err := timeProp(ical.PropExceptionDates, e.OriginalStartTime, st)
		if err != nil {
			continue
		}
		keys := instantKeys(*p)
		if len(keys) == 1 && have[keys[0]] {
			continue
		}
		have[keys[0]] = true
		master.Props.Add(p)
	}
}

// instantKeys names the instants of a date or date-time list property so
// that EXDATEs in different zones compare equal.
func instantKeys(p ical.Prop) []string {
	var out []string
	tz := p.Params.Get(ical.ParamTimezoneID)
	for v := range strings.SplitSeq(p.Value, ",") {
		switch {
		case len(v) == 8:
			out = append(out, "d"+v)
		case strings.HasSuffix(v, "Z"):
			if t, err := time.Parse("20060102T150405Z", v); err == nil {
				out = append(out, "t"+strconv.FormatInt(t.Unix(), 10))
			}
		default:
			loc := time.UTC
			if tz != "" {
				if l, err := icalfix.LoadLocation(tz); err == nil {
					loc = l
				}
			}
			if t, err := time.ParseInLocation("20060102T150405", v, loc); err == nil {
				out = append(out, "t"+strconv.FormatInt(t.Unix(), 10))
			}
		}
	}
	return out
}

// CalendarToSeries translates a client's calendar object into the events
// to store. Master.Id is EventID(objectID); overrides carry
// RecurringEventId and OriginalStartTime but no Id (the writer finds the
// instance). It returns errors matching adapters.ErrInvalid for malformed
// data and adapters.ErrUnsupported for data Google cannot hold (VTODO).
func CalendarToSeries(cal *ical.Calendar, objectID string, info CalendarInfo) (Series, error) {
	s := Series{ID: objectID}
	if cal == nil {
		return s, fmt.Errorf("no calendar data: %w", adapters.ErrInvalid)
	}
	var tzs, events []*ical.Component
	for _, ch := range cal.Children {
		switch ch.Name {
		case ical.CompTimezone:
			tzs = append(tzs, ch)
		case ical.CompEvent:
			events = append(events, ch)
		default:
			return s, fmt.Errorf("component %s: Google Calendar holds only VEVENT: %w", ch.Name, adapters.ErrUnsupported)
		}
	}
	if len(events) == 0 {
		return s, fmt.Errorf("no VEVENT: %w", adapters.ErrInvalid)
	}
	resolve := icalfix.NewResolver(cal)
	eventID := EventID(objectID)
	var uid string
	for _, comp := range events {
		u, err := comp.Props.Text(ical.PropUID)
		if err != nil || u == "" {
			return s, fmt.Errorf("VEVENT without UID: %w", adapters.ErrInvalid)
		}
		if uid != "" && u != uid {
			return s, fmt.Errorf("object holds UIDs %q and %q: %w", uid, u, adapters.ErrInvalid)
		}
		uid = u
	}
	for _, comp := range events {
		isOverride := comp.Props.Get(ical.PropRecurrenceID) != nil
		if !isOverride && s.Master != nil {
			return s, fmt.Errorf("UID %q has two masters: %w", uid, adapters.ErrInvalid)
		}
		var zones []*ical.Component
		if !isOverride || s.Master == nil {
			zones = tzs
		}
		e, err := componentToEvent(comp, resolve, info, zones)
		if err != nil {
			return s, fmt.Errorf("UID %q: %w", uid, err)
		}
		if isOverride {
			e.RecurringEventId = eventID
			s.Overrides = append(s.Overrides, e)
			continue
		}
		e.Id = eventID
		s.Master = e
	}
	// Zones travel with the master, or with the first override when
	// there is none (componentToEvent got them above only then).
	if s.Master != nil && len(s.Overrides) > 0 {
		for _, o := range s.Overrides {
			if err := setExtra(o, nil, extraOf(o)); err != nil {
				return s, err
			}
		}
	}
	for _, e := range s.Events() {
		if eventID != objectID {
			setChunked(e.ExtendedProperties.Private, api.PropID, objectID)
		}
	}
	return s, nil
}

// known lists the VEVENT properties that map to Google fields (or that
// Google owns), so they are not copied into the extra store.
var known = map[string]bool{
	ical.PropUID: true, ical.PropDateTimeStamp: true, ical.PropDateTimeStart: true, ical.PropDateTimeEnd: true,
	ical.PropDuration: true, ical.PropSummary: true, ical.PropDescription: true, ical.PropLocation: true,
	ical.PropStatus: true, ical.PropTransparency: true, ical.PropClass: true, ical.PropSequence: true,
	ical.PropRecurrenceRule: true, "EXRULE": true, ical.PropRecurrenceDates: true,
	ical.PropExceptionDates: true, ical.PropRecurrenceID: true, ical.PropAttendee: true, ical.PropOrganizer: true,
	propColorID: true, propEventType: true, propConference: true, propConfLink: true,
}

func componentToEvent(c *ical.Component, resolve icalfix.Resolver, info CalendarInfo, zones []*ical.Component) (*api.Event, error) {
	e := &api.Event{ExtendedProperties: &api.EventExtendedProperties{Private: map[string]string{}}}
	e.ICalUID, _ = c.Props.Text(ical.PropUID)
	flags := map[string]bool{}

	sp := c.Props.Get(ical.PropDateTimeStart)
	if sp == nil {
		return nil, fmt.Errorf("VEVENT without DTSTART: %w", adapters.ErrInvalid)
	}
	start, startT, err := toEventTime(sp, resolve, info, flags)
	if err != nil {
		return nil, err
	}
	e.Start = start
	switch ep, dp := c.Props.Get(ical.PropDateTimeEnd), c.Props.Get(ical.PropDuration); {
	case ep != nil:
		end, endT, err := toEventTime(ep, resolve, info, flags)
		if err != nil {
			return nil, err
		}
		if endT.Before(startT) {
			return nil, fmt.Errorf("DTEND before DTSTART: %w", adapters.ErrInvalid)
		}
		e.End = end
	case dp != nil:
		d, err := dp.Duration()
		if err != nil || d < 0 {
			return nil, fmt.Errorf("DURATION %q: %w", dp.Value, adapters.ErrInvalid)
		}
		flags[flagDuration] = true
		e.End = shift(start, startT, d)
	default:
		// RFC 5545 §3.6.1: a date lasts one day, a date-time no time.
		flags[flagNoEnd] = true
		if start.Date != "" {
			e.End = shift(start, startT, 24*time.Hour)
		} else {
			e.End = shift(start, startT, 0)
		}
	}
	if rp := c.Props.Get(ical.PropRecurrenceID); rp != nil {
		ost, _, err := toEventTime(rp, resolve, info, map[string]bool{})
		if err != nil {
			return nil, err
		}
		e.OriginalStartTime = ost
	}
	e.Summary, _ = c.Props.Text(ical.PropSummary)
	e.Description, _ = c.Props.Text(ical.PropDescription)
	e.Location, _ = c.Props.Text(ical.PropLocation)
	if v, _ := c.Props.Text(ical.PropStatus); v != "" {
		switch strings.ToUpper(v) {
		case "TENTATIVE":
			e.Status = "tentative"
		case "CANCELLED":
			e.Status = "cancelled"
		default:
			e.Status = "confirmed"
			flags[flagStatus] = true
		}
	}
	if v, _ := c.Props.Text(ical.PropTransparency); v != "" {
		if strings.EqualFold(v, "TRANSPARENT") {
			e.Transparency = "transparent"
		} else {
			e.Transparency = "opaque"
			flags[flagOpaque] = true
		}
	}
	if v, _ := c.Props.Text(ical.PropClass); v != "" {
		switch strings.ToUpper(v) {
		case "PUBLIC":
			e.Visibility = "public"
		case "CONFIDENTIAL":
			e.Visibility = "confidential"
		default: // PRIVATE, and unknown classes per RFC 5545 §3.8.1.3
			e.Visibility = "private"
		}
	}
	if p := c.Props.Get(ical.PropSequence); p != nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(p.Value), 10, 64); err == nil && n >= 0 {
			e.Sequence = n
		}
	}
	for _, name := range []string{ical.PropRecurrenceRule, "EXRULE", ical.PropRecurrenceDates, ical.PropExceptionDates} {
		for _, p := range c.Props.Values(name) {
			e.Recurrence = append(e.Recurrence, propLine(&p))
		}
	}
	if len(e.Recurrence) > 0 && e.Start.DateTime != "" && e.Start.TimeZone == "" {
		// Google needs the expansion zone of a recurring series.
		e.Start.TimeZone, e.End.TimeZone = "UTC", "UTC"
	}
	if p := c.Props.Get(ical.PropOrganizer); p != nil {
		e.Organizer = &api.EventOrganizer{Email: mailto(p.Value), DisplayName: p.Params.Get(ical.ParamCommonName)}
	}
	for _, p := range c.Props.Values(ical.PropAttendee) {
		e.Attendees = append(e.Attendees, attendeeOf(p))
	}
	if p := c.Props.Get(propColorID); p != nil {
		e.ColorId = p.Value
	}

	extra := ical.NewComponent(ical.CompEvent)
	for name, ps := range c.Props {
		if !known[name] {
			extra.Props[name] = ps
		}
	}
	e.Reminders = &api.EventReminders{ForceSendFields: []string{"UseDefault"}}
	for _, ch := range c.Children {
		if ch.Name != ical.CompAlarm {
			extra.Children = append(extra.Children, ch)
			continue
		}
		if p := ch.Props.Get(propDefaultAlarm); p != nil && strings.EqualFold(p.Value, "TRUE") {
			e.Reminders.UseDefault = true
			continue
		}
		r, ok := reminderOf(ch)
		if !ok || len(e.Reminders.Overrides) == maxReminders {
			extra.Children = append(extra.Children, ch)
			continue
		}
		e.Reminders.Overrides = append(e.Reminders.Overrides, r)
	}
	if e.Reminders.UseDefault {
		// Google refuses overrides next to useDefault; the defaults win,
		// the client's own alarms stay in the extra store.
		for _, r := range e.Reminders.Overrides {
			extra.Children = append(extra.Children, alarm(r))
		}
		e.Reminders.Overrides = nil
	}
	if err := setExtra(e, zones, extra); err != nil {
		return nil, err
	}
	var fl []string
	for f := range flags {
		fl = append(fl, f)
	}
	sort.Strings(fl)
	if len(fl) > 0 {
		e.ExtendedProperties.Private[api.PropFlags] = strings.Join(fl, ",")
	}
	return e, nil
}

func mailto(v string) string {
	if len(v) > 7 && strings.EqualFold(v[:7], "mailto:") {
		return v[7:]
	}
	return v
}

var responseStatus = map[string]string{
	"NEEDS-ACTION": "needsAction", "DECLINED": "declined", "TENTATIVE": "tentative", "ACCEPTED": "accepted",
}

func attendeeOf(p ical.Prop) *api.EventAttendee {
	a := &api.EventAttendee{Email: mailto(p.Value), DisplayName: p.Params.Get(ical.ParamCommonName)}
	a.ResponseStatus = responseStatus[strings.ToUpper(p.Params.Get(ical.ParamParticipationStatus))]
	if a.ResponseStatus == "" {
		a.ResponseStatus = "needsAction"
	}
	a.Optional = strings.EqualFold(p.Params.Get(ical.ParamRole), "OPT-PARTICIPANT")
	a.Resource = strings.EqualFold(p.Params.Get(ical.ParamCalendarUserType), "RESOURCE")
	if n, err := strconv.ParseInt(p.Params.Get("X-NUM-GUESTS"), 10, 64); err == nil && n > 0 {
		a.AdditionalGuests = n
	}
	return a
}

// reminderOf maps a VALARM Google can express: DISPLAY or EMAIL, relative
// to the start, 0 to 4 weeks before, in whole minutes.
func reminderOf(a *ical.Component) (*api.EventReminder, bool) {
	action, _ := a.Props.Text(ical.PropAction)
	trig := a.Props.Get(ical.PropTrigger)
	if trig == nil || a.Props.Get(ical.PropRepeat) != nil {
		return nil, false
	}
	if rel := trig.Params.Get(ical.ParamRelated); rel != "" && !strings.EqualFold(rel, "START") {
		return nil, false
	}
	if v := trig.Params.Get(ical.ParamValue); v != "" && !strings.EqualFold(v, "DURATION") {
		return nil, false
	}
	d, err := trig.Duration()
	if err != nil || d > 0 || d%time.Minute != 0 || -d > maxReminderMins*time.Minute {
		return nil, false
	}
	r := &api.EventReminder{Minutes: int64(-d / time.Minute), ForceSendFields: []string{"Minutes"}}
	switch strings.ToUpper(action) {
	case "DISPLAY":
		r.Method = "popup"
	case "EMAIL":
		r.Method = "email"
	default:
		return nil, false
	}
	return r, true
}

// toEventTime converts DTSTART/DTEND/RECURRENCE-ID.
func toEventTime(p *ical.Prop, resolve icalfix.Resolver, info CalendarInfo, flags map[string]bool) (*api.EventDateTime, time.Time, error) {
	v := p.Value
	if strings.EqualFold(p.Params.Get(ical.ParamValue), "DATE") || len(v) == 8 {
		t, err := time.Parse("20060102", v)
		if err != nil {
			return nil, t, fmt.Errorf("%s %q: %w", p.Name, v, adapters.ErrInvalid)
		}
		return &api.EventDateTime{Date: t.Format(time.DateOnly)}, t, nil
	}
	if strings.HasSuffix(v, "Z") {
		t, err := time.Parse("20060102T150405Z", v)
		if err != nil {
			return nil, t, fmt.Errorf("%s %q: %w", p.Name, v, adapters.ErrInvalid)
		}
		return &api.EventDateTime{DateTime: t.Format(time.RFC3339)}, t, nil
	}
	var loc *time.Location
	tzName := ""
	if tzid := p.Params.Get(ical.ParamTimezoneID); tzid != "" {
		l, err := resolve(tzid)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("%s: %w", p.Name, err)
		}
		loc = l
		if icalfix.IsIANA(l) {
			tzName = l.String()
		}
	} else {
		// Floating: Google has no such thing, so store it in the
		// calendar's zone and remember the shape.
		flags[flagFloating] = true
		loc = time.UTC
		if info.TimeZone != "" {
			if l, err := time.LoadLocation(info.TimeZone); err == nil {
				loc = l
			}
		}
		tzName = loc.String()
	}
	t, err := time.ParseInLocation("20060102T150405", v, loc)
	if err != nil {
		return nil, t, fmt.Errorf("%s %q: %w", p.Name, v, adapters.ErrInvalid)
	}
	return &api.EventDateTime{DateTime: t.Format(time.RFC3339), TimeZone: tzName}, t, nil
}

// shift returns start+d in start's shape.
func shift(start *api.EventDateTime, t time.Time, d time.Duration) *api.EventDateTime {
	if start.Date != "" {
		return &api.EventDateTime{Date: t.Add(d).Format(time.DateOnly)}
	}
	return &api.EventDateTime{DateTime: t.Add(d).Format(time.RFC3339), TimeZone: start.TimeZone}
}

// setExtra stores zones and the leftover component in e's private
// extended properties.
func setExtra(e *api.Event, zones []*ical.Component, extra *ical.Component) error {
	if e.ExtendedProperties == nil {
		e.ExtendedProperties = &api.EventExtendedProperties{Private: map[string]string{}}
	}
	if e.ExtendedProperties.Private == nil {
		e.ExtendedProperties.Private = map[string]string{}
	}
	var buf bytes.Buffer
	for _, z := range zones {
		writeComponent(&buf, z)
	}
	if extra != nil && (len(extra.Props) > 0 || len(extra.Children) > 0) {
		writeComponent(&buf, extra)
	}
	// Google caps extended properties at 32 kB per event.
	if buf.Len() > 24<<10 {
		return fmt.Errorf("%d bytes of iCalendar data without a Google field: %w", buf.Len(), adapters.ErrUnsupported)
	}
	setChunked(e.ExtendedProperties.Private, api.PropExtra, buf.String())
	return nil
}

// extraOf returns the VEVENT part of e's extra store (dropping zones).
func extraOf(e *api.Event) *ical.Component {
	_, c, _ := decodeExtra(e)
	return c
}

// decodeExtra reads the extra store: VTIMEZONEs and the leftover VEVENT.
func decodeExtra(e *api.Event) ([]*ical.Component, *ical.Component, error) {
	if e == nil || e.ExtendedProperties == nil {
		return nil, nil, nil
	}
	s := getChunked(e.ExtendedProperties.Private, api.PropExtra)
	if s == "" {
		return nil, nil, nil
	}
	text := "BEGIN:VCALENDAR\r\n" + s + "END:VCALENDAR\r\n"
	cal, err := ical.NewDecoder(strings.NewReader(text)).Decode()
	if err != nil {
		return nil, nil, fmt.Errorf("extra data of %q: %w", e.Id, err)
	}
	var zones []*ical.Component
	var extra *ical.Component
	for _, ch := range cal.Children {
		switch ch.Name {
		case ical.CompTimezone:
			zones = append(zones, ch)
		case ical.CompEvent:
			extra = ch
		}
	}
	return zones, extra, nil
}

// writeComponent encodes c like go-ical's encoder, without its checks
// (the extra store holds partial components) and without line folding.
func writeComponent(buf *bytes.Buffer, c *ical.Component) {
	buf.WriteString("BEGIN:" + c.Name + "\r\n")
	names := make([]string, 0, len(c.Props))
	for n := range c.Props {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, p := range c.Props[n] {
			buf.WriteString(propLine(&p) + "\r\n")
		}
	}
	for _, ch := range c.Children {
		writeComponent(buf, ch)
	}
	buf.WriteString("END:" + c.Name + "\r\n")
}

// propLine renders one content line (no folding), as Google's recurrence
// array wants it.
func propLine(p *ical.Prop) string {
	var sb strings.Builder
	sb.WriteString(p.Name)
	keys := make([]string, 0, len(p.Params))
	for k := range p.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sb.WriteString(";" + k + "=")
		for i, v := range p.Params[k] {
			if i > 0 {
				sb.WriteByte(',')
			}
			v = strings.ReplaceAll(v, `"`, "'")
			if strings.ContainsAny(v, ";:,") {
				v = `"` + v + `"`
			}
			sb.WriteString(v)
		}
	}
	sb.WriteString(":" + p.Value)
	return sb.String()
}

// parseLine parses one unfolded content line.
func parseLine(line string) (*ical.Prop, error) {
	inQuote := false
	colon := -1
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '"':
			inQuote = !inQuote
		case ':':
			if !inQuote {
				colon = i
			}
		}
		if colon >= 0 {
			break
		}
	}
	if colon <= 0 {
		return nil, fmt.Errorf("no ':' in %q: %w", line, adapters.ErrInvalid)
	}
	parts := splitUnquoted(line[:colon], ';')
	p := ical.NewProp(strings.ToUpper(parts[0]))
	for _, kv := range parts[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("parameter %q: %w", kv, adapters.ErrInvalid)
		}
		for _, vv := range splitUnquoted(v, ',') {
			p.Params.Add(strings.ToUpper(k), strings.Trim(vv, `"`))
		}
	}
	p.Value = line[colon+1:]
	return p, nil
}

func splitUnquoted(s string, sep byte) []string {
	var out []string
	inQuote, last := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			inQuote = !inQuote
		case s[i] == sep && !inQuote:
			out = append(out, s[last:i])
			last = i + 1
		}
	}
	return append(out, s[last:])
}

// GroupSeries groups listed events into series by master id.
func GroupSeries(events []*api.Event) map[string]*Series {
	out := map[string]*Series{}
	for _, e := range events {
		k := seriesKey(e)
		s := out[k]
		if s == nil {
			s = &Series{}
			out[k] = s
		}
		switch {
		case e.RecurringEventId == "":
			s.Master = e
		case e.Status == "cancelled":
			s.Cancelled = append(s.Cancelled, e)
		default:
			s.Overrides = append(s.Overrides, e)
		}
	}
	for k, s := range out {
		ref := s.Master
		if ref == nil && len(s.Overrides) > 0 {
			ref = s.Overrides[0]
		}
		s.ID = objectIDOf(ref, k)
	}
	return out
}
